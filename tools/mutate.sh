#!/usr/bin/env bash
# mutate.sh [OPTIONS] [ID|GLOB ...]: mutation testing. Applies the one-line bugs of
# tools/mutants.txt to scratch copies of a revision (git archive; the working tree is never
# touched), one at a time, runs `make test` there, and prints which mutants the tests kill,
# which survive and which no longer apply. The work is done by tools/mutate.py (Debian's
# python3, standard library only); `tools/mutate.sh --help` lists the options.
#   tools/mutate.sh -j 2                       the whole list, two copies at once
#   tools/mutate.sh -j 2 -t 'make test-run'    the same without the Debian package check
#   tools/mutate.sh market-imv-denominator     one mutant
#   tools/mutate.sh --check                    does every entry still apply to HEAD?
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/mutate.py" "$@"
