/* bench_agg.c: the tariff game's hot path, one aggregator's PPO phase as the game runs it.
 *
 * Nine tenths of a tariff-game run are the followers' PPO phases: before every real step,
 * each aggregator calls ppo_learn(agent, its training env, 2000), i.e. two rollouts of 1200
 * steps in the aggregator environment (agg_env_class_discrete on the price beliefs) and two
 * updates of 10 epochs on nets [18, 36] with the 201-level masked categorical head ([P] Table
 * 4, game_config_default). This program repeats exactly that call for one aggregator on
 * fixed beliefs and reports environment steps per second (wall) and per CPU second (the
 * figure to trust on a shared machine), the rollout/update split, and a digest of the
 * final parameters: two builds that print the same digest computed the same bits.
 *
 * Where the time goes inside the phase is measured with perf on this binary (see
 * bench/RESULTS.md, "Aggregator phase"), not with timers: the masked softmax runs per sample
 * and a clock read there would cost as much as the work.
 *
 * Usage: bench_agg [DECISIONS] [REPEATS]   (defaults 20 decisions = 48,000 env steps, 5 repeats)
 * Legend: K action levels (201), S steps per day (8), D decisions (ppo_learn calls). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "game/game.h"
#include "nn/blas.h"
#include "rl/ppo.h"
#include "util/common.h"

/* ---- setup: the only code here that knows src/game's internals ------------------------------
 * One aggregator (household bus 0 of the default paper3 population) with its training
 * environment wired as game.c's setup_agents does, on fixed beliefs instead of the initial
 * dispatch (the throughput does not depend on their values): a day-shaped price curve in
 * $/MWh, the baseline tariff, the auto reward scale. */
typedef struct {
    GameConfig cfg;
    GameShared g;
    EnvClass cls;
    AggEnv env;
    void *envp;
    VecEnv vec;
    PpoConfig ppo;   /* the aggregator's PPO settings */
    long train_steps; /* per decision (2000) */
} AggBench;

static void agg_bench_setup(AggBench *ab, uint64_t seed) {
    static const double belief[8] = {21.0, 19.5, 24.0, 31.0, 27.5, 29.0, 42.0, 33.0}; /* (S) $/MWh */
    GameConfig *c = &ab->cfg;
    game_config_default(c);
    GameShared *g = &ab->g;
    memset(g, 0, sizeof *g);
    g->cfg = c;
    g->B = c->hh.n_bus;
    g->S = c->steps_per_day;
    g->K = c->aggregator.action_levels;
    const int b = 0;
    SB_ASSERT(g->S == 8);
    g->capacity_kwh[b] = game_fleet_capacity_kwh(c, b);
    market_baseline_tariff(&c->hh, c->utility.fixed_cost_per_day, &g->baseline);
    g->tariff = g->baseline;
    for (int h = 0; h < g->S; h++) g->belief[b][h] = belief[h];
    market_belief_stats(g->belief[b], g->S, &g->belief_mean[b], &g->belief_sd[b]);
    g->reward_scale[b] = market_reward_scale_auto(hh_mean_net_demand_kwh(&c->hh, b), g->belief_mean[b]);
    ab->cls = agg_env_class_discrete;
    ab->cls.obs_dim = game_follower_obs_dim(c);
    ab->cls.space.n = g->K;
    memset(&ab->env, 0, sizeof ab->env);
    rng_seed(&ab->env.rng, seed, 100 + (uint64_t)b);
    ab->env.g = g;
    ab->env.bus = b;
    ab->env.len = c->aggregator.episode_days * g->S;
    ab->envp = &ab->env;
    vecenv_init(&ab->vec, &ab->cls, &ab->envp, 1);
    ab->ppo = c->aggregator.ppo;
    ab->train_steps = c->aggregator.train_steps;
}

static void agg_bench_cleanup(AggBench *ab) { vecenv_free(&ab->vec); }

/* ---- measurement ------------------------------------------------------------------------ */

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    double rollout_s, update_s;
} Split;

