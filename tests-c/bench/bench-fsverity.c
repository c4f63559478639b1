/* Throughput of lcfs_compute_fsverity_from_fd (and, for comparison without
 * I/O, lcfs_compute_fsverity_from_data on the same bytes in memory): hashes
 * FILE (default: a 1 GiB file it creates) several times and prints the best
 * wall-clock and CPU-time GB/s (CPU time is steadier on a busy machine).
 * Build: cc -O2 -Iinclude tests-c/bench/bench-fsverity.c -Ltarget/release -lcomposefs
 * Run with LD_LIBRARY_PATH pointing at a dir holding libcomposefs.so.1; the
 * same binary runs against the C library for comparison. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libcomposefs/lcfs-writer.h>

#include <sys/mman.h>

static double clock_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const char *what, off_t size, double wall, double cpu,
		   const uint8_t *d)
{
	printf("%-10s %lld bytes: wall %.3f s = %.2f GB/s, cpu %.3f s = %.2f GB/s, digest ",
	       what, (long long)size, wall, size / wall / 1e9, cpu, size / cpu / 1e9);
	for (int i = 0; i < 32; i++)
		printf("%02x", d[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/var/tmp/bench-fsverity.dat";
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		/* Create 1 GiB of non-constant data. */
		static unsigned char buf[1 << 20];
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		for (int i = 0; i < 1024; i++) {
			memset(buf, i, sizeof(buf));
			buf[i] ^= 0x5a;
			if (write(fd, buf, sizeof(buf)) != sizeof(buf)) {
				perror("write");
				return 1;
			}
		}
	}
	off_t size = lseek(fd, 0, SEEK_END);
	double best_wall = 1e9, best_cpu = 1e9;
	uint8_t d[32];
	for (int run = 0; run < 5; run++) {
		lseek(fd, 0, SEEK_SET);
		double w = clock_s(CLOCK_MONOTONIC);
		double c = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		if (lcfs_compute_fsverity_from_fd(d, fd) != 0) {
			perror("lcfs_compute_fsverity_from_fd");
			return 1;
		}
		c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c;
		w = clock_s(CLOCK_MONOTONIC) - w;
		if (w < best_wall)
			best_wall = w;
		if (c < best_cpu)
			best_cpu = c;
	}
	report("from_fd", size, best_wall, best_cpu, d);

	uint8_t *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	best_wall = best_cpu = 1e9;
	for (int run = 0; run < 5; run++) {
		double w = clock_s(CLOCK_MONOTONIC);
		double c = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		lcfs_compute_fsverity_from_data(d, map, size);
		c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c;
		w = clock_s(CLOCK_MONOTONIC) - w;
		if (w < best_wall)
			best_wall = w;
		if (c < best_cpu)
			best_cpu = c;
	}
	report("from_data", size, best_wall, best_cpu, d);
	munmap(map, size);
	close(fd);
	return 0;
}
