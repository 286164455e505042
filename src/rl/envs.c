/* envs.c: the registry of built-in environments. */
#include "rl/envs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rl/cartpole.h"
#include "rl/pendulum.h"
#include "util/common.h"

static const EnvClass *const REGISTRY[] = {&cartpole_class, &pendulum_class};

const EnvClass *envs_find(const char *name) {
    if (!name) return NULL;
    for (size_t k = 0; k < SB_ARRAY_LEN(REGISTRY); k++)
        if (strcmp(REGISTRY[k]->name, name) == 0) return REGISTRY[k];
    return NULL;
}

void envs_list(char *buf, size_t cap) {
    if (!cap) return;
    buf[0] = 0;
    size_t used = 0;
    for (size_t k = 0; k < SB_ARRAY_LEN(REGISTRY) && used < cap; k++) {
        int w = snprintf(buf + used, cap - used, "%s%s", k ? ", " : "", REGISTRY[k]->name);
        if (w < 0) break;
        used += (size_t)w;
    }
}

void **envs_create(const EnvClass *cls, int n, uint64_t seed) {
    SB_ASSERT(cls && cls->size > 0 && cls->seed && n > 0);
    void **envs = sb_calloc((size_t)n, sizeof(void *));
    for (int i = 0; i < n; i++) {
        envs[i] = sb_calloc(1, cls->size);
        cls->seed(envs[i], seed, (uint64_t)i);
    }
    return envs;
}

void envs_destroy(void **envs, int n) {
    if (!envs) return;
    for (int i = 0; i < n; i++) free(envs[i]);
    free(envs);
}

void envs_describe(const EnvClass *cls, Pspec *s) {
    if (cls == &cartpole_class) cartpole_describe(s);
    else if (cls == &pendulum_class) pendulum_describe(s);
}
