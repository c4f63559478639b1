/* The two behaviours where we follow upstream main rather than 1.0.8:
 * 1. an image in which a whiteout (char device 0:0) has more than one
 *    directory entry fails to load with EINVAL;
 * 2. the fs-verity digest of empty input is the kernel's value. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libcomposefs/lcfs-erofs.h>
#include <libcomposefs/lcfs-writer.h>

static int failures;

#define EXPECT(cond, what)                                               \
	do {                                                             \
		if (cond) {                                              \
			printf("ok   %s\n", what);                           \
		} else {                                                 \
			printf("FAIL %s (errno %d)\n", what, errno);         \
			failures++;                                      \
		}                                                        \
	} while (0)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* A minimal image by hand: a root directory (compact inode, entries inline)
 * holding one entry "wh" for a raw 0:0 character device whose inode says
 * it has `nlink` links. Offsets: composefs header at 0, EROFS superblock at
 * 1024, inodes in 32-byte slots from 0 (root nid 36, device nid 39). */
static void raw_whiteout_image(uint8_t *img, size_t size, uint16_t nlink)
{
	const uint16_t root = 36, wh = 39;
	uint8_t *sb = img + 1024, *ri = img + root * 32, *wi = img + wh * 32;
	uint8_t *dir = ri + 32;
	const uint16_t names = 3 * 12;

	memset(img, 0, size);
	put32(img, LCFS_EROFS_MAGIC);
	put32(img + 4, LCFS_EROFS_VERSION);
	put32(sb, 0xE0F5E1E2); /* EROFS magic */
	sb[12] = 12; /* 4 KiB blocks */
	put16(sb + 14, root);
	put32(sb + 16, 2); /* inodes */
	put32(sb + 36, size / 4096); /* blocks */
	put16(ri, 2 << 1); /* compact, data inline after the inode */
	put16(ri + 4, S_IFDIR | 0755);
	put16(ri + 6, 2);
	put32(ri + 8, names + 1 + 2 + 2);
	for (int i = 0; i < 3; i++) {
		static const uint16_t name_off[] = { 0, 1, 3 };
		uint8_t *de = dir + 12 * i;
		put32(de, i < 2 ? root : wh); /* nid (low half of 64 bits) */
		put16(de + 8, names + name_off[i]);
		de[10] = i < 2 ? 2 : 3; /* directory, char device */
	}
	memcpy(dir + names, "...wh", 5);
	put16(wi, 0); /* compact, flat */
	put16(wi + 4, S_IFCHR | 0644);
	put16(wi + 6, nlink); /* rdev (i_u) stays 0: a whiteout */
}

int main(void)
{
	static uint8_t img[2 * 4096];
	raw_whiteout_image(img, sizeof(img), 1);
	struct lcfs_node_s *n = lcfs_load_node_from_image(img, sizeof(img));
	EXPECT(n != NULL && lcfs_node_get_n_children(n) == 0,
	       "a whiteout with one link loads (and is left out of the tree)");
	lcfs_node_unref(n);
	for (uint16_t nlink = 2; nlink < 300; nlink += 250) {
		raw_whiteout_image(img, sizeof(img), nlink);
		errno = 0;
		n = lcfs_load_node_from_image(img, sizeof(img));
		EXPECT(n == NULL && errno == EINVAL,
		       nlink == 2 ? "a whiteout with 2 links is refused with EINVAL" :
				    "a whiteout with 252 links is refused with EINVAL");
		lcfs_node_unref(n);
	}

	static const uint8_t empty_digest[LCFS_DIGEST_SIZE] = {
		0x3d, 0x24, 0x8c, 0xa5, 0x42, 0xa2, 0x4f, 0xc6, 0x2d, 0x1c, 0x43,
		0xb9, 0x16, 0xea, 0xe5, 0x01, 0x68, 0x78, 0xe2, 0x53, 0x3c, 0x88,
		0x23, 0x84, 0x80, 0xb2, 0x61, 0x28, 0xa1, 0xf1, 0xaf, 0x95,
	};
	uint8_t d[LCFS_DIGEST_SIZE];
	EXPECT(lcfs_compute_fsverity_from_data(d, NULL, 0) == 0 &&
		       memcmp(d, empty_digest, sizeof(d)) == 0,
	       "empty input has the kernel's fs-verity digest");

	printf("test-main-fixes: %d failed\n", failures);
	return failures ? 1 : 0;
}