static int on_update(const PpoStats *s, void *user) {
    Split *sp = user;
    sp->rollout_s += s->rollout_s;
    sp->update_s += s->update_s;
    return 0;
}

/* FNV-1a over the bytes of n floats, chained from h. */
static uint64_t digest(uint64_t h, const float *x, size_t n) {
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define MAX_REPEATS 64

int main(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: bench_agg [DECISIONS] [REPEATS]\n"
               "One aggregator's PPO phases of the tariff game (ppo_learn(agent, env, 2000) per decision),\n"
               "repeated DECISIONS times (default 20) in each of REPEATS fresh runs (default 5, at most %d).\n",
               MAX_REPEATS);
        return 0;
    }
    int decisions = argc > 1 ? atoi(argv[1]) : 20;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (decisions < 1 || repeats < 1 || repeats > MAX_REPEATS) {
        fprintf(stderr, "bench_agg: DECISIONS must be >= 1 and REPEATS in [1, %d]\n", MAX_REPEATS);
        return 2;
    }
    nn_blas_threads(1);
    const uint64_t seed = 0;
    double wall_sps[MAX_REPEATS], cpu_sps[MAX_REPEATS], roll[MAX_REPEATS], upd[MAX_REPEATS];
    uint64_t first = 0;
    int same = 1;
    AggBench *ab = sb_calloc(1, sizeof *ab);
    for (int r = 0; r < repeats; r++) {
        agg_bench_setup(ab, seed);
        if (r == 0) {
            printf("aggregator phase: K %d, obs %d, n_steps %d, batch %d, epochs %d, nets pi [%d, %d] vf [%d, %d], "
                   "%ld steps per decision, %d decisions per run, 1 thread\n",
                   ab->cls.space.n, ab->cls.obs_dim, ab->ppo.n_steps, ab->ppo.batch_size, ab->ppo.n_epochs,
                   ab->ppo.pi_arch[0], ab->ppo.pi_arch[1], ab->ppo.vf_arch[0], ab->ppo.vf_arch[1], ab->train_steps,
                   decisions);
        }
        char err[256];
        Ppo *p = ppo_create(&ab->ppo, ab->cls.obs_dim, &ab->cls.space, 1, seed * 1000003u + 11u, err, sizeof err);
        if (!p) {
            fprintf(stderr, "bench_agg: %s\n", err);
            return 1;
        }
        Split sp = {0};
        double w0 = sb_now(), c0 = cpu_now();
        for (int d = 0; d < decisions; d++) ppo_learn(p, &ab->vec, ab->train_steps, on_update, &sp);
        double w = sb_now() - w0, cs = cpu_now() - c0;
        long steps = ppo_total_steps(p);
        const Mlp *pi = ppo_pi_net(p), *vf = ppo_vf_net(p);
        uint64_t h = digest(1469598103934665603ull, ppo_pi_params(p), mlp_param_count(pi));
        h = digest(h, ppo_vf_params(p), mlp_param_count(vf));
        if (r == 0) first = h;
        same &= h == first;
        wall_sps[r] = (double)steps / w;
        cpu_sps[r] = (double)steps / cs;
        roll[r] = sp.rollout_s;
        upd[r] = sp.update_s;
        printf("  run %d: %ld env steps in %.3f s wall, %.3f s CPU: %.0f steps/s, %.0f per CPU second "
               "(rollout %.3f s, update %.3f s); params digest %016llx\n",
               r + 1, steps, w, cs, wall_sps[r], cpu_sps[r], sp.rollout_s, sp.update_s, (unsigned long long)h);
        ppo_free(p);
        agg_bench_cleanup(ab);
    }
    double rm = median(roll, repeats), um = median(upd, repeats);
    printf("median of %d: %.0f env steps/s wall, %.0f env steps per CPU second; rollout %.1f%%, update %.1f%%\n",
           repeats, median(wall_sps, repeats), median(cpu_sps, repeats), 100 * rm / (rm + um), 100 * um / (rm + um));
    printf("params digest %016llx%s\n", (unsigned long long)first, same ? "" : " (RUNS DIFFER: not reproducible)");
    free(ab);
    return same ? 0 : 1;
}
