/* Differential driver for the directory-building API.
 *
 * builddriver [--as-nobody] [--threads N] FLAGS PATH [IMAGE]
 *
 * Builds PATH with lcfs_build(FLAGS) and prints every field of every node
 * in a fixed order, so that two libraries can be compared byte for byte.
 * With --threads N it builds like mkcomposefs does (no digests, no inline)
 * and then fills in content with lcfs_node_set_from_content(FLAGS) from N
 * threads at once. With IMAGE it also writes the tree with lcfs_write_to
 * and prints the image digest. Failures print errno and the failed path. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include <libcomposefs/lcfs-writer.h>

static void hex(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void dump(struct lcfs_node_s *n, const char *path)
{
	struct timespec t;
	const char *payload = lcfs_node_get_payload(n);
	const uint8_t *content = lcfs_node_get_content(n);
	const uint8_t *digest = lcfs_node_get_fsverity_digest(n);

	lcfs_node_get_mtime(n, &t);
	printf("%s mode=%o uid=%u gid=%u rdev=%llu nlink=%u size=%llu mtime=%lld.%ld",
	       path, lcfs_node_get_mode(n), lcfs_node_get_uid(n), lcfs_node_get_gid(n),
	       (unsigned long long)lcfs_node_get_rdev64(n), lcfs_node_get_nlink(n),
	       (unsigned long long)lcfs_node_get_size(n), (long long)t.tv_sec,
	       (long)t.tv_nsec);
	printf(" payload=%s", payload ? payload : "-");
	printf(" content=");
	if (content)
		hex(content, lcfs_node_get_size(n));
	else
		printf("-");
	printf(" digest=");
	if (digest)
		hex(digest, LCFS_DIGEST_SIZE);
	else
		printf("-");
	printf("\n");
	for (size_t i = 0; i < lcfs_node_get_n_xattr(n); i++) {
		const char *k = lcfs_node_get_xattr_name(n, i);
		size_t len = 0;
		const char *v = lcfs_node_get_xattr(n, k, &len);
		printf("  xattr %s=", k);
		hex((const unsigned char *)v, len);
		printf("\n");
	}
	for (size_t i = 0; i < lcfs_node_get_n_children(n); i++) {
		struct lcfs_node_s *c = lcfs_node_get_child(n, i);
		char *sub;
		if (asprintf(&sub, "%s/%s", path, lcfs_node_get_name(c)) < 0)
			exit(1);
		dump(c, sub);
		free(sub);
	}
}

/* Work list of (node, path) for the threaded content pass. */
struct item {
	struct lcfs_node_s *node;
	char *path;
};
static struct item *items;
static size_t n_items, cap_items, next_item;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int content_flags;
static int thread_errno;

static void collect(struct lcfs_node_s *n, const char *path)
{
	if ((lcfs_node_get_mode(n) & S_IFMT) == S_IFREG) {
		if (n_items == cap_items) {
			cap_items = cap_items ? cap_items * 2 : 64;
			items = realloc(items, cap_items * sizeof(*items));
			if (!items)
				exit(1);
		}
		items[n_items].node = n;
		items[n_items].path = strdup(path);
		n_items++;
	}
	for (size_t i = 0; i < lcfs_node_get_n_children(n); i++) {
		struct lcfs_node_s *c = lcfs_node_get_child(n, i);
		char *sub;
		if (asprintf(&sub, "%s/%s", path, lcfs_node_get_name(c)) < 0)
			exit(1);
		collect(c, sub);
		free(sub);
	}
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		size_t i = next_item++;
		pthread_mutex_unlock(&lock);
		if (i >= n_items)
			return NULL;
		if (lcfs_node_set_from_content(items[i].node, AT_FDCWD, items[i].path,
					       content_flags) < 0) {
			pthread_mutex_lock(&lock);
			thread_errno = errno;
			pthread_mutex_unlock(&lock);
		}
	}
}

/* Open descriptors of this process, to catch leaks across a build. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static ssize_t write_cb(void *file, void *buf, size_t count)
{
	return fwrite(buf, 1, count, file) == count ? (ssize_t)count : -1;
}

int main(int argc, char **argv)
{
	int threads = 0;
	bool as_nobody = false;
	char *failed = NULL;

	while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--as-nobody") == 0) {
			as_nobody = true;
			argv++, argc--;
		} else if (strcmp(argv[1], "--threads") == 0 && argc > 2) {
			threads = atoi(argv[2]);
			argv += 2, argc -= 2;
		} else {
			break;
		}
	}
	if (argc < 3) {
		fprintf(stderr, "usage: builddriver [--as-nobody] [--threads N] FLAGS PATH [IMAGE]\n");
		return 2;
	}
	int flags = (int)strtol(argv[1], NULL, 0);
	const char *path = argv[2];

	if (as_nobody && setresuid(65534, 65534, 65534) < 0) {
		perror("setresuid");
		return 2;
	}

	int build_flags = flags;
	if (threads > 0)
		build_flags = (flags & ~(LCFS_BUILD_COMPUTE_DIGEST | LCFS_BUILD_BY_DIGEST)) |
			      LCFS_BUILD_NO_INLINE;
	int fds_before = count_fds();
	struct lcfs_node_s *root = lcfs_build(AT_FDCWD, path, build_flags, &failed);
	if (root == NULL) {
		printf("build failed: errno=%d (%s) path=%s\n", errno, strerror(errno),
		       failed ? failed : "(null)");
		free(failed);
		printf("descriptors leaked: %d\n", count_fds() - fds_before);
		return 0;
	}
	if (threads > 0) {
		pthread_t tids[64];
		if (threads > 64)
			threads = 64;
		content_flags = flags;
		collect(root, path);
		for (int i = 0; i < threads; i++)
			pthread_create(&tids[i], NULL, worker, NULL);
		for (int i = 0; i < threads; i++)
			pthread_join(tids[i], NULL);
		if (thread_errno)
			printf("set_from_content failed: errno=%d\n", thread_errno);
		for (size_t i = 0; i < n_items; i++)
			free(items[i].path);
		free(items);
	}
	dump(root, ".");
	if (argc > 3) {
		FILE *f = fopen(argv[3], "w");
		uint8_t digest[LCFS_DIGEST_SIZE];
		struct lcfs_write_options_s opts = { 0 };
		if (!f)
			return 2;
		opts.format = LCFS_FORMAT_EROFS;
		opts.max_version = 1;
		opts.digest_out = digest;
		opts.file = f;
		opts.file_write_cb = write_cb;
		if (lcfs_write_to(root, &opts) < 0) {
			printf("write failed: errno=%d\n", errno);
		} else {
			printf("image digest=");
			hex(digest, sizeof(digest));
			printf("\n");
		}
		fclose(f);
	}
	lcfs_node_unref(root);
	printf("descriptors leaked: %d\n", count_fds() - fds_before);
	return 0;
}
