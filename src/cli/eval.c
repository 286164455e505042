/* eval.c: `stackelberg eval FILE.npz --agent NAME --obs v1,v2,...`: one exported policy on
 * one observation, through the embedding API (src/io/policy.h), so what this prints is what
 * an embedding program gets: the distribution, the raw action, and the action the
 * environment plays in physical units. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/policy.h"
#include "util/common.h"
#include "util/json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg eval FILE.npz [--agent NAME] --obs v1,v2,... [--mask 1,0,...] [--json]\n\n"
            "Evaluate an exported policy (from `stackelberg export`) on one raw observation:\n"
            "the action distribution, the raw action, the value estimate, and the action the\n"
            "environment plays, in physical units (meta.json's \"play\"): for the game's\n"
            "aggregators the expected level of the masked policy as a fraction of the fleet's\n"
            "capacity, for its utility the tariff in $/kWh and $/household/day.\n\n"
            "  --agent NAME   which agent (optional when the file holds one)\n"
            "  --obs LIST     the observation, obs_dim comma-separated numbers, unnormalised\n"
            "                 (names and formulas: meta.json \"observations\"; printed back named)\n"
            "  --mask LIST    discrete actions: 1 valid / 0 invalid per choice, for probs and\n"
            "                 raw_action (default: the environment's mask, from the SoC in the\n"
            "                 observation for soc_range agents; otherwise all valid); the played\n"
            "                 action always uses the environment's mask\n"
            "  --json         one JSON object: mean and std (Gaussian; the mean before clipping)\n"
            "                 or probs (categorical), mask (where the mask came from), obs_names,\n"
            "                 raw_action (the policy's deterministic\n"
            "                 output: the clipped mean, or the index of the most probable valid\n"
            "                 choice), value, played (null when not described), played_names,\n"
            "                 played_units, play_rule, played_random (the environment draws at\n"
            "                 random; played is the draw's deterministic counterpart)\n"
            "Exit status: 0 printed, 2 bad usage or bad input (a message names the file).\n");
}

/* Comma-separated finite numbers into out (capacity cap); returns the count or -1. */
static int parse_list(const char *s, double *out, int cap) {
    int n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(v) || n == cap) return -1;
        out[n++] = v;
        while (*end == ' ') end++;
        if (*end == 0) return n;
        if (*end != ',') return -1;
        p = end + 1;
    }
}

static void print_row(const char *label, const double *v, int n) {
    printf("%-7s", label);
    for (int i = 0; i < n; i++) printf(" %.9g", v[i]);
    printf("\n");
}

