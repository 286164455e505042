/* progress.h: a live progress line on stderr (count, rate, ETA and a caller's note).
 * Silent when stderr is not a terminal or when quiet; redrawn at most 10 times a second. */
#ifndef SB_PROGRESS_H
#define SB_PROGRESS_H

typedef struct Progress Progress;

Progress *progress_new(long total, int quiet, const char *label);
void progress_update(Progress *p, long done, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void progress_done(Progress *p); /* ends the line */
void progress_free(Progress *p);

#endif
