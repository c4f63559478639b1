/* One benchmark driver for run.sh; the same binary runs against either
 * libcomposefs.so.1 (pick it with LD_LIBRARY_PATH). Modes:
 *
 *   load IMAGE REPS         lcfs_load_node_from_fd(IMAGE) (freeing the tree untimed)
 *   write IMAGE REPS        tree loaded once (untimed), then lcfs_write_to with
 *                           digest_out into a callback that discards the bytes
 *   build DIR FLAGS REPS    lcfs_build(DIR, FLAGS) + lcfs_write_to as above
 *   fsverity FILE REPS      lcfs_compute_fsverity_from_fd(FILE)
 *
 * Prints one line: "RESULT <mode> mem_kb=N digest=HEX t=T1,... cpu=C1,..."
 * with the wall-clock and CPU seconds (all threads, user + system) of every
 * repetition. mem_kb is the peak resident set
 * during the timed repetitions minus the resident set just before them
 * (the kernel's high-water mark is reset through /proc/self/clear_refs), so
 * for write it is the writer's own memory on top of the loaded tree. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libcomposefs/lcfs-writer.h>

static double clock_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A "VmRSS:" or "VmHWM:" figure of this process, in KiB. */
static long status_kb(const char *key)
{
	char line[256];
	long kb = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0) {
			kb = atol(line + n);
			break;
		}
	fclose(f);
	return kb;
}

static void reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			perror("clear_refs");
		close(fd);
	}
}

static ssize_t discard(void *file, void *buf, size_t count)
{
	(void)file;
	(void)buf;
	return count;
}

static int write_image(struct lcfs_node_s *root, uint8_t digest[32])
{
	struct lcfs_write_options_s opts;
	memset(&opts, 0, sizeof(opts));
	opts.format = LCFS_FORMAT_EROFS;
	opts.version = LCFS_DEFAULT_VERSION_MIN;
	opts.max_version = LCFS_DEFAULT_VERSION_MAX;
	opts.digest_out = digest;
	opts.file_write_cb = discard;
	return lcfs_write_to(root, &opts);
}

static struct lcfs_node_s *load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	struct lcfs_node_s *node = lcfs_load_node_from_fd(fd);
	if (!node) {
		perror("lcfs_load_node_from_fd");
		exit(1);
	}
	close(fd);
	return node;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s load|write|fsverity PATH REPS | build DIR FLAGS REPS\n",
			argv[0]);
		return 2;
	}
	const char *mode = argv[1], *path = argv[2];
	int build_flags = 0;
	int reps = atoi(argv[argc - 1]);
	if (strcmp(mode, "build") == 0) {
		if (argc < 5)
			return 2;
		build_flags = (int)strtol(argv[3], NULL, 0);
	}
	if (reps < 1)
		reps = 1;

	struct lcfs_node_s *tree = NULL;
	int fd = -1;
	if (strcmp(mode, "write") == 0)
		tree = load(path);
	if (strcmp(mode, "fsverity") == 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(path);
			return 1;
		}
	}

	uint8_t digest[32] = { 0 };
	double *t = calloc(reps, sizeof(double));
	double *cpu = calloc(reps, sizeof(double));
	long rss0 = status_kb("VmRSS:");
	reset_peak();
	struct lcfs_node_s *loaded = NULL;
	for (int i = 0; i < reps; i++) {
		double t0 = clock_s(CLOCK_MONOTONIC);
		double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		if (strcmp(mode, "load") == 0) {
			loaded = load(path);
		} else if (strcmp(mode, "write") == 0) {
			if (write_image(tree, digest) != 0) {
				perror("lcfs_write_to");
				return 1;
			}
		} else if (strcmp(mode, "build") == 0) {
			char *failed = NULL;
			struct lcfs_node_s *root =
				lcfs_build(AT_FDCWD, path, build_flags, &failed);
			if (!root) {
				perror(failed ? failed : "lcfs_build");
				return 1;
			}
			if (write_image(root, digest) != 0) {
				perror("lcfs_write_to");
				return 1;
			}
			lcfs_node_unref(root);
		} else if (strcmp(mode, "fsverity") == 0) {
			if (lseek(fd, 0, SEEK_SET) != 0 ||
			    lcfs_compute_fsverity_from_fd(digest, fd) != 0) {
				perror("lcfs_compute_fsverity_from_fd");
				return 1;
			}
		} else {
			fprintf(stderr, "unknown mode %s\n", mode);
			return 2;
		}
		cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		t[i] = clock_s(CLOCK_MONOTONIC) - t0;
		/* Freeing the loaded tree is not part of the load. */
		if (loaded) {
			lcfs_node_unref(loaded);
			loaded = NULL;
		}
	}
	long peak = status_kb("VmHWM:");

	printf("RESULT %s mem_kb=%ld digest=", mode, peak - rss0);
	for (int i = 0; i < 32; i++)
		printf("%02x", digest[i]);
	printf(" t=");
	for (int i = 0; i < reps; i++)
		printf("%s%.6f", i ? "," : "", t[i]);
	printf(" cpu=");
	for (int i = 0; i < reps; i++)
		printf("%s%.6f", i ? "," : "", cpu[i]);
	printf("\n");
	if (tree)
		lcfs_node_unref(tree);
	free(t);
	free(cpu);
	return 0;
}
