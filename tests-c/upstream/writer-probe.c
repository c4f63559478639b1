/* Tells whether a libcomposefs can write images at all, so the suite's
 * entry script can tell "writer still a stub" from "writer broken".
 *
 *   writer-probe /path/to/libcomposefs.so
 *
 * The library is opened by path with dlopen, so exactly that file is probed
 * whatever its name. Exit status: 0 lcfs_write_to wrote an image of a lone
 * root directory; 3 it failed with ENOSYS; 1 any other outcome.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "lcfs-writer.h"

static size_t written;

/* Counts what the writer emits; the bytes themselves do not matter here. */
static ssize_t count_bytes(void *file, void *buf, size_t count)
{
	(void)file;
	(void)buf;
	written += count;
	return (ssize_t)count;
}

int main(int argc, char **argv)
{
	struct lcfs_node_s *(*node_new)(void);
	int (*node_set_mode)(struct lcfs_node_s *, uint32_t);
	void (*node_unref)(struct lcfs_node_s *);
	int (*write_to)(struct lcfs_node_s *, struct lcfs_write_options_s *);
	struct lcfs_write_options_s opts;
	struct lcfs_node_s *root;
	void *lib;
	int r, err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 1;
	}
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		fprintf(stderr, "writer-probe: %s\n", dlerror());
		return 1;
	}
	*(void **)&node_new = dlsym(lib, "lcfs_node_new");
	*(void **)&node_set_mode = dlsym(lib, "lcfs_node_set_mode");
	*(void **)&node_unref = dlsym(lib, "lcfs_node_unref");
	*(void **)&write_to = dlsym(lib, "lcfs_write_to");
	if (!node_new || !node_set_mode || !node_unref || !write_to) {
		fprintf(stderr, "writer-probe: %s lacks an lcfs_* symbol\n", argv[1]);
		return 1;
	}

	root = node_new();
	if (root == NULL) {
		perror("writer-probe: lcfs_node_new");
		return 1;
	}
	node_set_mode(root, S_IFDIR | 0755);
	memset(&opts, 0, sizeof(opts));
	opts.format = LCFS_FORMAT_EROFS;
	opts.file = &written;
	opts.file_write_cb = count_bytes;
	errno = 0;
	r = write_to(root, &opts);
	err = errno;
	node_unref(root);

	if (r == 0 && written > 0) {
		printf("writer-probe: lcfs_write_to wrote %zu bytes\n", written);
		return 0;
	}
	if (r < 0 && err == ENOSYS) {
		printf("writer-probe: lcfs_write_to fails with ENOSYS\n");
		return 3;
	}
	printf("writer-probe: lcfs_write_to returned %d, errno %d (%s), %zu bytes\n",
	       r, err, strerror(err), written);
	return 1;
}
