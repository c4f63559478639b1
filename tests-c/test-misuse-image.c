/* Misuse table, part 3: writing, loading and building (lcfs-writer.h):
 * lcfs_write_to, the image and fd loaders, lcfs_version_from_fd,
 * lcfs_build, lcfs_load_node_from_file and lcfs_node_set_from_content.
 * Wrong formats, versions and flags, failing write callbacks, invalid
 * trees, corrupt images, bad descriptors and paths. A failed
 * lcfs_write_to writes nothing to digest_out and no failed call changes
 * a node. See misuse.h. */
#include "misuse.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>

#include <libcomposefs/lcfs-erofs.h>

static uint8_t image[65536];
static size_t image_len;

static ssize_t to_buffer(void *file, void *buf, size_t count)
{
	(void)file;
	if (image_len + count > sizeof(image)) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(image + image_len, buf, count);
	image_len += count;
	return (ssize_t)count;
}

static ssize_t fails_enospc(void *file, void *buf, size_t count)
{
	(void)file;
	(void)buf;
	(void)count;
	errno = ENOSPC;
	return -1;
}

/* Writes nothing and says so without setting errno: C reports EIO. */
static ssize_t writes_nothing(void *file, void *buf, size_t count)
{
	(void)file;
	(void)buf;
	(void)count;
	return 0;
}

/* Accepts the first 100 bytes, then fails. */
static ssize_t fails_later(void *file, void *buf, size_t count)
{
	size_t *left = file;
	(void)buf;
	if (*left == 0) {
		errno = EIO;
		return -1;
	}
	size_t n = count < *left ? count : *left;
	*left -= n;
	return (ssize_t)n;
}

static struct lcfs_node_s *dir_node(void)
{
	struct lcfs_node_s *n = lcfs_node_new();
	lcfs_node_set_mode(n, S_IFDIR | 0755);
	return n;
}

static struct lcfs_node_s *file_node(const char *payload)
{
	struct lcfs_node_s *n = lcfs_node_new();
	lcfs_node_set_mode(n, S_IFREG | 0644);
	if (payload) {
		lcfs_node_set_size(n, 100);
		lcfs_node_set_payload(n, payload);
	}
	return n;
}

static void add(struct lcfs_node_s *parent, struct lcfs_node_s *child, const char *name)
{
	if (lcfs_node_add_child(parent, child, name) < 0) {
		perror("add_child");
		exit(1);
	}
}

/* lcfs_write_to rows on a tree watched node by node. */
static uint8_t digest[LCFS_DIGEST_SIZE], untouched[LCFS_DIGEST_SIZE];
static struct lcfs_write_options_s opts;

static void reset_opts(void)
{
	memset(&opts, 0, sizeof(opts));
	opts.format = LCFS_FORMAT_EROFS;
	opts.digest_out = digest;
	memset(digest, 0xaa, sizeof(digest));
	memcpy(untouched, digest, sizeof(digest));
}

static void write_rows(void)
{
	struct lcfs_node_s *root = dir_node(), *f = file_node("ab/cd");
	size_t left = 100;

	lcfs_node_set_xattr(f, "user.z", "1", 1);
	lcfs_node_set_xattr(f, "user.a", "2", 1);
	add(root, f, "f");
	watch(root);
	watch(f);

	reset_opts();
	S_INT(EINVAL, lcfs_write_to(NULL, &opts));
	S_INT(EINVAL, lcfs_write_to(root, NULL));
	opts.format = 1;
	INT(EINVAL, lcfs_write_to(root, &opts));
	reset_opts();
	opts.flags = 1;
	INT(EINVAL, lcfs_write_to(root, &opts));
	reset_opts();
	opts.flags = 0x80000000u;
	INT(EINVAL, lcfs_write_to(root, &opts));
	reset_opts();
	opts.version = LCFS_VERSION_MAX + 1;
	INT(EINVAL, lcfs_write_to(root, &opts));
	reset_opts();
	opts.max_version = LCFS_VERSION_MAX + 1;
	INT(EINVAL, lcfs_write_to(root, &opts));
	reset_opts();
	opts.file_write_cb = fails_enospc;
	INT(ENOSPC, lcfs_write_to(root, &opts));
	reset_opts();
	opts.file_write_cb = writes_nothing;
	INT(EIO, lcfs_write_to(root, &opts));
	reset_opts();
	opts.file = &left;
	opts.file_write_cb = fails_later;
	INT(EIO, lcfs_write_to(root, &opts));
	CHECK(memcmp(digest, untouched, sizeof(digest)) == 0);
	unwatch_all();
	lcfs_node_unref(root);
}

