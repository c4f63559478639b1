/* Writer cases run against two libcomposefs builds (ours and C 1.0.8) by
 * check-writer-api.sh, which diffs the transcripts. Each case runs in a
 * forked child so that a crash (C asserts on some inputs) is reported as
 * a line of its own instead of ending the run.
 *
 * Usage: writer-cases [N_RANDOM]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lcfs-writer.h"

/* ---- output capture ---- */

struct capture {
	uint64_t hash;
	uint64_t len;
	uint64_t fail_after; /* fail once this many bytes were taken */
	int fail_errno; /* 0: return 0 without touching errno */
	size_t max_chunk; /* short writes: take at most this much per call */
};

static ssize_t capture_cb(void *file, void *buf, size_t count)
{
	struct capture *c = file;
	const uint8_t *p = buf;
	/* Like a disk that fills up at fail_after: a short write up to it,
	 * then failure, however the library chunks its writes. */
	if (c->fail_after && c->len >= c->fail_after) {
		if (c->fail_errno) {
			errno = c->fail_errno;
			return -1;
		}
		return 0;
	}
	if (c->fail_after && count > c->fail_after - c->len)
		count = c->fail_after - c->len;
	if (c->max_chunk && count > c->max_chunk)
		count = c->max_chunk;
	for (size_t i = 0; i < count; i++) {
		c->hash ^= p[i];
		c->hash *= 0x100000001b3ULL;
	}
	c->len += count;
	return count;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* Writes `root` with the given settings and prints the outcome. */
static void report_write(const char *name, struct lcfs_node_s *root,
			 uint32_t version, uint32_t max_version, uint32_t flags,
			 uint32_t format, struct capture *cap, int want_digest)
{
	struct lcfs_write_options_s o = { 0 };
	uint8_t digest[32];
	char dhex[65] = "none";
	memset(digest, 0xaa, sizeof(digest));
	o.format = format;
	o.version = version;
	o.max_version = max_version;
	o.flags = flags;
	if (cap) {
		o.file = cap;
		o.file_write_cb = capture_cb;
	}
	if (want_digest)
		o.digest_out = digest;
	errno = 0;
	int rc = lcfs_write_to(root, &o);
	int e = rc < 0 ? errno : 0;
	if (want_digest)
		hex(digest, 32, dhex);
	/* How much a failing callback saw depends on how the library chunks
	 * its output, which is not part of the contract: only report the
	 * bytes of successful writes. */
	int show = cap && rc == 0;
	printf("%s: rc=%d errno=%d version=%u max=%u len=%llu hash=%016llx digest=%s\n",
	       name, rc, e, o.version, o.max_version,
	       show ? (unsigned long long)cap->len : 0ULL,
	       show ? (unsigned long long)cap->hash : 0ULL, dhex);
}

/* ---- random trees ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void rand_name(char *buf)
{
	static const char alpha[] = "abcdefgh0123456789-!._ABZ~";
	size_t len;
	switch (below(10)) {
	case 0:
		len = 100 + below(156);
		break;
	case 1:
		len = 2;
		break;
	default:
		len = 1 + below(12);
	}
	for (size_t i = 0; i < len; i++)
		buf[i] = alpha[below(sizeof(alpha) - 1)];
	buf[len] = 0;
	if (strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
		buf[0] = 'x';
}

static const char *pool_keys[] = {
	"user.a", "user.overlay.whiteout", "trusted.overlay.opaque",
	"trusted.overlay.whiteouts", "trusted.overlay.metacopy",
	"trusted.foo", "security.selinux", "security.ima",
	"system.posix_acl_access", "system.posix_acl_default", "lustre.x",
	"other.ns", "user.overlay.whiteouts", "trusted.overlay.overlay.x",
};

static void rand_xattrs(struct lcfs_node_s *n, int acl)
{
	size_t count = below(5);
	char val[4000];
	for (size_t i = 0; i < count; i++) {
		const char *key = pool_keys[below(sizeof(pool_keys) / sizeof(pool_keys[0]))];
		char kbuf[300];
		if (!acl && strncmp(key, "system.posix_acl", 16) == 0)
			continue;
		if (below(4) == 0) {
			snprintf(kbuf, sizeof(kbuf), "user.k%llu",
				 (unsigned long long)below(50));
			key = kbuf;
		}
		size_t vlen = below(8) == 0 ? below(sizeof(val)) : below(4) * 3;
		/* Values of keys the writer itself replaces on whiteouts and
		 * their parents make C's budget wrap (ERANGE); that path has
		 * fixed cases, random trees keep those values empty. */
		if (strstr(key, "overlay.whiteout") != NULL ||
		    strstr(key, "overlay.opaque") != NULL)
			vlen = 0;
		for (size_t j = 0; j < vlen; j++)
			val[j] = 'a' + (below(3) == 0 ? below(26) : 0);
		lcfs_node_set_xattr(n, key, val, vlen);
	}
}

