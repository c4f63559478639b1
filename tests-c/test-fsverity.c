/* Checks the eight fs-verity functions of lcfs-writer.h: userspace digests
 * against values from `fsverity digest`, errno conventions, the kernel
 * ioctls (which fail on a kernel without fs-verity) and the userspace
 * fallback of lcfs_fd_get_fsverity. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcomposefs/lcfs-writer.h>

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: FAILED: %s (errno %d)\n",      \
				__FILE__, __LINE__, #cond, errno);             \
			failures++;                                            \
		}                                                              \
	} while (0)

/* Reference digests from `fsverity digest --hash-alg=sha256
 * --block-size=4096`; the empty one is the kernel's (composefs main). */
static const char EMPTY_HEX[] =
	"3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95";
static const char HELLO_HEX[] = /* "hello world\n" */
	"37061ef2ac4c21bec68489b56138c5780306a4ad7fe6676236ecdf2c9027cd92";
static const char PAT4096_HEX[] = /* pattern(4096) */
	"3cad13bf00ee15b60a1237696a9e00fe103a0cefc219f7f9902ddec33e72ca4c";
static const char PAT4097_HEX[] = /* pattern(4097) */
	"f1cb62ef1feb05bc757be84f91a8255db0fc05d7e14e03a1c7777dab069f1aac";
static const char PATBIG_HEX[] = /* pattern(128 * 4096 + 1) */
	"c70e69710c65608a99d186abb84d34d672f34ccab0c4aa68084710d06e290a61";

#define BIG_SIZE (128 * 4096 + 1)

static void fill_pattern(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
}

static int digest_is(const uint8_t *d, const char *hex)
{
	char s[65];
	for (int i = 0; i < 32; i++)
		sprintf(s + 2 * i, "%02x", d[i]);
	return strcmp(s, hex) == 0;
}

/* A memory "file" read in short, uneven pieces. */
struct mem_file {
	const uint8_t *data;
	size_t len, pos, step;
};

static ssize_t mem_read(void *file, void *buf, size_t count)
{
	struct mem_file *m = file;
	size_t n = m->len - m->pos;
	if (n > count)
		n = count;
	if (n > m->step)
		n = m->step;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	m->step = m->step % 3000 + 777;
	return (ssize_t)n;
}

static size_t max_count_seen;

static ssize_t failing_read(void *file, void *buf, size_t count)
{
	int *calls = file;
	(void)buf;
	if (count > max_count_seen)
		max_count_seen = count;
	if ((*calls)++ == 0)
		return (ssize_t)(count < 100 ? count : 100);
	errno = EIO;
	return -1;
}

static int make_file(const uint8_t *data, size_t len)
{
	char path[] = "/var/tmp/test-fsverity-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(path);
	if (write(fd, data, len) != (ssize_t)len) {
		perror("write");
		exit(1);
	}
	return fd;
}

/* Re-opens fd read-only: enabling verity needs a fd not open for writing. */
static int reopen_ro(int fd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, O_RDONLY);
}

