#include <stdio.h>
#include <sys/stat.h>
#include <libcomposefs/lcfs-writer.h>

int main(void)
{
	struct lcfs_node_s *root = lcfs_node_new();
	struct lcfs_node_s *file = lcfs_node_new();
	size_t len;

	lcfs_node_set_mode(root, S_IFDIR | 0755);
	lcfs_node_set_mode(file, S_IFREG | 0644);
	lcfs_node_set_size(file, 5);
	/* A regular file's payload names its backing file in the object store. */
	if (lcfs_node_set_payload(file, "6a/b1c2d3") < 0 ||
	    lcfs_node_set_xattr(file, "user.origin", "demo", 4) < 0 ||
	    lcfs_node_add_child(root, file, "hello.txt") < 0) { /* root now owns file */
		perror("building the tree");
		return 1;
	}

	struct lcfs_node_s *found = lcfs_node_lookup_child(root, "hello.txt");
	const char *origin = lcfs_node_get_xattr(found, "user.origin", &len);
	printf("%zu entry: %s -> %s, user.origin=%.*s\n", lcfs_node_get_n_children(root),
	       lcfs_node_get_name(found), lcfs_node_get_payload(found), (int)len, origin);
	lcfs_node_unref(root);
	return 0;
}
