/* test_figures.c: tools/figures.sh on a real (short) run of the no-storage, no-learning
 * baseline: every paper figure in the three formats (checked by their file signatures), legends
 * that name each distinct series once (without storage the two clearings are the same market,
 * so "storage + RL" and "no storage" must be one line, and the baseline tariff's equal fixed
 * charges one line), and a seed directory refused with a message. Skipped without gnuplot. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* The whole file (at most cap - 1 bytes) into buf; its length, or -1. */
static long slurp(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return (long)n;
}

/* Occurrences of needle in hay. */
static int count(const char *hay, const char *needle) {
    int k = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) k++;
    return k;
}

Test(figures, baseline_run_gives_every_figure_in_three_formats_one_line_per_distinct_series, .timeout = 600) {
    if (tu_run("command -v gnuplot", NULL, 0) != 0) cr_skip_test("gnuplot is not installed (apt-get install gnuplot-nox)");
    char dir[128], cmd[1024], out[8192], path[256];
    snprintf(dir, sizeof dir, "/tmp/sb-test-figures-%ld", (long)getpid());
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && '%s' train configs/no-rl.yaml --seeds 2 --set days=4 --out %s --quiet && tools/figures.sh %s", dir,
             tu_bin(), dir, dir);
    int rc = tu_run(cmd, out, sizeof out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);

    static const char *const figs[] = {"fig1_lmp", "fig2_tariff", "fig4_imv", "fig5_net_demand", "fig6_eei"};
    static char buf[1 << 20];
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.png", dir, figs[i]);
        cr_expect(slurp(path, buf, sizeof buf) > 1000 && !memcmp(buf, "\x89PNG\r\n\x1a\n", 8), "%s: not a PNG", path);
        snprintf(path, sizeof path, "%s/%s.pdf", dir, figs[i]);
        cr_expect(slurp(path, buf, sizeof buf) > 1000 && !memcmp(buf, "%PDF-", 5), "%s: not a PDF", path);
        snprintf(path, sizeof path, "%s/%s.svg", dir, figs[i]);
        long n = slurp(path, buf, sizeof buf);
        cr_expect(n > 1000 && strstr(buf, "<svg") && strstr(buf, "</svg>"), "%s: not an SVG", path);
        /* A title above the plot, and no figure number drawn into the image. */
        cr_expect(!strstr(buf, "Fig."), "%s: a figure number in the image", path);
    }

    /* Without batteries both clearings are the same market: one line per bus group, named for
     * both, in each of the two panels; the three buses' LMPs coincide (no line is congested at
     * these loads), so one group. */
    snprintf(path, sizeof path, "%s/fig1_lmp.svg", dir);
    cr_assert(slurp(path, buf, sizeof buf) > 0);
    cr_expect_eq(count(buf, "all 3 buses, storage + RL = no storage</text>"), 2, "fig1: expected one merged line per panel");
    cr_expect_eq(count(buf, ", no storage</text>"), 0, "fig1: a separate no-storage line");
    snprintf(path, sizeof path, "%s/fig4_imv.svg", dir);
    cr_assert(slurp(path, buf, sizeof buf) > 0);
    cr_expect_eq(count(buf, "storage + RL = no storage</text>"), 1, "fig4: expected the two IMVs as one line");
    /* The baseline tariff: alpha 0 both ways and one fixed charge for every class. */
    snprintf(path, sizeof path, "%s/fig2_tariff.svg", dir);
    cr_assert(slurp(path, buf, sizeof buf) > 0);
    cr_expect_eq(count(buf, "buy adder = sell adder</text>"), 1, "fig2: the equal adders as one line");
    cr_expect_eq(count(buf, "b1 = b2 = b3</text>"), 1, "fig2: the equal prosumer charges as one line");

    /* A seed directory has no aggregated columns: refused with a message, exit 1. */
    snprintf(cmd, sizeof cmd, "tools/figures.sh %s/seed-0", dir);
    rc = tu_run(cmd, out, sizeof out);
    cr_expect_eq(rc, 1, "exit %d:\n%s", rc, out);
    cr_expect(strstr(out, "not a seed's"), "%s", out);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    tu_run(cmd, NULL, 0);
}
