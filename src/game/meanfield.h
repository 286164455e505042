/* meanfield.h: Stackelberg mean-field games on a finite state (`game: mean_field`, issue 11):
 * one leader, a continuum of identical followers. Solvers: the mean-field equilibrium (MFE) of
 * a given leader policy (mfe), the leader's Stackelberg optimum by search (exact), the paper's
 * nested Algorithm 1 (nested), the single-loop actor-critic AC-SMFG of Zeng et al. (ac_smfg,
 * ac_smfg.c) and a PPO alternation (ppo, meanfield_ppo.c). Files are read by
 * config/meanfield_config.c.
 *
 * Legend: S states, L leader actions, F follower actions.
 *   phi (L)        the leader's mixed action, drawn afresh each step
 *   pi  (S, L, F)  the followers' policy: pi[(s*L + aL)*F + aF] = pi(aF | s, aL)
 *   mu  (S)        the followers' stationary state distribution (the mean field)
 *   m(s, aF | aL) = mu(s) pi(aF | s, aL), the population's profile given aL
 *
 * The game. A follower in state s sees aL ~ phi, plays aF ~ pi(. | s, aL), is paid
 *   r_F(s, aL, aF) = base_f[s][aL][aF] + sum_{s2, aF2} coup_f[s][aL][aF][s2][aF2] m(s2, aF2 | aL)
 * and moves to s' ~ trans[s][aL][aF][.] (which does not depend on m). The leader is paid
 *   r_L(aL) = base_l[aL] + sum_{s, aF} coup_l[aL][s][aF] m(s, aF | aL).
 * Followers maximise E sum_t gamma^t (r_F + tau H(pi(. | s_t, aL_t))): the soft-optimal policy
 * against a profile is pi = softmax(Q / tau) with
 *   Q(s, aL, aF) = r_F(s, aL, aF) + gamma sum_s' trans[s][aL][aF][s'] V(s'),
 *   V(s) = sum_aL phi(aL) tau log sum_aF exp(Q(s, aL, aF) / tau)
 * (aL is drawn afresh, so the follower's value before seeing it averages over phi).
 * (pi, mu) is an MFE for phi when pi is soft-optimal against the profile m = mu pi and mu is
 * stationary under (phi, pi): mu(s') = sum_{s, aL, aF} mu(s) phi(aL) pi(aF | s, aL) trans[..][s'].
 * The leader's objective is J(phi) = sum_aL phi(aL) r_L(aL) at the MFE of phi. */
#ifndef SB_MEANFIELD_H
#define SB_MEANFIELD_H

#include <stddef.h>
#include <stdint.h>

#include "game/tabular.h"
#include "util/rng.h"

/* Sizes the reader accepts; the follower coupling tensor is S*L*F*S*F doubles. */
#define MFG_MAX_STATES 100
#define MFG_MAX_ACTIONS 16
#define MFG_MAX_COUPLING 4000000

/* Tolerance on transition rows and on a leader policy's sum (the readers' GF_ROW_TOL). */
#define MFG_SIMPLEX_TOL 1e-9

typedef struct {
    int S, L, F;
    double gamma;   /* followers' discount, [0, 1) */
    double tau;     /* followers' entropy weight, > 0 */
    double *base_f; /* (S, L, F) */
    double *coup_f; /* (S, L, F, S, F) */
    double *base_l; /* (L) */
    double *coup_l; /* (L, S, F) */
    double *trans;  /* (S, L, F, S) rows sum to 1 */
} MfgGame;

/* An S x L x F game with zero rewards and transitions, gamma 0, tau 1. */
void mfg_game_init(MfgGame *g, int S, int L, int F);
void mfg_game_free(MfgGame *g);
/* Sizes, gamma in [0, 1), tau > 0 and finite, finite rewards, transition rows >= 0 summing to
 * 1 within MFG_SIMPLEX_TOL. Returns 0, or -1 with what is wrong in err. Every solver calls it
 * on entry and aborts on an invalid game (files are checked by the reader with positions). */
int mfg_game_validate(const MfgGame *g, char *err, size_t errlen);

/* A random game: base rewards uniform in [0, 1), follower coupling uniform in
 * [-coupling, coupling], leader coupling uniform in [-1, 1], transition rows as
 * tab_game_random's (u^4 + 1e-3, normalised). Deterministic for a seed. */
void mfg_game_random(MfgGame *g, int S, int L, int F, double gamma, double tau, double coupling, Rng *rng);

