/* progress.c: the terminal progress line. */
#include "util/progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/common.h"

struct Progress {
    long total;
    int active;
    double t0, last;
    char label[64];
    int drawn;
};

Progress *progress_new(long total, int quiet, const char *label) {
    Progress *p = sb_calloc(1, sizeof *p);
    p->total = total;
    p->active = !quiet && isatty(STDERR_FILENO);
    p->t0 = p->last = sb_now();
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    return p;
}

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
    else snprintf(buf, n, "%d:%02d", (int)s / 60, (int)s % 60);
}

void progress_update(Progress *p, long done, const char *fmt, ...) {
    if (!p || !p->active) return;
    double now = sb_now();
    if (now - p->last < 0.1 && done < p->total) return;
    p->last = now;
    double rate = done / fmax(now - p->t0, 1e-9);
    char eta[32], note[160] = "";
    fmt_time(eta, sizeof eta, (p->total - done) / fmax(rate, 1e-9));
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(note, sizeof note, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "\r\033[K%s %ld/%ld (%.0f%%) %.0f steps/s ETA %s %s", p->label, done, p->total,
            100.0 * done / fmax((double)p->total, 1), rate, eta, note);
    fflush(stderr);
    p->drawn = 1;
}

void progress_done(Progress *p) {
    if (p && p->active && p->drawn) fputc('\n', stderr);
    if (p) p->drawn = 0;
}

void progress_free(Progress *p) { free(p); }
