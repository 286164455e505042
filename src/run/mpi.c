/* mpi.c: the OpenMPI layer (mpi.h); without SB_HAVE_MPI, a plain process's no-ops. */
#include "run/mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

void sb_block(int n, int ranks, int r, int *lo, int *hi) {
    *lo = (int)((long)n * r / ranks);
    *hi = (int)((long)n * (r + 1) / ranks);
}

#ifdef SB_HAVE_MPI
#include <mpi.h>

struct SbComm {
    MPI_Comm comm;
    int rank, size;
    double seconds;
};

static int active;
static SbComm world;

int sb_mpi_built(void) { return 1; }

int sb_mpi_start(int *argc, char ***argv) {
    /* Only under a launcher: a plain run (tests fork seeds) must not start MPI. */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK")) return 0;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return 0;
    active = 1;
    world.comm = MPI_COMM_WORLD;
    MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world.size);
    return 1;
}

void sb_mpi_stop(void) {
    if (active) MPI_Finalize();
    active = 0;
}

int sb_mpi_active(void) { return active; }
int sb_mpi_rank(void) { return active ? world.rank : 0; }
int sb_mpi_size(void) { return active ? world.size : 1; }

_Noreturn void sb_mpi_abort(const char *msg) {
    fprintf(stderr, "stackelberg (rank %d): %s\n", sb_mpi_rank(), msg);
    if (active) MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

SbComm *sb_comm_world(void) { return active && world.size > 1 ? &world : NULL; }

SbComm *sb_comm_split(int color) {
    if (!active) return NULL;
    MPI_Comm c;
    MPI_Comm_split(MPI_COMM_WORLD, color, world.rank, &c);
    int size;
    MPI_Comm_size(c, &size);
    if (size == 1) {
        MPI_Comm_free(&c);
        return NULL;
    }
    SbComm *s = sb_calloc(1, sizeof *s);
    s->comm = c;
    s->size = size;
    MPI_Comm_rank(c, &s->rank);
    return s;
}

void sb_comm_free(SbComm *c) {
    if (!c || c == &world) return;
    MPI_Comm_free(&c->comm);
    free(c);
}

int sb_comm_rank(const SbComm *c) { return c ? c->rank : 0; }
int sb_comm_size(const SbComm *c) { return c ? c->size : 1; }
double sb_comm_seconds(const SbComm *c) { return c ? c->seconds : 0.0; }

#define TIMED(c, call)                   \
    do {                                 \
        double t0_ = MPI_Wtime();        \
        call;                            \
        (c)->seconds += MPI_Wtime() - t0_; \
    } while (0)

void sb_comm_bcast(SbComm *c, void *buf, size_t bytes) {
    if (!c || !bytes) return;
    SB_ASSERT(bytes <= (size_t)2147483647);
    TIMED(c, MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, c->comm));
}

void sb_comm_allgather_blocks(SbComm *c, double *buf, int n) {
    if (!c) return;
    int *counts = sb_malloc((size_t)c->size * sizeof *counts), *displs = sb_malloc((size_t)c->size * sizeof *displs);
    for (int r = 0; r < c->size; r++) {
        int lo, hi;
        sb_block(n, c->size, r, &lo, &hi);
        counts[r] = hi - lo;
        displs[r] = lo;
    }
    TIMED(c, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_DOUBLE, c->comm));
    free(counts);
    free(displs);
}

long sb_comm_sum_long(SbComm *c, long v) {
    if (!c) return v;
    long out;
    TIMED(c, MPI_Allreduce(&v, &out, 1, MPI_LONG, MPI_SUM, c->comm));
    return out;
}

void sb_comm_gather_bytes(SbComm *c, const void *mine, size_t len, unsigned char ***all, size_t **lens) {
    *all = NULL;
    *lens = NULL;
    if (!c) {
        *all = sb_malloc(sizeof **all);
        *lens = sb_malloc(sizeof **lens);
        (*all)[0] = sb_malloc(len ? len : 1);
        memcpy((*all)[0], mine, len);
        (*lens)[0] = len;
        return;
    }
    SB_ASSERT(len <= (size_t)2147483647);
    int n = (int)len, *counts = NULL, *displs = NULL;
    double t0 = MPI_Wtime();
    if (c->rank == 0) counts = sb_malloc((size_t)c->size * sizeof *counts);
    MPI_Gather(&n, 1, MPI_INT, counts, 1, MPI_INT, 0, c->comm);
    unsigned char *flat = NULL;
    if (c->rank == 0) {
        displs = sb_malloc((size_t)c->size * sizeof *displs);
        long total = 0;
        for (int r = 0; r < c->size; r++) {
            displs[r] = (int)total;
            total += counts[r];
        }
        SB_ASSERT(total <= 2147483647L);
        flat = sb_malloc((size_t)(total ? total : 1));
    }
    MPI_Gatherv(mine, n, MPI_BYTE, flat, counts, displs, MPI_BYTE, 0, c->comm);
    c->seconds += MPI_Wtime() - t0;
    if (c->rank != 0) return;
    *all = sb_malloc((size_t)c->size * sizeof **all);
    *lens = sb_malloc((size_t)c->size * sizeof **lens);
    for (int r = 0; r < c->size; r++) {
        (*lens)[r] = (size_t)counts[r];
        (*all)[r] = sb_malloc(counts[r] ? (size_t)counts[r] : 1);
        memcpy((*all)[r], flat + displs[r], (size_t)counts[r]);
    }
    free(flat);
    free(counts);
    free(displs);
}

void sb_comm_barrier(SbComm *c) {
    if (c) TIMED(c, MPI_Barrier(c->comm));
}

#else /* built without MPI: one process, every group of one */

int sb_mpi_built(void) { return 0; }
int sb_mpi_start(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}
void sb_mpi_stop(void) {}
int sb_mpi_active(void) { return 0; }
int sb_mpi_rank(void) { return 0; }
int sb_mpi_size(void) { return 1; }
_Noreturn void sb_mpi_abort(const char *msg) {
    fprintf(stderr, "stackelberg: %s\n", msg);
    exit(1);
}
SbComm *sb_comm_world(void) { return NULL; }
SbComm *sb_comm_split(int color) {
    (void)color;
    return NULL;
}
void sb_comm_free(SbComm *c) { (void)c; }
int sb_comm_rank(const SbComm *c) {
    (void)c;
    return 0;
}
int sb_comm_size(const SbComm *c) {
    (void)c;
    return 1;
}
double sb_comm_seconds(const SbComm *c) {
    (void)c;
    return 0.0;
}
void sb_comm_bcast(SbComm *c, void *buf, size_t bytes) {
    (void)c;
    (void)buf;
    (void)bytes;
}
void sb_comm_allgather_blocks(SbComm *c, double *buf, int n) {
    (void)c;
    (void)buf;
    (void)n;
}
long sb_comm_sum_long(SbComm *c, long v) {
    (void)c;
    return v;
}
void sb_comm_gather_bytes(SbComm *c, const void *mine, size_t len, unsigned char ***all, size_t **lens) {
    (void)c;
    *all = sb_malloc(sizeof **all);
    *lens = sb_malloc(sizeof **lens);
    (*all)[0] = sb_malloc(len ? len : 1);
    memcpy((*all)[0], mine, len);
    (*lens)[0] = len;
}
void sb_comm_barrier(SbComm *c) { (void)c; }

#endif