static int64_t mtimes[3] = { 1000, 999, 5000 };

static void rand_stat(struct lcfs_node_s *n)
{
	struct timespec ts = { mtimes[below(3)], below(3) == 0 ? 7 : 0 };
	lcfs_node_set_mtime(n, &ts);
	lcfs_node_set_uid(n, below(6) == 0 ? 70000 + below(5) : below(3));
	lcfs_node_set_gid(n, below(6) == 0 ? 80000 : below(3));
}

struct gen {
	struct lcfs_node_s *nodes[4096];
	size_t n;
	struct lcfs_node_s *dirs[1024];
	size_t n_dirs;
	int acl;
};

static struct lcfs_node_s *rand_leaf(struct gen *g)
{
	struct lcfs_node_s *n = lcfs_node_new();
	char buf[5000];
	uint8_t dg[32];
	switch (below(9)) {
	case 0:
	case 1: { /* inline content */
		size_t len = below(3) == 0 ? 4096 + below(905) : below(4097);
		lcfs_node_set_mode(n, S_IFREG | 0644);
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)rnd();
		lcfs_node_set_content(n, (uint8_t *)buf, len);
		break;
	}
	case 2:
	case 3: { /* external file */
		uint64_t size;
		switch (below(6)) {
		case 0:
			size = (1ULL << 43) * (1 + below(1024)) - below(2);
			break;
		case 1:
			size = 0;
			break;
		default:
			size = 1 + below(1 << 20);
		}
		lcfs_node_set_mode(n, S_IFREG | 0755);
		lcfs_node_set_size(n, size);
		if (below(2)) {
			snprintf(buf, sizeof(buf), "%s%02llx/%llu",
				 below(4) ? "" : "/", (unsigned long long)below(256),
				 (unsigned long long)below(100));
			lcfs_node_set_payload(n, buf);
		}
		if (below(2)) {
			memset(dg, (int)below(4), sizeof(dg));
			lcfs_node_set_fsverity_digest(n, dg);
		}
		break;
	}
	case 4: { /* symlink */
		size_t len = below(3) == 0 ? 3000 + below(1096) : 1 + below(60);
		lcfs_node_set_mode(n, S_IFLNK | 0777);
		for (size_t i = 0; i < len; i++)
			buf[i] = 'a' + below(26);
		buf[len] = 0;
		lcfs_node_set_symlink_payload(n, buf);
		break;
	}
	case 5: /* char device, often a whiteout */
		lcfs_node_set_mode(n, S_IFCHR | 0600);
		lcfs_node_set_rdev64(n, below(2) ? 0 : makedev(1, 3));
		if (below(4) == 0)
			lcfs_node_set_size(n, 55);
		break;
	case 6:
		lcfs_node_set_mode(n, S_IFBLK | 0600);
		lcfs_node_set_rdev64(n, makedev(8, below(16)));
		break;
	case 7:
		lcfs_node_set_mode(n, S_IFIFO | 0600);
		break;
	default:
		lcfs_node_set_mode(n, S_IFSOCK | 0600);
	}
	rand_stat(n);
	rand_xattrs(n, g->acl);
	return n;
}

