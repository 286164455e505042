/* signals.c: SIGINT/SIGTERM to a flag (see signals.h). */
#include "util/signals.h"

#include <signal.h>
#include <string.h>

/* The one piece of global state in the program: a signal handler can reach nothing else. */
static volatile sig_atomic_t pending;

static void on_signal(int sig) {
    if (!pending) pending = sig;
}

void sig_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* a second signal takes the default action */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int sig_pending(void) { return (int)pending; }

void sig_clear(void) { pending = 0; }

int sig_exit_code(int sig) { return 128 + sig; }