/* Trees lcfs_write_to must refuse; each is built fresh. */
static void invalid_tree_rows(void)
{
	struct lcfs_node_s *root, *a;

	/* A child with no file type. */
	root = dir_node();
	a = lcfs_node_new();
	add(root, a, "a");
	watch(root);
	watch(a);
	reset_opts();
	INT(EINVAL, lcfs_write_to(root, &opts));
	lcfs_node_set_mode(a, 0170000 | 0644);
	INT(EINVAL, lcfs_write_to(root, &opts));
	unwatch_all();
	lcfs_node_unref(root);

	/* An external file too big for one chunk index block. */
	root = dir_node();
	a = file_node("ab/cd");
	lcfs_node_set_size(a, (uint64_t)1 << 62);
	add(root, a, "big");
	watch(root);
	watch(a);
	reset_opts();
	INT(EFBIG, lcfs_write_to(root, &opts));
	unwatch_all();
	lcfs_node_unref(root);

	/* A directory with children that became a regular file: C fails
	 * with ENOMEM (its deep copy of the tree cannot re-add the
	 * children). */
	root = dir_node();
	a = dir_node();
	add(root, a, "d");
	add(a, file_node(NULL), "x");
	lcfs_node_set_mode(a, S_IFREG | 0644);
	watch(root);
	watch(a);
	reset_opts();
	INT(ENOMEM, lcfs_write_to(root, &opts));
	unwatch_all();
	lcfs_node_unref(root);

	/* A hardlink to a node outside the tree. */
	struct lcfs_node_s *outside = file_node("ab/cd");
	root = dir_node();
	a = file_node(NULL);
	lcfs_node_make_hardlink(a, outside);
	add(root, a, "l");
	watch(root);
	watch(a);
	watch(outside);
	reset_opts();
	INT(EINVAL, lcfs_write_to(root, &opts));
	unwatch_all();
	lcfs_node_unref(root);
	lcfs_node_unref(outside);
	CHECK(memcmp(digest, untouched, sizeof(digest)) == 0);
}

static void load_rows(void)
{
	static uint8_t zeros[8192], bad[65536];
	struct lcfs_read_options_s ropts = { 0 };
	const char *names[] = { "f", NULL };
	struct lcfs_node_s *root = dir_node();

	/* A real image to corrupt. */
	add(root, file_node("ab/cd"), "f");
	reset_opts();
	opts.file_write_cb = to_buffer;
	if (lcfs_write_to(root, &opts) < 0 || image_len < 8192) {
		perror("writing the test image");
		exit(1);
	}
	lcfs_node_unref(root);

	PTR(EINVAL, lcfs_load_node_from_image(NULL, 0));
	S_PTR(EINVAL, lcfs_load_node_from_image(NULL, 4096));
	PTR(EINVAL, lcfs_load_node_from_image(image, 100));
	PTR(EINVAL, lcfs_load_node_from_image(image, 4095));
	PTR(EINVAL, lcfs_load_node_from_image(zeros, sizeof(zeros)));
	memcpy(bad, image, image_len);
	bad[4] ^= 0xff; /* composefs header version */
	PTR(ENOTSUP, lcfs_load_node_from_image(bad, image_len));
	memcpy(bad, image, image_len);
	bad[1024] ^= 0xff; /* erofs superblock magic */
	PTR(EINVAL, lcfs_load_node_from_image(bad, image_len));

	S_PTR(EINVAL, lcfs_load_node_from_image_ext(image, image_len, NULL));
	PTR(EINVAL, lcfs_load_node_from_image_ext(NULL, 0, &ropts));
	S_PTR(EINVAL, lcfs_load_node_from_image_ext(NULL, 4096, &ropts));
	PTR(EINVAL, lcfs_load_node_from_image_ext(zeros, sizeof(zeros), &ropts));
	ropts.toplevel_entries = names;
	PTR(EINVAL, lcfs_load_node_from_image_ext(image, 100, &ropts));
	PTR(EINVAL, lcfs_load_node_from_image_ext(bad, image_len, &ropts));
	memcpy(bad, image, image_len);
	bad[4] ^= 0xff;
	PTR(ENOTSUP, lcfs_load_node_from_image_ext(bad, image_len, &ropts));
}

static int tmpfile_with(const void *data, size_t len)
{
	char path[] = "/tmp/cfs-misuse-image.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
		perror("temporary file");
		exit(1);
	}
	unlink(path);
	return fd;
}

static void fd_rows(void)
{
	struct lcfs_read_options_s ropts = { 0 };
	int img = tmpfile_with(image, image_len);
	int garbage = tmpfile_with("not an image, just text\n", 24);
	int empty = tmpfile_with(NULL, 0);
	int dir = open("/", O_RDONLY | O_DIRECTORY), p[2];
	int closed = dup(garbage);

	if (dir < 0 || closed < 0 || pipe(p) < 0) {
		perror("fds");
		exit(1);
	}
	close(closed);

	PTR(EBADF, lcfs_load_node_from_fd(-1));
	PTR(EBADF, lcfs_load_node_from_fd(closed));
	PTR(ENODEV, lcfs_load_node_from_fd(dir));
	PTR(EINVAL, lcfs_load_node_from_fd(p[0]));
	PTR(EINVAL, lcfs_load_node_from_fd(empty));
	PTR(EINVAL, lcfs_load_node_from_fd(garbage));

	S_PTR(EINVAL, lcfs_load_node_from_fd_ext(img, NULL));
	PTR(EBADF, lcfs_load_node_from_fd_ext(-1, &ropts));
	PTR(ENODEV, lcfs_load_node_from_fd_ext(dir, &ropts));
	PTR(EINVAL, lcfs_load_node_from_fd_ext(garbage, &ropts));

	INT(EBADF, lcfs_version_from_fd(-1));
	INT(EBADF, lcfs_version_from_fd(closed));
	INT(ENODEV, lcfs_version_from_fd(dir));
	INT(ENODEV, lcfs_version_from_fd(p[0]));
	INT(EINVAL, lcfs_version_from_fd(garbage));
	/* C maps the missing header page and dies of SIGBUS. */
	S_INT(EINVAL, lcfs_version_from_fd(empty));

	/* Reading never moves the offset, so a later read still works. */
	CHECK(lseek(img, 0, SEEK_CUR) == (off_t)image_len);
	close(img);
	close(garbage);
	close(empty);
	close(dir);
	close(p[0]);
	close(p[1]);
}

