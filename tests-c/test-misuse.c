/* NULL and misuse calls on the node API (ours only: C would crash or
 * assert on most of these). Every call must return -1 / NULL / 0 / false,
 * set errno as documented (EINVAL; ENOSYS also accepted for functions not
 * implemented yet), never crash, and leave the nodes involved unchanged.
 * One table line per call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libcomposefs/lcfs-writer.h>
#include <libcomposefs/lcfs-mount.h>

static int checks, failures;

/* Everything the API can tell about a node, to compare before and after. */
struct snapshot {
	uint32_t mode, nlink, uid, gid;
	uint64_t rdev, size;
	struct timespec mtime;
	const char *name;
	char payload[64];
	bool has_payload, has_content, has_digest;
	uint8_t content[16];
	uint8_t digest[LCFS_DIGEST_SIZE];
	struct lcfs_node_s *parent, *link;
	size_t n_children, n_xattr;
	char xattrs[256];
};

static void snap(struct lcfs_node_s *n, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = lcfs_node_get_mode(n);
	s->nlink = lcfs_node_get_nlink(n);
	s->uid = lcfs_node_get_uid(n);
	s->gid = lcfs_node_get_gid(n);
	s->rdev = lcfs_node_get_rdev64(n);
	s->size = lcfs_node_get_size(n);
	lcfs_node_get_mtime(n, &s->mtime);
	s->name = lcfs_node_get_name(n);
	const char *p = lcfs_node_get_payload(n);
	s->has_payload = p != NULL;
	if (p)
		snprintf(s->payload, sizeof(s->payload), "%s", p);
	const uint8_t *c = lcfs_node_get_content(n);
	s->has_content = c != NULL;
	if (c)
		memcpy(s->content, c, s->size < sizeof(s->content) ? s->size : sizeof(s->content));
	const uint8_t *d = lcfs_node_get_fsverity_digest(n);
	s->has_digest = d != NULL;
	if (d)
		memcpy(s->digest, d, LCFS_DIGEST_SIZE);
	s->parent = lcfs_node_get_parent(n);
	s->link = lcfs_node_get_hardlink_target(n);
	s->n_children = lcfs_node_get_n_children(n);
	s->n_xattr = lcfs_node_get_n_xattr(n);
	for (size_t i = 0; i < s->n_xattr; i++) {
		size_t len = 0;
		const char *k = lcfs_node_get_xattr_name(n, i);
		const char *v = k ? lcfs_node_get_xattr(n, k, &len) : NULL;
		size_t used = strlen(s->xattrs);
		snprintf(s->xattrs + used, sizeof(s->xattrs) - used, "%s=%.*s;",
			 k ? k : "?", (int)len, v ? v : "");
	}
}

