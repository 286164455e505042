#!/usr/bin/env bash
# scale.sh [DAYS]: the tariff game on case118 (99 aggregators) for bench/RESULTS.md, "The game
# on real grids": wall time on 1 and 2 cores, time per aggregator phase, peak memory, the share
# of time in MPI communication, and the parts a projection to more ranks is built from.
# Minutes to hours (DAYS defaults to 100). Runs from the repository root; writes runs/scale/.
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${1:-100}
BIN=${BIN:-bin/stackelberg}
OUT=runs/scale
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1
summary() { # DIR: wall and the time split of seed 0
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/seed-0/summary.json"))
t = d["time_s"]
print(f"  wall {d['wall_s']:.1f} s: followers {t['follower_training']:.1f}, leader {t['leader_training']:.1f}, "
      f"dispatch {t['dispatch']:.1f}, communication {t.get('communication', 0):.1f}, other {t['other']:.1f}; "
      f"{d['train_env_steps']} PPO env steps ({d['train_steps_per_s']:.0f}/s of training); "
      f"IMV {d['imv_last3d']['rl']:.3f} vs {d['imv_last3d']['no_storage']:.3f} $/MWh")
PY
}
run() { # NAME ARGS...: one seed of case118, peak RSS of the biggest process
    local name=$1
    shift
    rm -rf "${OUT:?}/$name"
    /usr/bin/time -f "%e s wall, peak RSS %M KB" "$@" --out "$OUT/$name" 2>"$OUT/$name.time" || {
        cat "$OUT/$name.time"
        exit 1
    }
    echo "$name: $(tail -1 "$OUT/$name.time")"
    summary "$OUT/$name"
}
echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; case118 with 99 aggregators, $DAYS days"
run c118-1core "$BIN" train configs/case118.yaml --seeds 1 --jobs 1 --threads 1 --quiet --set days="$DAYS"
run c118-2cores "$BIN" train configs/case118.yaml --seeds 1 --jobs 2 --threads 2 --quiet --set days="$DAYS"
if command -v mpirun >/dev/null; then
    MPIDAYS=$((DAYS < 10 ? DAYS : 10))
    run c118-mpi2 mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN" train configs/case118.yaml --seeds 1 \
        --threads 1 --quiet --set days="$MPIDAYS"
fi
# Memory per aggregator: case14 (11 aggregators) against case118 (99), one core, 2 days.
run c14-mem "$BIN" train configs/case14.yaml --seeds 1 --jobs 1 --threads 1 --quiet --set days=3