/* rF (S, L, F): the followers' rewards against the profile of (mu, pi). */
void mfg_follower_reward(double *rF, const MfgGame *g, const double *mu, const double *pi);
/* rL (L): the leader's reward for each of its actions against the profile of (mu, pi). */
void mfg_leader_reward(double *rL, const MfgGame *g, const double *mu, const double *pi);
/* sum_aL phi(aL) r_L(aL) against (mu, pi); J(phi) when (mu, pi) is the MFE of phi. */
double mfg_leader_value(const MfgGame *g, const double *phi, const double *mu, const double *pi);

/* 0 if p (n) is a distribution: entries >= 0 and finite, sum within MFG_SIMPLEX_TOL of 1;
 * else -1 with what is wrong in err. */
int mfg_check_simplex(const double *p, int n, char *err, size_t errlen);

/* ---- settings ---- */

typedef enum { MFG_MFE = 0, MFG_EXACT, MFG_NESTED, MFG_AC_SMFG, MFG_PPO } MfgMethod;
typedef enum { MFG_INNER_EXACT = 0, MFG_INNER_SAMPLES = 1 } MfgInner;

typedef struct {
    double tol;      /* residual ||mu' - mu||_1 + max_{s,aL} ||pi' - pi||_1 at which to stop */
    long max_iter;   /* outer iterations of the damped fixed point */
    double damping;  /* largest step of the damped update, (0, 1] */
} MfeSettings;

typedef struct {
    long grid_points; /* budget of the simplex grid: the finest k/m lattice with at most this many points */
    int starts;       /* pattern searches from the best local maxima of the grid */
    double tol;       /* pattern search stops when its step falls below this */
} MfgExactSettings;

typedef struct {
    double tol;       /* L1 distance of phi to the leader's softmax response at which to stop */
    long max_iter;    /* outer (leader) iterations */
    double damping;   /* phi <- (1 - d) phi + d softmax(alpha r_L); 1 is Algorithm 1 as written */
    MfgInner inner;   /* exact: inner loop solved by mfe; samples: learned (see ac_smfg.c) */
    long inner_steps; /* inner: samples: actor-critic iterations per inner loop */
} MfgNestedSettings;

typedef struct {
    long iterations;        /* K */
    double power;           /* every step size is c / (k + 1)^power */
    double leader_step;     /* c of the leader's actor (slowest) */
    double follower_step;   /* c of the follower's actor */
    double critic_step;     /* c of both critics (fastest) */
    double mean_field_step; /* c of the mean field's running average */
    double leader_entropy;  /* weight of the leader's entropy; < 0: 1/alpha (see ac_smfg.c) */
    double tol;             /* converged: phi moved less than this (L1) over the last tenth */
} AcSmfgSettings;

typedef struct {
    TabPpoSettings base;    /* rounds, steps, horizon, n_envs, seed, fresh_*, follower_obs, SB3 */
    long mean_field_steps;  /* mean-field trajectory samples per round */
    double damping;         /* the population's step towards the representative, (0, 1] */
} MfgPpoSettings;

typedef struct {
    MfgMethod method;
    int has_leader_policy;                /* mfe needs one (solver.leader_policy or --leader-policy) */
    double leader_policy[MFG_MAX_ACTIONS]; /* (L) */
    double alpha;                         /* the leader's softmax inverse temperature, > 0 */
    uint64_t seed;                        /* sample-based methods */
    long history_every;                   /* samples between history rows of ac_smfg and nested from
                                           * samples; 0: automatic (see MfgRecorder) */
    MfeSettings mfe;
    MfgExactSettings exact;
    MfgNestedSettings nested;
    AcSmfgSettings ac;
    MfgPpoSettings ppo;
} MfgSettings;

void mfg_settings_default(MfgSettings *s);
/* Names the bad field in err (solver.<section>.<key>). */
int mfg_settings_validate(const MfgSettings *s, char *err, size_t errlen);
const char *mfg_method_name(MfgMethod m);
/* "mfe", "exact", "nested", "ac_smfg" or "ppo" -> method; -1 if unknown. */
int mfg_method_parse(const char *name, MfgMethod *out);

/* ---- solutions ---- */

typedef enum { MFG_CONVERGED = 0, MFG_MAX_ITER = 1 } MfgStatus;

