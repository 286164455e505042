/* matpower.c: a reader for MATPOWER version-2 case files (the subset a DC-OPF needs).
 *
 * A case file is MATLAB: `mpc.name = [ rows ];` matrices, rows ended by ';' or a newline,
 * '%' comments, `{ ... }` cell arrays we skip. We tokenise it once, keeping the line of every
 * row so that a bad value is reported where it is. */
#include "grid/matpower.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

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

static char *read_all(const char *path, char *err, size_t n) {
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
    fclose(f);
    buf[len] = 0;
    return buf;
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
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno == ERANGE || !(*end == 0 || strchr(" \t,;]\r\n%", *end))) {
            const char *e = p;
            while (*e && !strchr(" \t,;]\r\n%", *e)) e++;
            return sb_err(err, n, "%s:%d: mpc.%s: not a number: '%.*s'", path, *line, name,
                          (int)(e - p > 40 ? 40 : e - p), p);
        }
        if (col >= (int)SB_ARRAY_LEN(row))
            return sb_err(err, n, "%s:%d: mpc.%s: too many columns", path, *line, name);
        row[col++] = v;
        p = end;
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
            if (e) {
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
            const char *e = ne;
            while (*e == ' ' || *e == '\t') e++;
            if (*e == '=') {
                e++;
                while (*e == ' ' || *e == '\t') e++;
                Matrix *m = !strcmp(name, "bus") ? &cs->bus : !strcmp(name, "gen") ? &cs->gen
                          : !strcmp(name, "branch") ? &cs->branch : !strcmp(name, "gencost") ? &cs->gencost
                          : NULL;
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
                } else if (*e == '{') {
                    while (*e && *e != '}') {
                        if (*e == '\n') line++;
                        e++;
                    }
                    p = e;
                } else if (!strcmp(name, "baseMVA")) {
                    char *end;
                    double v = strtod(e, &end);
                    if (end == e || !(v > 0))
                        return sb_err(err, n, "%s:%d: mpc.baseMVA: must be a positive number", path, line);
                    cs->base_mva = v;
                    cs->base_line = line;
                } else if (!strcmp(name, "version")) {
                    if (!strstr(e, "2"))
                        return sb_err(err, n, "%s:%d: mpc.version: only version 2 case files are supported",
                                      path, line);
                }
            }
        }
        /* next line */
        while (*p && *p != '\n') p++;
        if (*p) p++, line++;
    }
    return 0;
}

static int need(const char *path, const Matrix *m, const char *name, int mincols, char *err, size_t n) {
    if (!m->found) return sb_err(err, n, "%s: mpc.%s is missing", path, name);
    if (m->rows > 0 && m->cols < mincols)
        return sb_err(err, n, "%s:%d: mpc.%s: %d columns, expected at least %d", path, m->row_line[0], name,
                      m->cols, mincols);
    return 0;
}

#define AT(m, r, c) ((m).v[(size_t)(r) * (m).cols + (c)])

static int is_int(double v) { return v == floor(v) && fabs(v) < 2e9; }

