#!/bin/bash
# Reads images made by the C mkcomposefs with the upstream C tools, once on
# the C library and once on ours, and requires byte-identical output:
# composefs-dump, composefs-info dump/ls/objects/missing-objects (also with
# --filter) and a walker printing every node field, for every test asset,
# as v0 and v1 images.
# The C oracle is the shared upstream build (tests-c/upstream/build.sh).
set -u

ROOT=${LCFS_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
SO_DIR=${LCFS_SO_DIR:-$ROOT/target/release}

. "$ROOT/tests-c/lib/setup.sh"
need_tools cc gzip
SRC=$("$ROOT/tests-c/upstream/fetch.sh") || { echo "SKIP: no upstream source (download failed, see above)"; exit 77; }
ORACLE=$("$ROOT/tests-c/upstream/build.sh") || { echo "FAIL: building the C oracle failed"; exit 1; }
setup_begin

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Our library under the SONAME the tools ask for.
mkdir -p "$WORK/lib" "$WORK/objects"
if [ -e "$SO_DIR/libcomposefs.so.1" ]; then
    ln -s "$SO_DIR/libcomposefs.so.1" "$WORK/lib/libcomposefs.so.1"
else
    ln -s "$SO_DIR/libcomposefs.so" "$WORK/lib/libcomposefs.so.1"
fi
C_LIB=$ORACLE/libcomposefs
# A walker printing every field of every node the loader returns (link
# targets, raw link-node fields, xattr order, content, digest), plus
# lcfs_version_from_fd and whether the fd offset moved.
cat >"$WORK/walk.c" <<'WALK_EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lcfs-writer.h"

static struct lcfs_node_s **seen;
static char **seen_path;
static size_t n_seen, cap_seen;

static void hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void walk(struct lcfs_node_s *n, const char *path)
{
	struct timespec t;
	struct lcfs_node_s *l = lcfs_node_get_hardlink_target(n);
	lcfs_node_get_mtime(n, &t);
	printf("%s mode=%o nlink=%u uid=%u gid=%u rdev=%llu size=%llu mtime=%lld.%ld",
	       path, lcfs_node_get_mode(n), lcfs_node_get_nlink(n),
	       lcfs_node_get_uid(n), lcfs_node_get_gid(n),
	       (unsigned long long)lcfs_node_get_rdev64(n),
	       (unsigned long long)lcfs_node_get_size(n), (long long)t.tv_sec,
	       t.tv_nsec);
	const char *p = lcfs_node_get_payload(n);
	if (p)
		printf(" payload=%s", p);
	const uint8_t *c = lcfs_node_get_content(n);
	if (c) {
		printf(" content=");
		hex(c, lcfs_node_get_size(n));
	}
	const uint8_t *d = lcfs_node_get_fsverity_digest(n);
	if (d) {
		printf(" digest=");
		hex(d, 32);
	}
	size_t nx = lcfs_node_get_n_xattr(n);
	for (size_t i = 0; i < nx; i++) {
		const char *k = lcfs_node_get_xattr_name(n, i);
		size_t vl = 0;
		const char *v = lcfs_node_get_xattr(n, k, &vl);
		printf(" x[%s]=", k);
		hex((const uint8_t *)v, vl);
	}
	if (l) {
		const char *tp = "?";
		for (size_t i = 0; i < n_seen; i++)
			if (seen[i] == l)
				tp = seen_path[i];
		printf(" link=%s", tp);
	}
	printf("\n");
	if (n_seen == cap_seen) {
		cap_seen = cap_seen ? cap_seen * 2 : 1024;
		seen = realloc(seen, cap_seen * sizeof(*seen));
		seen_path = realloc(seen_path, cap_seen * sizeof(*seen_path));
	}
	seen[n_seen] = n;
	seen_path[n_seen++] = strdup(path);
	size_t nc = lcfs_node_get_n_children(n);
	for (size_t i = 0; i < nc; i++) {
		struct lcfs_node_s *ch = lcfs_node_get_child(n, i);
		char *cp;
		if (asprintf(&cp, "%s/%s", path, lcfs_node_get_name(ch)) < 0)
			exit(3);
		walk(ch, cp);
		free(cp);
	}
}

int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		return 2;
	lseek(fd, 7, SEEK_SET);
	errno = 0;
	int v = lcfs_version_from_fd(fd);
	printf("version=%d errno=%d\n", v, v < 0 ? errno : 0);
	struct lcfs_read_options_s opts = { 0 };
	if (argc > 2)
		opts.toplevel_entries = (const char *const *)&argv[2];
	struct lcfs_node_s *root;
	if (getenv("WALK_BUF")) {
		struct stat st;
		fstat(fd, &st);
		uint8_t *buf = malloc(st.st_size ? st.st_size : 1);
		if (pread(fd, buf, st.st_size, 0) != st.st_size)
			return 2;
		root = lcfs_load_node_from_image_ext(buf, st.st_size, &opts);
		int e = errno;
		free(buf);
		errno = e;
	} else {
		root = lcfs_load_node_from_fd_ext(fd, &opts);
	}
	if (lseek(fd, 0, SEEK_CUR) != 7)
		printf("offset moved\n");
	if (root == NULL) {
		printf("load failed errno=%d\n", errno);
		return 0;
	}
	walk(root, "");
	lcfs_node_unref(root);
	return 0;
}
WALK_EOF
cc -O1 -Wall -I"$SRC/libcomposefs" "$WORK/walk.c" -L"$ORACLE/libcomposefs" -lcomposefs \
    -o "$WORK/walk" || { echo "FAIL: cannot build the walker"; exit 1; }
R_LIB=$WORK/lib
TOOLS=$ORACLE/tools
setup_end

fails=0
checks=0

