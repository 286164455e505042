/* signals.h: the process's signal state, in one place: SIGINT and SIGTERM as a request to
 * stop cleanly, forwarded from a parent to its seed processes, and seeds that die with
 * their parent.
 *
 * A long run installs the handlers once; its loop polls sig_pending() between updates (the
 * game polls *sig_stop_flag() between real steps), writes a checkpoint and exits with
 * sig_exit_code() (130 for SIGINT, 143 for SIGTERM, the shell's 128 + signal). A second
 * signal of the same kind takes the default action (the handler resets after its first
 * delivery), so a stuck checkpoint can still be interrupted.
 *
 * A parent of seed processes registers their pids (sig_forward): the first signal it gets is
 * passed on to each as SIGTERM, so `kill PARENT` stops every seed with a checkpoint (a Ctrl-C
 * reaches them from the terminal anyway). A seed calls sig_child_setup first thing: it is
 * killed when its parent dies, so no orphan keeps appending to records a resume is reading. */
#ifndef SB_SIGNALS_H
#define SB_SIGNALS_H

#include <sys/types.h>

/* Catch SIGINT and SIGTERM from now on (again after a delivery reset them). */
void sig_install(void);
/* Put back the handlers that were in force before the first sig_install. */
void sig_restore(void);
/* 0, or the first of SIGINT/SIGTERM received (since the last sig_clear). */
int sig_pending(void);
/* The same flag as a stop request the game polls (GameOptions.stop). */
volatile int *sig_stop_flag(void);
/* Forget a received signal (tests; a runner starting again after a stop). */
void sig_clear(void);
/* Forward the first signal to pids[0..n) as SIGTERM (entries <= 0 are skipped; the array
 * stays the caller's and may change while registered). NULL, 0: forward nothing. */
void sig_forward(const volatile pid_t *pids, int n);
/* Block SIGINT and SIGTERM (block = 1) or let them through again (0): around updates of the
 * forwarded pids, so the handler never sees a reaped child's pid. */
void sig_block(int block);
/* In a process just forked from `parent`: forward nothing, and die (SIGKILL) when the parent
 * does. 0, or -1 if the parent is already gone (the caller must exit at once). */
int sig_child_setup(pid_t parent);
/* The process exit status for a stop by signal sig: 128 + sig. */
int sig_exit_code(int sig);

#endif
