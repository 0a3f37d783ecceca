/* workspace-emu: starting the HTTP server (server.c). */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <sys/socket.h>

#include "emu.h"

struct MHD_Daemon *emu_start(struct emu *e, const struct sockaddr *addr);
/* Stop serving: the daemon, then the header watchdog. */
void emu_stop(struct emu *e, struct MHD_Daemon *d);
/* The canonical form of a decoded request path, in place (never longer). */
void emu_canon_path(char *path);

#endif
