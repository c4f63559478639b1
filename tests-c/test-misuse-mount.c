/* Misuse table, part 4: lcfs-mount.h. NULL arguments and options, invalid
 * options, and images that are missing, not files or not images. Nothing
 * here gets as far as mounting (tests-c/test-mount.c and check-mount.sh
 * cover the option checks in more depth and the real mounts). */
#include "misuse.h"

#include <fcntl.h>
#include <unistd.h>

#include <libcomposefs/lcfs-mount.h>

static const char *objdirs[] = { "/nonexistent-objdir" };
static const char *null_objdir[] = { NULL };
static struct lcfs_mount_options_s o;

static void reset(void)
{
	memset(&o, 0, sizeof(o));
	o.objdirs = objdirs;
	o.n_objdirs = 1;
	o.idmap_fd = -1;
}

int main(void)
{
	const char *mnt = "/nonexistent-mountpoint";
	char path[] = "/tmp/cfs-misuse-mount.XXXXXX";
	int garbage = mkstemp(path), dir = open("/", O_RDONLY | O_DIRECTORY), p[2];
	int closed = dup(garbage), empty;

	if (garbage < 0 || dir < 0 || closed < 0 || pipe(p) < 0 ||
	    write(garbage, "not an image\n", 13) != 13) {
		perror("setup");
		return 1;
	}
	char epath[] = "/tmp/cfs-misuse-mount-empty.XXXXXX";
	empty = mkstemp(epath);
	if (empty < 0) {
		perror("mkstemp");
		return 1;
	}
	unlink(epath);
	close(closed); /* last, so no later descriptor reuses the number */
	misuse_begin("test-misuse-mount");

	reset();
	S_INT(EINVAL, lcfs_mount_image(NULL, mnt, &o));
	S_INT(EINVAL, lcfs_mount_image(path, NULL, &o));
	S_INT(EINVAL, lcfs_mount_image(path, mnt, NULL));
	o.objdirs = NULL;
	S_INT(EINVAL, lcfs_mount_image(path, mnt, &o));
	o.objdirs = (const char **)null_objdir;
	S_INT(EINVAL, lcfs_mount_image(path, mnt, &o));
	reset();
	o.n_objdirs = 0;
	INT(EINVAL, lcfs_mount_image(path, mnt, &o));
	reset();
	o.flags = 1 << 5;
	INT(EINVAL, lcfs_mount_image(path, mnt, &o));
	reset();
	o.upperdir = "/u";
	INT(EINVAL, lcfs_mount_image(path, mnt, &o));
	reset();
	o.expected_fsverity_digest = "abc";
	INT(EINVAL, lcfs_mount_image(path, mnt, &o));
	reset();
	INT(ENOENT, lcfs_mount_image("/nonexistent-image", mnt, &o));
	INT(EISDIR, lcfs_mount_image("/", mnt, &o));
	INT(EINVAL, lcfs_mount_image(path, mnt, &o));

	S_INT(EINVAL, lcfs_mount_fd(garbage, NULL, &o));
	S_INT(EINVAL, lcfs_mount_fd(garbage, mnt, NULL));
	o.n_objdirs = 0;
	INT(EINVAL, lcfs_mount_fd(garbage, mnt, &o));
	reset();
	o.flags = 0x80000000u;
	INT(EINVAL, lcfs_mount_fd(garbage, mnt, &o));
	reset();
	INT(EBADF, lcfs_mount_fd(-1, mnt, &o));
	INT(EBADF, lcfs_mount_fd(closed, mnt, &o));
	INT(EISDIR, lcfs_mount_fd(dir, mnt, &o));
	INT(ESPIPE, lcfs_mount_fd(p[0], mnt, &o));
	INT(EINVAL, lcfs_mount_fd(garbage, mnt, &o));
	INT(EINVAL, lcfs_mount_fd(empty, mnt, &o));

	unlink(path);
	close(garbage);
	close(empty);
	close(dir);
	close(p[0]);
	close(p[1]);
	return misuse_end("test-misuse-mount");
}
