/* Node-tree API of lcfs-writer.h, checked against the semantics of C
 * libcomposefs 1.0.8. tests-c/check-node-oracle.sh runs this same binary
 * against the C library too, with LCFS_ORACLE=1: then only the checks that
 * hold for both libraries run. Without it (our library) the "ours only"
 * checks run as well: places where we are deliberately stricter than C.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libcomposefs/lcfs-writer.h>

static int checks, failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,          \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

/* Calls an int-returning function and checks its result and errno. */
#define CHECK_INT(call, want_ret, want_errno)                                  \
	do {                                                                   \
		errno = 0;                                                     \
		int r_ = (call);                                               \
		int e_ = errno;                                                \
		checks++;                                                      \
		if (r_ != (want_ret) || (r_ < 0 && e_ != (want_errno))) {      \
			failures++;                                            \
			fprintf(stderr,                                        \
				"FAIL %s:%d: %s = %d errno %d (%s), want %d "  \
				"errno %d\n",                                  \
				__FILE__, __LINE__, #call, r_, e_,             \
				strerror(e_), (int)(want_ret),                 \
				(int)(want_errno));                            \
		}                                                              \
	} while (0)

#define CHECK_OK(call) CHECK_INT(call, 0, 0)
#define CHECK_FAIL(call, want_errno) CHECK_INT(call, -1, want_errno)

static struct lcfs_node_s *node_with_mode(uint32_t mode)
{
	struct lcfs_node_s *n = lcfs_node_new();
	if (n == NULL) {
		perror("lcfs_node_new");
		exit(1);
	}
	lcfs_node_set_mode(n, mode);
	return n;
}

static struct lcfs_node_s *new_dir(void)
{
	return node_with_mode(S_IFDIR | 0755);
}

static struct lcfs_node_s *new_file(void)
{
	return node_with_mode(S_IFREG | 0644);
}

static bool name_is(struct lcfs_node_s *n, const char *want)
{
	const char *got = lcfs_node_get_name(n);
	if (want == NULL)
		return got == NULL;
	return got != NULL && strcmp(got, want) == 0;
}

static bool xattr_is(struct lcfs_node_s *n, const char *key, const char *val,
		     size_t len)
{
	size_t got_len = (size_t)-1;
	const char *got = lcfs_node_get_xattr(n, key, &got_len);
	return got != NULL && got_len == len && memcmp(got, val, len) == 0;
}

/* True when the node's xattr names are exactly `names`, in that order. */
static bool xattr_order(struct lcfs_node_s *n, const char *const *names, size_t count)
{
	if (lcfs_node_get_n_xattr(n) != count)
		return false;
	for (size_t i = 0; i < count; i++) {
		const char *k = lcfs_node_get_xattr_name(n, i);
		if (k == NULL || strcmp(k, names[i]) != 0)
			return false;
	}
	return lcfs_node_get_xattr_name(n, count) == NULL;
}

static char *repeat(char c, size_t len)
{
	char *s = malloc(len + 1);
	if (s == NULL)
		exit(1);
	memset(s, c, len);
	s[len] = 0;
	return s;
}

static void test_defaults(void)
{
	struct lcfs_node_s *n = lcfs_node_new();
	struct timespec ts = { 123, 456 };

	CHECK(n != NULL);
	CHECK(lcfs_node_get_mode(n) == 0);
	CHECK(lcfs_node_get_nlink(n) == 1);
	CHECK(lcfs_node_get_uid(n) == 0);
	CHECK(lcfs_node_get_gid(n) == 0);
	CHECK(lcfs_node_get_rdev64(n) == 0);
	CHECK(lcfs_node_get_size(n) == 0);
	lcfs_node_get_mtime(n, &ts);
	CHECK(ts.tv_sec == 0 && ts.tv_nsec == 0);
	CHECK(lcfs_node_get_name(n) == NULL);
	CHECK(lcfs_node_get_parent(n) == NULL);
	CHECK(lcfs_node_get_payload(n) == NULL);
	CHECK(lcfs_node_get_content(n) == NULL);
	CHECK(lcfs_node_get_fsverity_digest(n) == NULL);
	CHECK(lcfs_node_get_hardlink_target(n) == NULL);
	CHECK(lcfs_node_get_n_children(n) == 0);
	CHECK(lcfs_node_get_child(n, 0) == NULL);
	CHECK(lcfs_node_get_n_xattr(n) == 0);
	CHECK(lcfs_node_get_xattr_name(n, 0) == NULL);
	CHECK(lcfs_node_get_xattr(n, "user.x", NULL) == NULL);
	CHECK(!lcfs_node_dirp(n));
	CHECK(lcfs_node_lookup_child(n, "x") == NULL);

	/* ref hands back the same node; each reference is released once. */
	CHECK(lcfs_node_ref(n) == n);
	lcfs_node_unref(n);
	CHECK(lcfs_node_get_nlink(n) == 1);
	lcfs_node_unref(n);
	printf("ok defaults, ref/unref\n");
}

