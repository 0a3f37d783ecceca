/* workspace-emu: starting the HTTP server (server.c). */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <sys/socket.h>

#include "emu.h"

typedef enum MHD_Result (*emu_jobs_fn)(struct req *);
/* Set by the jobs module when it is built in. */
extern emu_jobs_fn emu_jobs_handler;

struct MHD_Daemon *emu_start(struct emu *e, const struct sockaddr *addr);

#endif
