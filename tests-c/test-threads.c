/* Threads using the node API at once, within the rules both libraries
 * share: a thread only modifies nodes nobody else touches at the same
 * time; nodes other threads modify are neither read nor written.
 *
 * The main thread builds root/t0..t3, each with files f0..f7. Thread i
 * then, concurrently with the others:
 *   - sets, replaces and unsets xattrs on t<i>'s files and adds children
 *     to t<i> (different nodes of the one shared tree per thread);
 *   - looks up t<i> in root and reads its parent (root is only read);
 *   - builds, links, clones, deep-clones and drops private subtrees;
 *   - deep-clones its own shared t<i> and checks the copy.
 * Afterwards the main thread checks every t<i>.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libcomposefs/lcfs-writer.h>

#define THREADS 4
#define FILES 8
#define ROUNDS 60

static struct lcfs_node_s *shared_root;
static struct lcfs_node_s *shared_dirs[THREADS];

struct result {
	int checks;
	int failures;
};

#define CHECK(res, cond)                                                       \
	do {                                                                   \
		(res)->checks++;                                               \
		if (!(cond)) {                                                 \
			(res)->failures++;                                     \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,          \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

static struct lcfs_node_s *node_with_mode(uint32_t mode)
{
	struct lcfs_node_s *n = lcfs_node_new();
	if (n == NULL)
		abort();
	lcfs_node_set_mode(n, mode);
	return n;
}

/* A private subtree: dir{ a, b -> a, sub{ c -> a, d } } with xattrs. */
static struct lcfs_node_s *build_private(struct result *res, int tid, int round)
{
	struct lcfs_node_s *dir = node_with_mode(S_IFDIR | 0755);
	struct lcfs_node_s *a = node_with_mode(S_IFREG | 0644);
	struct lcfs_node_s *b = lcfs_node_new();
	struct lcfs_node_s *sub = node_with_mode(S_IFDIR | 0700);
	struct lcfs_node_s *c = lcfs_node_new();
	struct lcfs_node_s *d = node_with_mode(S_IFREG | 0600);
	char val[32];

	snprintf(val, sizeof(val), "t%d-r%d", tid, round);
	CHECK(res, lcfs_node_set_xattr(a, "user.who", val, strlen(val)) == 0);
	CHECK(res, lcfs_node_set_content(a, (const uint8_t *)val, strlen(val)) == 0);
	CHECK(res, lcfs_node_add_child(dir, a, "a") == 0);
	CHECK(res, lcfs_node_add_child(dir, b, "b") == 0);
	CHECK(res, lcfs_node_add_child(dir, sub, "sub") == 0);
	CHECK(res, lcfs_node_add_child(sub, c, "c") == 0);
	CHECK(res, lcfs_node_add_child(sub, d, "d") == 0);
	lcfs_node_make_hardlink(b, a);
	lcfs_node_make_hardlink(c, a);
	lcfs_node_set_uid(d, (uint32_t)(tid * 1000 + round));
	CHECK(res, lcfs_node_get_nlink(a) == 3);
	return dir;
}

static void check_private_copy(struct result *res, struct lcfs_node_s *orig,
			       struct lcfs_node_s *copy, int tid, int round)
{
	struct lcfs_node_s *a = lcfs_node_lookup_child(copy, "a");
	struct lcfs_node_s *b = lcfs_node_lookup_child(copy, "b");
	struct lcfs_node_s *sub = lcfs_node_lookup_child(copy, "sub");
	struct lcfs_node_s *c = sub ? lcfs_node_lookup_child(sub, "c") : NULL;
	struct lcfs_node_s *d = sub ? lcfs_node_lookup_child(sub, "d") : NULL;
	char val[32];
	size_t len = 0;

	snprintf(val, sizeof(val), "t%d-r%d", tid, round);
	CHECK(res, a && b && sub && c && d);
	if (!(a && b && sub && c && d))
		return;
	CHECK(res, orig == NULL || a != lcfs_node_lookup_child(orig, "a"));
	CHECK(res, lcfs_node_get_hardlink_target(b) == a);
	CHECK(res, lcfs_node_get_hardlink_target(c) == a);
	const char *got = lcfs_node_get_xattr(a, "user.who", &len);
	CHECK(res, got && len == strlen(val) && memcmp(got, val, len) == 0);
	CHECK(res, lcfs_node_get_content(a) &&
			   memcmp(lcfs_node_get_content(a), val, strlen(val)) == 0);
	CHECK(res, lcfs_node_get_uid(d) == (uint32_t)(tid * 1000 + round));
	CHECK(res, lcfs_node_get_parent(d) == sub && lcfs_node_get_parent(sub) == copy);
}