static void test_children(void)
{
	struct lcfs_node_s *root = new_dir();
	const char *names[] = { "b", "a", "c", "ab", "B", "a0", "_", "~" };
	const char *sorted[] = { "B", "_", "a", "a0", "ab", "b", "c", "~" };
	size_t n = sizeof(names) / sizeof(names[0]);
	struct lcfs_node_s *kids[8];

	for (size_t i = 0; i < n; i++) {
		kids[i] = new_file();
		CHECK_OK(lcfs_node_add_child(root, kids[i], names[i]));
	}
	CHECK(lcfs_node_get_n_children(root) == n);
	for (size_t i = 0; i < n; i++) {
		struct lcfs_node_s *c = lcfs_node_get_child(root, i);
		CHECK(c != NULL && name_is(c, sorted[i]));
		CHECK(c != NULL && lcfs_node_get_parent(c) == root);
		CHECK(lcfs_node_lookup_child(root, sorted[i]) == c);
	}
	CHECK(lcfs_node_get_child(root, n) == NULL);
	for (size_t i = 0; i < n; i++) {
		CHECK(lcfs_node_lookup_child(root, names[i]) == kids[i]);
		/* The name is a copy, not the caller's string. */
		CHECK(lcfs_node_get_name(kids[i]) != names[i]);
	}
	CHECK(lcfs_node_lookup_child(root, "aa") == NULL);
	CHECK(lcfs_node_lookup_child(root, "") == NULL);
	CHECK(lcfs_node_lookup_child(root, "zzz") == NULL);
	CHECK(lcfs_node_lookup_child(root, "A") == NULL);

	/* Many children in scrambled order still come out sorted. */
	struct lcfs_node_s *big = new_dir();
	char name[32];
	for (unsigned i = 0; i < 500; i++) {
		unsigned k = (i * 7919u) % 500u;
		snprintf(name, sizeof(name), "f%03u", k);
		CHECK_OK(lcfs_node_add_child(big, new_file(), name));
	}
	CHECK(lcfs_node_get_n_children(big) == 500);
	bool ordered = true, found = true;
	for (unsigned i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "f%03u", i);
		ordered &= name_is(lcfs_node_get_child(big, i), name);
		found &= lcfs_node_lookup_child(big, name) == lcfs_node_get_child(big, i);
	}
	CHECK(ordered);
	CHECK(found);
	lcfs_node_unref(big);

	/* Errors, in C's order of checks. */
	struct lcfs_node_s *file = new_file();
	struct lcfs_node_s *orphan = new_file();
	char *n255 = repeat('n', 255), *n256 = repeat('n', 256);

	CHECK_FAIL(lcfs_node_add_child(file, orphan, "x"), ENOTDIR);
	CHECK_FAIL(lcfs_node_add_child(file, orphan, ""), ENOTDIR);
	CHECK_FAIL(lcfs_node_add_child(file, kids[0], "x"), ENOTDIR);
	CHECK_FAIL(lcfs_node_add_child(root, orphan, ""), EINVAL);
	CHECK_FAIL(lcfs_node_add_child(root, kids[0], ""), EINVAL);
	CHECK_FAIL(lcfs_node_add_child(root, orphan, n256), ENAMETOOLONG);
	CHECK_FAIL(lcfs_node_add_child(root, kids[0], n256), ENAMETOOLONG);
	/* Already in a tree: EMLINK, checked before the name clash. */
	CHECK_FAIL(lcfs_node_add_child(root, kids[0], "other"), EMLINK);
	CHECK_FAIL(lcfs_node_add_child(root, kids[0], "b"), EMLINK);
	struct lcfs_node_s *sub = new_dir();
	CHECK_OK(lcfs_node_add_child(root, sub, "sub"));
	CHECK_FAIL(lcfs_node_add_child(sub, kids[1], "x"), EMLINK);
	/* Adding a node to itself: C's own checks refuse these first. */
	CHECK_FAIL(lcfs_node_add_child(file, file, "x"), ENOTDIR);
	CHECK_FAIL(lcfs_node_add_child(sub, sub, ""), EINVAL);
	CHECK_FAIL(lcfs_node_add_child(sub, sub, "x"), EMLINK);
	CHECK_FAIL(lcfs_node_add_child(root, orphan, "b"), EEXIST);
	CHECK_FAIL(lcfs_node_add_child(root, orphan, "sub"), EEXIST);
	/* Failures leave both nodes as they were. */
	CHECK(name_is(orphan, NULL) && lcfs_node_get_parent(orphan) == NULL);
	CHECK(lcfs_node_get_n_children(root) == n + 1);
	CHECK(name_is(kids[0], "b") && lcfs_node_get_parent(kids[0]) == root);
	CHECK(lcfs_node_get_n_children(sub) == 0);
	/* Exactly 255 bytes is allowed; a dir accepts a dir. */
	CHECK_OK(lcfs_node_add_child(sub, orphan, n255));
	CHECK(lcfs_node_lookup_child(sub, n255) == orphan);
	CHECK(lcfs_node_get_parent(sub) == root);
	CHECK(lcfs_node_dirp(sub) && !lcfs_node_dirp(orphan));
	/* Any file type may be a child, and the parent's permission bits do not matter. */
	struct lcfs_node_s *odd = new_dir();
	lcfs_node_set_mode(odd, S_IFDIR);
	struct lcfs_node_s *fifo = node_with_mode(S_IFIFO | 0600);
	CHECK_OK(lcfs_node_add_child(odd, fifo, "fifo"));
	CHECK_OK(lcfs_node_add_child(sub, odd, "odd"));

	free(n255);
	free(n256);
	lcfs_node_unref(file);
	lcfs_node_unref(root);
	printf("ok children: sorted order, lookup, add_child errors\n");
}