static struct lcfs_node_s *rand_tree(uint64_t seed, size_t max_nodes)
{
	struct gen g = { .n = 0, .n_dirs = 0 };
	char name[300];
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	g.acl = below(3) == 0;
	struct lcfs_node_s *root = lcfs_node_new();
	lcfs_node_set_mode(root, S_IFDIR | 0755);
	rand_stat(root);
	rand_xattrs(root, g.acl);
	if (below(2))
		lcfs_node_set_xattr(root, "security.selinux", "ctx_t", 5);
	g.dirs[g.n_dirs++] = root;
	size_t target = 1 + below(max_nodes);
	for (size_t i = 0; i < target && g.n < 4000; i++) {
		struct lcfs_node_s *parent = g.dirs[below(g.n_dirs)];
		struct lcfs_node_s *child;
		if (below(5) == 0 && g.n_dirs < 1000) {
			child = lcfs_node_new();
			lcfs_node_set_mode(child, S_IFDIR | 0755);
			rand_stat(child);
			rand_xattrs(child, g.acl);
		} else if (below(8) == 0 && g.n > 0) {
			/* hardlink to an earlier non-directory */
			struct lcfs_node_s *t = g.nodes[below(g.n)];
			child = lcfs_node_new();
			if ((lcfs_node_get_mode(t) & S_IFMT) == S_IFDIR) {
				lcfs_node_unref(child);
				continue;
			}
			lcfs_node_make_hardlink(child, t);
			if (below(3) == 0)
				lcfs_node_set_mode(child, S_IFDIR | 0755);
		} else {
			child = rand_leaf(&g);
		}
		rand_name(name);
		if (lcfs_node_add_child(parent, child, name) < 0) {
			lcfs_node_unref(child);
			continue;
		}
		if ((lcfs_node_get_mode(child) & S_IFMT) == S_IFDIR &&
		    lcfs_node_get_hardlink_target(child) == NULL)
			g.dirs[g.n_dirs++] = child;
		if (lcfs_node_get_hardlink_target(child) == NULL)
			g.nodes[g.n++] = child;
	}
	/* Some wide directories to get multi-block dirents. */
	if (below(3) == 0) {
		struct lcfs_node_s *wide = g.dirs[below(g.n_dirs)];
		size_t count = 50 + below(400);
		for (size_t i = 0; i < count; i++) {
			struct lcfs_node_s *f = lcfs_node_new();
			lcfs_node_set_mode(f, S_IFREG | 0644);
			rand_stat(f);
			snprintf(name, sizeof(name), "w%04zu%.*s", i, (int)below(40),
				 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
			if (lcfs_node_add_child(wide, f, name) < 0)
				lcfs_node_unref(f);
		}
	}
	return root;
}

/* Prints what a C caller can observe of a node after a write. */
static void observe(const char *label, struct lcfs_node_s *n)
{
	printf("  %s: mode=%o nlink=%u size=%llu children=%zu xattrs=", label,
	       lcfs_node_get_mode(n), lcfs_node_get_nlink(n),
	       (unsigned long long)lcfs_node_get_size(n),
	       lcfs_node_get_n_children(n));
	for (size_t i = 0; i < lcfs_node_get_n_xattr(n); i++)
		printf("%s,", lcfs_node_get_xattr_name(n, i));
	printf("\n");
}

static struct lcfs_node_s *mk(struct lcfs_node_s *parent, const char *name,
			      uint32_t mode)
{
	struct lcfs_node_s *n = lcfs_node_new();
	struct timespec ts = { 1000, 0 };
	lcfs_node_set_mode(n, mode);
	lcfs_node_set_mtime(n, &ts);
	if (parent && lcfs_node_add_child(parent, n, name) < 0) {
		printf("add_child %s failed\n", name);
		exit(2);
	}
	return n;
}

/* ---- fixed cases ---- */

static struct lcfs_node_s *small_tree(int whiteout)
{
	struct lcfs_node_s *root = mk(NULL, NULL, S_IFDIR | 0755);
	struct lcfs_node_s *d = mk(root, "d", S_IFDIR | 0755);
	struct lcfs_node_s *f = mk(d, "f", S_IFREG | 0644);
	lcfs_node_set_xattr(f, "user.z", "1", 1);
	lcfs_node_set_xattr(f, "trusted.overlay.opaque", "y", 1);
	lcfs_node_set_xattr(f, "user.a", "2", 1);
	lcfs_node_set_content(f, (const uint8_t *)"hello", 5);
	if (whiteout) {
		struct lcfs_node_s *w = mk(d, "w", S_IFCHR | 0644);
		lcfs_node_set_rdev64(w, 0);
	}
	return root;
}

static void case_options(void)
{
	struct capture cap = { 0 };
	struct lcfs_node_s *root = small_tree(1);
	report_write("flags=1", root, 0, 1, 1, 0, &cap, 1);
	report_write("version=2", root, 2, 2, 0, 0, &cap, 1);
	report_write("max=2", root, 0, 2, 0, 0, &cap, 1);
	report_write("format=1", root, 0, 1, 0, 1, &cap, 1);
	report_write("max<version", root, 1, 0, 0, 0, &cap, 1);
	memset(&cap, 0, sizeof(cap));
	report_write("whiteout v0..1", root, 0, 1, 0, 0, &cap, 1);
	memset(&cap, 0, sizeof(cap));
	report_write("whiteout v0..0", root, 0, 0, 0, 0, &cap, 1);
	report_write("no-callback digest", root, 0, 1, 0, 0, NULL, 1);
	report_write("no-callback no-digest", root, 0, 1, 0, 0, NULL, 0);
	lcfs_node_unref(root);
	root = small_tree(0);
	memset(&cap, 0, sizeof(cap));
	report_write("no whiteout v0..1", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);
}

static void case_callbacks(void)
{
	struct lcfs_node_s *root = small_tree(1);
	struct capture cap = { .max_chunk = 7 };
	report_write("short writes", root, 0, 1, 0, 0, &cap, 1);
	struct capture z = { .fail_after = 1 << 20 };
	z.len = z.fail_after;
	report_write("returns 0", root, 0, 1, 0, 0, &z, 1);
	struct capture e = { .fail_after = 1 << 20, .fail_errno = ENOSPC };
	e.len = e.fail_after;
	report_write("fails ENOSPC", root, 0, 1, 0, 0, &e, 1);
	struct capture late = { .fail_after = 8000, .fail_errno = EPIPE };
	report_write("fails late", root, 0, 1, 0, 0, &late, 1);
	lcfs_node_unref(root);
}

static void case_observe(void)
{
	struct capture cap = { 0 };
	struct lcfs_node_s *root = small_tree(1);
	struct lcfs_node_s *d = lcfs_node_lookup_child(root, "d");
	struct lcfs_node_s *f = lcfs_node_lookup_child(d, "f");
	struct lcfs_node_s *w = lcfs_node_lookup_child(d, "w");
	report_write("observe", root, 0, 1, 0, 0, &cap, 1);
	observe("root", root);
	observe("d", d);
	observe("f", f);
	observe("w", w);
	lcfs_node_unref(root);
}

static void case_errors(void)
{
	struct capture cap;
	struct lcfs_node_s *root, *d, *f, *l, *out;

	/* non-directory with children */
	root = mk(NULL, NULL, S_IFDIR | 0755);
	d = mk(root, "d", S_IFDIR | 0755);
	mk(d, "x", S_IFREG | 0644);
	lcfs_node_set_mode(d, S_IFREG | 0644);
	memset(&cap, 0, sizeof(cap));
	report_write("non-dir with children", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);

	/* whiteout below a non-directory still raises the version */
	root = mk(NULL, NULL, S_IFDIR | 0755);
	d = mk(root, "d", S_IFDIR | 0755);
	mk(d, "w", S_IFCHR | 0644);
	lcfs_node_set_mode(d, S_IFREG | 0644);
	memset(&cap, 0, sizeof(cap));
	report_write("whiteout below non-dir", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);

	/* EFBIG, and version still raised by a later whiteout */
	root = mk(NULL, NULL, S_IFDIR | 0755);
	f = mk(root, "a", S_IFREG | 0644);
	lcfs_node_set_size(f, (1ULL << 53) + 1);
	mk(root, "b", S_IFCHR | 0644);
	memset(&cap, 0, sizeof(cap));
	report_write("efbig", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_set_size(f, 1ULL << 53);
	memset(&cap, 0, sizeof(cap));
	report_write("1024 chunks", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);

	/* hardlink out of the tree */
	out = mk(NULL, NULL, S_IFREG | 0644);
	root = mk(NULL, NULL, S_IFDIR | 0755);
	l = mk(root, "l", 0);
	lcfs_node_make_hardlink(l, out);
	memset(&cap, 0, sizeof(cap));
	report_write("link outside", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);
	lcfs_node_unref(out);

	/* hardlink to a directory inside the tree (C accepts it) */
	root = mk(NULL, NULL, S_IFDIR | 0755);
	d = mk(root, "d", S_IFDIR | 0755);
	l = mk(root, "l", 0);
	lcfs_node_make_hardlink(l, d);
	memset(&cap, 0, sizeof(cap));
	report_write("link to dir", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);

	/* root not a directory */
	root = mk(NULL, NULL, S_IFREG | 0644);
	memset(&cap, 0, sizeof(cap));
	report_write("root file", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);

	/* invalid mode */
	root = mk(NULL, NULL, S_IFDIR | 0755);
	f = mk(root, "f", S_IFREG | 0644);
	lcfs_node_set_mode(f, 0644);
	memset(&cap, 0, sizeof(cap));
	report_write("bad mode", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);

	/* user.overlay.whiteout with a long value on a whiteout: C's
	 * unsigned budget wraps and the write fails with ERANGE */
	for (size_t vlen = 10; vlen <= 60; vlen += 25) {
		char v[100], label[64];
		memset(v, 'v', sizeof(v));
		root = mk(NULL, NULL, S_IFDIR | 0755);
		f = mk(root, "w", S_IFCHR | 0644);
		lcfs_node_set_xattr(f, "user.x", "1", 1);
		lcfs_node_set_xattr(f, "user.overlay.whiteout", v, vlen);
		lcfs_node_set_xattr(root, "user.overlay.whiteouts", v, vlen);
		memset(&cap, 0, sizeof(cap));
		snprintf(label, sizeof(label), "whiteout budget %zu", vlen);
		report_write(label, root, 0, 1, 0, 0, &cap, 1);
		lcfs_node_unref(root);
	}

	/* all 256 root whiteout names taken; dir with "." child is refused
	 * by add_child in neither library, so it is not tried here */
	root = mk(NULL, NULL, S_IFDIR | 0755);
	for (int i = 0; i < 256; i++) {
		char n[3];
		snprintf(n, sizeof(n), "%02x", i);
		mk(root, n, S_IFREG | 0644);
	}
	memset(&cap, 0, sizeof(cap));
	report_write("hex names taken", root, 0, 1, 0, 0, &cap, 1);
	lcfs_node_unref(root);
}

typedef void (*case_fn)(void);

static void run_forked(const char *name, case_fn fn, uint64_t seed, size_t max_nodes)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (fn) {
			fn();
		} else {
			struct lcfs_node_s *root = rand_tree(seed, max_nodes);
			struct capture cap = { 0 };
			char label[64];
			snprintf(label, sizeof(label), "random %llu",
				 (unsigned long long)seed);
			report_write(label, root, 0, 1, 0, 0, &cap, 1);
			lcfs_node_unref(root);
		}
		fflush(stdout);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("%s %llu: CRASH signal %d\n", name,
		       (unsigned long long)seed, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		printf("%s %llu: EXIT %d\n", name, (unsigned long long)seed,
		       WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	unsigned long n_random = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	run_forked("options", case_options, 0, 0);
	run_forked("callbacks", case_callbacks, 0, 0);
	run_forked("observe", case_observe, 0, 0);
	run_forked("errors", case_errors, 0, 0);
	for (unsigned long s = 1; s <= n_random; s++)
		run_forked("random", NULL, s, s % 10 == 0 ? 3000 : 300);
	return 0;
}
