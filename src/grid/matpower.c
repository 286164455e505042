/* matpower.c: a reader for MATPOWER version-2 case files (the subset a DC-OPF needs).
 *
 * A case file is MATLAB: `mpc.name = [ rows ];` matrices, rows ended by ';' or a newline,
 * '%' comments, `{ ... }` cell arrays we skip. We tokenise it once, keeping the line of every
 * row so that a bad value is reported where it is. Column numbers below are MATPOWER's
 * (idx_bus, idx_gen, idx_brch, idx_cost), 0-based. */
#include "grid/matpower.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

enum { BUS_I, BUS_TYPE, PD, QD, GS, BS, BUS_AREA, VM, VA, BASE_KV, ZONE, VMAX, VMIN };
enum { GEN_BUS, PG, QG, QMAX, QMIN, VG, MBASE, GEN_STATUS, PMAX, PMIN };
enum { F_BUS, T_BUS, BR_R, BR_X, BR_B, RATE_A, RATE_B, RATE_C, TAP, SHIFT, BR_STATUS, ANGMIN, ANGMAX };
enum { MODEL, STARTUP, SHUTDOWN, NCOST, COST };

typedef struct {
    int found;
    int line;       /* line of `mpc.name =` */
    int rows, cols; /* cols: of the first row */
    int cap;
    double *v;      /* (rows, cols) */
    int *row_line;  /* (rows) */
} Matrix;

static void matrix_free(Matrix *m) {
    free(m->v);
    free(m->row_line);
    memset(m, 0, sizeof *m);
}

static char *read_all(const char *path, size_t *len_out, char *err, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        sb_err(err, n, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = sb_malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) buf = sb_realloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        sb_err(err, n, "%s: cannot read", path);
        return NULL;
    }
    buf[len] = 0;
    *len_out = len;
    return buf;
}

/* Characters that end a number inside a matrix. */
static const char *const NUM_END = " \t,;]\r\n%";

/* One number at p (MATLAB writes Inf and NaN, strtod reads them: both are refused, as is
 * anything beyond +-DBL_MAX; an underflow such as 1e-400 reads as the nearest double, 0 or
 * subnormal). 0 with *out and *endp, or -1 with err. */
static int parse_number(const char *path, const char *name, int line, const char *p, double *out,
                        const char **endp, char *err, size_t n) {
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    const char *e = p;
    while (*e && !strchr(NUM_END, *e)) e++;
    int len = (int)(e - p > 40 ? 40 : e - p);
    if (end == p || end != e) return sb_err(err, n, "%s:%d: mpc.%s: not a number: '%.*s'", path, line, name, len, p);
    if (isinf(v) && errno == ERANGE)
        return sb_err(err, n, "%s:%d: mpc.%s: '%.*s' is beyond the range of a double (+-1.8e308)", path, line,
                      name, len, p);
    if (!isfinite(v))
        return sb_err(err, n, "%s:%d: mpc.%s: '%.*s' is not a finite number (every value must be finite)", path,
                      line, name, len, p);
    *out = v;
    *endp = end;
    return 0;
}

/* Parse a matrix starting after '['; *pp ends after ']'. Returns 0 or -1 with err. */
static int parse_matrix(const char *path, const char *name, const char **pp, int *line, Matrix *m,
                        char *err, size_t n) {
    const char *p = *pp;
    int col = 0;
    double row[64];
    for (;;) {
        char c = *p;
        if (c == 0) return sb_err(err, n, "%s:%d: mpc.%s: missing ']'", path, m->line, name);
        if (c == '%') {
            while (*p && *p != '\n') p++;
            continue;
        }
        if (c == ';' || c == '\n' || c == ']') {
            if (col > 0) {
                if (m->rows == 0) m->cols = col;
                else if (col != m->cols)
                    return sb_err(err, n, "%s:%d: mpc.%s: row has %d columns, expected %d", path, *line,
                                  name, col, m->cols);
                if (m->rows == m->cap) {
                    m->cap = m->cap ? 2 * m->cap : 64;
                    m->v = sb_realloc(m->v, (size_t)m->cap * (size_t)m->cols * sizeof(double));
                    m->row_line = sb_realloc(m->row_line, (size_t)m->cap * sizeof(int));
                }
                memcpy(m->v + (size_t)m->rows * m->cols, row, (size_t)col * sizeof(double));
                m->row_line[m->rows++] = *line;
                col = 0;
            }
            if (c == '\n') (*line)++;
            p++;
            if (c == ']') break;
            continue;
        }
        if (c == ' ' || c == '\t' || c == ',' || c == '\r') {
            p++;
            continue;
        }
        if (c == '.' && p[1] == '.' && p[2] == '.') { /* MATLAB line continuation */
            while (*p && *p != '\n') p++;
            if (*p) p++, (*line)++;
            continue;
        }
        double v = 0;
        if (parse_number(path, name, *line, p, &v, &p, err, n)) return -1;
        if (col >= (int)SB_ARRAY_LEN(row))
            return sb_err(err, n, "%s:%d: mpc.%s: more than %d columns", path, *line, name, (int)SB_ARRAY_LEN(row));
        row[col++] = v;
    }
    *pp = p;
    return 0;
}

