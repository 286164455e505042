#!/usr/bin/env bash
# scale.sh [RUN...]: the tariff game on case118 (99 aggregators) for bench/RESULTS.md, "The game
# on real grids": wall time on 1 and 2 cores, time per aggregator phase, peak memory, the share
# of time in MPI communication, and the parts a projection to more ranks is built from.
# RUNs (default all): c118-2cores (DAYS, default 100), c118-1core (DAYS_1CORE, default DAYS),
# c118-mpi2 (mpirun -np 2, DAYS_MPI, default 10), c14-mem (case14, 3 days). About 20-30 s per
# case118 day on 2 cores: the default takes hours. Writes $OUT (default runs/scale/).
set -euo pipefail
cd "$(dirname "$0")/.."
DAYS=${DAYS:-100}
DAYS_1CORE=${DAYS_1CORE:-$DAYS}
DAYS_MPI=${DAYS_MPI:-10}
RUNS=${*:-c118-2cores c118-1core c118-mpi2 c14-mem}
want() { case " $RUNS " in *" $1 "*) return 0 ;; esac; return 1; }
BIN=${BIN:-bin/stackelberg}
OUT=${OUT:-runs/scale}
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
echo "== $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; case118 with 99 aggregators: $RUNS"
if want c118-2cores; then
    run c118-2cores "$BIN" train configs/case118.yaml --seeds 1 --jobs 2 --threads 2 --quiet --set days="$DAYS"
fi
if want c118-1core; then
    run c118-1core "$BIN" train configs/case118.yaml --seeds 1 --jobs 1 --threads 1 --quiet --set days="$DAYS_1CORE"
fi
if want c118-mpi2 && command -v mpirun >/dev/null; then
    run c118-mpi2 mpirun --allow-run-as-root --oversubscribe -np 2 "$BIN" train configs/case118.yaml --seeds 1 \
        --threads 1 --quiet --set days="$DAYS_MPI"
fi
# Memory per aggregator: case14 (11 aggregators) against case118 (99), one core.
if want c14-mem; then
    run c14-mem "$BIN" train configs/case14.yaml --seeds 1 --jobs 1 --threads 1 --quiet --set days=3
fi