static void test_compute(uint8_t *big)
{
	uint8_t d[32], keep[32];

	CHECK(lcfs_compute_fsverity_from_data(d, NULL, 0) == 0);
	CHECK(digest_is(d, EMPTY_HEX));
	CHECK(lcfs_compute_fsverity_from_data(d, (uint8_t *)"hello world\n", 12) == 0);
	CHECK(digest_is(d, HELLO_HEX));
	CHECK(lcfs_compute_fsverity_from_data(d, big, 4096) == 0);
	CHECK(digest_is(d, PAT4096_HEX));
	CHECK(lcfs_compute_fsverity_from_data(d, big, 4097) == 0);
	CHECK(digest_is(d, PAT4097_HEX));
	CHECK(lcfs_compute_fsverity_from_data(d, big, BIG_SIZE) == 0);
	CHECK(digest_is(d, PATBIG_HEX));

	struct mem_file m = { big, BIG_SIZE, 0, 1 };
	CHECK(lcfs_compute_fsverity_from_content(d, &m, mem_read) == 0);
	CHECK(digest_is(d, PATBIG_HEX));
	m = (struct mem_file){ big, 0, 0, 1 };
	CHECK(lcfs_compute_fsverity_from_content(d, &m, mem_read) == 0);
	CHECK(digest_is(d, EMPTY_HEX));

	/* A failing callback: -1/ENODATA, output untouched; reads are 4 KiB. */
	int calls = 0;
	memset(keep, 0xaa, sizeof(keep));
	memcpy(d, keep, sizeof(d));
	errno = 0;
	CHECK(lcfs_compute_fsverity_from_content(d, &calls, failing_read) == -1);
	CHECK(errno == ENODATA);
	CHECK(memcmp(d, keep, sizeof(d)) == 0);
	CHECK(max_count_seen == 4096);

	/* NULL pointers are rejected rather than crashing. */
	errno = 0;
	CHECK(lcfs_compute_fsverity_from_data(NULL, big, 1) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(lcfs_compute_fsverity_from_data(d, NULL, 1) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(lcfs_compute_fsverity_from_content(d, &m, NULL) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(lcfs_compute_fsverity_from_fd(NULL, 0) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(lcfs_fd_measure_fsverity(NULL, 0) == -EINVAL && errno == EINVAL);
	errno = 0;
	CHECK(lcfs_fd_get_fsverity(NULL, 0) == -EINVAL && errno == EINVAL);

	printf("compute_from_data/_from_content: digests, ENODATA, EINVAL ok\n");
}

static void test_fd(uint8_t *big)
{
	uint8_t d[32];
	int fd = make_file(big, BIG_SIZE);

	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(lcfs_compute_fsverity_from_fd(d, fd) == 0);
	CHECK(digest_is(d, PATBIG_HEX));
	CHECK(lseek(fd, 0, SEEK_CUR) == BIG_SIZE);
	/* Hashing starts at the current offset. The pattern repeats every 256
	 * bytes, so the last 4097 bytes equal pattern(4097). */
	CHECK(lseek(fd, BIG_SIZE - 4097, SEEK_SET) == BIG_SIZE - 4097);
	CHECK(lcfs_compute_fsverity_from_fd(d, fd) == 0);
	CHECK(digest_is(d, PAT4097_HEX));
	/* At EOF nothing is left: the empty digest. */
	CHECK(lcfs_compute_fsverity_from_fd(d, fd) == 0);
	CHECK(digest_is(d, EMPTY_HEX));

	/* A bad fd is a read failure: -1/ENODATA as in C. */
	errno = 0;
	CHECK(lcfs_compute_fsverity_from_fd(d, -1) == -1 && errno == ENODATA);

	/* Measure: no verity here, canonicalised to -ENOTTY with errno set. */
	int ro = reopen_ro(fd);
	CHECK(ro >= 0);
	errno = 0;
	int r = lcfs_fd_measure_fsverity(d, ro);
	CHECK(r == -ENOTTY && errno == ENOTTY);
	errno = 0;
	CHECK(lcfs_fd_measure_fsverity(d, -1) == -EBADF && errno == EBADF);

	/* Get: falls back to userspace over the whole file, whatever the offset. */
	CHECK(lseek(ro, 12345, SEEK_SET) == 12345);
	memset(d, 0, sizeof(d));
	CHECK(lcfs_fd_get_fsverity(d, ro) == 0);
	CHECK(digest_is(d, PATBIG_HEX));
	errno = 0;
	CHECK(lcfs_fd_get_fsverity(d, -1) == -EBADF && errno == EBADF);

	/* Enable: the kernel's raw errno, returned negated and left in errno. */
	errno = 0;
	r = lcfs_fd_enable_fsverity(ro);
	int e = errno;
	printf("lcfs_fd_enable_fsverity on a regular file: %d (%s)\n", r, strerror(-r));
	CHECK(r == -ENOTTY || r == -EOPNOTSUPP);
	CHECK(e == -r);
	errno = 0;
	CHECK(lcfs_fd_enable_fsverity(-1) == -EBADF && errno == EBADF);

	close(ro);
	close(fd);
	printf("compute_from_fd, fd_measure/get/enable: ok (measure -> -ENOTTY)\n");
}

static void test_node(uint8_t *big)
{
	struct lcfs_node_s *node = lcfs_node_new();
	CHECK(node != NULL);
	CHECK(lcfs_node_get_fsverity_digest(node) == NULL);

	/* A failing read leaves the node without a digest. */
	int calls = 0;
	errno = 0;
	CHECK(lcfs_node_set_fsverity_from_content(node, &calls, failing_read) == -1);
	CHECK(errno == ENODATA);
	CHECK(lcfs_node_get_fsverity_digest(node) == NULL);

	struct mem_file m = { big, 4097, 0, 5 };
	CHECK(lcfs_node_set_fsverity_from_content(node, &m, mem_read) == 0);
	const uint8_t *nd = lcfs_node_get_fsverity_digest(node);
	CHECK(nd != NULL && digest_is(nd, PAT4097_HEX));

	int fd = make_file(big, 4096);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(lcfs_node_set_fsverity_from_fd(node, fd) == 0);
	nd = lcfs_node_get_fsverity_digest(node);
	CHECK(nd != NULL && digest_is(nd, PAT4096_HEX));
	close(fd);

	errno = 0;
	CHECK(lcfs_node_set_fsverity_from_fd(NULL, 0) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(lcfs_node_set_fsverity_from_content(NULL, &m, mem_read) == -1 &&
	      errno == EINVAL);
	errno = 0;
	CHECK(lcfs_node_set_fsverity_from_content(node, &m, NULL) == -1 &&
	      errno == EINVAL);

	lcfs_node_unref(node);
	printf("node_set_fsverity_from_content/_fd: ok\n");
}

int main(void)
{
	uint8_t *big = malloc(BIG_SIZE);
	if (big == NULL)
		return 1;
	fill_pattern(big, BIG_SIZE);

	test_compute(big);
	test_fd(big);
	test_node(big);

	free(big);
	if (failures) {
		fprintf(stderr, "test-fsverity: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test-fsverity: all checks passed\n");
	return 0;
}