typedef struct {
    double base_mva;
    int base_line;
    Matrix bus, gen, branch, gencost;
    char *fname;
} Case;

/* After a scalar assignment's value: spaces, an optional ';', an optional comment. */
static int rest_is_empty(const char *e) {
    while (*e == ' ' || *e == '\t' || *e == '\r') e++;
    if (*e == ';') e++;
    while (*e == ' ' || *e == '\t' || *e == '\r') e++;
    return *e == 0 || *e == '\n' || *e == '%';
}

/* `mpc.version = '2';` exactly (MATPOWER writes a string; version 1 files are a
 * different layout). */
static int parse_version(const char *path, int line, const char *e, char *err, size_t n) {
    const char *raw = e, *v = e, *ve;
    if (*e == '\'' || *e == '"') {
        v = e + 1;
        ve = v;
        while (*ve && *ve != *e && *ve != '\n') ve++;
        if (*ve != *e) return sb_err(err, n, "%s:%d: mpc.version: unterminated string", path, line);
        e = ve + 1;
    } else {
        ve = v;
        while (*ve && !strchr(" \t\r\n;%", *ve)) ve++;
        e = ve;
    }
    if (ve - v != 1 || *v != '2' || !rest_is_empty(e))
        return sb_err(err, n, "%s:%d: mpc.version: only version '2' case files are supported, got %.*s", path, line,
                      (int)SB_MIN(strcspn(raw, "\r\n;%"), 40), raw);
    return 0;
}

static int parse_case(const char *path, const char *text, Case *cs, char *err, size_t n) {
    const char *p = text;
    int line = 1;
    cs->base_mva = -1;
    while (*p) {
        /* start of a line */
        const char *q = p;
        while (*q == ' ' || *q == '\t') q++;
        if (!strncmp(q, "function", 8)) {
            const char *e = strchr(q, '=');
            const char *eol = strchr(q, '\n');
            if (e && (!eol || e < eol)) {
                e++;
                while (*e == ' ') e++;
                const char *e2 = e;
                while (*e2 && !strchr(" \t\r\n;%", *e2)) e2++;
                free(cs->fname);
                cs->fname = sb_malloc((size_t)(e2 - e) + 1);
                memcpy(cs->fname, e, (size_t)(e2 - e));
                cs->fname[e2 - e] = 0;
            }
        } else if (!strncmp(q, "mpc.", 4)) {
            const char *nm = q + 4, *ne = nm;
            while (*ne && (isalnum((unsigned char)*ne) || *ne == '_')) ne++;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(ne - nm), nm);
            Matrix *m = !strcmp(name, "bus") ? &cs->bus : !strcmp(name, "gen") ? &cs->gen
                      : !strcmp(name, "branch") ? &cs->branch : !strcmp(name, "gencost") ? &cs->gencost
                      : NULL;
            const char *e = ne;
            while (*e == ' ' || *e == '\t') e++;
            /* `mpc.gen(3, 9) = 0;` would change a table after it was written: we do not
             * evaluate MATLAB, so say so rather than read the table unchanged. */
            if (m && *e != '=')
                return sb_err(err, n, "%s:%d: mpc.%s: only `mpc.%s = [ ... ];` is supported (no indexing or "
                              "later changes); write the values into the table", path, line, name, name);
            if (*e == '=') {
                e++;
                while (*e == ' ' || *e == '\t') e++;
                if (*e == '[') {
                    if (m) {
                        if (m->found) return sb_err(err, n, "%s:%d: mpc.%s given twice", path, line, name);
                        m->found = 1;
                        m->line = line;
                        e++;
                        if (parse_matrix(path, name, &e, &line, m, err, n)) return -1;
                        p = e;
                    } else {
                        /* an unused matrix: skip to ']' */
                        while (*e && *e != ']') {
                            if (*e == '\n') line++;
                            e++;
                        }
                        p = e;
                    }
                } else if (m) {
                    return sb_err(err, n, "%s:%d: mpc.%s: expected a matrix `[ ... ]`", path, line, name);
                } else if (*e == '{') {
                    while (*e && *e != '}') {
                        if (*e == '\n') line++;
                        e++;
                    }
                    p = e;
                } else if (!strcmp(name, "baseMVA")) {
                    if (cs->base_line) return sb_err(err, n, "%s:%d: mpc.baseMVA given twice", path, line);
                    char *end;
                    errno = 0;
                    double v = strtod(e, &end);
                    if (end == e || !rest_is_empty(end) || !isfinite(v) || errno == ERANGE || !(v > 0))
                        return sb_err(err, n, "%s:%d: mpc.baseMVA: must be a finite positive number", path, line);
                    cs->base_mva = v;
                    cs->base_line = line;
                } else if (!strcmp(name, "version")) {
                    if (parse_version(path, line, e, err, n)) return -1;
                }
            }
        }
        /* next line */
        while (*p && *p != '\n') p++;
        if (*p) p++, line++;
    }
    return 0;
}