static void test_teardown(void)
{
	/* root/sub/leaf plus root/keep; outside references to sub and leaf. */
	struct lcfs_node_s *root = new_dir();
	struct lcfs_node_s *sub = new_dir();
	struct lcfs_node_s *leaf = new_file();
	struct lcfs_node_s *deeper = new_dir();
	struct lcfs_node_s *bottom = new_file();

	CHECK_OK(lcfs_node_add_child(root, sub, "sub"));
	CHECK_OK(lcfs_node_add_child(sub, leaf, "leaf"));
	CHECK_OK(lcfs_node_add_child(sub, deeper, "deeper"));
	CHECK_OK(lcfs_node_add_child(deeper, bottom, "bottom"));
	CHECK_OK(lcfs_node_add_child(root, new_file(), "keep"));
	lcfs_node_ref(sub);
	lcfs_node_ref(bottom);

	lcfs_node_unref(root);
	/* The surviving child is detached, and its own children are torn
	 * down too: sub is left empty. */
	CHECK(name_is(sub, NULL));
	CHECK(lcfs_node_get_parent(sub) == NULL);
	CHECK(lcfs_node_get_n_children(sub) == 0);
	CHECK(lcfs_node_lookup_child(sub, "leaf") == NULL);
	CHECK(name_is(bottom, NULL));
	CHECK(lcfs_node_get_parent(bottom) == NULL);
	/* Both can live on and be added elsewhere (add_child takes the
	 * reference it is given, so keep one more of each). */
	struct lcfs_node_s *root2 = new_dir();
	lcfs_node_ref(sub);
	lcfs_node_ref(bottom);
	CHECK_OK(lcfs_node_add_child(root2, sub, "again"));
	CHECK_OK(lcfs_node_add_child(sub, bottom, "bottom2"));
	CHECK(lcfs_node_get_parent(bottom) == sub);
	CHECK(lcfs_node_lookup_child(root2, "again") == sub);
	lcfs_node_unref(root2);
	CHECK(name_is(sub, NULL) && name_is(bottom, NULL));
	lcfs_node_unref(sub);
	lcfs_node_unref(bottom);

	/* A child kept alive by its parent only goes away with it. */
	struct lcfs_node_s *p = new_dir();
	struct lcfs_node_s *c = new_file();
	CHECK_OK(lcfs_node_add_child(p, c, "c"));
	lcfs_node_set_uid(c, 77);
	CHECK(lcfs_node_get_uid(lcfs_node_lookup_child(p, "c")) == 77);
	lcfs_node_unref(p);
	printf("ok teardown: detached survivors, recursive\n");
}

static void test_hardlinks(bool ours)
{
	struct lcfs_node_s *root = new_dir();
	struct lcfs_node_s *target = new_file();
	struct lcfs_node_s *l1 = lcfs_node_new();
	struct lcfs_node_s *l2 = lcfs_node_new();
	struct lcfs_node_s *l3 = lcfs_node_new();
	struct lcfs_node_s *other = new_file();

	CHECK_OK(lcfs_node_add_child(root, target, "target"));
	CHECK_OK(lcfs_node_add_child(root, l1, "l1"));
	CHECK(lcfs_node_get_nlink(target) == 1);
	lcfs_node_make_hardlink(l1, target);
	CHECK(lcfs_node_get_hardlink_target(l1) == target);
	CHECK(lcfs_node_get_nlink(target) == 2);
	CHECK(lcfs_node_get_nlink(l1) == 1);
	lcfs_node_make_hardlink(l2, target);
	CHECK(lcfs_node_get_nlink(target) == 3);
	/* A link to a link counts on the node named, not the end of the chain. */
	lcfs_node_make_hardlink(l3, l1);
	CHECK(lcfs_node_get_hardlink_target(l3) == l1);
	CHECK(lcfs_node_get_nlink(l1) == 2);
	CHECK(lcfs_node_get_nlink(target) == 3);
	CHECK(lcfs_node_get_hardlink_target(target) == NULL);
	/* Relinking points elsewhere; the old target keeps its count. */
	lcfs_node_make_hardlink(l2, other);
	CHECK(lcfs_node_get_hardlink_target(l2) == other);
	CHECK(lcfs_node_get_nlink(other) == 2);
	CHECK(lcfs_node_get_nlink(target) == 3);

	/* The link holds a reference: the target outlives its creator's. */
	lcfs_node_unref(other);
	CHECK(lcfs_node_get_nlink(lcfs_node_get_hardlink_target(l2)) == 2);
	CHECK(lcfs_node_get_mode(lcfs_node_get_hardlink_target(l2)) == (S_IFREG | 0644));
	lcfs_node_unref(l2);
	lcfs_node_unref(root);
	CHECK(lcfs_node_get_hardlink_target(l3) == l1);
	CHECK(name_is(l1, NULL));
	CHECK(lcfs_node_get_hardlink_target(l1) == target);
	lcfs_node_unref(l3);

	/* A file linked to its own parent, which then only that link keeps
	 * alive; relinking lets go of the parent (C leaks it instead). */
	struct lcfs_node_s *x = new_dir(), *in = new_file(), *o = new_file();
	CHECK_OK(lcfs_node_add_child(x, in, "in"));
	lcfs_node_ref(in);
	lcfs_node_make_hardlink(in, x);
	CHECK(lcfs_node_get_nlink(x) == 2);
	lcfs_node_unref(x);
	CHECK(name_is(in, "in") && lcfs_node_get_hardlink_target(in) == x);
	lcfs_node_make_hardlink(in, o);
	CHECK(lcfs_node_get_hardlink_target(in) == o && lcfs_node_get_nlink(o) == 2);
	if (ours) {
		/* Ours only: the parent really went away and detached `in`. */
		CHECK(name_is(in, NULL) && lcfs_node_get_parent(in) == NULL);
	}
	lcfs_node_unref(in);
	lcfs_node_unref(o);
	printf("ok hardlinks: nlink, targets, lifetime\n");
}

