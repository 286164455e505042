/* test_signals.c: SIGINT and SIGTERM become a pending flag instead of ending the process,
 * the first one received is the one reported, and the exit codes are the shell's 128 + N
 * (130 and 143, as POSIX shells report a process killed by those signals). */
#include <criterion/criterion.h>
#include <signal.h>

#include "run/signals.h"

Test(signals, nothing_pending_before_a_signal) {
    sig_install();
    cr_expect_eq(sig_pending(), 0);
}

Test(signals, sigint_is_caught_and_reported) {
    sig_install();
    cr_assert_eq(raise(SIGINT), 0);
    cr_expect_eq(sig_pending(), SIGINT, "the process is still alive and the flag is set");
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

Test(signals, exit_codes_are_128_plus_the_signal) {
    cr_expect_eq(sig_exit_code(SIGINT), 130);
    cr_expect_eq(sig_exit_code(SIGTERM), 143);
}