/* A table present and as wide as MATPOWER writes it (widths: the allowed column counts,
 * ending in 0; `what` says which is which). */
static int need(const char *path, const Matrix *m, const char *name, const int *widths, const char *what,
                char *err, size_t n) {
    if (!m->found) return sb_err(err, n, "%s: mpc.%s is missing", path, name);
    if (m->rows == 0) return 0;
    for (const int *w = widths; *w; w++)
        if (m->cols == *w) return 0;
    return sb_err(err, n, "%s:%d: mpc.%s: %d columns; MATPOWER's %s table has %s", path, m->row_line[0], name,
                  m->cols, name, what);
}

#define AT(m, r, c) ((m).v[(size_t)(r) * (m).cols + (c)])

static int is_int(double v) { return v == floor(v) && fabs(v) < 2e9; }

/* One gencost row: model 2, a whole NCOST that fits the row, nothing written beyond it,
 * no start-up or shut-down cost below 0, at most a quadratic. Fills c[0..2] = c2, c1, c0. */
static int read_cost(const char *path, const Matrix *gc, int k, double c[3], char *err, size_t n) {
    int cl = gc->row_line[k];
    double model = AT(*gc, k, MODEL);
    if (model == 1)
        return sb_err(err, n, "%s:%d: gencost: piecewise-linear costs (model 1) are not supported; "
                      "give polynomial costs (model 2)", path, cl);
    if (model != 2) return sb_err(err, n, "%s:%d: gencost: unknown cost model %g (1 or 2)", path, cl, model);
    if (AT(*gc, k, STARTUP) < 0 || AT(*gc, k, SHUTDOWN) < 0)
        return sb_err(err, n, "%s:%d: gencost: negative start-up or shut-down cost", path, cl);
    double nc = AT(*gc, k, NCOST);
    if (!is_int(nc) || nc < 1 || COST + nc > gc->cols)
        return sb_err(err, n, "%s:%d: gencost: bad NCOST %g for a row of %d columns", path, cl, nc, gc->cols);
    int ncost = (int)nc;
    for (int j = COST + ncost; j < gc->cols; j++)
        if (AT(*gc, k, j) != 0)
            return sb_err(err, n, "%s:%d: gencost: column %d holds %g beyond NCOST = %d coefficients "
                          "(a misaligned row?)", path, cl, j + 1, AT(*gc, k, j), ncost);
    c[0] = c[1] = c[2] = 0;
    /* coefficients c(n-1) ... c0 from column COST */
    for (int d = ncost - 1; d >= 0; d--) {
        double v = AT(*gc, k, COST + (ncost - 1 - d));
        if (d <= 2) c[2 - d] = v;
        else if (v != 0)
            return sb_err(err, n, "%s:%d: gencost: polynomial of degree %d is not supported (at most 2)", path, cl, d);
    }
    return 0;
}