static bool same(const struct snapshot *a, const struct snapshot *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

enum kind { K_INT, K_PTR, K_SIZE, K_VOID, K_BOOL };

/* One row: what came back, what errno said, and whether nodes changed. */
static void row(const char *call, enum kind kind, long ret, int err,
		bool unchanged, bool allow_enosys, bool allow_ebadf)
{
	bool ret_ok;
	switch (kind) {
	case K_INT:
		ret_ok = ret == -1;
		break;
	case K_PTR:
	case K_SIZE:
	case K_BOOL:
		ret_ok = ret == 0;
		break;
	default:
		ret_ok = true;
	}
	bool err_ok = err == EINVAL || (allow_enosys && err == ENOSYS) ||
		      (allow_ebadf && err == EBADF);
	bool ok = ret_ok && err_ok && unchanged;
	checks++;
	if (!ok)
		failures++;
	const char *shown = kind == K_VOID ? "void" :
			    kind == K_PTR  ? (ret ? "non-NULL" : "NULL") :
					     NULL;
	char num[32];
	if (shown == NULL) {
		snprintf(num, sizeof(num), "%ld", ret);
		shown = num;
	}
	printf("%-4s %-62s -> %-8s errno %-6s%s\n", ok ? "ok" : "FAIL", call,
	       shown, strerrorname_np(err) ? strerrorname_np(err) : "0",
	       unchanged ? "" : "  (node changed!)");
}

/* The nodes every row may touch; all are compared before and after. */
static struct lcfs_node_s *root, *sub, *file, *link_node, *sym;
static struct snapshot before[5];

static void snap_all(struct snapshot *s)
{
	snap(root, &s[0]);
	snap(sub, &s[1]);
	snap(file, &s[2]);
	snap(link_node, &s[3]);
	snap(sym, &s[4]);
}

static bool all_unchanged(void)
{
	struct snapshot now[5];
	snap_all(now);
	for (int i = 0; i < 5; i++)
		if (!same(&before[i], &now[i]))
			return false;
	return true;
}

/* The call's text is taken before macro expansion, so NULL reads as NULL. */
#define RUN(kind, text, expr, enosys, ebadf)                                   \
	do {                                                                   \
		snap_all(before);                                              \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		int e_ = errno;                                                \
		row(text, kind, r_, e_, all_unchanged(), enosys, ebadf);       \
	} while (0)

#define RUN_VOID(stmt)                                                         \
	do {                                                                   \
		snap_all(before);                                              \
		errno = 0;                                                     \
		stmt;                                                          \
		int e_ = errno;                                                \
		row(#stmt, K_VOID, 0, e_, all_unchanged(), false, false);      \
	} while (0)

#define INT(e) RUN(K_INT, #e, (e), false, false)
#define PTR(e) RUN(K_PTR, #e, (e), false, false)
#define SIZE(e) RUN(K_SIZE, #e, (e), false, false)
#define BOOL(e) RUN(K_BOOL, #e, (e), false, false)
#define TODO_INT(e) RUN(K_INT, #e, (e), true, false)
#define TODO_PTR(e) RUN(K_PTR, #e, (e), true, false)
#define TODO_FD_INT(e) RUN(K_INT, #e, (e), true, true)
#define TODO_FD_PTR(e) RUN(K_PTR, #e, (e), true, true)

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
}

int main(void)
{
	struct timespec ts = { 1, 2 };
	uint8_t digest[LCFS_DIGEST_SIZE] = { 0 };
	size_t len = 12345;
	struct lcfs_write_options_s wopts = { 0 };
	struct lcfs_read_options_s ropts = { 0 };

	setup();
	printf("test-misuse: each call must fail cleanly and change no node\n");

	/* Reference counting and cloning. */
	PTR(lcfs_node_ref(NULL));
	RUN_VOID(lcfs_node_unref(NULL));
	PTR(lcfs_node_clone(NULL));
	PTR(lcfs_node_clone_deep(NULL));

	/* xattrs. */
	PTR(lcfs_node_get_xattr(NULL, "user.a", &len));
	PTR(lcfs_node_get_xattr(file, NULL, &len));
	checks++;
	if (len != 12345) {
		failures++;
		printf("FAIL get_xattr wrote *length on failure\n");
	}
	INT(lcfs_node_set_xattr(NULL, "user.a", "v", 1));
	INT(lcfs_node_set_xattr(file, NULL, "v", 1));
	INT(lcfs_node_set_xattr(file, "user.a", NULL, 5));
	INT(lcfs_node_set_xattr(file, "user.new", NULL, 1));
	INT(lcfs_node_unset_xattr(NULL, "user.a"));
	INT(lcfs_node_unset_xattr(file, NULL));
	SIZE(lcfs_node_get_n_xattr(NULL));
	PTR(lcfs_node_get_xattr_name(NULL, 0));

	/* Payload and content. */
	INT(lcfs_node_set_payload(NULL, "x"));
	INT(lcfs_node_set_symlink_payload(NULL, "x"));
	INT(lcfs_node_set_symlink_payload(sym, NULL));
	INT(lcfs_node_set_symlink_payload(file, "x"));
	INT(lcfs_node_set_symlink_payload(sub, "x"));
	PTR(lcfs_node_get_payload(NULL));
	INT(lcfs_node_set_content(NULL, (const uint8_t *)"abc", 3));
	PTR(lcfs_node_get_content(NULL));

	/* Tree structure. */
	PTR(lcfs_node_lookup_child(NULL, "sub"));
	PTR(lcfs_node_lookup_child(root, NULL));
	PTR(lcfs_node_get_parent(NULL));
	struct lcfs_node_s *loose = lcfs_node_new();
	INT(lcfs_node_add_child(NULL, loose, "x"));
	INT(lcfs_node_add_child(root, NULL, "x"));
	INT(lcfs_node_add_child(root, loose, NULL));
	lcfs_node_unref(loose);
	INT(lcfs_node_add_child(root, root, "self"));
	struct lcfs_node_s *lone = lcfs_node_new();
	lcfs_node_set_mode(lone, S_IFDIR | 0755);
	INT(lcfs_node_add_child(lone, lone, "self"));
	/* root is an ancestor of sub: it cannot go below it. */
	INT(lcfs_node_add_child(sub, root, "loop"));
	/* Nor below a grandchild, nor below a copy's own child. */
	struct lcfs_node_s *top = lcfs_node_new(), *mid = lcfs_node_new(),
			   *low = lcfs_node_new();
	lcfs_node_set_mode(top, S_IFDIR | 0755);
	lcfs_node_set_mode(mid, S_IFDIR | 0755);
	lcfs_node_set_mode(low, S_IFDIR | 0755);
	if (lcfs_node_add_child(top, mid, "mid") < 0 || lcfs_node_add_child(mid, low, "low") < 0)
		return 1;
	INT(lcfs_node_add_child(low, top, "loop"));
	INT(lcfs_node_add_child(mid, top, "loop"));
	checks++;
	if (lcfs_node_get_n_children(low) != 0 || lcfs_node_get_name(top) != NULL) {
		failures++;
		printf("FAIL refused ancestor loop changed the nodes\n");
	}
	lcfs_node_unref(top);
	PTR(lcfs_node_get_name(NULL));
	SIZE(lcfs_node_get_n_children(NULL));
	PTR(lcfs_node_get_child(NULL, 0));

	/* Hardlinks. */
	RUN_VOID(lcfs_node_make_hardlink(NULL, file));
	RUN_VOID(lcfs_node_make_hardlink(sub, NULL));
	RUN_VOID(lcfs_node_make_hardlink(file, file));
	RUN_VOID(lcfs_node_make_hardlink(lone, lone));
	/* link_node -> file; file -> link_node would close a cycle. */
	RUN_VOID(lcfs_node_make_hardlink(file, link_node));
	PTR(lcfs_node_get_hardlink_target(NULL));
	lcfs_node_unref(lone);

	/* Inode fields. */
	BOOL(lcfs_node_dirp(NULL));
	SIZE(lcfs_node_get_mode(NULL));
	RUN_VOID(lcfs_node_set_mode(NULL, S_IFREG | 0644));
	INT(lcfs_node_try_set_mode(NULL, S_IFREG | 0644));
	INT(lcfs_node_try_set_mode(NULL, 0644));
	SIZE(lcfs_node_get_uid(NULL));
	RUN_VOID(lcfs_node_set_uid(NULL, 1));
	SIZE(lcfs_node_get_gid(NULL));
	RUN_VOID(lcfs_node_set_gid(NULL, 1));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	SIZE(lcfs_node_get_rdev(NULL));
	RUN_VOID(lcfs_node_set_rdev(NULL, 1));
#pragma GCC diagnostic pop
	SIZE(lcfs_node_get_rdev64(NULL));
	RUN_VOID(lcfs_node_set_rdev64(NULL, 1));
	SIZE(lcfs_node_get_nlink(NULL));
	RUN_VOID(lcfs_node_set_nlink(NULL, 1));
	SIZE(lcfs_node_get_size(NULL));
	RUN_VOID(lcfs_node_set_size(NULL, 1));
	RUN_VOID(lcfs_node_set_mtime(NULL, &ts));
	RUN_VOID(lcfs_node_set_mtime(file, NULL));
	RUN_VOID(lcfs_node_get_mtime(NULL, &ts));
	RUN_VOID(lcfs_node_get_mtime(file, NULL));
	checks++;
	if (ts.tv_sec != 1 || ts.tv_nsec != 2) {
		failures++;
		printf("FAIL get_mtime wrote the timespec on failure\n");
	}
	PTR(lcfs_node_get_fsverity_digest(NULL));
	RUN_VOID(lcfs_node_set_fsverity_digest(NULL, digest));
	RUN_VOID(lcfs_node_set_fsverity_digest(file, NULL));

	/* Not implemented yet everywhere: NULL (or -1 fd) arguments. */
	printf("-- image, build and mount entry points (EINVAL, or ENOSYS while unimplemented; EBADF for fd -1)\n");
	TODO_INT(lcfs_write_to(NULL, NULL));
	TODO_INT(lcfs_write_to(NULL, &wopts));
	TODO_INT(lcfs_write_to(root, NULL));
	TODO_PTR(lcfs_load_node_from_image(NULL, 0));
	TODO_PTR(lcfs_load_node_from_image(NULL, 4096));
	TODO_PTR(lcfs_load_node_from_image_ext(NULL, 0, NULL));
	TODO_PTR(lcfs_load_node_from_image_ext(NULL, 4096, &ropts));
	TODO_FD_PTR(lcfs_load_node_from_fd(-1));
	TODO_FD_PTR(lcfs_load_node_from_fd_ext(-1, NULL));
	TODO_FD_INT(lcfs_version_from_fd(-1));
	TODO_PTR(lcfs_build(AT_FDCWD, NULL, 0, NULL));
	TODO_PTR(lcfs_load_node_from_file(AT_FDCWD, NULL, 0));
	TODO_INT(lcfs_node_set_from_content(NULL, AT_FDCWD, "x", 0));
	TODO_INT(lcfs_node_set_from_content(file, AT_FDCWD, NULL, 0));
	TODO_INT(lcfs_mount_image(NULL, NULL, NULL));
	TODO_INT(lcfs_mount_image(NULL, "/nonexistent", NULL));
	TODO_FD_INT(lcfs_mount_fd(-1, NULL, NULL));

	lcfs_node_unref(root);
	printf("test-misuse: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
