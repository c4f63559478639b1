/* Misuse table, part 2: the eight fs-verity functions of lcfs-writer.h.
 * NULL digests, data and callbacks, failing or lying read callbacks, and
 * bad descriptors (-1, closed, a pipe, a directory). The compute functions
 * return -1 and report any read failure as ENODATA; the kernel-facing ones
 * return -errno. No row writes the digest buffer or changes the node. */
#include "misuse.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static ssize_t read_fails(void *file, void *buf, size_t count)
{
	(void)file;
	(void)buf;
	(void)count;
	errno = EIO;
	return -1;
}

/* Claims to have read more than it was given room for. */
static ssize_t read_overclaims(void *file, void *buf, size_t count)
{
	(void)file;
	memset(buf, 'x', count);
	return (ssize_t)count + 1;
}

static ssize_t read_one_block(void *file, void *buf, size_t count)
{
	int *calls = file;
	memset(buf, 'y', count);
	return (*calls)++ ? 0 : (ssize_t)count;
}

int main(void)
{
	uint8_t d[LCFS_DIGEST_SIZE], untouched[LCFS_DIGEST_SIZE];
	uint8_t data[3] = { 1, 2, 3 };
	int calls = 0;
	char path[] = "/tmp/cfs-misuse-fsverity.XXXXXX";
	int reg = mkstemp(path), dir = open("/", O_RDONLY | O_DIRECTORY), pipefd[2];
	int closed = dup(reg);

	if (reg < 0 || dir < 0 || closed < 0 || pipe(pipefd) < 0 || write(reg, "hello", 5) != 5) {
		perror("setup");
		return 1;
	}
	unlink(path);
	close(closed); /* now a descriptor number that is not open */
	memset(d, 0xaa, sizeof(d));
	memcpy(untouched, d, sizeof(d));
	struct lcfs_node_s *node = lcfs_node_new();
	lcfs_node_set_mode(node, S_IFREG | 0644);
	watch(node);
	misuse_begin("test-misuse-fsverity");

	S_INT(EINVAL, lcfs_compute_fsverity_from_content(NULL, &calls, read_one_block));
	S_INT(EINVAL, lcfs_compute_fsverity_from_content(d, NULL, NULL));
	INT(ENODATA, lcfs_compute_fsverity_from_content(d, NULL, read_fails));
	S_INT(ENODATA, lcfs_compute_fsverity_from_content(d, NULL, read_overclaims));

	S_INT(EINVAL, lcfs_compute_fsverity_from_fd(NULL, reg));
	INT(ENODATA, lcfs_compute_fsverity_from_fd(d, -1));
	INT(ENODATA, lcfs_compute_fsverity_from_fd(d, closed));
	INT(ENODATA, lcfs_compute_fsverity_from_fd(d, dir));

	S_INT(EINVAL, lcfs_compute_fsverity_from_data(NULL, data, sizeof(data)));
	S_INT(EINVAL, lcfs_compute_fsverity_from_data(d, NULL, 5));

	/* C checks the kernel first and crashes only once it has a digest. */
	S_NEG(EINVAL, lcfs_fd_measure_fsverity(NULL, reg));
	NEG(EBADF, lcfs_fd_measure_fsverity(d, -1));
	NEG(EBADF, lcfs_fd_measure_fsverity(d, closed));
	/* No fs-verity on these: ENOVERITY, which is ENOTTY. */
	NEG(ENOTTY, lcfs_fd_measure_fsverity(d, pipefd[0]));
	NEG(ENOTTY, lcfs_fd_measure_fsverity(d, dir));
	NEG(ENOTTY, lcfs_fd_measure_fsverity(d, reg));

	S_NEG(EINVAL, lcfs_fd_get_fsverity(NULL, reg));
	NEG(EBADF, lcfs_fd_get_fsverity(d, -1));
	NEG(EBADF, lcfs_fd_get_fsverity(d, closed));
	/* The userspace fallback first seeks to the start... */
	NEG(ESPIPE, lcfs_fd_get_fsverity(d, pipefd[0]));
	/* ...then reads, whose failure is -1 with ENODATA. */
	INT(ENODATA, lcfs_fd_get_fsverity(d, dir));

	NEG(EBADF, lcfs_fd_enable_fsverity(-1));
	NEG(EBADF, lcfs_fd_enable_fsverity(closed));
	NEG(ENOTTY, lcfs_fd_enable_fsverity(pipefd[0]));

	S_INT(EINVAL, lcfs_node_set_fsverity_from_content(NULL, &calls, read_one_block));
	S_INT(EINVAL, lcfs_node_set_fsverity_from_content(node, NULL, NULL));
	INT(ENODATA, lcfs_node_set_fsverity_from_content(node, NULL, read_fails));
	S_INT(ENODATA, lcfs_node_set_fsverity_from_content(node, NULL, read_overclaims));

	S_INT(EINVAL, lcfs_node_set_fsverity_from_fd(NULL, reg));
	INT(ENODATA, lcfs_node_set_fsverity_from_fd(node, -1));
	INT(ENODATA, lcfs_node_set_fsverity_from_fd(node, closed));
	INT(ENODATA, lcfs_node_set_fsverity_from_fd(node, dir));

	CHECK(memcmp(d, untouched, sizeof(d)) == 0); /* no failed call wrote it */
	CHECK(lcfs_node_get_fsverity_digest(node) == NULL);

	unwatch_all();
	lcfs_node_unref(node);
	close(reg);
	close(dir);
	close(pipefd[0]);
	close(pipefd[1]);
	return misuse_end("test-misuse-fsverity");
}
