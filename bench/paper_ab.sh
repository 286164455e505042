#!/usr/bin/env bash
# paper_ab.sh [-n N] [-o OUT] [-s KEY=VALUE]... TREE_A TREE_B [TREE_C ...]: the whole 5-seed paper run with several
# builds of stackelberg, alternated (A B C A B C ...), N rounds (default 3), for speed ratios
# measured in one sitting (bench/RESULTS.md). Each TREE is a checkout of some revision with its
# binary in TREE/bin/stackelberg; the run is `bin/stackelberg train configs/paper.yaml` from
# inside TREE, so each revision reads its own config and grid (older binaries refuse newer keys).
# Prints each run's wall time, the median per tree and its ratio to the first tree's median,
# and which record files (steps/periods/days/hourly.csv of every seed) are byte-identical to
# the first tree's first run. Writes OUT/<tree name>-<round>/ (default runs/paper-ab). -s passes
# --set KEY=VALUE to every run (a short trial: -s days=6 -s seeds=2).
set -euo pipefail
n=3
out=runs/paper-ab
sets=()
while getopts "n:o:s:h" opt; do
    case $opt in
    n) n=$OPTARG ;;
    o) out=$OPTARG ;;
    s) sets+=(--set "$OPTARG") ;;
    *)
        sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
        exit 2
        ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: $0 [-n N] [-o OUT] [-s KEY=VALUE]... TREE_A TREE_B [TREE_C ...]" >&2; exit 2; }
for t in "$@"; do
    [ -x "$t/bin/stackelberg" ] && [ -f "$t/configs/paper.yaml" ] || {
        echo "$t: needs bin/stackelberg and configs/paper.yaml" >&2
        exit 2
    }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
export OPENBLAS_NUM_THREADS=1
declare -A walls
echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(date -u +%FT%TZ); $n rounds"
for r in $(seq 1 "$n"); do
    for t in "$@"; do
        name=$(basename "$t")
        dir="$out/$name-$r"
        rm -rf "$dir"
        start=$(date +%s.%N)
        (cd "$t" && bin/stackelberg train configs/paper.yaml --out "$dir" --quiet "${sets[@]}" >"$dir.log" 2>&1) || {
            echo "$name round $r failed: $dir.log" >&2
            exit 1
        }
        wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
        walls[$name]="${walls[$name]:-} $wall"
        printf "round %d  %-28s %8.1f s\n" "$r" "$name" "$wall"
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
first=$(basename "$1")
m0=$(echo "${walls[$first]}" | median)
for t in "$@"; do
    name=$(basename "$t")
    m=$(echo "${walls[$name]}" | median)
    same=0 total=0
    for f in "$out/$first-1"/seed-*/{steps,periods,days,hourly}.csv; do
        g="$out/$name-1/${f#"$out/$first-1/"}"
        total=$((total + 1))
        cmp -s "$f" "$g" && same=$((same + 1))
    done
    printf "%-28s median %8.1f s  speed-up over %s %.3fx  record files identical to it: %d/%d\n" \
        "$name" "$m" "$first" "$(awk -v a="$m0" -v b="$m" 'BEGIN {print a / b}')" "$same" "$total"
done
