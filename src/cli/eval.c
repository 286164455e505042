/* eval.c: `stackelberg eval FILE.npz --agent NAME --obs v1,v2,...`: one exported policy on
 * one observation, through the embedding API (src/io/policy.h), so what this prints is what
 * an embedding program gets. */
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
            "the action distribution, the deterministic action and the value estimate.\n\n"
            "  --agent NAME   which agent (optional when the file holds one)\n"
            "  --obs LIST     the observation, obs_dim comma-separated numbers, unnormalised\n"
            "  --mask LIST    discrete actions: 1 valid / 0 invalid per choice (default all valid)\n"
            "  --json         one JSON object: mean and std (Gaussian; the mean before clipping)\n"
            "                 or probs (categorical), action, value\n"
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
    double *mvals = sb_calloc((size_t)info.dist_dim + 1, sizeof *mvals);        /* (K) */
    unsigned char *mask = NULL;
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
    }
    if (sb_policy_dist(ag, obs, mask, dist, std, &value) || sb_policy_act(ag, obs, mask, action, NULL)) {
        fprintf(stderr, "stackelberg eval: --mask leaves no valid action\n");
        goto done;
    }
    int box = info.kind == SB_ACTION_BOX;
    if (as_json) {
        Json j;
        json_init(&j, stdout, 0);
        json_obj_begin(&j, NULL);
        json_str(&j, "agent", info.name);
        json_str(&j, "kind", box ? "box" : info.kind == SB_ACTION_DISCRETE ? "discrete" : "multi_discrete");
        if (box) {
            json_num_array(&j, "mean", dist, (size_t)info.dist_dim);
            json_num_array(&j, "std", std, (size_t)info.dist_dim);
            json_num_array(&j, "action", action, (size_t)info.action_dim);
        } else {
            json_num_array(&j, "probs", dist, (size_t)info.dist_dim);
            if (info.kind == SB_ACTION_DISCRETE) json_int(&j, "action", (long long)action[0]);
            else json_num_array(&j, "action", action, (size_t)info.action_dim);
        }
        json_num(&j, "value", value);
        json_obj_end(&j);
        json_end(&j);
    } else {
        printf("agent  %s (%s, obs %d, mask rule %s)\n", info.name,
               box ? "Gaussian" : "categorical", info.obs_dim, info.mask_rule);
        if (box) {
            print_row("mean", dist, info.dist_dim);
            print_row("std", std, info.dist_dim);
        } else {
            print_row("probs", dist, info.dist_dim);
        }
        print_row("action", action, info.action_dim);
        print_row("value", &value, 1);
    }
    status = SB_EXIT_OK;
done:
    free(obs);
    free(dist);
    free(std);
    free(action);
    free(mvals);
    free(mask);
    sb_policy_free(pol);
    return status;
}