static void test_xattrs(bool ours)
{
	struct lcfs_node_s *n = new_file();
	size_t len = 99;

	CHECK_OK(lcfs_node_set_xattr(n, "user.a", "1", 1));
	CHECK_OK(lcfs_node_set_xattr(n, "user.b", "22", 2));
	CHECK_OK(lcfs_node_set_xattr(n, "user.c", "333", 3));
	CHECK_OK(lcfs_node_set_xattr(n, "user.d", "4444", 4));
	{
		const char *want[] = { "user.a", "user.b", "user.c", "user.d" };
		CHECK(xattr_order(n, want, 4));
	}
	/* Replacing = removing (last entry fills the hole) + appending. */
	CHECK_OK(lcfs_node_set_xattr(n, "user.b", "new", 3));
	{
		const char *want[] = { "user.a", "user.d", "user.c", "user.b" };
		CHECK(xattr_order(n, want, 4));
	}
	CHECK(xattr_is(n, "user.b", "new", 3));
	CHECK_OK(lcfs_node_unset_xattr(n, "user.a"));
	{
		const char *want[] = { "user.b", "user.d", "user.c" };
		CHECK(xattr_order(n, want, 3));
	}
	CHECK_OK(lcfs_node_unset_xattr(n, "user.c"));
	{
		const char *want[] = { "user.b", "user.d" };
		CHECK(xattr_order(n, want, 2));
	}
	CHECK_FAIL(lcfs_node_unset_xattr(n, "user.c"), ENODATA);
	CHECK_FAIL(lcfs_node_unset_xattr(n, "user.zz"), ENODATA);
	CHECK(lcfs_node_get_xattr(n, "user.a", &len) == NULL && len == 99);
	CHECK(lcfs_node_get_xattr(n, "user.d", NULL) != NULL);
	CHECK(xattr_is(n, "user.d", "4444", 4));

	/* Values are copies, may hold NULs, may be empty (non-NULL, length 0). */
	char buf[4] = { 'x', 0, 'y', 0 };
	CHECK_OK(lcfs_node_set_xattr(n, "user.bin", buf, 3));
	buf[0] = 'z';
	CHECK(xattr_is(n, "user.bin", "x\0y", 3));
	CHECK_OK(lcfs_node_set_xattr(n, "user.empty", "", 0));
	len = 99;
	CHECK(lcfs_node_get_xattr(n, "user.empty", &len) != NULL && len == 0);
	CHECK_OK(lcfs_node_set_xattr(n, "user.nullval", NULL, 0));
	len = 99;
	CHECK(lcfs_node_get_xattr(n, "user.nullval", &len) != NULL && len == 0);
	CHECK(lcfs_node_get_n_xattr(n) == 5);
	/* Names are matched exactly. */
	CHECK(lcfs_node_get_xattr(n, "user.", NULL) == NULL);
	CHECK(lcfs_node_get_xattr(n, "user.bi", NULL) == NULL);
	CHECK(lcfs_node_get_xattr(n, "USER.bin", NULL) == NULL);

	/* Name and value limits; these failures change nothing in either library. */
	char *k255 = repeat('k', 255), *k256 = repeat('k', 256);
	char *v64k = repeat('v', 65536);
	CHECK_FAIL(lcfs_node_set_xattr(n, "", "v", 1), ERANGE);
	CHECK_FAIL(lcfs_node_set_xattr(n, k256, "v", 1), ERANGE);
	CHECK_FAIL(lcfs_node_set_xattr(n, "user.new", v64k, 65536), EINVAL);
	CHECK_FAIL(lcfs_node_set_xattr(n, "user.d", v64k, 65536), EINVAL);
	/* 65535 passes the length check but no node budget can hold it. */
	CHECK_FAIL(lcfs_node_set_xattr(n, "user.new", v64k, 65535), ERANGE);
	/* Name checked before value length. */
	CHECK_FAIL(lcfs_node_set_xattr(n, "", v64k, 65536), ERANGE);
	CHECK(lcfs_node_get_n_xattr(n) == 5);
	CHECK(xattr_is(n, "user.d", "4444", 4));
	CHECK_OK(lcfs_node_set_xattr(n, k255, "v", 1));
	CHECK(xattr_is(n, k255, "v", 1));
	lcfs_node_unref(n);

	/* The per-node budget: 12 header bytes + (7 + name + value) per entry
	 * must stay within 32767. */
	n = new_file();
	size_t fits = 32767 - 12 - 7 - 6;
	CHECK_OK(lcfs_node_set_xattr(n, "user.a", v64k, fits));
	CHECK_FAIL(lcfs_node_set_xattr(n, "user.b", "", 0), ERANGE);
	CHECK_FAIL(lcfs_node_set_xattr(n, "u", "", 0), ERANGE);
	CHECK(lcfs_node_get_n_xattr(n) == 1);
	/* Replacing with a value of the same size fits. */
	CHECK_OK(lcfs_node_set_xattr(n, "user.a", v64k + 1, fits));
	CHECK_OK(lcfs_node_unset_xattr(n, "user.a"));
	CHECK_OK(lcfs_node_set_xattr(n, "user.a", v64k, fits));
	lcfs_node_unref(n);

	n = new_file();
	CHECK_FAIL(lcfs_node_set_xattr(n, "user.a", v64k, fits + 1), ERANGE);
	CHECK(lcfs_node_get_n_xattr(n) == 0);
	lcfs_node_unref(n);

	/* 1000-byte values under 8-byte names cost 1015 each: 32 fit. */
	n = new_file();
	char key[32];
	int stored = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "user.%03d", i);
		errno = 0;
		if (lcfs_node_set_xattr(n, key, v64k, 1000) < 0) {
			CHECK(errno == ERANGE);
			break;
		}
		stored++;
	}
	CHECK(stored == 32);
	CHECK(lcfs_node_get_n_xattr(n) == 32);
	/* Freed space is reusable; a smaller entry fits in what is left. */
	CHECK_OK(lcfs_node_unset_xattr(n, "user.005"));
	CHECK_OK(lcfs_node_set_xattr(n, "user.new", v64k, 1000));
	CHECK_FAIL(lcfs_node_set_xattr(n, "user.big", v64k, 400), ERANGE);
	CHECK_OK(lcfs_node_set_xattr(n, "user.small", v64k, 32767 - 12 - 32 * 1015 - 7 - 10));
	CHECK_FAIL(lcfs_node_set_xattr(n, "user.x", "", 0), ERANGE);
	/* Removing everything resets the accounting, header included. */
	while (lcfs_node_get_n_xattr(n) > 0) {
		char *first = strdup(lcfs_node_get_xattr_name(n, 0));
		CHECK_OK(lcfs_node_unset_xattr(n, first));
		free(first);
	}
	CHECK_OK(lcfs_node_set_xattr(n, "user.a", v64k, fits));

	/* A clone starts with a zero budget (C does not copy the accounting),
	 * so it takes another full set on top of what it copied. */
	struct lcfs_node_s *cl = lcfs_node_clone(n);
	CHECK(lcfs_node_get_n_xattr(cl) == 1);
	CHECK_OK(lcfs_node_set_xattr(cl, "user.b", v64k, 32767 - 7 - 6));
	CHECK_FAIL(lcfs_node_set_xattr(cl, "user.c", "", 0), ERANGE);
	lcfs_node_unref(cl);
	lcfs_node_unref(n);

	/* On a clone the budget can go below zero (C's size_t wraps): after
	 * removing a copied entry, only an entry costing at least as much as
	 * the removed one brings it back in range. */
	n = new_file();
	CHECK_OK(lcfs_node_set_xattr(n, "user.a", v64k, 100));
	CHECK_OK(lcfs_node_set_xattr(n, "user.b", v64k, 100));
	cl = lcfs_node_clone(n);
	CHECK_OK(lcfs_node_unset_xattr(cl, "user.a"));
	CHECK_FAIL(lcfs_node_set_xattr(cl, "user.c", v64k, 99), ERANGE);
	CHECK_OK(lcfs_node_set_xattr(cl, "user.c", v64k, 100));
	CHECK_OK(lcfs_node_set_xattr(cl, "user.d", v64k, 32767 - 7 - 6));
	CHECK_FAIL(lcfs_node_set_xattr(cl, "user.e", "", 0), ERANGE);
	lcfs_node_unref(cl);
	lcfs_node_unref(n);

	if (ours) {
		/* Ours only: a refused replacement keeps the old value in
		 * place (C has already removed it at that point). */
		n = new_file();
		CHECK_OK(lcfs_node_set_xattr(n, "user.a", "1", 1));
		/* 26 + (15 + big) + 14 = 32767 exactly. */
		size_t big = 32767 - 26 - 15 - 14;
		CHECK_OK(lcfs_node_set_xattr(n, "user.big", v64k, big));
		CHECK_OK(lcfs_node_set_xattr(n, "user.c", "3", 1));
		CHECK_FAIL(lcfs_node_set_xattr(n, "user.big", v64k, big + 1), ERANGE);
		const char *want[] = { "user.a", "user.big", "user.c" };
		CHECK(xattr_order(n, want, 3));
		CHECK(xattr_is(n, "user.big", v64k, big));
		/* ...and the accounting is unchanged too. */
		CHECK_FAIL(lcfs_node_set_xattr(n, "user.d", "4", 1), ERANGE);
		CHECK_OK(lcfs_node_set_xattr(n, "user.big", v64k, 10));
		lcfs_node_unref(n);
	}

	free(k255);
	free(k256);
	free(v64k);
	printf("ok xattrs: order, empty values, limits, budget%s\n",
	       ours ? ", unchanged on failure (ours)" : "");
}

