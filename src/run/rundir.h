/* rundir.h: one writer per run directory, and the record of what runs in it.
 *
 * Claiming DIR for a run (before anything is written into it):
 *   - another process holding DIR's lock (util/fsutil.h: DIR/.lock, flock) refuses it, naming
 *     the holder's pid and command: two runs never write into one directory;
 *   - a new run refuses a DIR that holds anything but its lock file, unless forced; forced
 *     into a DIR that holds a run (run.json), it removes that run's files first (rundir_clear:
 *     only the kinds of files a run writes; other files stay);
 *   - a resume needs DIR to exist.
 * The lock is held until the process and the seed processes it forks have exited.
 *
 * DIR/run.json records the run: its kind ("game", "single", "sweep"), the config file's name
 * and text, the --set overrides in the order applied, the seed count, the fingerprint of the
 * resolved config (game_fingerprint; single-agent runs: of the text and overrides), and a
 * checksum of all of these. A resume rebuilds the config from it; a run.json whose checksum
 * does not match its contents (edited or damaged) is refused, as is one whose config no
 * longer resolves to the recorded fingerprint (a grid file changed since). */
#ifndef SB_RUNDIR_H
#define SB_RUNDIR_H

#include <stddef.h>
#include <stdint.h>

#include "io/jsonval.h"
#include "util/fsutil.h"

typedef enum { RUNDIR_NEW, RUNDIR_FORCE, RUNDIR_RESUME } RunDirMode;

/* Claim dir as described above (creating it for NEW and FORCE). holder: the command, for a
 * second writer's message. 0 (l holds the lock), -2 with err (in use, not empty, missing), -1
 * with err (I/O). */
int rundir_claim(DirLock *l, const char *dir, RunDirMode mode, const char *holder, char *err, size_t n);
/* The same under mpirun: world rank 0 claims (and, with keep_going == 0 after a failure on it,
 * every rank returns its status); the others wait for it and share the claim. Alone, exactly
 * rundir_claim. Collective over the world. */
int rundir_claim_ranks(DirLock *l, const char *dir, RunDirMode mode, const char *holder, char *err, size_t n);
/* Remove what a run writes from dir and from its seed-K/ and variant-K/ directories: *.csv,
 * *.json, *.npz, figures (*.png, *.pdf, *.svg) and temporaries (*.tmp.*). 0, or -1 with err. */
int rundir_clear(const char *dir, char *err, size_t n);
/* The command line as one line of text: "stackelberg ARG ARG ...". */
void rundir_holder(char *out, size_t cap, int argc, char *const *argv);

typedef struct {
    const char *kind;        /* "game", "single" or "sweep" */
    const char *file;        /* the config file as named */
    const char *yaml;        /* its text */
    const char *const *sets; /* (n_sets) overrides, in the order applied */
    int n_sets;
    int seeds;
    uint64_t fingerprint;
    JVal doc;                /* rundir_read: the parsed file the pointers above point into */
    const char **set_store;  /* rundir_read: (n_sets) */
} RunRecord;

/* DIR/run.json, written atomically. 0, or -1 with err. */
int rundir_write(const char *dir, const RunRecord *r, char *err, size_t n);
/* Read and verify DIR/run.json (fields present and typed, checksum). 0; -2 with
 * "DIR/run.json: what is wrong"; -1 if it cannot be read (err says why). */
int rundir_read(RunRecord *r, const char *dir, char *err, size_t n);
void rundir_record_free(RunRecord *r);
/* The fingerprint of a single-agent run: its config text and overrides. */
uint64_t rundir_source_fingerprint(const char *yaml, const char *const *sets, int n_sets);

#endif
