#ifndef EMU_ROUTES_H
#define EMU_ROUTES_H

struct emu;

/* Give e the services: the route table and the issued-token check. */
void emu_wire(struct emu *e);

#endif