static void test_payload_content(void)
{
	struct lcfs_node_s *n = new_file();
	char buf[] = "ab/cdef";
	char *p4095 = repeat('p', PATH_MAX - 1), *p4096 = repeat('p', PATH_MAX);

	CHECK_OK(lcfs_node_set_payload(n, buf));
	buf[0] = 'X';
	CHECK(lcfs_node_get_payload(n) != NULL &&
	      strcmp(lcfs_node_get_payload(n), "ab/cdef") == 0);
	CHECK_FAIL(lcfs_node_set_payload(n, p4096), ENAMETOOLONG);
	CHECK(strcmp(lcfs_node_get_payload(n), "ab/cdef") == 0);
	CHECK_OK(lcfs_node_set_payload(n, p4095));
	CHECK(strlen(lcfs_node_get_payload(n)) == PATH_MAX - 1);
	CHECK_OK(lcfs_node_set_payload(n, ""));
	CHECK(lcfs_node_get_payload(n) != NULL && *lcfs_node_get_payload(n) == 0);
	CHECK_OK(lcfs_node_set_payload(n, NULL));
	CHECK(lcfs_node_get_payload(n) == NULL);
	/* set_payload leaves the size alone. */
	CHECK(lcfs_node_get_size(n) == 0);

	/* Symlinks: the size follows the target. */
	struct lcfs_node_s *l = node_with_mode(S_IFLNK | 0777);
	lcfs_node_set_size(l, 999);
	CHECK_OK(lcfs_node_set_symlink_payload(l, "target"));
	CHECK(strcmp(lcfs_node_get_payload(l), "target") == 0);
	CHECK(lcfs_node_get_size(l) == 6);
	CHECK_FAIL(lcfs_node_set_symlink_payload(l, ""), EINVAL);
	CHECK_FAIL(lcfs_node_set_symlink_payload(l, p4096), ENAMETOOLONG);
	CHECK(strcmp(lcfs_node_get_payload(l), "target") == 0);
	CHECK(lcfs_node_get_size(l) == 6);
	CHECK_OK(lcfs_node_set_symlink_payload(l, p4095));
	CHECK(lcfs_node_get_size(l) == PATH_MAX - 1);
	lcfs_node_unref(l);

	/* Inline content. */
	uint8_t data[5001];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	CHECK_OK(lcfs_node_set_content(n, data, 5));
	CHECK(lcfs_node_get_size(n) == 5);
	CHECK(lcfs_node_get_content(n) != NULL && lcfs_node_get_content(n) != data &&
	      memcmp(lcfs_node_get_content(n), data, 5) == 0);
	CHECK_FAIL(lcfs_node_set_content(n, data, 5001), EINVAL);
	CHECK(lcfs_node_get_size(n) == 5);
	CHECK(memcmp(lcfs_node_get_content(n), data, 5) == 0);
	CHECK_OK(lcfs_node_set_content(n, data, 5000));
	CHECK(lcfs_node_get_size(n) == 5000 &&
	      memcmp(lcfs_node_get_content(n), data, 5000) == 0);
	/* set_size to the same size keeps content; to another drops it. */
	lcfs_node_set_size(n, 5000);
	CHECK(lcfs_node_get_content(n) != NULL);
	lcfs_node_set_size(n, 4999);
	CHECK(lcfs_node_get_content(n) == NULL && lcfs_node_get_size(n) == 4999);
	/* (NULL, n) sets the size only; the size may exceed the inline limit. */
	CHECK_OK(lcfs_node_set_content(n, data, 3));
	CHECK_OK(lcfs_node_set_content(n, NULL, 123456));
	CHECK(lcfs_node_get_content(n) == NULL && lcfs_node_get_size(n) == 123456);
	/* (data, 0) clears. */
	CHECK_OK(lcfs_node_set_content(n, data, 3));
	CHECK_OK(lcfs_node_set_content(n, data, 0));
	CHECK(lcfs_node_get_content(n) == NULL && lcfs_node_get_size(n) == 0);
	lcfs_node_set_size(n, (uint64_t)1 << 40);
	CHECK(lcfs_node_get_size(n) == (uint64_t)1 << 40);

	free(p4095);
	free(p4096);
	lcfs_node_unref(n);
	printf("ok payload, symlink payload, content, size\n");
}

