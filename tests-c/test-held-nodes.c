/* A program may exit while it still holds nodes (mkcomposefs does so on
 * every error). Leak checkers must then see those nodes as referenced, as
 * they do with C libcomposefs: the pointers we hand out have to point into
 * the node's allocation. Run plainly this only builds a small tree; the
 * real assertion is made by LeakSanitizer (tests-c/check-asan.sh) and
 * valgrind (tests-c/check-valgrind.sh), which report a held node as
 * leaked when its pointer lies outside the allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <libcomposefs/lcfs-writer.h>

/* Not static: the stores must stay (the compiler may drop stores to a
 * static variable nothing reads). */
struct lcfs_node_s *held_root, *held_lone;

int main(void)
{
	struct lcfs_node_s *child = lcfs_node_new();

	held_root = lcfs_node_new();
	lcfs_node_set_mode(held_root, S_IFDIR | 0755);
	lcfs_node_set_mode(child, S_IFREG | 0644);
	if (lcfs_node_set_xattr(held_root, "user.k", "v", 1) < 0 ||
	    lcfs_node_add_child(held_root, child, "child") < 0 ||
	    lcfs_node_set_payload(child, "ab/cdef") < 0) {
		perror("building the tree");
		return 1;
	}
	/* A node nothing else refers to: only the global keeps it. */
	held_lone = lcfs_node_new();
	if (held_lone == NULL || lcfs_node_set_xattr(held_lone, "user.x", "y", 1) < 0) {
		perror("lone node");
		return 1;
	}
	printf("test-held-nodes: exiting with the tree still held\n");
	exit(0);
}
