/* dispatch.c: `stackelberg dispatch CASE`: one DC optimal power flow with LMPs, printed as
 * tables or as JSON. CASE is a MATPOWER .m file or a grid .yaml. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/gridyaml.h"
#include "grid/dispatch.h"
#include "grid/matpower.h"
#include "util/common.h"
#include "util/json.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: stackelberg dispatch CASE [--load-scale F] [--voll V] [--json]\n\n"
            "Solve a DC optimal power flow (MATPOWER's DC model) and print the dispatch, the line\n"
            "flows and the locational marginal prices (LMP_n = d optimal cost / d load at bus n).\n\n"
            "  CASE            a MATPOWER version-2 case file (.m) or a grid file (.yaml)\n"
            "  --load-scale F  multiply every bus load Pd by F (default 1)\n"
            "  --voll V        price of unserved and spilled energy, $/MWh (default 5000);\n"
            "                  0 turns the slack off, so a short grid is reported infeasible\n"
            "  --json          print {status, objective, lmp, pg, flow, iterations} as JSON:\n"
            "                  lmp per bus, pg per generator (0 out of service) and flow per\n"
            "                  branch from -> to (0 out of service), all in file order\n\n"
            "Exit status: 0 optimal, 1 infeasible (or not solved), 2 bad usage or bad input.\n");
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* A finite number and nothing else. */
static int parse_double(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return end != s && *end == 0 && isfinite(*out);
}

static void print_tables(const GridNetwork *g, const DispatchSolver *s) {
    const DispatchInfo *in = dispatch_info(s);
    const DispatchResult *r = dispatch_result(s);
    printf("%s: %s, objective %.6f $/h, %d iterations, %.1f us\n", g->name ? g->name : "case",
           dispatch_status_str(in->status), in->objective, in->iterations, in->solve_time_s * 1e6);
    printf("KKT residuals: primal %.1e, dual %.1e, complementarity %.1e\n\n", in->prim_res, in->dual_res,
           in->compl_res);
    printf("%6s %12s %12s %12s %12s\n", "bus", "load MW", "LMP $/MWh", "unserved", "spilled");
    for (int i = 0; i < g->n_bus; i++)
        printf("%6d %12.4f %12.4f %12.4f %12.4f\n", g->bus_id[i], g->pd[i] + g->gs[i], r->lmp[i],
               r->unserved[i], r->spilled[i]);
    printf("\n%6s %6s %-10s %12s %12s %12s\n", "gen", "bus", "name", "Pg MW", "Pmin", "Pmax");
    for (int k = 0; k < g->n_gen; k++)
        printf("%6d %6d %-10s %12.4f %12.4f %12.4f%s\n", k + 1, g->bus_id[g->gen_bus[k]],
               g->gen_name[k] ? g->gen_name[k] : "-", r->pg[k], g->pmin[k], g->pmax[k],
               g->gen_on[k] ? "" : "  (off)");
    printf("\n%6s %6s %6s %12s %12s %12s\n", "branch", "from", "to", "flow MW", "rating", "mu $/MWh");
    for (int l = 0; l < g->n_branch; l++) {
        double mu = r->mu_upper[l] - r->mu_lower[l];
        printf("%6d %6d %6d %12.4f %12.4f %12.4f%s\n", l + 1, g->bus_id[g->f[l]], g->bus_id[g->t[l]],
               r->flow[l], g->rate[l], mu,
               !g->br_on[l] ? "  (off)" : r->binding[l] == 1 ? "  binding +" : r->binding[l] == 2 ? "  binding -" : "");
    }
}

int cmd_dispatch(int argc, char **argv) {
    const char *path = NULL;
    double scale = 1.0;
    int json = 0;
    DispatchSettings set;
    dispatch_settings_default(&set);
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return SB_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--load-scale") || !strcmp(argv[i], "--voll")) {
            double v;
            if (i + 1 >= argc || !parse_double(argv[i + 1], &v)) {
                fprintf(stderr, "stackelberg dispatch: %s needs a finite number\n", argv[i]);
                return SB_EXIT_USAGE;
            }
            if (!strcmp(argv[i], "--voll")) {
                if (v < 0) {
                    fprintf(stderr, "stackelberg dispatch: --voll must be >= 0\n");
                    return SB_EXIT_USAGE;
                }
                set.voll = v;
            } else if (v < 0) {
                fprintf(stderr, "stackelberg dispatch: --load-scale must be >= 0\n");
                return SB_EXIT_USAGE;
            } else scale = v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "stackelberg dispatch: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return SB_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "stackelberg dispatch: one CASE only ('%s' and '%s')\n", path, argv[i]);
            return SB_EXIT_USAGE;
        } else path = argv[i];
    }
    if (!path) {
        usage(stderr);
        return SB_EXIT_USAGE;
    }
    GridNetwork g;
    char err[1024];
    int rc = ends_with(path, ".yaml") || ends_with(path, ".yml") ? grid_read_yaml(&g, path, err, sizeof err)
                                                                 : grid_read_matpower(&g, path, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return SB_EXIT_USAGE;
    }
    for (int i = 0; i < g.n_bus; i++) g.pd[i] *= scale;
    DispatchSolver *s;
    if (dispatch_setup(&s, &g, &set, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", path, err);
        grid_network_free(&g);
        return SB_EXIT_USAGE;
    }
    DispatchStatus st = dispatch_solve(s);
    const DispatchInfo *in = dispatch_info(s);
    const DispatchResult *r = dispatch_result(s);
    if (json) {
        Json j;
        json_init(&j, stdout, 2);
        json_obj_begin(&j, NULL);
        json_str(&j, "status", dispatch_status_str(st));
        json_num(&j, "objective", in->objective);
        json_num_array(&j, "lmp", r->lmp, (size_t)g.n_bus);
        json_num_array(&j, "pg", r->pg, (size_t)g.n_gen);
        json_num_array(&j, "flow", r->flow, (size_t)g.n_branch);
        json_int(&j, "iterations", in->iterations);
        json_obj_end(&j);
        json_end(&j);
    } else {
        print_tables(&g, s);
    }
    if (st != DISPATCH_OPTIMAL)
        fprintf(stderr, "%s: dispatch %s\n", path, dispatch_status_str(st));
    dispatch_cleanup(s);
    grid_network_free(&g);
    return st == DISPATCH_OPTIMAL ? SB_EXIT_OK : SB_EXIT_FAIL;
}