static void test_inode_fields(void)
{
	struct lcfs_node_s *n = lcfs_node_new();
	const uint32_t types[] = { S_IFREG, S_IFDIR, S_IFLNK, S_IFBLK,
				   S_IFCHR, S_IFSOCK, S_IFIFO };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		CHECK_OK(lcfs_node_try_set_mode(n, types[i] | 04751));
		CHECK(lcfs_node_get_mode(n) == (types[i] | 04751));
		CHECK(lcfs_node_dirp(n) == (types[i] == S_IFDIR));
	}
	const uint32_t bad[] = { 0644, 0, 0170000 | 0644, 0110000, 0030000, 0070000 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_FAIL(lcfs_node_try_set_mode(n, bad[i]), EINVAL);
		CHECK(lcfs_node_get_mode(n) == (S_IFIFO | 04751));
	}
	/* Bits above S_IFMT are ignored by the check and kept. */
	CHECK_OK(lcfs_node_try_set_mode(n, 0x80000000u | S_IFREG | 0600));
	CHECK(lcfs_node_get_mode(n) == (0x80000000u | S_IFREG | 0600));
	/* set_mode stores anything. */
	lcfs_node_set_mode(n, 0170644);
	CHECK(lcfs_node_get_mode(n) == 0170644);
	CHECK(!lcfs_node_dirp(n));
	lcfs_node_set_mode(n, S_IFDIR);
	CHECK(lcfs_node_dirp(n));

	lcfs_node_set_uid(n, 0xfffffffeu);
	lcfs_node_set_gid(n, 1234567);
	CHECK(lcfs_node_get_uid(n) == 0xfffffffeu);
	CHECK(lcfs_node_get_gid(n) == 1234567);
	lcfs_node_set_nlink(n, 0);
	CHECK(lcfs_node_get_nlink(n) == 0);
	lcfs_node_set_nlink(n, 0xffffffffu);
	CHECK(lcfs_node_get_nlink(n) == 0xffffffffu);

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	/* rdev is stored in 32 bits. */
	lcfs_node_set_rdev64(n, 0x1234567890abcdefull);
	CHECK(lcfs_node_get_rdev64(n) == 0x90abcdefull);
	CHECK(lcfs_node_get_rdev(n) == 0x90abcdefu);
	lcfs_node_set_rdev(n, 0xdeadbeefu);
	CHECK(lcfs_node_get_rdev64(n) == 0xdeadbeefull);
	lcfs_node_set_rdev64(n, 0x0803);
	CHECK(lcfs_node_get_rdev(n) == 0x0803);
#pragma GCC diagnostic pop

	struct timespec in = { -5, 999999999 }, out = { 0, 0 };
	lcfs_node_set_mtime(n, &in);
	lcfs_node_get_mtime(n, &out);
	CHECK(out.tv_sec == -5 && out.tv_nsec == 999999999);
	in.tv_sec = (time_t)1 << 40;
	in.tv_nsec = 1;
	lcfs_node_set_mtime(n, &in);
	lcfs_node_get_mtime(n, &out);
	CHECK(out.tv_sec == (time_t)1 << 40 && out.tv_nsec == 1);

	uint8_t digest[LCFS_DIGEST_SIZE];
	for (int i = 0; i < LCFS_DIGEST_SIZE; i++)
		digest[i] = (uint8_t)(0xa0 + i);
	lcfs_node_set_fsverity_digest(n, digest);
	digest[0] = 0;
	const uint8_t *got = lcfs_node_get_fsverity_digest(n);
	CHECK(got != NULL && got != digest && got[0] == 0xa0 && got[31] == 0xa0 + 31);
	lcfs_node_set_fsverity_digest(n, digest);
	got = lcfs_node_get_fsverity_digest(n);
	CHECK(got != NULL && got[0] == 0 && got[1] == 0xa1);

	lcfs_node_unref(n);
	printf("ok mode, uid/gid, nlink, rdev (32-bit), mtime, digest\n");
}

