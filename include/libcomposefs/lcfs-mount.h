/* libcomposefs (Rust implementation): mounting composefs images.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
 *
 * Same API and ABI as C libcomposefs 1.0.8; the include guard has the
 * same name as the C library's so the two headers never clash.
 */
#ifndef _LCFS_MOUNT_H
#define _LCFS_MOUNT_H

#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>

#ifndef LCFS_EXTERN
#define LCFS_EXTERN extern
#endif

/* errno values with a mount-specific meaning. */
#define ENOVERITY ENOTTY /* the image file has no fs-verity enabled */
#define EWRONGVERITY EILSEQ /* its fs-verity digest is not the expected one */
#define ENOSIGNATURE EBADMSG /* a required signature is missing */

/* Bits of lcfs_mount_options_s.flags. Bit 2 is unassigned. */
enum lcfs_mount_flags_t {
	LCFS_MOUNT_FLAGS_NONE = 0,
	LCFS_MOUNT_FLAGS_REQUIRE_VERITY = (1 << 0), /* fail without fs-verity */
	LCFS_MOUNT_FLAGS_READONLY = (1 << 1), /* mount read-only */
	LCFS_MOUNT_FLAGS_IDMAP = (1 << 3), /* apply the user namespace in idmap_fd */
	LCFS_MOUNT_FLAGS_TRY_VERITY = (1 << 4), /* use fs-verity when available */

	LCFS_MOUNT_FLAGS_MASK = (1 << 5) - 1,
};

/* Arguments of the mount functions. Reserved members must be zero. */
struct lcfs_mount_options_s {
	const char **objdirs; /* directories holding the backing files */
	size_t n_objdirs;
	const char *workdir; /* overlayfs workdir, with upperdir */
	const char *upperdir; /* writable layer, or NULL */
	const char *expected_fsverity_digest; /* hex digest the image must have */
	uint32_t flags; /* lcfs_mount_flags_t bits */
	int idmap_fd; /* user namespace fd for LCFS_MOUNT_FLAGS_IDMAP */
	const char *image_mountdir; /* scratch mount point for the image */

	uint32_t reserved[4];
	void *reserved2[4];
};

LCFS_EXTERN int lcfs_mount_image(const char *path, const char *mountpoint,
				 struct lcfs_mount_options_s *options);
LCFS_EXTERN int lcfs_mount_fd(int fd, const char *mountpoint,
			      struct lcfs_mount_options_s *options);

#endif /* _LCFS_MOUNT_H */
