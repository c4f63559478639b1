/* Misuse table, part 1: the node API of lcfs-writer.h (41 functions).
 * NULL pointers, invalid modes, oversize names/xattrs/payloads/content,
 * bad tree operations and out-of-range indexes: each row gets the failure
 * return, the exact errno (C's where C defines one, EINVAL where C would
 * crash or assert) and leaves every node unchanged. See misuse.h.
 * Lookups that simply find nothing return NULL/0 and leave errno alone,
 * as in C. */
#include "misuse.h"

#include <limits.h>
#include <sys/stat.h>

static struct lcfs_node_s *root, *sub, *file, *link_node, *sym;

static void setup(void)
{
	struct timespec ts = { 1000, 2000 };
	uint8_t digest[LCFS_DIGEST_SIZE];

	memset(digest, 0x11, sizeof(digest));
	root = lcfs_node_new();
	sub = lcfs_node_new();
	file = lcfs_node_new();
	link_node = lcfs_node_new();
	sym = lcfs_node_new();
	lcfs_node_set_mode(root, S_IFDIR | 0755);
	lcfs_node_set_mode(sub, S_IFDIR | 0700);
	lcfs_node_set_mode(file, S_IFREG | 0644);
	lcfs_node_set_mode(sym, S_IFLNK | 0777);
	if (lcfs_node_add_child(root, sub, "sub") < 0 ||
	    lcfs_node_add_child(sub, file, "file") < 0 ||
	    lcfs_node_add_child(root, link_node, "link") < 0 ||
	    lcfs_node_add_child(root, sym, "sym") < 0 ||
	    lcfs_node_set_xattr(file, "user.a", "1", 1) < 0 ||
	    lcfs_node_set_xattr(file, "user.b", "22", 2) < 0 ||
	    lcfs_node_set_content(file, (const uint8_t *)"data", 4) < 0 ||
	    lcfs_node_set_payload(file, "ab/cd") < 0 ||
	    lcfs_node_set_symlink_payload(sym, "target") < 0) {
		perror("setup");
		exit(1);
	}
	lcfs_node_set_uid(file, 5);
	lcfs_node_set_gid(file, 6);
	lcfs_node_set_rdev64(file, 7);
	lcfs_node_set_mtime(file, &ts);
	lcfs_node_set_fsverity_digest(file, digest);
	lcfs_node_make_hardlink(link_node, file);
	watch(root);
	watch(sub);
	watch(file);
	watch(link_node);
	watch(sym);
}