static void test_clone(void)
{
	struct lcfs_node_s *root = new_dir();
	struct lcfs_node_s *f = node_with_mode(S_IFREG | 0600);
	struct lcfs_node_s *target = new_file();
	struct timespec ts = { 1700000000, 42 }, out;
	uint8_t digest[LCFS_DIGEST_SIZE];

	memset(digest, 0x5a, sizeof(digest));
	CHECK_OK(lcfs_node_add_child(root, f, "f"));
	CHECK_OK(lcfs_node_add_child(root, new_file(), "g"));
	lcfs_node_set_uid(f, 10);
	lcfs_node_set_gid(f, 20);
	lcfs_node_set_rdev64(f, 30);
	lcfs_node_set_nlink(f, 4);
	lcfs_node_set_mtime(f, &ts);
	CHECK_OK(lcfs_node_set_content(f, (const uint8_t *)"hello", 5));
	CHECK_OK(lcfs_node_set_payload(f, "ab/cd"));
	lcfs_node_set_fsverity_digest(f, digest);
	CHECK_OK(lcfs_node_set_xattr(f, "user.z", "1", 1));
	CHECK_OK(lcfs_node_set_xattr(f, "user.a", "22", 2));
	lcfs_node_make_hardlink(f, target);
	CHECK(lcfs_node_get_nlink(target) == 2);

	struct lcfs_node_s *c = lcfs_node_clone(f);
	CHECK(c != NULL && c != f);
	CHECK(name_is(c, NULL) && lcfs_node_get_parent(c) == NULL);
	CHECK(lcfs_node_get_mode(c) == (S_IFREG | 0600));
	CHECK(lcfs_node_get_uid(c) == 10 && lcfs_node_get_gid(c) == 20);
	CHECK(lcfs_node_get_rdev64(c) == 30 && lcfs_node_get_nlink(c) == 4);
	lcfs_node_get_mtime(c, &out);
	CHECK(out.tv_sec == 1700000000 && out.tv_nsec == 42);
	CHECK(lcfs_node_get_size(c) == 5);
	CHECK(lcfs_node_get_content(c) != lcfs_node_get_content(f) &&
	      memcmp(lcfs_node_get_content(c), "hello", 5) == 0);
	CHECK(strcmp(lcfs_node_get_payload(c), "ab/cd") == 0 &&
	      lcfs_node_get_payload(c) != lcfs_node_get_payload(f));
	CHECK(memcmp(lcfs_node_get_fsverity_digest(c), digest, 32) == 0);
	{
		const char *want[] = { "user.z", "user.a" };
		CHECK(xattr_order(c, want, 2));
		CHECK(xattr_is(c, "user.a", "22", 2));
	}
	/* The link is shared without counting another link. */
	CHECK(lcfs_node_get_hardlink_target(c) == target);
	CHECK(lcfs_node_get_nlink(target) == 2);
	/* The copy is independent. */
	CHECK_OK(lcfs_node_set_xattr(c, "user.z", "9", 1));
	CHECK(xattr_is(f, "user.z", "1", 1));
	lcfs_node_unref(c);

	/* Cloning a directory copies none of its children; the copy of an
	 * unset digest stays unset. */
	c = lcfs_node_clone(root);
	CHECK(lcfs_node_dirp(c) && lcfs_node_get_n_children(c) == 0);
	CHECK(lcfs_node_get_fsverity_digest(c) == NULL);
	CHECK(lcfs_node_get_n_children(root) == 2);
	lcfs_node_unref(c);

	lcfs_node_unref(target);
	lcfs_node_unref(root);
	printf("ok clone: data copied, no name/parent/children\n");
}

