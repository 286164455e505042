/* signals.h: SIGINT and SIGTERM as a request to stop cleanly.
 *
 * A long run installs the handlers once; its loop polls sig_pending() between updates,
 * writes a checkpoint and exits with sig_exit_code() (130 for SIGINT, 143 for SIGTERM, the
 * shell's 128 + signal). A second signal of the same kind kills the process at once (the
 * handler is reset to the default after its first delivery), so a stuck checkpoint can
 * still be interrupted. */
#ifndef SB_SIGNALS_H
#define SB_SIGNALS_H

/* Catch SIGINT and SIGTERM from now on. Safe to call more than once. */
void sig_install(void);
/* 0, or the first of SIGINT/SIGTERM received since sig_install. */
int sig_pending(void);
/* Forget a received signal (tests). */
void sig_clear(void);
/* The process exit status for a stop by signal sig: 128 + sig. */
int sig_exit_code(int sig);

#endif