int main(void)
{
	struct timespec ts = { 1, 2 };
	uint8_t digest[LCFS_DIGEST_SIZE] = { 0 };
	size_t len = 12345;
	static char n256[257], k256[257], v64k[65537], p4096[PATH_MAX + 1];
	static uint8_t c5001[5001];

	memset(n256, 'n', 256);
	memset(k256, 'k', 256);
	memcpy(k256, "user.", 5);
	memset(v64k, 'v', 65536);
	memset(p4096, 'p', PATH_MAX);
	misuse_begin("test-misuse");
	setup();

	/* lcfs_node_new has no arguments to misuse; it returns a fresh node. */
	struct lcfs_node_s *fresh = lcfs_node_new();
	CHECK(fresh != NULL && lcfs_node_get_nlink(fresh) == 1);
	printf("ok   lcfs_node_new() -> non-NULL (no arguments to misuse)\n");
	lcfs_node_unref(fresh);

	/* Reference counting and cloning. */
	S_PTR(EINVAL, lcfs_node_ref(NULL));
	S_VOID(EINVAL, lcfs_node_unref(NULL));
	S_PTR(EINVAL, lcfs_node_clone(NULL));
	S_PTR(EINVAL, lcfs_node_clone_deep(NULL));

	/* xattrs. */
	S_PTR(EINVAL, lcfs_node_get_xattr(NULL, "user.a", &len));
	S_PTR(EINVAL, lcfs_node_get_xattr(file, NULL, &len));
	PTR(0, lcfs_node_get_xattr(file, "user.missing", &len));
	CHECK(len == 12345); /* *length is written only when found */
	S_INT(EINVAL, lcfs_node_set_xattr(NULL, "user.a", "v", 1));
	S_INT(EINVAL, lcfs_node_set_xattr(file, NULL, "v", 1));
	S_INT(EINVAL, lcfs_node_set_xattr(file, "user.a", NULL, 5));
	S_INT(EINVAL, lcfs_node_set_xattr(file, "user.new", NULL, 1));
	INT(ERANGE, lcfs_node_set_xattr(file, "", "v", 1));
	INT(ERANGE, lcfs_node_set_xattr(file, k256, "v", 1));
	INT(EINVAL, lcfs_node_set_xattr(file, "user.new", v64k, 65536));
	/* Fits one value's limit but not the node's xattr budget. C drops
	 * the old value of a replaced name before failing, so only a new
	 * name is also run against C. */
	INT(ERANGE, lcfs_node_set_xattr(file, "user.new", v64k, 65535));
	S_INT(ERANGE, lcfs_node_set_xattr(file, "user.a", v64k, 65535));
	S_INT(EINVAL, lcfs_node_unset_xattr(NULL, "user.a"));
	S_INT(EINVAL, lcfs_node_unset_xattr(file, NULL));
	INT(ENODATA, lcfs_node_unset_xattr(file, "user.missing"));
	S_ZERO(EINVAL, lcfs_node_get_n_xattr(NULL));
	S_PTR(EINVAL, lcfs_node_get_xattr_name(NULL, 0));
	PTR(0, lcfs_node_get_xattr_name(file, 2));
	PTR(0, lcfs_node_get_xattr_name(file, (size_t)-1));

	/* Payload and content. */
	S_INT(EINVAL, lcfs_node_set_payload(NULL, "x"));
	INT(ENAMETOOLONG, lcfs_node_set_payload(file, p4096));
	S_INT(EINVAL, lcfs_node_set_symlink_payload(NULL, "x"));
	INT(EINVAL, lcfs_node_set_symlink_payload(sym, NULL));
	INT(EINVAL, lcfs_node_set_symlink_payload(sym, ""));
	INT(ENAMETOOLONG, lcfs_node_set_symlink_payload(sym, p4096));
	S_INT(EINVAL, lcfs_node_set_symlink_payload(file, "x"));
	S_INT(EINVAL, lcfs_node_set_symlink_payload(sub, "x"));
	S_PTR(EINVAL, lcfs_node_get_payload(NULL));
	S_INT(EINVAL, lcfs_node_set_content(NULL, (const uint8_t *)"abc", 3));
	INT(EINVAL, lcfs_node_set_content(file, c5001, sizeof(c5001)));
	INT(EINVAL, lcfs_node_set_content(file, c5001, (size_t)-1));
	S_PTR(EINVAL, lcfs_node_get_content(NULL));

	/* Tree structure. */
	S_PTR(EINVAL, lcfs_node_lookup_child(NULL, "sub"));
	S_PTR(EINVAL, lcfs_node_lookup_child(root, NULL));
	PTR(0, lcfs_node_lookup_child(root, "missing"));
	PTR(0, lcfs_node_lookup_child(file, "sub"));
	S_PTR(EINVAL, lcfs_node_get_parent(NULL));
	struct lcfs_node_s *loose = lcfs_node_new();
	lcfs_node_set_mode(loose, S_IFREG | 0644);
	watch(loose);
	S_INT(EINVAL, lcfs_node_add_child(NULL, loose, "x"));
	S_INT(EINVAL, lcfs_node_add_child(root, NULL, "x"));
	S_INT(EINVAL, lcfs_node_add_child(root, loose, NULL));
	INT(ENOTDIR, lcfs_node_add_child(file, loose, "x"));
	INT(EINVAL, lcfs_node_add_child(root, loose, ""));
	INT(ENAMETOOLONG, lcfs_node_add_child(root, loose, n256));
	INT(EEXIST, lcfs_node_add_child(root, loose, "sub"));
	INT(EMLINK, lcfs_node_add_child(root, file, "again"));
	/* C links these and so builds a cycle. */
	S_INT(EINVAL, lcfs_node_add_child(root, root, "self"));
	S_INT(EINVAL, lcfs_node_add_child(sub, root, "loop"));
	struct lcfs_node_s *top = lcfs_node_new(), *mid = lcfs_node_new(),
			   *low = lcfs_node_new();
	lcfs_node_set_mode(top, S_IFDIR | 0755);
	lcfs_node_set_mode(mid, S_IFDIR | 0755);
	lcfs_node_set_mode(low, S_IFDIR | 0755);
	if (lcfs_node_add_child(top, mid, "mid") < 0 || lcfs_node_add_child(mid, low, "low") < 0)
		return 1;
	watch(top);
	watch(mid);
	watch(low);
	S_INT(EINVAL, lcfs_node_add_child(low, top, "loop"));
	S_INT(EINVAL, lcfs_node_add_child(mid, top, "loop"));
	/* Already named (it is in a tree): C checks that first. */
	INT(EMLINK, lcfs_node_add_child(low, low, "self"));
	S_PTR(EINVAL, lcfs_node_get_name(NULL));
	S_ZERO(EINVAL, lcfs_node_get_n_children(NULL));
	S_PTR(EINVAL, lcfs_node_get_child(NULL, 0));
	PTR(0, lcfs_node_get_child(root, 3));
	PTR(0, lcfs_node_get_child(file, 0));

	/* Hardlinks. make_hardlink returns nothing: errno tells. */
	S_VOID(EINVAL, lcfs_node_make_hardlink(NULL, file));
	S_VOID(EINVAL, lcfs_node_make_hardlink(sub, NULL));
	S_VOID(EINVAL, lcfs_node_make_hardlink(file, file));
	S_VOID(EINVAL, lcfs_node_make_hardlink(loose, loose));
	/* link_node -> file; file -> link_node would close a cycle. */
	S_VOID(EINVAL, lcfs_node_make_hardlink(file, link_node));
	S_PTR(EINVAL, lcfs_node_get_hardlink_target(NULL));

	/* Inode fields. */
	S_ZERO(EINVAL, lcfs_node_dirp(NULL));
	S_ZERO(EINVAL, lcfs_node_get_mode(NULL));
	S_VOID(EINVAL, lcfs_node_set_mode(NULL, S_IFREG | 0644));
	S_INT(EINVAL, lcfs_node_try_set_mode(NULL, S_IFREG | 0644));
	INT(EINVAL, lcfs_node_try_set_mode(NULL, 0644));
	INT(EINVAL, lcfs_node_try_set_mode(file, 0644));
	INT(EINVAL, lcfs_node_try_set_mode(file, 0170000 | 0644));
	INT(EINVAL, lcfs_node_try_set_mode(file, 0xffffffffu));
	S_ZERO(EINVAL, lcfs_node_get_uid(NULL));
	S_VOID(EINVAL, lcfs_node_set_uid(NULL, 1));
	S_ZERO(EINVAL, lcfs_node_get_gid(NULL));
	S_VOID(EINVAL, lcfs_node_set_gid(NULL, 1));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	S_ZERO(EINVAL, lcfs_node_get_rdev(NULL));
	S_VOID(EINVAL, lcfs_node_set_rdev(NULL, 1));
#pragma GCC diagnostic pop
	S_ZERO(EINVAL, lcfs_node_get_rdev64(NULL));
	S_VOID(EINVAL, lcfs_node_set_rdev64(NULL, 1));
	S_ZERO(EINVAL, lcfs_node_get_nlink(NULL));
	S_VOID(EINVAL, lcfs_node_set_nlink(NULL, 1));
	S_ZERO(EINVAL, lcfs_node_get_size(NULL));
	S_VOID(EINVAL, lcfs_node_set_size(NULL, 1));
	S_VOID(EINVAL, lcfs_node_set_mtime(NULL, &ts));
	S_VOID(EINVAL, lcfs_node_set_mtime(file, NULL));
	S_VOID(EINVAL, lcfs_node_get_mtime(NULL, &ts));
	S_VOID(EINVAL, lcfs_node_get_mtime(file, NULL));
	CHECK(ts.tv_sec == 1 && ts.tv_nsec == 2); /* not written on failure */
	S_PTR(EINVAL, lcfs_node_get_fsverity_digest(NULL));
	S_VOID(EINVAL, lcfs_node_set_fsverity_digest(NULL, digest));
	S_VOID(EINVAL, lcfs_node_set_fsverity_digest(file, NULL));

	unwatch_all();
	lcfs_node_unref(top);
	lcfs_node_unref(loose);
	lcfs_node_unref(root);
	return misuse_end("test-misuse");
}