static void test_clone_deep(void)
{
	/* root{ sub{ a, sub2{ deep } }, b -> a, c -> outside, d -> sub2/deep, e } */
	struct lcfs_node_s *outside = new_file();
	struct lcfs_node_s *root = new_dir();
	struct lcfs_node_s *sub = new_dir();
	struct lcfs_node_s *sub2 = new_dir();
	struct lcfs_node_s *a = new_file();
	struct lcfs_node_s *deep = new_file();
	struct lcfs_node_s *b = lcfs_node_new();
	struct lcfs_node_s *c = lcfs_node_new();
	struct lcfs_node_s *d = lcfs_node_new();

	CHECK_OK(lcfs_node_add_child(root, sub, "sub"));
	CHECK_OK(lcfs_node_add_child(sub, a, "a"));
	CHECK_OK(lcfs_node_add_child(sub, sub2, "sub2"));
	CHECK_OK(lcfs_node_add_child(sub2, deep, "deep"));
	CHECK_OK(lcfs_node_add_child(root, d, "d"));
	CHECK_OK(lcfs_node_add_child(root, c, "c"));
	CHECK_OK(lcfs_node_add_child(root, b, "b"));
	CHECK_OK(lcfs_node_add_child(root, new_file(), "e"));
	lcfs_node_make_hardlink(b, a);
	lcfs_node_make_hardlink(c, outside);
	lcfs_node_make_hardlink(d, deep);
	CHECK_OK(lcfs_node_set_xattr(a, "user.q", "a", 1));
	lcfs_node_set_uid(deep, 5);

	struct lcfs_node_s *copy = lcfs_node_clone_deep(root);
	CHECK(copy != NULL && copy != root);
	CHECK(name_is(copy, NULL) && lcfs_node_get_parent(copy) == NULL);
	CHECK(lcfs_node_get_n_children(copy) == 5);
	const char *order[] = { "b", "c", "d", "e", "sub" };
	for (size_t i = 0; i < 5; i++) {
		struct lcfs_node_s *k = lcfs_node_get_child(copy, i);
		CHECK(name_is(k, order[i]) && lcfs_node_get_parent(k) == copy);
		CHECK(k != lcfs_node_get_child(root, i));
	}
	struct lcfs_node_s *nsub = lcfs_node_lookup_child(copy, "sub");
	struct lcfs_node_s *na = lcfs_node_lookup_child(nsub, "a");
	struct lcfs_node_s *nsub2 = lcfs_node_lookup_child(nsub, "sub2");
	struct lcfs_node_s *ndeep = lcfs_node_lookup_child(nsub2, "deep");
	struct lcfs_node_s *nb = lcfs_node_lookup_child(copy, "b");
	struct lcfs_node_s *nc = lcfs_node_lookup_child(copy, "c");
	struct lcfs_node_s *nd = lcfs_node_lookup_child(copy, "d");
	CHECK(na != NULL && na != a && ndeep != NULL && ndeep != deep);
	CHECK(lcfs_node_get_parent(ndeep) == nsub2 && lcfs_node_get_parent(nsub2) == nsub);
	/* Links inside the subtree now point at the copies; others are kept. */
	CHECK(lcfs_node_get_hardlink_target(nb) == na);
	CHECK(lcfs_node_get_hardlink_target(nd) == ndeep);
	CHECK(lcfs_node_get_hardlink_target(nc) == outside);
	CHECK(lcfs_node_get_hardlink_target(b) == a);
	/* nlink is copied as it was, and nothing is counted again. */
	CHECK(lcfs_node_get_nlink(na) == 2 && lcfs_node_get_nlink(a) == 2);
	CHECK(lcfs_node_get_nlink(outside) == 2);
	CHECK(xattr_is(na, "user.q", "a", 1));
	CHECK(lcfs_node_get_uid(ndeep) == 5);

	/* Cloning just `sub`: the link from b (outside sub) is not part of
	 * it; `a` itself has no link. Cloning root's child d alone keeps its
	 * target, which lies outside the cloned node. */
	struct lcfs_node_s *subcopy = lcfs_node_clone_deep(sub);
	CHECK(name_is(subcopy, NULL) && lcfs_node_get_n_children(subcopy) == 2);
	CHECK(lcfs_node_get_hardlink_target(lcfs_node_lookup_child(subcopy, "a")) == NULL);
	struct lcfs_node_s *dcopy = lcfs_node_clone_deep(d);
	CHECK(lcfs_node_get_hardlink_target(dcopy) == deep);
	lcfs_node_unref(dcopy);
	lcfs_node_unref(subcopy);

	/* The copy survives the original. */
	lcfs_node_unref(root);
	CHECK(lcfs_node_get_hardlink_target(nb) == na);
	CHECK(name_is(lcfs_node_get_child(copy, 4), "sub"));
	lcfs_node_unref(copy);
	CHECK(lcfs_node_get_nlink(outside) == 2);
	lcfs_node_unref(outside);

	/* A single leaf deep-clones like clone. */
	struct lcfs_node_s *leaf = new_file();
	CHECK_OK(lcfs_node_set_xattr(leaf, "user.k", "v", 1));
	struct lcfs_node_s *lc = lcfs_node_clone_deep(leaf);
	CHECK(lc != NULL && lc != leaf && xattr_is(lc, "user.k", "v", 1));
	lcfs_node_unref(lc);
	lcfs_node_unref(leaf);
	printf("ok clone_deep: structure, links redirected inside, kept outside\n");
}

/* Names the library this process actually loaded, to show which one ran. */
static const char *loaded_library(void)
{
	Dl_info info;
	if (dladdr((void *)lcfs_node_new, &info) && info.dli_fname)
		return info.dli_fname;
	return "?";
}
/* Upstream mkcomposefs reads node->inode.st_mode from C's private struct
 * (offset 144 on LP64, 88 on ILP32), so that word must always hold the mode. */
static uint32_t private_mode(struct lcfs_node_s *n)
{
	uint32_t m;
	memcpy(&m, (char *)n + (sizeof(void *) == 8 ? 144 : 88), sizeof(m));
	return m;
}

static void test_private_mode_field(void)
{
	struct lcfs_node_s *root = lcfs_node_new();
	struct lcfs_node_s *f = lcfs_node_new();

	CHECK(private_mode(root) == 0);
	lcfs_node_set_mode(root, S_IFDIR | 0755);
	CHECK(private_mode(root) == (S_IFDIR | 0755));
	CHECK_OK(lcfs_node_try_set_mode(f, S_IFREG | 0600));
	CHECK(private_mode(f) == (S_IFREG | 0600));
	CHECK_OK(lcfs_node_add_child(root, f, "f"));
	struct lcfs_node_s *c = lcfs_node_get_child(root, 0);
	CHECK(private_mode(c) == (S_IFREG | 0600));
	CHECK(private_mode(lcfs_node_get_parent(c)) == (S_IFDIR | 0755));
	struct lcfs_node_s *copy = lcfs_node_clone_deep(root);
	CHECK(copy != NULL && private_mode(copy) == (S_IFDIR | 0755));
	CHECK(private_mode(lcfs_node_lookup_child(copy, "f")) == (S_IFREG | 0600));
	lcfs_node_unref(copy);
	lcfs_node_unref(root);
}

int main(void)
{
	const char *oracle = getenv("LCFS_ORACLE");
	bool ours = !(oracle && *oracle && strcmp(oracle, "0") != 0);

	printf("test-node: library %s (%s)\n", loaded_library(),
	       ours ? "all checks" : "checks shared with C only");
	test_defaults();
	test_children();
	test_teardown();
	test_hardlinks(ours);
	test_xattrs(ours);
	test_payload_content();
	test_inode_fields();
	test_clone();
	test_clone_deep();
	test_private_mode_field();
	printf("test-node: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
