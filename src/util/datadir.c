/* datadir.c: the data directory (datadir.h). */
#include "util/datadir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

int sb_data_dir(char *out, size_t cap) {
    const char *env = getenv("STACKELBERG_DATA");
    if (env && env[0]) {
        snprintf(out, cap, "%s", env);
        return 0;
    }
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1); /* Linux: the binary's real path */
    if (k <= 0) {
        snprintf(out, cap, ".");
        return -1;
    }
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0; /* the executable's directory */
    char share[4200];
    snprintf(share, sizeof share, "%s/../share/stackelberg", exe);
    struct stat st;
    if (stat(share, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(out, cap, "%s", share);
    else snprintf(out, cap, "%s/..", exe);
    return 0;
}

void sb_data_path(char *out, size_t cap, const char *rel) {
    char dir[4096];
    sb_data_dir(dir, sizeof dir);
    path_join(out, cap, dir, rel);
}