int cmd_eval(int argc, char **argv) {
    const char *file = NULL, *agent_name = NULL, *obs_s = NULL, *mask_s = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return SB_EXIT_OK;
        }
        if (!strcmp(a, "--agent") && has_val) agent_name = argv[++i];
        else if (!strcmp(a, "--obs") && has_val) obs_s = argv[++i];
        else if (!strcmp(a, "--mask") && has_val) mask_s = argv[++i];
        else if (!strcmp(a, "--json")) as_json = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "stackelberg eval: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return SB_EXIT_USAGE;
        } else if (!file) file = a;
        else {
            fprintf(stderr, "stackelberg eval: unexpected argument '%s'\n\n", a);
            usage(stderr);
            return SB_EXIT_USAGE;
        }
    }
    if (!file || !obs_s) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    char err[1024];
    SbPolicy *pol;
    if (sb_policy_load(file, &pol, err, sizeof err)) {
        fprintf(stderr, "stackelberg eval: %s\n", err);
        return SB_EXIT_USAGE;
    }
    int status = SB_EXIT_USAGE;
    SbPolicyAgent *ag = NULL;
    if (agent_name) ag = sb_policy_agent(pol, agent_name);
    else if (sb_policy_agent_count(pol) == 1) ag = sb_policy_agent_at(pol, 0);
    if (!ag) {
        fprintf(stderr, "stackelberg eval: %s: %s; agents:", file,
                agent_name ? "no such agent" : "several agents, choose one with --agent");
        for (int i = 0; i < sb_policy_agent_count(pol); i++) {
            SbPolicyInfo in;
            sb_policy_info(sb_policy_agent_at(pol, i), &in);
            fprintf(stderr, " %s", in.name);
        }
        fprintf(stderr, "\n");
        sb_policy_free(pol);
        return SB_EXIT_USAGE;
    }
    SbPolicyInfo info;
    sb_policy_info(ag, &info);
    double *obs = sb_calloc((size_t)info.obs_dim + 1, sizeof *obs);             /* (O) */
    double *dist = sb_calloc((size_t)info.dist_dim, sizeof *dist);              /* (K) */
    double *std = sb_calloc((size_t)info.dist_dim, sizeof *std);                /* (K) */
    double *action = sb_calloc((size_t)info.action_dim, sizeof *action);        /* (A) */
    double *played = sb_calloc((size_t)info.play_dim + 1, sizeof *played);      /* (P) */
    double *mvals = sb_calloc((size_t)info.dist_dim + 1, sizeof *mvals);        /* (K) */
    unsigned char *mask = NULL;
    const char *mask_from = "none";
    double value = 0;
    int n = parse_list(obs_s, obs, info.obs_dim + 1);
    if (n != info.obs_dim) {
        fprintf(stderr, "stackelberg eval: --obs: agent %s expects %d finite comma-separated numbers%s\n",
                info.name, info.obs_dim, n > 0 ? ", got a different count" : "");
        goto done;
    }
    if (mask_s) {
        if (info.kind == SB_ACTION_BOX) {
            fprintf(stderr, "stackelberg eval: --mask: agent %s has a continuous (box) action\n", info.name);
            goto done;
        }
        n = parse_list(mask_s, mvals, info.dist_dim + 1);
        mask = sb_calloc((size_t)info.dist_dim, 1);
        for (int i = 0; i < n && i < info.dist_dim; i++) {
            if (mvals[i] != 0 && mvals[i] != 1) n = -1;
            else mask[i] = mvals[i] == 1;
        }
        if (n != info.dist_dim) {
            fprintf(stderr, "stackelberg eval: --mask: agent %s expects %d values, each 0 or 1\n",
                    info.name, info.dist_dim);
            goto done;
        }
        mask_from = "--mask";
    } else if (info.kind != SB_ACTION_BOX) {
        mask = sb_calloc((size_t)info.dist_dim, 1);
        if (sb_policy_mask(ag, obs, mask)) mask_from = info.mask_rule;
        else {
            free(mask);
            mask = NULL;
        }
    }
    if (sb_policy_dist(ag, obs, mask, dist, std, &value) || sb_policy_act(ag, obs, mask, action, NULL)) {
        fprintf(stderr, "stackelberg eval: %s leaves no valid action\n",
                strcmp(mask_from, "--mask") ? "the environment's mask for this observation" : "--mask");
        goto done;
    }
    int prc = sb_policy_play(ag, obs, played);
    if (prc == SB_PLAY_NO_VALID) {
        fprintf(stderr, "stackelberg eval: the environment's mask for this observation leaves no valid action\n");
        goto done;
    }
    int described = prc == SB_PLAY_OK || prc == SB_PLAY_RANDOM;
    int valid = 0;
    for (int i = 0; mask && i < info.dist_dim; i++) valid += mask[i];
    int box = info.kind == SB_ACTION_BOX;
    if (as_json) {
        Json j;
        json_init(&j, stdout, 0);
        json_obj_begin(&j, NULL);
        json_str(&j, "agent", info.name);
        json_str(&j, "kind", box ? "box" : info.kind == SB_ACTION_DISCRETE ? "discrete" : "multi_discrete");
        json_str(&j, "mask", mask_from);
        if (info.obs_names) {
            json_arr_begin(&j, "obs_names");
            for (int i = 0; i < info.obs_dim; i++) json_str(&j, NULL, info.obs_names[i]);
            json_arr_end(&j);
        }
        if (box) {
            json_num_array(&j, "mean", dist, (size_t)info.dist_dim);
            json_num_array(&j, "std", std, (size_t)info.dist_dim);
            json_num_array(&j, "raw_action", action, (size_t)info.action_dim);
        } else {
            json_num_array(&j, "probs", dist, (size_t)info.dist_dim);
            if (info.kind == SB_ACTION_DISCRETE) json_int(&j, "raw_action", (long long)action[0]);
            else json_num_array(&j, "raw_action", action, (size_t)info.action_dim);
        }
        json_num(&j, "value", value);
        if (described) {
            json_num_array(&j, "played", played, (size_t)info.play_dim);
            json_arr_begin(&j, "played_names");
            for (int k = 0; k < info.play_dim; k++) json_str(&j, NULL, info.play_names[k]);
            json_arr_end(&j);
            json_arr_begin(&j, "played_units");
            for (int k = 0; k < info.play_dim; k++) json_str(&j, NULL, info.play_units[k]);
            json_arr_end(&j);
            json_str(&j, "play_rule", info.play_rule);
            json_bool(&j, "played_random", prc == SB_PLAY_RANDOM);
        } else {
            json_null(&j, "played");
        }
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("agent  %s (%s, obs %d, mask rule %s)\n", info.name,
               box ? "Gaussian" : "categorical", info.obs_dim, info.mask_rule);
        if (info.obs_names) {
            printf("obs    ");
            for (int i = 0; i < info.obs_dim; i++)
                printf(" %s=%.9g", info.obs_names[i], obs[i]);
            printf("\n");
        }
        if (mask && info.soc_obs >= 0 && strcmp(mask_from, "--mask"))
            printf("mask    %s: soc = obs[%d] = %.9g, %d of %d choices valid\n", mask_from, info.soc_obs,
                   obs[info.soc_obs], valid, info.dist_dim);
        else if (mask)
            printf("mask    %s: %d of %d choices valid\n", mask_from, valid, info.dist_dim);
        if (box) {
            print_row("mean", dist, info.dist_dim);
            print_row("std", std, info.dist_dim);
        } else {
            print_row("probs", dist, info.dist_dim);
        }
        print_row("raw", action, info.action_dim);
        printf("        (the policy's deterministic output: %s)\n",
               box ? "the mean clipped to the action space" : "the most probable valid choice's index");
        print_row("value", &value, 1);
        if (!described) {
            printf("played  not described (meta.json has no \"play\": export a checkpoint of this version)\n");
        } else {
            printf("played  (%s, as the environment plays it%s)\n", info.play_rule,
                   prc == SB_PLAY_RANDOM ? "; it draws at random, this is the draw's deterministic counterpart" : "");
            for (int k = 0; k < info.play_dim; k++)
                printf("  %-20s %.9g %s\n", info.play_names[k], played[k], info.play_units[k]);
        }
    }
    status = SB_EXIT_OK;
done:
    free(obs);
    free(dist);
    free(std);
    free(action);
    free(played);
    free(mvals);
    free(mask);
    sb_policy_free(pol);
    return status;
}
