/* datadir.h: where the program's own files are (the figure scripts, example configs, grids).
 *
 * The data directory is $STACKELBERG_DATA if set; else <directory of the executable>/../
 * share/stackelberg if it exists (an installed binary: make install PREFIX=...); else
 * <directory of the executable>/.. (bin/stackelberg in the repository: the repository root).
 * So an installed or a repository binary finds tools/figures.sh and configs/grids/ from any
 * working directory. */
#ifndef SB_DATADIR_H
#define SB_DATADIR_H

#include <stddef.h>

/* The data directory into out (no trailing slash). 0, or -1 if the executable's path cannot
 * be read (out then holds "."). */
int sb_data_dir(char *out, size_t cap);
/* <data directory>/rel into out. */
void sb_data_path(char *out, size_t cap, const char *rel);

#endif