static int build(GridNetwork *g, const char *path, Case *cs, char *err, size_t n) {
    static const int bus_w[] = {13, 17, 0}, gen_w[] = {10, 21, 25, 0}, br_w[] = {11, 13, 17, 21, 0};
    if (need(path, &cs->bus, "bus", bus_w, "13 columns (17 with OPF results)", err, n) ||
        need(path, &cs->gen, "gen", gen_w, "10 columns (version 1), 21, or 25 with OPF results", err, n) ||
        need(path, &cs->branch, "branch", br_w, "13 columns (11 in version 1; 17 or 21 with results)", err, n))
        return -1;
    if (!cs->gencost.found) return sb_err(err, n, "%s: mpc.gencost is missing", path);
    if (cs->base_mva <= 0) return sb_err(err, n, "%s: mpc.baseMVA is missing", path);
    int N = cs->bus.rows, G = cs->gen.rows, M = cs->branch.rows;
    if (N == 0) return sb_err(err, n, "%s:%d: mpc.bus: no buses", path, cs->bus.line);
    /* MATPOWER: G rows of real-power costs, then optionally G rows of reactive-power costs. */
    if (cs->gencost.rows != G && cs->gencost.rows != 2 * G)
        return sb_err(err, n, "%s:%d: mpc.gencost: %d rows for %d generators (expected %d, or %d with reactive "
                      "costs)", path, cs->gencost.line, cs->gencost.rows, G, G, 2 * G);
    if (G > 0 && cs->gencost.cols < COST + 1)
        return sb_err(err, n, "%s:%d: mpc.gencost: %d columns, expected at least %d", path,
                      cs->gencost.row_line[0], cs->gencost.cols, COST + 1);
    grid_network_alloc(g, N, G, M);
    g->base_mva = cs->base_mva;
    const char *slash = strrchr(path, '/');
    g->name = sb_strdup(cs->fname ? cs->fname : slash ? slash + 1 : path);
    int ref = 0;
    for (int i = 0; i < N; i++) {
        int ln = cs->bus.row_line[i];
        double id = AT(cs->bus, i, BUS_I), ty = AT(cs->bus, i, BUS_TYPE);
        if (!is_int(id) || id < 1) return sb_err(err, n, "%s:%d: bus: bad bus number %g", path, ln, id);
        if (!is_int(ty) || ty < 1 || ty > 4) return sb_err(err, n, "%s:%d: bus: bad type %g", path, ln, ty);
        if (AT(cs->bus, i, VM) < 0) return sb_err(err, n, "%s:%d: bus: negative voltage magnitude", path, ln);
        if (AT(cs->bus, i, BASE_KV) < 0) return sb_err(err, n, "%s:%d: bus: negative base voltage", path, ln);
        if (AT(cs->bus, i, VMIN) > AT(cs->bus, i, VMAX))
            return sb_err(err, n, "%s:%d: bus: Vmin %g > Vmax %g", path, ln, AT(cs->bus, i, VMIN),
                          AT(cs->bus, i, VMAX));
        g->bus_id[i] = (int)id;
        g->bus_type[i] = (int)ty;
        g->pd[i] = AT(cs->bus, i, PD);
        g->gs[i] = AT(cs->bus, i, GS);
        ref += ty == BUS_REF;
        for (int k = 0; k < i; k++)
            if (g->bus_id[k] == g->bus_id[i])
                return sb_err(err, n, "%s:%d: bus: bus number %d given twice", path, ln, g->bus_id[i]);
    }
    if (!ref) return sb_err(err, n, "%s:%d: mpc.bus: no reference bus (type 3)", path, cs->bus.line);
    for (int k = 0; k < G; k++) {
        int ln = cs->gen.row_line[k];
        double b = AT(cs->gen, k, GEN_BUS);
        int bi = is_int(b) ? grid_bus_index(g, (int)b) : -1;
        if (bi < 0) return sb_err(err, n, "%s:%d: gen: unknown bus %g", path, ln, b);
        g->gen_bus[k] = bi;
        g->gen_on[k] = AT(cs->gen, k, GEN_STATUS) > 0;
        g->pmax[k] = AT(cs->gen, k, PMAX);
        g->pmin[k] = AT(cs->gen, k, PMIN);
        if (g->pmin[k] > g->pmax[k])
            return sb_err(err, n, "%s:%d: gen: Pmin %g > Pmax %g", path, ln, g->pmin[k], g->pmax[k]);
        if (AT(cs->gen, k, QMIN) > AT(cs->gen, k, QMAX))
            return sb_err(err, n, "%s:%d: gen: Qmin %g > Qmax %g", path, ln, AT(cs->gen, k, QMIN),
                          AT(cs->gen, k, QMAX));
        if (AT(cs->gen, k, VG) < 0) return sb_err(err, n, "%s:%d: gen: negative voltage setpoint", path, ln);
        double c[3];
        if (read_cost(path, &cs->gencost, k, c, err, n)) return -1;
        g->c2[k] = c[0];
        g->c1[k] = c[1];
        g->c0[k] = c[2];
        if (g->gen_on[k] && g->c2[k] < 0)
            return sb_err(err, n, "%s:%d: gencost: negative quadratic coefficient (non-convex)", path,
                          cs->gencost.row_line[k]);
    }
    for (int k = G; k < cs->gencost.rows; k++) { /* reactive costs: unused, but well formed */
        double c[3];
        if (read_cost(path, &cs->gencost, k, c, err, n)) return -1;
    }
    for (int l = 0; l < M; l++) {
        int ln = cs->branch.row_line[l];
        double fb = AT(cs->branch, l, F_BUS), tb = AT(cs->branch, l, T_BUS);
        int f = is_int(fb) ? grid_bus_index(g, (int)fb) : -1;
        int t = is_int(tb) ? grid_bus_index(g, (int)tb) : -1;
        if (f < 0) return sb_err(err, n, "%s:%d: branch: unknown bus %g", path, ln, fb);
        if (t < 0) return sb_err(err, n, "%s:%d: branch: unknown bus %g", path, ln, tb);
        g->f[l] = f;
        g->t[l] = t;
        g->x[l] = AT(cs->branch, l, BR_X);
        g->rate[l] = AT(cs->branch, l, RATE_A);
        g->tap[l] = AT(cs->branch, l, TAP);
        g->shift[l] = AT(cs->branch, l, SHIFT);
        g->br_on[l] = AT(cs->branch, l, BR_STATUS) > 0;
        static const char *const rates[3] = {"RATE_A", "RATE_B", "RATE_C"};
        for (int r = 0; r < 3; r++)
            if (AT(cs->branch, l, RATE_A + r) < 0)
                return sb_err(err, n, "%s:%d: branch: negative rating %s %g", path, ln, rates[r],
                              AT(cs->branch, l, RATE_A + r));
        if (g->tap[l] < 0)
            return sb_err(err, n, "%s:%d: branch: negative tap ratio %g (0 means 1)", path, ln, g->tap[l]);
        if (cs->branch.cols > ANGMAX && AT(cs->branch, l, ANGMIN) > AT(cs->branch, l, ANGMAX))
            return sb_err(err, n, "%s:%d: branch: ANGMIN %g > ANGMAX %g", path, ln, AT(cs->branch, l, ANGMIN),
                          AT(cs->branch, l, ANGMAX));
        if (g->br_on[l] && g->x[l] == 0)
            return sb_err(err, n, "%s:%d: branch: zero reactance on an in-service branch", path, ln);
        if (g->br_on[l] && f == t) return sb_err(err, n, "%s:%d: branch: from and to bus are the same", path, ln);
    }
    char msg[256];
    GridAt at;
    if (grid_network_check(g, &at, msg, sizeof msg)) {
        int line = at.kind == GRID_AT_BUS      ? cs->bus.row_line[at.index]
                 : at.kind == GRID_AT_GEN      ? cs->gen.row_line[at.index]
                 : at.kind == GRID_AT_COST     ? cs->gencost.row_line[at.index]
                 : at.kind == GRID_AT_BRANCH   ? cs->branch.row_line[at.index]
                                               : cs->bus.line;
        return sb_err(err, n, "%s:%d: %s", path, line, msg);
    }
    return 0;
}

