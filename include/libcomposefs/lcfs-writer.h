/* libcomposefs (Rust implementation): building, writing and reading
 * composefs images through a tree of nodes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
 *
 * This header declares the same API and ABI as C libcomposefs 1.0.8, so
 * programs written against that library build and run unchanged. The
 * include guard carries the same name as the C library's, so a translation
 * unit that pulls in both headers sees a single set of declarations.
 */
#ifndef _LCFS_OPS_H
#define _LCFS_OPS_H

#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>

/* Storage class of every exported function; a build may predefine it
 * (for example to add a visibility attribute). */
#ifndef LCFS_EXTERN
#define LCFS_EXTERN extern
#endif

/* Length in bytes of an fs-verity digest (SHA-256). */
#define LCFS_DIGEST_SIZE 32

/* Bits of the buildflags argument of lcfs_build() and friends. */
enum {
	LCFS_BUILD_SKIP_XATTRS = (1 << 0), /* ignore extended attributes */
	LCFS_BUILD_USE_EPOCH = (1 << 1), /* zero all modification times */
	LCFS_BUILD_SKIP_DEVICES = (1 << 2), /* leave out device nodes */
	LCFS_BUILD_COMPUTE_DIGEST = (1 << 3), /* record each file's fs-verity digest */
	LCFS_BUILD_NO_INLINE = (1 << 4), /* never embed small file contents */
	LCFS_BUILD_USER_XATTRS = (1 << 5), /* keep only the user.* namespace */
	LCFS_BUILD_BY_DIGEST = (1 << 6), /* payloads name objects by digest */
};

/* Image formats lcfs_write_to() can produce. */
enum lcfs_format_t {
	LCFS_FORMAT_EROFS,
};

/* Flags of lcfs_write_options_s; none are defined yet. */
enum lcfs_flags_t {
	LCFS_FLAGS_NONE = 0,
	LCFS_FLAGS_MASK = 0,
};

/* Newest image format version this library writes. Version 1 (since
 * 1.0.3) encodes escaped whiteouts with the "x" opaque marker. */
#define LCFS_VERSION_MAX 1

/* Version range that tools request when the user names none. */
#define LCFS_DEFAULT_VERSION_MIN 0
#define LCFS_DEFAULT_VERSION_MAX 1

/* Per-attribute overhead in an inode's xattr area (an EROFS xattr entry
 * header). */
#define LCFS_INODE_XATTRMETA_SIZE 4

/* Cap on the total key and value bytes taken from outside input for one
 * inode. EROFS allows almost 64 KiB; half is kept back for attributes the
 * library adds itself. */
#define LCFS_INODE_EXTERNAL_XATTR_MAX (UINT16_MAX / 2)

/* Hard limit on content stored inside the image instead of as a backing
 * file. */
#define LCFS_INLINE_CONTENT_MAX 5000

/* Suggested limit for inline content: 64 bytes, the length of the
 * hex-encoded SHA-256 path that would reference the file otherwise. */
#define LCFS_RECOMMENDED_INLINE_CONTENT_MAX 64

/* Read/write callbacks: behave like read(2)/write(2) on the opaque file. */
typedef ssize_t (*lcfs_read_cb)(void *file, void *buf, size_t count);
typedef ssize_t (*lcfs_write_cb)(void *file, void *buf, size_t count);

/* Arguments of lcfs_write_to(). Unused and reserved members must be zero. */
struct lcfs_write_options_s {
	uint32_t format; /* an lcfs_format_t */
	uint32_t version; /* lowest format version to emit */
	uint32_t flags; /* lcfs_flags_t bits */
	uint8_t *digest_out; /* if set, receives the image's fs-verity digest */
	void *file; /* passed to file_write_cb */
	lcfs_write_cb file_write_cb; /* output sink, may be NULL */
	uint32_t max_version; /* highest format version allowed */
	uint32_t reserved[3];
	void *reserved2[4];
};

