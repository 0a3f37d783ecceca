/* A streaming multipart/form-data parser: see multipart.c. */
#ifndef EMU_MULTIPART_H
#define EMU_MULTIPART_H

#include <stddef.h>

#define EMU_MP_HEADERS_MAX 8192	/* a part's header block */

/* Data of the part called name (is_file: it has a filename); <0 stops. */
typedef int (*emu_mp_cb)(void *arg, const char *name, int is_file,
    const char *data, size_t n);

struct emu_mp {
	char delim[80];		/* CRLF "--" boundary */
	size_t dlen;
	char carry[80];		/* kept back: may begin a delimiter */
	size_t ncarry;
	char hdr[EMU_MP_HEADERS_MAX + 1];
	size_t nhdr;
	int state, preamble, file;
	char *name;
	emu_mp_cb cb;
	void *arg;
};

/* -1 when content_type is not multipart/form-data with a boundary. */
int emu_mp_init(struct emu_mp *m, const char *content_type, emu_mp_cb cb,
    void *arg);
/* The next piece of the body; -1 once it is malformed or cb refused. */
int emu_mp_feed(struct emu_mp *m, const char *data, size_t n);
/* Whether the closing delimiter was seen. */
int emu_mp_done(const struct emu_mp *m);
void emu_mp_free(struct emu_mp *m);

#endif
