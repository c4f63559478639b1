/* Shared machinery of the tests-c/test-misuse*.c tables.
 *
 * Each row makes one bad call and requires: the failure return of its
 * kind, the exact errno, and that no watched node changed (every getter's
 * view is compared before and after). Rows print
 *   "ok   <call> -> <ret> errno <name>"
 * so tests-c/check-misuse-c.sh can count rows per function.
 *
 * With LCFS_MISUSE_C=1 in the environment the same program is the oracle
 * run against C libcomposefs: rows marked STRICT (where C crashes, asserts
 * or corrupts its tree) are skipped, and only the return value and errno
 * are compared, since C may change a node before failing.
 */
#ifndef MISUSE_H
#define MISUSE_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libcomposefs/lcfs-writer.h>

static int checks, failures, skipped;
static bool c_oracle;

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
	struct lcfs_node_s *children[8];
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
	for (size_t i = 0; i < s->n_children && i < 8; i++)
		s->children[i] = lcfs_node_get_child(n, i);
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

/* The nodes every row is checked against. */
#define MAX_WATCHED 16
static struct lcfs_node_s *watched[MAX_WATCHED];
static int n_watched;
static struct snapshot before[MAX_WATCHED];

static inline void watch(struct lcfs_node_s *n)
{
	if (n_watched < MAX_WATCHED)
		watched[n_watched++] = n;
}

static inline void unwatch_all(void)
{
	n_watched = 0;
}

static void snap_all(void)
{
	for (int i = 0; i < n_watched; i++)
		snap(watched[i], &before[i]);
}

static bool all_unchanged(void)
{
	struct snapshot now;
	for (int i = 0; i < n_watched; i++) {
		snap(watched[i], &now);
		if (memcmp(&before[i], &now, sizeof(now)) != 0)
			return false;
	}
	return true;
}

/* What a failed call returns:
 * K_INT  -1;  K_NEG  minus the expected errno (the kernel-style fs-verity
 * calls);  K_PTR NULL;  K_ZERO 0 / false (getters);  K_VOID nothing. */
enum kind { K_INT, K_NEG, K_PTR, K_ZERO, K_VOID };

static const char *errname(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";
	return n ? n : "?";
}

static void row(const char *call, enum kind kind, long ret, int err, int want,
		bool unchanged)
{
	bool ret_ok;
	switch (kind) {
	case K_INT:
		ret_ok = ret == -1;
		break;
	case K_NEG:
		ret_ok = ret == -want;
		break;
	case K_PTR:
	case K_ZERO:
		ret_ok = ret == 0;
		break;
	default:
		ret_ok = true;
	}
	if (c_oracle)
		unchanged = true;
	bool ok = ret_ok && err == want && unchanged;
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
	printf("%-4s %-66s -> %-8s errno %s", ok ? "ok" : "FAIL", call, shown, errname(err));
	if (err != want)
		printf(" (want %s)", errname(want));
	printf("%s\n", unchanged ? "" : "  (node changed!)");
}

/* The call's text is taken before macro expansion, so NULL reads as NULL. */
#define RUN(kind, want, strict, text, expr)                                    \
	do {                                                                   \
		if ((strict) && c_oracle) {                                    \
			skipped++;                                             \
			break;                                                 \
		}                                                              \
		snap_all();                                                    \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		int e_ = errno;                                                \
		row(text, kind, r_, e_, want, all_unchanged());                \
	} while (0)

#define RUN_VOID(want, strict, stmt)                                           \
	do {                                                                   \
		if ((strict) && c_oracle) {                                    \
			skipped++;                                             \
			break;                                                 \
		}                                                              \
		snap_all();                                                    \
		errno = 0;                                                     \
		stmt;                                                          \
		int e_ = errno;                                                \
		row(#stmt, K_VOID, 0, e_, want, all_unchanged());              \
	} while (0)

/* Rows C handles the same way (also run against C by the oracle). */
#define INT(want, e) RUN(K_INT, want, false, #e, (e))
#define NEG(want, e) RUN(K_NEG, want, false, #e, (e))
#define PTR(want, e) RUN(K_PTR, want, false, #e, (e))
#define ZERO(want, e) RUN(K_ZERO, want, false, #e, (e))
#define VOID(want, s) RUN_VOID(want, false, s)
/* Rows where we are stricter than C (it would crash, assert or corrupt). */
#define S_INT(want, e) RUN(K_INT, want, true, #e, (e))
#define S_NEG(want, e) RUN(K_NEG, want, true, #e, (e))
#define S_PTR(want, e) RUN(K_PTR, want, true, #e, (e))
#define S_ZERO(want, e) RUN(K_ZERO, want, true, #e, (e))
#define S_VOID(want, s) RUN_VOID(want, true, s)

/* A plain assertion that is not a table row. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		checks++;                                                      \
		if (!(cond)) {                                                 \
			failures++;                                            \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                              \
	} while (0)

static void misuse_begin(const char *name)
{
	c_oracle = getenv("LCFS_MISUSE_C") != NULL;
	printf("%s: each call must fail cleanly%s\n", name,
	       c_oracle ? " (C oracle mode: stricter rows skipped)" :
			  " and change no node");
}

static int misuse_end(const char *name)
{
	printf("%s: %d checks, %d failed, %d skipped\n", name, checks, failures, skipped);
	return failures ? 1 : 0;
}

#endif
