/* workspace-emu: a deadline for each request's headers (deadline.c). */
#ifndef EMU_DEADLINE_H
#define EMU_DEADLINE_H

struct deadlines;
struct deadline;

/* The watchdog: first request's headers within first seconds of the
 * connection opening, later ones within next seconds of the answer
 * before. */
struct deadlines *emu_deadlines_start(double first, double next);
void emu_deadlines_stop(struct deadlines *d);

/* A connection that opened on fd, and its end (after which libmicrohttpd
 * closes fd). */
struct deadline *emu_deadline_open(struct deadlines *d, int fd);
void emu_deadline_close(struct deadlines *d, struct deadline *c);
/* Its request's headers are in (1), or its answer went out (0). */
void emu_deadline_busy(struct deadlines *d, struct deadline *c, int busy);

#endif