static void *worker(void *arg)
{
	int tid = (int)(intptr_t)arg;
	struct result *res = calloc(1, sizeof(*res));
	struct lcfs_node_s *mine = shared_dirs[tid];
	char name[32], key[32], val[64];

	if (res == NULL)
		abort();
	for (int round = 0; round < ROUNDS; round++) {
		/* Shared tree: only t<tid> and its files are modified here. */
		snprintf(name, sizeof(name), "t%d", tid);
		CHECK(res, lcfs_node_lookup_child(shared_root, name) == mine);
		CHECK(res, lcfs_node_get_parent(mine) == shared_root);
		struct lcfs_node_s *f = lcfs_node_get_child(mine, (size_t)(round % FILES));
		snprintf(key, sizeof(key), "user.r%d", round % 5);
		snprintf(val, sizeof(val), "thread %d round %d", tid, round);
		CHECK(res, lcfs_node_set_xattr(f, key, val, strlen(val)) == 0);
		CHECK(res, lcfs_node_set_xattr(f, "user.last", val, strlen(val)) == 0);
		if (round % 3 == 0)
			CHECK(res, lcfs_node_unset_xattr(f, key) == 0);
		lcfs_node_set_gid(f, (uint32_t)round);
		snprintf(name, sizeof(name), "new%03d", round);
		CHECK(res, lcfs_node_add_child(mine, node_with_mode(S_IFREG | 0644), name) == 0);

		/* Private subtrees. */
		struct lcfs_node_s *priv = build_private(res, tid, round);
		struct lcfs_node_s *copy = lcfs_node_clone_deep(priv);
		CHECK(res, copy != NULL);
		struct lcfs_node_s *flat = lcfs_node_clone(lcfs_node_lookup_child(priv, "b"));
		CHECK(res, flat && lcfs_node_get_hardlink_target(flat) ==
					   lcfs_node_lookup_child(priv, "a"));
		if (copy)
			check_private_copy(res, priv, copy, tid, round);
		lcfs_node_unref(priv);
		/* The copy and the clone live on without the original. */
		if (copy)
			check_private_copy(res, NULL, copy, tid, round);
		CHECK(res, flat && lcfs_node_get_nlink(lcfs_node_get_hardlink_target(flat)) == 3);
		lcfs_node_unref(flat);
		if (copy)
			lcfs_node_unref(copy);

		/* Deep copy of our part of the shared tree. */
		struct lcfs_node_s *mine_copy = lcfs_node_clone_deep(mine);
		CHECK(res, mine_copy && lcfs_node_get_n_children(mine_copy) ==
						(size_t)(FILES + round + 1));
		if (mine_copy) {
			size_t len = 0;
			const char *got = lcfs_node_get_xattr(
				lcfs_node_get_child(mine_copy, (size_t)(round % FILES)),
				"user.last", &len);
			CHECK(res, got && len == strlen(val) && memcmp(got, val, len) == 0);
			lcfs_node_unref(mine_copy);
		}
	}
	return res;
}

int main(void)
{
	pthread_t threads[THREADS];
	int checks = 0, failures = 0;
	char name[32];

	shared_root = node_with_mode(S_IFDIR | 0755);
	for (int t = 0; t < THREADS; t++) {
		shared_dirs[t] = node_with_mode(S_IFDIR | 0755);
		snprintf(name, sizeof(name), "t%d", t);
		if (lcfs_node_add_child(shared_root, shared_dirs[t], name) < 0)
			abort();
		for (int f = 0; f < FILES; f++) {
			snprintf(name, sizeof(name), "f%d", f);
			if (lcfs_node_add_child(shared_dirs[t],
						node_with_mode(S_IFREG | 0644), name) < 0)
				abort();
		}
	}

	for (int t = 0; t < THREADS; t++) {
		if (pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	for (int t = 0; t < THREADS; t++) {
		void *ret = NULL;
		pthread_join(threads[t], &ret);
		struct result *res = ret;
		checks += res->checks;
		failures += res->failures;
		free(res);
	}

	/* Every thread's changes landed on its own nodes only. */
	struct result mainres = { 0, 0 };
	for (int t = 0; t < THREADS; t++) {
		struct lcfs_node_s *dir = shared_dirs[t];
		CHECK(&mainres, lcfs_node_get_n_children(dir) == FILES + ROUNDS);
		for (int f = 0; f < FILES; f++) {
			struct lcfs_node_s *file = lcfs_node_get_child(dir, (size_t)f);
			int last = ((ROUNDS - 1 - f) / FILES) * FILES + f;
			char want[64];
			size_t len = 0;
			snprintf(want, sizeof(want), "thread %d round %d", t, last);
			const char *got = lcfs_node_get_xattr(file, "user.last", &len);
			CHECK(&mainres, got && len == strlen(want) && memcmp(got, want, len) == 0);
			CHECK(&mainres, lcfs_node_get_gid(file) == (uint32_t)last);
		}
	}
	checks += mainres.checks;
	failures += mainres.failures;
	lcfs_node_unref(shared_root);

	printf("test-threads: %d threads x %d rounds, %d checks, %d failed\n",
	       THREADS, ROUNDS, checks, failures);
	return failures ? 1 : 0;
}
