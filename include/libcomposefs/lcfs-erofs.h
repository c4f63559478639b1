/* libcomposefs (Rust implementation): the composefs header that starts
 * every image, ahead of the EROFS superblock.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
 *
 * Same layout as C libcomposefs 1.0.8; same include guard name.
 */
#ifndef _LCFS_EROFS_H
#define _LCFS_EROFS_H

#include <stdint.h>

#define LCFS_EROFS_VERSION 1
#define LCFS_EROFS_MAGIC 0xd078629aU

/* Bits of lcfs_erofs_header_s.flags. */
typedef enum {
	LCFS_EROFS_FLAGS_HAS_ACL = (1 << 0), /* some inode carries POSIX ACLs */
} lcfs_erofs_flag_t;

/* 32 bytes at offset 0 of an image; fields are little-endian on disk. */
struct lcfs_erofs_header_s {
	uint32_t magic; /* LCFS_EROFS_MAGIC */
	uint32_t version; /* LCFS_EROFS_VERSION */
	uint32_t flags; /* lcfs_erofs_flag_t bits */
	uint32_t composefs_version; /* image format version (LCFS_VERSION_MAX) */
	uint32_t unused[4];
} __attribute__((__packed__));

#endif /* _LCFS_EROFS_H */
