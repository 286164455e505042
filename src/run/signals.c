/* signals.c: SIGINT/SIGTERM to a flag, forwarded to seed processes (see signals.h). */
#define _DEFAULT_SOURCE /* sigaction flags */
#include "run/signals.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* The program's only global state: a signal handler can reach nothing else. */
static volatile sig_atomic_t pending;
static const volatile pid_t *fwd_pids; /* (fwd_n) seed processes of this parent */
static volatile int fwd_n;
static struct sigaction old_int, old_term;
static int saved;

/* GameOptions.stop is a volatile int *: the flag is one only if sig_atomic_t is int. */
_Static_assert(_Generic((sig_atomic_t)0, int: 1, default: 0), "sig_atomic_t is not int");

static void on_signal(int sig) {
    if (pending) return;
    pending = sig;
    for (int i = 0; i < fwd_n; i++)
        if (fwd_pids[i] > 0) kill(fwd_pids[i], SIGTERM);
}

void sig_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second signal takes the default action */
    sigaction(SIGINT, &sa, saved ? NULL : &old_int);
    sigaction(SIGTERM, &sa, saved ? NULL : &old_term);
    saved = 1;
}

void sig_restore(void) {
    if (!saved) return;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    saved = 0;
}

int sig_pending(void) { return (int)pending; }

volatile int *sig_stop_flag(void) { return (volatile int *)&pending; }

void sig_clear(void) { pending = 0; }

void sig_forward(const volatile pid_t *pids, int n) {
    sig_block(1);
    fwd_pids = pids;
    fwd_n = pids ? n : 0;
    sig_block(0);
}

void sig_block(int block) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

int sig_child_setup(pid_t parent) {
    fwd_pids = NULL;
    fwd_n = 0;
    /* Linux: the kernel kills this process when the thread that forked it exits. The parent
     * may have died before the request took effect: then we are already an orphan. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    return getppid() == parent ? 0 : -1;
}

int sig_exit_code(int sig) { return 128 + sig; }
