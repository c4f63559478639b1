/*
 * Preloaded into the programs check-ostree.sh runs inside the Debian root,
 * so that every run reports which libcomposefs it really used, appending
 * to the file named by $LCFS_PROBE_OUT:
 *   "<GNU build-id in hex> <path>" for each loaded object whose name
 *   contains "libcomposefs", from a constructor (all DT_NEEDED objects are
 *   mapped by then, and a run that aborts still leaves this line);
 *   "call <function>" each time the program calls lcfs_write_to or
 *   lcfs_load_node_from_fd_ext, which this object interposes and forwards
 *   to the next definition, the library's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the build-id found in one PT_NOTE segment, if any. */
static int print_build_id(FILE *out, const char *base, size_t len)
{
	size_t off = 0;

	while (off + sizeof(ElfW(Nhdr)) <= len) {
		const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(base + off);
		size_t name_at = off + sizeof(*n);
		size_t desc_at = name_at + ((n->n_namesz + 3) & ~3u);
		size_t next = desc_at + ((n->n_descsz + 3) & ~3u);

		if (next > len)
			break;
		if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
		    memcmp(base + name_at, "GNU", 4) == 0) {
			for (size_t i = 0; i < n->n_descsz; i++)
				fprintf(out, "%02x", (unsigned char)base[desc_at + i]);
			return 1;
		}
		off = next;
	}
	return 0;
}

static int report_object(struct dl_phdr_info *info, size_t size, void *data)
{
	FILE *out = data;
	int found = 0;

	(void)size;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libcomposefs") == NULL)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && !found; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE)
			found = print_build_id(out, (const char *)(info->dlpi_addr + ph->p_vaddr),
					       ph->p_memsz);
	}
	if (!found)
		fputs("no-build-id", out);
	fprintf(out, " %s\n", info->dlpi_name);
	return 0;
}

static FILE *open_report(void)
{
	const char *path = getenv("LCFS_PROBE_OUT");

	return path == NULL ? NULL : fopen(path, "ae");
}

__attribute__((constructor)) static void probe(void)
{
	FILE *out = open_report();

	if (out == NULL)
		return;
	dl_iterate_phdr(report_object, out);
	fclose(out);
}

static void note_call(const char *name)
{
	FILE *out = open_report();

	if (out == NULL)
		return;
	fprintf(out, "call %s\n", name);
	fclose(out);
}

/* The real signatures take pointers to libcomposefs' structs; the probe
 * only passes them on. */
int lcfs_write_to(void *root, void *options)
{
	int (*next)(void *, void *) = (int (*)(void *, void *))dlsym(RTLD_NEXT, "lcfs_write_to");

	note_call("lcfs_write_to");
	if (next == NULL)
		abort();
	return next(root, options);
}

void *lcfs_load_node_from_fd_ext(int fd, const void *options)
{
	void *(*next)(int, const void *) =
		(void *(*)(int, const void *))dlsym(RTLD_NEXT, "lcfs_load_node_from_fd_ext");

	note_call("lcfs_load_node_from_fd_ext");
	if (next == NULL)
		abort();
	return next(fd, options);
}