static int build(GridNetwork *g, const char *path, Case *cs, char *err, size_t n) {
    if (need(path, &cs->bus, "bus", 13, err, n) || need(path, &cs->gen, "gen", 10, err, n) ||
        need(path, &cs->branch, "branch", 11, err, n) || need(path, &cs->gencost, "gencost", 4, err, n))
        return -1;
    if (cs->base_mva <= 0) return sb_err(err, n, "%s: mpc.baseMVA is missing", path);
    int N = cs->bus.rows, G = cs->gen.rows, M = cs->branch.rows;
    if (N == 0) return sb_err(err, n, "%s:%d: mpc.bus: no buses", path, cs->bus.line);
    if (cs->gencost.rows < G)
        return sb_err(err, n, "%s:%d: mpc.gencost: %d rows for %d generators", path, cs->gencost.line,
                      cs->gencost.rows, G);
    grid_network_alloc(g, N, G, M);
    g->base_mva = cs->base_mva;
    const char *slash = strrchr(path, '/');
    g->name = sb_strdup(cs->fname ? cs->fname : slash ? slash + 1 : path);
    int ref = 0;
    for (int i = 0; i < N; i++) {
        int ln = cs->bus.row_line[i];
        double id = AT(cs->bus, i, 0), ty = AT(cs->bus, i, 1);
        if (!is_int(id) || id < 1) return sb_err(err, n, "%s:%d: bus: bad bus number %g", path, ln, id);
        if (!is_int(ty) || ty < 1 || ty > 4) return sb_err(err, n, "%s:%d: bus: bad type %g", path, ln, ty);
        g->bus_id[i] = (int)id;
        g->bus_type[i] = (int)ty;
        g->pd[i] = AT(cs->bus, i, 2);
        g->gs[i] = AT(cs->bus, i, 4);
        ref += ty == BUS_REF;
        for (int k = 0; k < i; k++)
            if (g->bus_id[k] == g->bus_id[i])
                return sb_err(err, n, "%s:%d: bus: bus number %d given twice", path, ln, g->bus_id[i]);
    }
    if (!ref) return sb_err(err, n, "%s:%d: mpc.bus: no reference bus (type 3)", path, cs->bus.line);
    for (int k = 0; k < G; k++) {
        int ln = cs->gen.row_line[k];
        double b = AT(cs->gen, k, 0);
        int bi = is_int(b) ? grid_bus_index(g, (int)b) : -1;
        if (bi < 0) return sb_err(err, n, "%s:%d: gen: unknown bus %g", path, ln, b);
        g->gen_bus[k] = bi;
        g->gen_on[k] = AT(cs->gen, k, 7) > 0;
        g->pmax[k] = AT(cs->gen, k, 8);
        g->pmin[k] = AT(cs->gen, k, 9);
        if (g->gen_on[k] && g->pmin[k] > g->pmax[k])
            return sb_err(err, n, "%s:%d: gen: Pmin %g > Pmax %g", path, ln, g->pmin[k], g->pmax[k]);
        int cl = cs->gencost.row_line[k];
        double model = AT(cs->gencost, k, 0);
        if (model == 1)
            return sb_err(err, n, "%s:%d: gencost: piecewise-linear costs (model 1) are not supported; "
                          "give polynomial costs (model 2)", path, cl);
        if (model != 2) return sb_err(err, n, "%s:%d: gencost: unknown cost model %g", path, cl, model);
        double nc = AT(cs->gencost, k, 3);
        if (!is_int(nc) || nc < 1 || 4 + nc > cs->gencost.cols)
            return sb_err(err, n, "%s:%d: gencost: bad NCOST %g for a row of %d columns", path, cl, nc,
                          cs->gencost.cols);
        int ncost = (int)nc;
        /* coefficients c(n-1) ... c0 from column 4 */
        for (int d = ncost - 1; d >= 0; d--) {
            double c = AT(cs->gencost, k, 4 + (ncost - 1 - d));
            if (d == 0) g->c0[k] = c;
            else if (d == 1) g->c1[k] = c;
            else if (d == 2) g->c2[k] = c;
            else if (c != 0)
                return sb_err(err, n, "%s:%d: gencost: polynomial of degree %d is not supported (at most 2)",
                              path, cl, d);
        }
        if (g->gen_on[k] && g->c2[k] < 0)
            return sb_err(err, n, "%s:%d: gencost: negative quadratic coefficient (non-convex)", path, cl);
    }
    for (int l = 0; l < M; l++) {
        int ln = cs->branch.row_line[l];
        double fb = AT(cs->branch, l, 0), tb = AT(cs->branch, l, 1);
        int f = is_int(fb) ? grid_bus_index(g, (int)fb) : -1;
        int t = is_int(tb) ? grid_bus_index(g, (int)tb) : -1;
        if (f < 0) return sb_err(err, n, "%s:%d: branch: unknown bus %g", path, ln, fb);
        if (t < 0) return sb_err(err, n, "%s:%d: branch: unknown bus %g", path, ln, tb);
        g->f[l] = f;
        g->t[l] = t;
        g->x[l] = AT(cs->branch, l, 3);
        g->rate[l] = AT(cs->branch, l, 5);
        g->tap[l] = AT(cs->branch, l, 8);
        g->shift[l] = AT(cs->branch, l, 9);
        g->br_on[l] = AT(cs->branch, l, 10) > 0;
        if (g->rate[l] < 0) return sb_err(err, n, "%s:%d: branch: negative rating RATE_A %g", path, ln, g->rate[l]);
        if (g->br_on[l] && g->x[l] == 0)
            return sb_err(err, n, "%s:%d: branch: zero reactance on an in-service branch", path, ln);
        if (g->br_on[l] && f == t) return sb_err(err, n, "%s:%d: branch: from and to bus are the same", path, ln);
    }
    char msg[256];
    if (grid_network_validate(g, msg, sizeof msg))
        return sb_err(err, n, "%s:%d: %s", path, cs->bus.line, msg);
    return 0;
}

int grid_read_matpower(GridNetwork *g, const char *path, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    char *text = read_all(path, err, errlen);
    if (!text) return -1;
    Case cs;
    memset(&cs, 0, sizeof cs);
    int rc = parse_case(path, text, &cs, err, errlen);
    if (!rc) rc = build(g, path, &cs, err, errlen);
    free(text);
    matrix_free(&cs.bus);
    matrix_free(&cs.gen);
    matrix_free(&cs.branch);
    matrix_free(&cs.gencost);
    free(cs.fname);
    if (rc) grid_network_free(g);
    return rc;
}
