/* lcfs_mount_image / lcfs_mount_fd.
 *
 * Without arguments: the checks that need no image and no privileges
 * (option validation, the expected-digest check, header checks), each
 * with its exact errno. tests-c/check-mount.sh runs this mode against
 * both our library and upstream C libcomposefs.
 *
 * With arguments it is a small mount tool for check-mount.sh:
 *   test-mount [-f] [-r] [-V] [-t] [-d HEX] [-u UPPER -w WORK] [-m DIR]
 *              [-i USERNS] [-x FLAGS] IMAGE MOUNTPOINT OBJDIR...
 * -f mounts through lcfs_mount_fd, -r READONLY, -V REQUIRE_VERITY,
 * -t TRY_VERITY, -d expected digest, -m image_mountdir, -i a user
 * namespace file for IDMAP, -x raw extra flag bits. Prints "ok" or
 * "errno N" and exits 0 or 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcomposefs/lcfs-mount.h>

static int checks, failures;

static void expect_errno(const char *what, int res, int want)
{
	int got = res < 0 ? errno : 0;

	checks++;
	if (res != -1 || got != want) {
		failures++;
		fprintf(stderr, "FAIL %s: res %d errno %d (%s), want -1 errno %d (%s)\n",
			what, res, got, strerror(got), want, strerror(want));
	}
}

static void reset(struct lcfs_mount_options_s *o, const char **objdirs)
{
	memset(o, 0, sizeof(*o));
	o->objdirs = objdirs;
	o->n_objdirs = 1;
	o->idmap_fd = -1;
}

static int self_checks(void)
{
	const char *objdirs[] = { "/nonexistent-objdir" };
	const char *missing = "/nonexistent-image.cfs";
	const char *mnt = "/nonexistent-mountpoint";
	const char *digest = "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef";
	struct lcfs_mount_options_s o;
	int exe;

	/* Validation comes before the image is opened: EINVAL, not ENOENT. */
	reset(&o, objdirs);
	o.flags = 1 << 5;
	expect_errno("unknown flag", lcfs_mount_image(missing, mnt, &o), EINVAL);
	o.flags = 0x80000000u;
	expect_errno("high flag", lcfs_mount_image(missing, mnt, &o), EINVAL);
	reset(&o, objdirs);
	o.n_objdirs = 0;
	expect_errno("no objdirs", lcfs_mount_image(missing, mnt, &o), EINVAL);
	reset(&o, objdirs);
	o.upperdir = "/u";
	expect_errno("upper without work", lcfs_mount_image(missing, mnt, &o), EINVAL);
	reset(&o, objdirs);
	o.workdir = "/w";
	expect_errno("work without upper", lcfs_mount_image(missing, mnt, &o), EINVAL);
	reset(&o, objdirs);
	o.expected_fsverity_digest = "abc";
	expect_errno("odd digest", lcfs_mount_image(missing, mnt, &o), EINVAL);
	o.expected_fsverity_digest = "0g";
	expect_errno("non-hex digest", lcfs_mount_image(missing, mnt, &o), EINVAL);
	o.expected_fsverity_digest =
		"00000000000000000000000000000000000000000000000000000000000000000"
		"00000000000000000000000000000000000000000000000000000000000000000";
	expect_errno("digest over 64 bytes", lcfs_mount_image(missing, mnt, &o), EINVAL);
	reset(&o, objdirs);
	o.flags = LCFS_MOUNT_FLAGS_IDMAP;
	expect_errno("idmap without fd", lcfs_mount_image(missing, mnt, &o), EINVAL);
	expect_errno("idmap without fd (fd)", lcfs_mount_fd(0, mnt, &o), EINVAL);

	/* Past validation: the image's own errors. */
	reset(&o, objdirs);
	expect_errno("missing image", lcfs_mount_image(missing, mnt, &o), ENOENT);
	expect_errno("bad fd", lcfs_mount_fd(-1, mnt, &o), EBADF);
	o.expected_fsverity_digest = digest;
	expect_errno("bad fd with digest", lcfs_mount_fd(-1, mnt, &o), EBADF);
	/* This kernel/filesystem has no verity on our executable: ENOVERITY. */
	expect_errno("digest on a file without verity",
		     lcfs_mount_image("/proc/self/exe", mnt, &o), ENOVERITY);
	/* "" is no digest at all; then the ELF header is not composefs. */
	o.expected_fsverity_digest = "";
	expect_errno("empty digest, not an image",
		     lcfs_mount_image("/proc/self/exe", mnt, &o), EINVAL);
	reset(&o, objdirs);
	expect_errno("short file", lcfs_mount_image("/dev/null", mnt, &o), EINVAL);
	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	expect_errno("not an image (fd)", lcfs_mount_fd(exe, mnt, &o), EINVAL);
	o.expected_fsverity_digest = digest;
	expect_errno("digest on fd without verity", lcfs_mount_fd(exe, mnt, &o),
		     ENOVERITY);
	close(exe);

	printf("test-mount: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct lcfs_mount_options_s o = { 0 };
	int use_fd = 0, c, res;

	if (argc == 1)
		return self_checks();

	o.idmap_fd = -1;
	while ((c = getopt(argc, argv, "frVtd:u:w:m:i:x:")) != -1) {
		switch (c) {
		case 'f':
			use_fd = 1;
			break;
		case 'r':
			o.flags |= LCFS_MOUNT_FLAGS_READONLY;
			break;
		case 'V':
			o.flags |= LCFS_MOUNT_FLAGS_REQUIRE_VERITY;
			break;
		case 't':
			o.flags |= LCFS_MOUNT_FLAGS_TRY_VERITY;
			break;
		case 'd':
			o.expected_fsverity_digest = optarg;
			break;
		case 'u':
			o.upperdir = optarg;
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case 'm':
			o.image_mountdir = optarg;
			break;
		case 'i':
			o.flags |= LCFS_MOUNT_FLAGS_IDMAP;
			o.idmap_fd = open(optarg, O_RDONLY | O_CLOEXEC);
			if (o.idmap_fd < 0) {
				perror(optarg);
				return 2;
			}
			break;
		case 'x':
			o.flags |= (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: see the comment at the top of test-mount.c\n");
		return 2;
	}
	o.objdirs = (const char **)argv + optind + 2;
	o.n_objdirs = (size_t)(argc - optind - 2);

	if (use_fd) {
		int fd = open(argv[optind], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			perror(argv[optind]);
			return 2;
		}
		res = lcfs_mount_fd(fd, argv[optind + 1], &o);
		close(fd);
	} else {
		res = lcfs_mount_image(argv[optind], argv[optind + 1], &o);
	}
	if (res < 0) {
		printf("errno %d\n", errno);
		return 1;
	}
	printf("ok\n");
	return 0;
}