int grid_read_matpower_mem(GridNetwork *g, const char *name, const char *text, size_t len, char *err,
                           size_t errlen) {
    memset(g, 0, sizeof *g);
    const char *nul = memchr(text, 0, len);
    if (nul) {
        int line = 1;
        for (const char *c = text; c < nul; c++) line += *c == '\n';
        return sb_err(err, errlen, "%s:%d: a NUL byte: not a MATPOWER text file", name, line);
    }
    char *buf = sb_malloc(len + 1);
    memcpy(buf, text, len);
    buf[len] = 0;
    Case cs;
    memset(&cs, 0, sizeof cs);
    int rc = parse_case(name, buf, &cs, err, errlen);
    if (!rc) rc = build(g, name, &cs, err, errlen);
    free(buf);
    matrix_free(&cs.bus);
    matrix_free(&cs.gen);
    matrix_free(&cs.branch);
    matrix_free(&cs.gencost);
    free(cs.fname);
    if (rc) grid_network_free(g);
    return rc;
}

int grid_read_matpower(GridNetwork *g, const char *path, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    size_t len = 0;
    char *text = read_all(path, &len, err, errlen);
    if (!text) return -1;
    int rc = grid_read_matpower_mem(g, path, text, len, err, errlen);
    free(text);
    return rc;
}