static void build_rows(void)
{
	char *failed = (char *)"untouched";
	int reg = open("/etc/hostname", O_RDONLY);
	if (reg < 0)
		reg = open("/proc/self/stat", O_RDONLY);

	/* NULL names get EFAULT, as C's first *at() call reports. */
	PTR(EFAULT, lcfs_load_node_from_file(AT_FDCWD, NULL, 0));
	PTR(ENOENT, lcfs_load_node_from_file(AT_FDCWD, "/nonexistent", 0));
	PTR(EBADF, lcfs_load_node_from_file(-1, "relative", 0));
	PTR(ENOTDIR, lcfs_load_node_from_file(reg, "x", 0));
	PTR(EINVAL, lcfs_load_node_from_file(AT_FDCWD, "/", 1 << 7));
	PTR(EINVAL, lcfs_load_node_from_file(AT_FDCWD, "/", -1));
	PTR(EINVAL, lcfs_load_node_from_file(AT_FDCWD, "/",
					     LCFS_BUILD_SKIP_XATTRS | LCFS_BUILD_USER_XATTRS));

	PTR(EFAULT, lcfs_build(AT_FDCWD, NULL, 0, NULL));
	/* C also copies the NULL name into *failed_path_out and crashes. */
	S_PTR(EFAULT, lcfs_build(AT_FDCWD, NULL, 0, &failed));
	CHECK(!c_oracle ? strcmp(failed, "untouched") == 0 : 1);
	PTR(ENOENT, lcfs_build(AT_FDCWD, "/nonexistent", 0, &failed));
	CHECK(strcmp(failed, "/nonexistent") == 0);
	free(failed);
	PTR(EBADF, lcfs_build(-1, "relative", 0, NULL));
	PTR(ENOTDIR, lcfs_build(reg, "x", 0, NULL));
	PTR(EINVAL, lcfs_build(AT_FDCWD, "/", 1 << 7, NULL));
	PTR(EINVAL, lcfs_build(AT_FDCWD, "/", LCFS_BUILD_SKIP_XATTRS | LCFS_BUILD_USER_XATTRS, NULL));

	/* A node that wants content: 10 bytes, inline-sized. */
	struct lcfs_node_s *n = file_node(NULL);
	uint8_t d[LCFS_DIGEST_SIZE];
	memset(d, 0x22, sizeof(d));
	lcfs_node_set_size(n, 10);
	lcfs_node_set_fsverity_digest(n, d);
	lcfs_node_set_payload(n, "old/payload");
	watch(n);
	int empty = tmpfile_with(NULL, 0);
	char empty_path[64];
	snprintf(empty_path, sizeof(empty_path), "/proc/self/fd/%d", empty);

	INT(EINVAL, lcfs_node_set_from_content(NULL, AT_FDCWD, "/etc/hostname", 0));
	INT(EFAULT, lcfs_node_set_from_content(n, AT_FDCWD, NULL, 0));
	INT(ENOENT, lcfs_node_set_from_content(n, AT_FDCWD, "/nonexistent", 0));
	INT(EISDIR, lcfs_node_set_from_content(n, AT_FDCWD, "/", 0));
	INT(EBADF, lcfs_node_set_from_content(n, -1, "relative", 0));
	INT(ENOTDIR, lcfs_node_set_from_content(n, reg, "x", 0));
	/* The file is shorter than the node's size. C has already stored
	 * the new digest (and payload) when the short read fails; we keep
	 * the node as it was. */
	INT(ENODATA, lcfs_node_set_from_content(n, AT_FDCWD, empty_path, 0));
	INT(ENODATA, lcfs_node_set_from_content(n, AT_FDCWD, empty_path, LCFS_BUILD_COMPUTE_DIGEST));
	INT(ENODATA, lcfs_node_set_from_content(n, AT_FDCWD, empty_path, LCFS_BUILD_BY_DIGEST));
	unwatch_all();
	lcfs_node_unref(n);
	close(empty);
	close(reg);
}

int main(void)
{
	misuse_begin("test-misuse-image");
	write_rows();
	invalid_tree_rows();
	load_rows();
	fd_rows();
	build_rows();
	return misuse_end("test-misuse-image");
}
