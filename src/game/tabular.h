/* tabular.h: two-player Stackelberg Markov games on a finite state, solved exactly
 * (Stackelberg Q-value iteration) and by the paper's softmax policy iteration (section 2.2),
 * with exact policy evaluation and the enumeration helpers the tests use as a reference.
 *
 * Legend: S states, L leader actions, F follower actions.
 *   In state s the leader picks aL, the follower observes (s, aL) (its augmented state) and
 *   picks aF; r_L(s,aL,aF) and r_F(s,aL,aF) are paid and s' ~ P(.|s,aL,aF).
 *   Leader policy  piL (S, L):     piL[s*L + aL]
 *   Follower policy piF (S, L, F): piF[(s*L + aL)*F + aF]  (defined off the leader's path too)
 *   Values V (S): expected discounted sum from state s, each player with its own gamma.
 *
 * What "Stackelberg equilibrium" means here (what tab_solve_exact computes and the tests
 * check by enumeration): a stationary pair (piL, piF) such that
 *   (F) piF is a best response to piL at every augmented state (s, aL): no follower policy
 *       gives the follower a higher value r_F + gamma_F P V_F there, and
 *   (L) piL is optimal against the follower's reaction rule piF at every state: no leader
 *       policy g' gives V_L^{g',piF}(s) > V_L^{piL,piF}(s) for any s.
 * The leader commits one stage at a time and the follower reacts to the observed action;
 * this is the (state-wise, subgame-perfect) equilibrium whose values are the fixed point of
 * Stackelberg Q-value iteration. It is checked at every state, not under an initial
 * distribution, because both conditions are MDP optimality conditions and an optimal MDP
 * policy is optimal from every state: the state-wise check is the stronger one and a pair
 * wrong in rarely visited states cannot pass. It is weaker than commitment to a whole
 * stationary policy (the follower re-optimising against each g'), whose best value can be
 * higher (tests/test_tabular.c checks it is never lower).
 *
 * A single number per policy pair, where one is needed (the spread in the ppo criterion),
 * is the value under the uniform initial distribution: mean_s V(s). */
#ifndef SB_TABULAR_H
#define SB_TABULAR_H

#include <stddef.h>

#include "rl/ppo.h"
#include "util/rng.h"

/* Sizes the loader accepts (the dense transition tensor is S*L*F*S doubles). */
#define TAB_MAX_STATES 1000
#define TAB_MAX_ACTIONS 64
#define TAB_MAX_TRANSITIONS 20000000

/* Tolerance on each transition row's sum (the readers' GF_ROW_TOL, config/gamefile.h). */
#define TAB_ROW_TOL 1e-9

typedef struct {
    int S, L, F;
    double gamma_leader, gamma_follower; /* in [0, 1) */
    double *r_leader;                    /* (S, L, F) */
    double *r_follower;                  /* (S, L, F) */
    double *trans;                       /* (S, L, F, S) rows sum to 1 */
} TabGame;

/* Allocate an S x L x F game with zero rewards, zero transitions and gamma 0. */
void tab_game_init(TabGame *g, int S, int L, int F);
void tab_game_free(TabGame *g);
/* Sizes, gammas in [0, 1), finite rewards, transition rows >= 0 summing to 1 within
 * TAB_ROW_TOL. Returns 0, or -1 with what is wrong in err. Every solver calls it on entry and
 * aborts on an invalid game (a bug of the code that built it: files are checked by the reader,
 * config/tabular_config.h, with positions). */
int tab_game_validate(const TabGame *g, char *err, size_t errlen);

/* A random game: rewards uniform in [0, 1); each transition row normalises u^4 + 1e-3 for
 * uniform u, so every successor is reachable but the mass concentrates on a few (with
 * near-uniform rows the actions barely steer the state and games are too easy to tell a
 * wrong solver from a right one). Deterministic for a seed. */
void tab_game_random(TabGame *g, int S, int L, int F, double gamma_leader, double gamma_follower,
                     Rng *rng);

/* Settings of the ppo method (YAML: solver.ppo); defaults from tab_ppo_settings_default. */
typedef struct {
    PpoConfig leader, follower; /* SB3 hyperparameters; gamma is the game's, not these */
    int rounds;                 /* follower phase + leader phase, repeated */
    long follower_steps;        /* env steps per follower phase */
    long leader_steps;          /* env steps per leader phase */
    int horizon;                /* episode truncation, >= 1 */
    int n_envs;                 /* environments per agent */
    int fresh_leader;           /* 1: new leader networks every phase */
    int fresh_follower;         /* 1: new follower networks every phase */
    int follower_pair;          /* 1: the follower also sees one-hot(s, aL) (see tab_solve_ppo) */
    uint64_t seed;
} TabPpoSettings;

typedef enum { TAB_EXACT = 0, TAB_SOFTMAX = 1, TAB_PPO = 2 } TabMethod;

typedef struct {
    TabMethod method;
    double alpha_leader, alpha_follower; /* softmax inverse temperatures, > 0 */
    double tol;                          /* exact: sup-norm value change; softmax: L1 policy change */
    long max_iter;                       /* outer iterations */
    int net;                             /* softmax: 0 off, m > 0 projects policies onto k/m */
    TabPpoSettings ppo;                  /* method ppo: solver.ppo */
} TabSettings;