/* Options for loading an image. Reserved members must be zero. */
struct lcfs_read_options_s {
	/* NULL, or a NULL-terminated list of names: then only those entries
	 * of the root directory are loaded (plain names, no paths). */
	const char *const *toplevel_entries;
	uint32_t reserved[3];
	void *reserved2[4];
};

/* Node lifetime: nodes are reference counted. */
LCFS_EXTERN struct lcfs_node_s *lcfs_node_new(void);
LCFS_EXTERN struct lcfs_node_s *lcfs_node_ref(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_unref(struct lcfs_node_s *node);
LCFS_EXTERN struct lcfs_node_s *lcfs_node_clone(struct lcfs_node_s *node);
LCFS_EXTERN struct lcfs_node_s *lcfs_node_clone_deep(struct lcfs_node_s *node);

/* Loading trees from the filesystem or from an image. */
LCFS_EXTERN struct lcfs_node_s *lcfs_load_node_from_file(int dirfd, const char *fname,
							 int buildflags);
LCFS_EXTERN struct lcfs_node_s *lcfs_load_node_from_image(const uint8_t *image_data,
							  size_t image_data_size);
LCFS_EXTERN struct lcfs_node_s *
lcfs_load_node_from_image_ext(const uint8_t *image_data, size_t image_data_size,
			      const struct lcfs_read_options_s *opts);
LCFS_EXTERN struct lcfs_node_s *lcfs_load_node_from_fd(int fd);
LCFS_EXTERN struct lcfs_node_s *
lcfs_load_node_from_fd_ext(int fd, const struct lcfs_read_options_s *opts);
LCFS_EXTERN int lcfs_version_from_fd(int fd);

/* Extended attributes. Values are byte strings of the given length. */
LCFS_EXTERN const char *lcfs_node_get_xattr(struct lcfs_node_s *node,
					    const char *name, size_t *length);
LCFS_EXTERN int lcfs_node_set_xattr(struct lcfs_node_s *node, const char *name,
				    const char *value, size_t value_len);
LCFS_EXTERN int lcfs_node_unset_xattr(struct lcfs_node_s *node, const char *name);
LCFS_EXTERN size_t lcfs_node_get_n_xattr(struct lcfs_node_s *node);
LCFS_EXTERN const char *lcfs_node_get_xattr_name(struct lcfs_node_s *node,
						 size_t index);

/* Payload: the backing-file path of a regular file, or a symlink target. */
LCFS_EXTERN int lcfs_node_set_payload(struct lcfs_node_s *node, const char *payload);
LCFS_EXTERN int lcfs_node_set_symlink_payload(struct lcfs_node_s *node,
					      const char *payload);
LCFS_EXTERN const char *lcfs_node_get_payload(struct lcfs_node_s *node);

/* Inline file content, stored in the image itself. */
LCFS_EXTERN int lcfs_node_set_content(struct lcfs_node_s *node,
				      const uint8_t *data, size_t data_size);
LCFS_EXTERN const uint8_t *lcfs_node_get_content(struct lcfs_node_s *node);

/* Tree structure. lcfs_node_add_child() takes over the caller's reference
 * to child when it succeeds. */
LCFS_EXTERN struct lcfs_node_s *lcfs_node_lookup_child(struct lcfs_node_s *node,
						       const char *name);
LCFS_EXTERN struct lcfs_node_s *lcfs_node_get_parent(struct lcfs_node_s *node);
LCFS_EXTERN int lcfs_node_add_child(struct lcfs_node_s *parent,
				    struct lcfs_node_s *child,
				    const char *name);
LCFS_EXTERN const char *lcfs_node_get_name(struct lcfs_node_s *node);
LCFS_EXTERN size_t lcfs_node_get_n_children(struct lcfs_node_s *node);
LCFS_EXTERN struct lcfs_node_s *lcfs_node_get_child(struct lcfs_node_s *node,
						    size_t i);
LCFS_EXTERN void lcfs_node_make_hardlink(struct lcfs_node_s *node,
					 struct lcfs_node_s *target);
LCFS_EXTERN struct lcfs_node_s *lcfs_node_get_hardlink_target(struct lcfs_node_s *node);

/* Inode attributes. The 32-bit rdev accessors are kept for old callers. */
LCFS_EXTERN bool lcfs_node_dirp(struct lcfs_node_s *node);
LCFS_EXTERN uint32_t lcfs_node_get_mode(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_set_mode(struct lcfs_node_s *node, uint32_t mode);
LCFS_EXTERN int lcfs_node_try_set_mode(struct lcfs_node_s *node, uint32_t mode);
LCFS_EXTERN uint32_t lcfs_node_get_uid(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_set_uid(struct lcfs_node_s *node, uint32_t uid);
LCFS_EXTERN uint32_t lcfs_node_get_gid(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_set_gid(struct lcfs_node_s *node, uint32_t gid);
LCFS_EXTERN uint32_t lcfs_node_get_rdev(struct lcfs_node_s *node)
	__attribute__((deprecated));
LCFS_EXTERN uint64_t lcfs_node_get_rdev64(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_set_rdev(struct lcfs_node_s *node, uint32_t rdev)
	__attribute__((deprecated));
LCFS_EXTERN void lcfs_node_set_rdev64(struct lcfs_node_s *node, uint64_t rdev);
LCFS_EXTERN uint32_t lcfs_node_get_nlink(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_set_nlink(struct lcfs_node_s *node, uint32_t nlink);
LCFS_EXTERN uint64_t lcfs_node_get_size(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_set_size(struct lcfs_node_s *node, uint64_t size);
LCFS_EXTERN void lcfs_node_set_mtime(struct lcfs_node_s *node, struct timespec *time);
LCFS_EXTERN void lcfs_node_get_mtime(struct lcfs_node_s *node, struct timespec *time);

/* fs-verity digest recorded for a regular file. */
LCFS_EXTERN const uint8_t *lcfs_node_get_fsverity_digest(struct lcfs_node_s *node);
LCFS_EXTERN void lcfs_node_set_fsverity_digest(struct lcfs_node_s *node,
					       uint8_t digest[LCFS_DIGEST_SIZE]);
LCFS_EXTERN int lcfs_node_set_fsverity_from_content(struct lcfs_node_s *node,
						    void *file,
						    lcfs_read_cb read_cb);
LCFS_EXTERN int lcfs_node_set_fsverity_from_fd(struct lcfs_node_s *node, int fd);

/* Builds a tree from a directory; on failure *failed_path_out may name
 * the offending path (caller frees it). */
LCFS_EXTERN struct lcfs_node_s *lcfs_build(int dirfd, const char *fname,
					   int buildflags, char **failed_path_out);

/* Serialises the tree below root as an image. */
LCFS_EXTERN int lcfs_write_to(struct lcfs_node_s *root,
			      struct lcfs_write_options_s *options);

/* Computing, reading and enabling fs-verity digests. */
LCFS_EXTERN int lcfs_compute_fsverity_from_content(uint8_t *digest, void *file,
						   lcfs_read_cb read_cb);
LCFS_EXTERN int lcfs_compute_fsverity_from_fd(uint8_t *digest, int fd);
LCFS_EXTERN int lcfs_compute_fsverity_from_data(uint8_t *digest, uint8_t *data,
						size_t data_len);
LCFS_EXTERN int lcfs_fd_measure_fsverity(uint8_t *digest, int fd);
LCFS_EXTERN int lcfs_fd_get_fsverity(uint8_t *digest, int fd);

/* Fills a node's attributes from a file on disk. */
LCFS_EXTERN int lcfs_node_set_from_content(struct lcfs_node_s *node, int dirfd,
					   const char *fname, int buildflags);
LCFS_EXTERN int lcfs_fd_enable_fsverity(int fd);

#endif /* _LCFS_OPS_H */
