/* The fs-verity functions of lcfs-writer.h on one file, for the guest
 * scenarios of tests-c/check-kernels.sh (run once per library):
 *
 *   vm-verity enable FILE ro|rw|dir   lcfs_fd_enable_fsverity on an fd
 *                                     opened read-only, read-write, or
 *                                     as a directory
 *   vm-verity measure FILE            lcfs_fd_measure_fsverity
 *   vm-verity get FILE                lcfs_fd_get_fsverity
 *
 * Prints one line: the return value; on failure errno after the call
 * (set to 0 before it, so an unchanged errno shows); for measure/get the
 * digest buffer in hex (filled with 0xaa before the call). Exits 0 unless the arguments or the open fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libcomposefs/lcfs-writer.h>

/* errno after a success is unspecified: only shown for failures. */
static void print_res(int res, int err)
{
	if (res < 0)
		printf("res %d errno %d", res, err);
	else
		printf("res %d", res);
}

int main(int argc, char **argv)
{
	uint8_t digest[LCFS_DIGEST_SIZE];
	int fd, res, flags = O_RDONLY | O_CLOEXEC, err, i;

	if (argc < 3 || (strcmp(argv[1], "enable") == 0 && argc != 4)) {
		fprintf(stderr, "usage: see the comment at the top of vm-verity.c\n");
		return 2;
	}
	if (argc == 4 && strcmp(argv[3], "rw") == 0)
		flags = O_RDWR | O_CLOEXEC;
	else if (argc == 4 && strcmp(argv[3], "dir") == 0)
		flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	fd = open(argv[2], flags);
	if (fd < 0) {
		perror(argv[2]);
		return 2;
	}
	memset(digest, 0xaa, sizeof(digest));
	errno = 0;
	if (strcmp(argv[1], "enable") == 0) {
		res = lcfs_fd_enable_fsverity(fd);
		err = errno;
		print_res(res, err);
		printf("\n");
		return 0;
	}
	if (strcmp(argv[1], "measure") == 0)
		res = lcfs_fd_measure_fsverity(digest, fd);
	else if (strcmp(argv[1], "get") == 0)
		res = lcfs_fd_get_fsverity(digest, fd);
	else
		return 2;
	err = errno;
	print_res(res, err);
	printf(" digest ");
	for (i = 0; i < LCFS_DIGEST_SIZE; i++)
		printf("%02x", digest[i]);
	printf("\n");
	return 0;
}