void tab_settings_default(TabSettings *s);
/* Names the bad field in err. */
int tab_settings_validate(const TabSettings *s, char *err, size_t errlen);
const char *tab_method_name(TabMethod m);
/* "exact", "softmax" or "ppo" -> method; -1 if unknown. */
int tab_method_parse(const char *name, TabMethod *out);

typedef enum { TAB_CONVERGED = 0, TAB_MAX_ITER = 1 } TabStatus;

typedef struct {
    TabStatus status;
    long iterations;
    double residual;          /* last change measured against tol */
    double *leader_policy;    /* (S, L) */
    double *follower_policy;  /* (S, L, F) */
    double *value_leader;     /* (S) exact values of the returned pair */
    double *value_follower;   /* (S) */
} TabSolution;

void tab_solution_init(TabSolution *sol, const TabGame *g);
void tab_solution_free(TabSolution *sol);

/* Stackelberg Q-value iteration (see the equilibrium note above). Follower ties go to the
 * action best for the leader, then the lowest index; leader ties to the lowest index.
 * Values within 1e-10 * max(1, |max|) of the maximum count as ties. */
void tab_solve_exact(const TabGame *g, const TabSettings *s, TabSolution *sol);

/* The paper's softmax policy iteration: given piL the follower's optimal Q on the augmented
 * state and piF = softmax(alpha_F Q_F); given piF the leader's optimal Q_L and
 * piL = softmax(alpha_L Q_L); until max_s ||piL^{k+1}(s) - piL^k(s)||_1 <= tol. Starts from
 * uniform policies; with s->net each new policy is projected onto the k/net lattice. */
void tab_solve_softmax(const TabGame *g, const TabSettings *s, TabSolution *sol);

/* The ppo method (tabular_ppo.c): leader and follower as categorical PPO agents. The leader
 * sees one-hot(s), the follower one-hot(s) ++ one-hot(aL). Alternating schedule: each round
 * the follower learns against the fixed leader, then the leader against the fixed follower;
 * a last follower phase makes the returned follower answer the returned leader. Between
 * phases each agent is frozen into a table of its network's probabilities, which is what
 * the other agent's environment samples from and what is returned.
 * The follower's observation is one-hot(s) ++ one-hot(aL), by default followed by the
 * one-hot of the pair (s, aL): with the concatenation alone a small network first learns a
 * policy additive in s and aL, collapses onto it and then never samples the better action
 * where the best response depends on both (about 10% of the augmented states of random
 * 4x3x3 games stayed wrong whatever the step size, entropy bonus or width).
 * Episodes start in a uniform state and are truncated after `horizon` steps (PPO
 * bootstraps them with its value estimate). A follower episode's first leader action is
 * uniform, later ones follow the leader: the follower's value at (s, aL) only depends on the
 * leader's play from the next state on, so this is unbiased and covers the actions the
 * leader does not play, whose responses the leader needs to evaluate deviations. */

void tab_ppo_settings_default(TabPpoSettings *s);
/* Names the bad field in err. */
int tab_ppo_settings_validate(const TabPpoSettings *s, char *err, size_t errlen);
/* iterations = rounds; status TAB_CONVERGED if the most likely actions of both returned
 * policies did not change in the last round, else TAB_MAX_ITER. residual: the largest L1
 * change of a leader row in the last round. */
void tab_solve_ppo(const TabGame *g, const TabPpoSettings *s, TabSolution *sol);

/* Exact evaluation of a stationary pair: solves (I - gamma P_pi) V = r_pi for each player
 * by Gaussian elimination with partial pivoting. The workspace is allocated once so that
 * enumeration loops do not allocate. */
typedef struct {
    int S;
    double *a;    /* (S, S) the system matrix, overwritten by the factorisation */
    double *p;    /* (S, S) P_pi */
    double *rl;   /* (S) r_pi for the leader */
    double *rf;   /* (S) r_pi for the follower */
} TabEval;

void tab_eval_init(TabEval *e, const TabGame *g);
void tab_eval_free(TabEval *e);
/* vL, vF (S) receive the values of (piL, piF); either may be NULL. */
void tab_evaluate(TabEval *e, const TabGame *g, const double *piL, const double *piF, double *vL,
                  double *vF);

/* Mean of v over the S states (the uniform initial distribution). */
double tab_mean(const double *v, int S);

/* L1-nearest point of the simplex lattice {k/m}: largest-remainder rounding, ties to the
 * lowest index. p and out (n) may alias. */
void tab_project_net(const double *p, int n, int m, double *out);

/* ---- enumeration of deterministic stationary policies (tests and benches) ---- */

/* Number of deterministic leader policies L^S and follower policies F^(S*L), or 0 if it
 * does not fit in an unsigned long. */
unsigned long tab_count_leader(const TabGame *g);
unsigned long tab_count_follower(const TabGame *g);
/* Policy number idx as a one-hot piL (S, L) / piF (S, L, F): mixed radix, state 0 fastest. */
void tab_leader_from_index(const TabGame *g, unsigned long idx, double *piL);
void tab_follower_from_index(const TabGame *g, unsigned long idx, double *piF);

/* The extremes of mean_s V_L over all deterministic pairs (the leader's value if it
 * controlled both actions, maximising or minimising), by value iteration on the joint
 * action to 1e-12. Used to scale errors by the spread of leader values. */
void tab_leader_value_bounds(const TabGame *g, double *lo, double *hi);

#endif
