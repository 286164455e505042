/* test_signals.c: the one signals module (src/run/signals.c): SIGINT and SIGTERM become a
 * pending flag instead of ending the process, the first one received is the one reported
 * (also through the stop flag the game polls), a second one of the same kind takes the
 * default action, the exit codes are the shell's 128 + N (130 and 143), the first signal is
 * forwarded to registered seed processes as SIGTERM, and a process set up as a seed dies
 * (SIGKILL) when its parent does, or refuses to start when the parent is already gone. */
#define _DEFAULT_SOURCE /* PR_SET_CHILD_SUBREAPER */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run/signals.h"

Test(signals, nothing_pending_before_a_signal) {
    sig_install();
    cr_expect_eq(sig_pending(), 0);
    cr_expect_eq(*sig_stop_flag(), 0);
}

Test(signals, sigint_is_caught_and_reported) {
    sig_install();
    cr_assert_eq(raise(SIGINT), 0);
    cr_expect_eq(sig_pending(), SIGINT, "the process is still alive and the flag is set");
    cr_expect_eq(*sig_stop_flag(), SIGINT, "the game's stop flag is the same flag");
}

Test(signals, the_first_of_two_signals_is_reported) {
    sig_install();
    raise(SIGTERM);
    raise(SIGINT);
    cr_expect_eq(sig_pending(), SIGTERM);
    sig_clear();
    cr_expect_eq(sig_pending(), 0);
}

Test(signals, second_sigint_takes_the_default_action, .signal = SIGINT) {
    sig_install();
    raise(SIGINT);
    raise(SIGINT); /* the handler was reset after the first: this one ends the process */
    cr_expect_fail("still alive after a second SIGINT");
}

Test(signals, restore_puts_back_the_previous_handlers) {
    struct sigaction before, after;
    sigaction(SIGTERM, NULL, &before);
    sig_install();
    sig_restore();
    sigaction(SIGTERM, NULL, &after);
    cr_expect(after.sa_handler == before.sa_handler);
}

Test(signals, exit_codes_are_128_plus_the_signal) {
    cr_expect_eq(sig_exit_code(SIGINT), 130);
    cr_expect_eq(sig_exit_code(SIGTERM), 143);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

Test(signals, the_first_signal_is_forwarded_to_the_registered_children_as_sigterm) {
    pid_t kids[3] = {0, 0, 0}; /* the last entry stays 0: skipped */
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        cr_assert(kids[i] >= 0);
        if (kids[i] == 0) {
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_IGN); /* only a forwarded SIGTERM can end it */
            for (;;) pause();
        }
    }
    sig_install();
    sig_forward(kids, 3);
    raise(SIGINT);
    for (int i = 0; i < 2; i++) {
        int st;
        cr_assert_eq(waitpid(kids[i], &st, 0), kids[i]);
        cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "child %d: status %d", i, st);
    }
    cr_expect_eq(sig_pending(), SIGINT);
    sig_forward(NULL, 0);
}

Test(signals, a_seed_dies_with_its_parent) {
    /* This test adopts orphans, so it sees how the grandchild ends once its parent is gone. */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t parent = fork();
    cr_assert(parent >= 0);
    if (parent == 0) {
        pid_t self = getpid(), seed = fork();
        if (seed == 0) {
            if (sig_child_setup(self)) _exit(3);
            if (write(pfd[1], "r", 1) != 1) _exit(4);
            for (;;) pause(); /* only the parent's death ends it */
        }
        char c;
        if (read(pfd[0], &c, 1) != 1) _exit(5);
        _exit(0); /* the seed is set up: the parent dies */
    }
    int st;
    cr_assert_eq(waitpid(parent, &st, 0), parent);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid_t w = -1;
    for (int i = 0; i < 5000 && (w = waitpid(-1, &st, WNOHANG)) == 0; i++) sleep_ms(1);
    cr_assert(w > 0, "the orphaned seed is still running");
    cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
}

Test(signals, a_seed_whose_parent_is_gone_does_not_start) {
    /* getppid() is not the parent it was forked from: set-up reports it. */
    cr_expect_eq(sig_child_setup(getppid() + 1000000), -1);
}