# compare NAME CMD...: runs CMD on both libraries; output and status must match.
compare() {
    local name=$1
    shift
    LD_LIBRARY_PATH=$C_LIB "$@" >"$WORK/c.out" 2>"$WORK/c.err"
    local c_rc=$?
    LD_LIBRARY_PATH=$R_LIB "$@" >"$WORK/r.out" 2>"$WORK/r.err"
    local r_rc=$?
    checks=$((checks + 1))
    if [ $c_rc != $r_rc ]; then
        echo "FAIL $name: exit status C=$c_rc ours=$r_rc"
        head -3 "$WORK/r.err"
        fails=$((fails + 1))
    elif ! cmp -s "$WORK/c.out" "$WORK/r.out"; then
        echo "FAIL $name: output differs; first difference:"
        head -n 4 <<<"$(diff "$WORK/c.out" "$WORK/r.out")"
        fails=$((fails + 1))
    fi
}

# compare_file NAME IMG: composefs-dump writes to a file argument.
compare_dump_tool() {
    local name=$1 img=$2
    LD_LIBRARY_PATH=$C_LIB "$TOOLS/composefs-dump" "$img" "$WORK/dump.c" 2>/dev/null
    local c_rc=$?
    LD_LIBRARY_PATH=$R_LIB "$TOOLS/composefs-dump" "$img" "$WORK/dump.r" 2>"$WORK/r.err"
    local r_rc=$?
    checks=$((checks + 1))
    if [ $c_rc != $r_rc ]; then
        echo "FAIL $name composefs-dump: exit status C=$c_rc ours=$r_rc"
        head -3 "$WORK/r.err"
        fails=$((fails + 1))
    elif [ $c_rc = 0 ] && ! cmp -s "$WORK/dump.c" "$WORK/dump.r"; then
        echo "FAIL $name composefs-dump: output differs; first difference:"
        head -n 4 <<<"$(diff "$WORK/dump.c" "$WORK/dump.r")"
        fails=$((fails + 1))
    fi
    rm -f "$WORK/dump.c" "$WORK/dump.r"
}

shopt -s nullglob
assets=("$SRC"/tests/assets/*.dump "$SRC"/tests/assets/*.dump.gz)
shopt -u nullglob
if [ "${#assets[@]}" -lt 20 ]; then
    echo "FAIL: only ${#assets[@]} test assets in $SRC/tests/assets"
    exit 1
fi
images=0
for asset in "${assets[@]}"; do
    base=$(basename "$asset")
    base=${base%.gz}
    base=${base%.dump}
    case $asset in
    *.gz) gzip -dc "$asset" >"$WORK/in.dump" ;;
    *) cp "$asset" "$WORK/in.dump" ;;
    esac || { echo "FAIL: cannot read $asset"; exit 1; }
    for v in 0 1; do
        img=$WORK/$base.v$v.img
        if ! LD_LIBRARY_PATH=$C_LIB "$TOOLS/mkcomposefs" --from-file \
            --min-version=$v --max-version=1 "$WORK/in.dump" "$img" 2>"$WORK/mk.err"; then
            case $base in
            should-fail-*) continue ;; # these make no image
            esac
            echo "FAIL: C mkcomposefs cannot build $base v$v: $(cat "$WORK/mk.err")"
            fails=$((fails + 1))
            continue
        fi
        images=$((images + 1))
        # A top-level name for --filter: the first entry below the root.
        first=$(LD_LIBRARY_PATH=$C_LIB "$TOOLS/composefs-info" ls "$img" 2>/dev/null |
            awk -F'\t' 'NR==1 {sub("^/", "", $1); sub("/.*", "", $1); print $1}')
        n0=$checks f0=$fails
        compare_dump_tool "$base v$v" "$img"
        for cmd in dump ls objects; do
            compare "$base v$v info $cmd" "$TOOLS/composefs-info" $cmd "$img"
        done
        compare "$base v$v walk (fd)" "$WORK/walk" "$img"
        WALK_BUF=1 compare "$base v$v walk (buffer)" "$WORK/walk" "$img"
        if [ -n "$first" ]; then
            compare "$base v$v walk toplevel" "$WORK/walk" "$img" "$first" nonexistent
        fi
        compare "$base v$v info missing-objects" \
            "$TOOLS/composefs-info" --basedir="$WORK/objects" missing-objects "$img"
        if [ -n "$first" ]; then
            compare "$base v$v info --filter" \
                "$TOOLS/composefs-info" --filter="$first" --filter=nonexistent dump "$img"
        fi
        if [ $fails = $f0 ]; then
            echo "ok $base v$v: $((checks - n0)) outputs identical"
        fi
        rm -f "$img"
    done
done

# Truncated and corrupted images: the status must match C's.
setup_begin
img=$WORK/special.img
LD_LIBRARY_PATH=$C_LIB "$TOOLS/mkcomposefs" --from-file "$SRC/tests/assets/special.dump" "$img"
head -c 100 "$img" >"$WORK/short.img"
: >"$WORK/empty.img"
cp "$img" "$WORK/bad-magic.img"
printf 'garbage' | dd of="$WORK/bad-magic.img" bs=1 seek=0 conv=notrunc status=none
setup_end
compare "truncated image" "$WORK/walk" "$WORK/short.img"
# C faults touching the header of an empty file; we must answer EINVAL.
checks=$((checks + 1))
out=$(LD_LIBRARY_PATH=$R_LIB "$WORK/walk" "$WORK/empty.img")
if [ "$out" != "version=-1 errno=22
load failed errno=22" ]; then
    echo "FAIL empty image: $out"
    fails=$((fails + 1))
fi
compare "bad magic" "$WORK/walk" "$WORK/bad-magic.img"

echo "$checks comparisons over $images images, $fails failures"
[ $fails = 0 ]