typedef struct {
    MfgStatus status;
    long iterations;
    long samples;            /* environment samples (sample-based methods), else 0 */
    double residual;         /* the last change measured against the method's tol */
    double *leader_policy;   /* (L) */
    double *follower_policy; /* (S, L, F) exact methods: the MFE of leader_policy; sample-based: learned */
    double *mean_field;      /* (S) likewise */
    double leader_objective; /* J(leader_policy) at its MFE, always evaluated exactly */
    int objective_converged; /* 1 if that MFE solve converged */
} MfgSolution;

void mfg_solution_init(MfgSolution *sol, const MfgGame *g);
void mfg_solution_free(MfgSolution *sol);

/* History of a solve: called with the leader's current policy and J of it (exact): every
 * `every` samples (else solver.history_every, else 200 rows for ac_smfg and one per leader
 * iteration for nested) by ac_smfg and nested from samples, after each leader update and phase by ppo, at each iteration by the model-based
 * methods (mfe: J of the damped iterate, not yet an MFE). */
typedef struct {
    void (*fn)(void *user, long iteration, long samples, const double *phi, double objective);
    void *user;
    long every; /* 0: the method's automatic interval */
} MfgRecorder;

/* ---- the mean-field equilibrium ---- */

/* Buffers of the MFE solve, allocated once (exact solves thousands of MFEs). */
typedef struct {
    int S, L, F;
    double *q;    /* (S, L, F) soft Q, kept as the next solve's warm start */
    double *v;    /* (S) */
    double *rf;   /* (S, L, F) */
    double *m;    /* (L, S, F) profile */
    double *pib;  /* (S, L, F) soft best response */
    double *mub;  /* (S) its stationary distribution */
    double *p;    /* (S, S) state chain, then its powers */
    double *p2;   /* (S, S) */
    double *dir;  /* (S + S*L*F) the damped fixed point's last direction (mu part, then pi) */
    double damping; /* its last step, where a warm start resumes */
} MfgWork;

void mfg_work_init(MfgWork *w, const MfgGame *g);
void mfg_work_free(MfgWork *w);

typedef struct {
    MfgStatus status;
    long iterations;
    double residual;
} MfeInfo;

/* The MFE of phi by a damped fixed point (meanfield.c says how, and what happens when it does
 * not converge). mu (S) and pi (S, L, F) receive it; with warm they hold the starting point,
 * else it starts from uniform. */
void mfg_mfe(MfgWork *w, const MfgGame *g, const MfeSettings *s, const double *phi, int warm, double *mu,
             double *pi, MfeInfo *info);

/* J(phi): the MFE of phi (into mu, pi as mfg_mfe) and the leader's value there. */
double mfg_objective(MfgWork *w, const MfgGame *g, const MfeSettings *s, const double *phi, int warm, double *mu,
                     double *pi, MfeInfo *info);

/* The followers' soft-optimal policy pi (S, L, F) against a fixed reward rF (S, L, F) and
 * phi, by soft value iteration warm-started from w->q (which it leaves holding Q). */
void mfg_soft_best_response(MfgWork *w, const MfgGame *g, const double *phi, const double *rF, double *pi);

/* The stationary distribution mu (S) of the state chain under (phi, pi), from the starting
 * distribution mu0 (S) (it matters only when the chain has several recurrent classes). */
void mfg_stationary(MfgWork *w, const MfgGame *g, const double *phi, const double *pi, const double *mu0,
                    double *mu);

/* ---- solvers (the solution's leader_policy, follower_policy and mean_field are filled) ---- */

/* method mfe: s->leader_policy must be set. */
void mfg_solve_mfe(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec);
/* method exact: the maximiser of J over the simplex (meanfield.c: grid and pattern search). */
void mfg_solve_exact(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec);
/* method nested: Algorithm 1 of He et al. (inner exact here; inner samples in ac_smfg.c). */
void mfg_solve_nested(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec);
/* method nested with inner: samples (ac_smfg.c; mfg_solve_nested calls it). */
void mfg_solve_nested_samples(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec);
/* method ac_smfg (ac_smfg.c). */
void mfg_solve_ac_smfg(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec);
/* method ppo (meanfield_ppo.c). */
void mfg_solve_ppo(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec);
/* Any method, by s->method. */
void mfg_solve(const MfgGame *g, const MfgSettings *s, MfgSolution *sol, const MfgRecorder *rec);

/* The grid exact searches: the largest m with C(m + L - 1, L - 1) <= budget (>= 1). */
int mfg_exact_grid(int L, long budget);

/* The leader's softmax response phi (L) = softmax(alpha rL). */
void mfg_softmax(const double *rL, int L, double alpha, double *phi);

#endif
