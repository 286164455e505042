/* mpi.h: OpenMPI, optional at build time (the Makefile defines SB_HAVE_MPI when Debian's
 * libopenmpi-dev is installed), used only when the program is started by mpirun.
 *
 * A run spreads over the ranks of MPI_COMM_WORLD: seeds over groups of ranks, and a seed's
 * aggregators over the ranks of its group (sb_comm_split). Inside a group, rank 0 is the
 * seed's root: it draws the market's noise, clears the market, trains the leader and writes
 * every file; the other ranks train their share of the aggregators. A NULL SbComm is a group of
 * one (a plain process): every operation is then a no-op, so the game has one code path.
 *
 * Every collective here moves plain numbers; bitwise identity across rank counts comes from
 * the game: each quantity is computed by one rank (or identically by all from the same bits). */
#ifndef SB_MPI_H
#define SB_MPI_H

#include <stddef.h>

typedef struct SbComm SbComm;

/* Under mpirun (and built with MPI): MPI_Init, returns 1. Otherwise 0: a plain process. */
int sb_mpi_start(int *argc, char ***argv);
void sb_mpi_stop(void);
int sb_mpi_active(void);
/* Built with MPI support. */
int sb_mpi_built(void);
int sb_mpi_rank(void); /* MPI_COMM_WORLD; 0 when inactive */
int sb_mpi_size(void); /* 1 when inactive */
/* Stop every rank (after printing msg on this one). */
_Noreturn void sb_mpi_abort(const char *msg);

/* The world (NULL when inactive or of size 1). */
SbComm *sb_comm_world(void);
/* The ranks of MPI_COMM_WORLD with the same color, ordered by rank; NULL when that group is this
 * rank alone. Collective over the world. */
SbComm *sb_comm_split(int color);
void sb_comm_free(SbComm *c);
int sb_comm_rank(const SbComm *c); /* 0 for NULL */
int sb_comm_size(const SbComm *c); /* 1 for NULL */

/* Rank r's block of n items: [lo, hi) = [n r / R, n (r + 1) / R). */
void sb_block(int n, int ranks, int r, int *lo, int *hi);

/* Broadcast bytes from the group's rank 0. */
void sb_comm_bcast(SbComm *c, void *buf, size_t bytes);
/* buf (n doubles): every rank contributes its sb_block of it; all receive the whole. */
void sb_comm_allgather_blocks(SbComm *c, double *buf, int n);
/* Sum of v over the group, on every rank. */
long sb_comm_sum_long(SbComm *c, long v);
/* Rank 0 receives every rank's bytes: *all (R buffers, malloc'd, each freed by the caller
 * with free(), and the array too) and *lens (R, malloc'd). Other ranks get NULLs. */
void sb_comm_gather_bytes(SbComm *c, const void *mine, size_t len, unsigned char ***all, size_t **lens);
void sb_comm_barrier(SbComm *c);
/* Wall seconds this rank spent inside the group's collectives. */
double sb_comm_seconds(const SbComm *c);

#endif
