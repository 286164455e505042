#!/usr/bin/python3
"""make_text_seeds.py: write the seeds of the text-parser fuzzers (run from the repo root).

tests/fuzz/corpus-matpower/  small MATPOWER cases of data/matpower, the reader's fixtures of
                             tests/data/grid, and hand-made files for the syntax corners
                             (continuations, commas, comments in rows, cell arrays, reactive
                             gencost rows, no version line).
tests/fuzz/corpus-gridyaml/  configs/grids/paper3.yaml and variants using every key.
tests/fuzz/corpus-config/    the run configs of configs/, alone and followed by NUL-separated
                             --set arguments (the fuzz_config input format, targets.h).
And the dictionaries tests/fuzz/NAME.dict: every key the configs use, MATPOWER's tokens.

Seeds are named seed-*; inputs the fuzzer found and we keep are named fuzz-* and are never
written here. Only the seeds are rewritten."""
import glob
import os
import re

OUT = "tests/fuzz"


def put(corpus, name, data):
    os.makedirs(os.path.join(OUT, corpus), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(OUT, corpus, "seed-" + name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- MATPOWER ----
for p in ["case5", "case9", "case14", "case30"]:
    put("corpus-matpower", p + ".m", read("data/matpower/%s.m" % p))
for p in sorted(glob.glob("tests/data/grid/*.m")):
    put("corpus-matpower", os.path.basename(p), read(p))
put("corpus-matpower", "syntax.m", """function mpc = syntax
% no version line: MATPOWER reads the struct as version 2 when gen has 21 columns
mpc.baseMVA = 100 ;
mpc.bus = [ 1, 3, 0, 0, 0, 0, 1, 1, 0, 230, 1, 1.1, 0.9 ; % the reference
  2 1 5e1 0 0 0 1 1 0 230 1 1.1 0.9
  3 1 ...
    60 0 0 0 1 1 0 230 1 1.1 0.9];
mpc.gen = [1 0 0 0 0 1 100 1 200 0 0 0 0 0 0 0 0 0 0 0 0; 2 0 0 0 0 1 100 0 200 0 0 0 0 0 0 0 0 0 0 0 0];
mpc.branch = [
\t1\t2\t0\t0.1\t0\t100\t0\t0\t0.98\t-3\t1\t-360\t360;
\t2\t3\t0\t-0.1\t0\t0\t0\t0\t0\t0\t1\t-360\t360;
\t1\t3\t0\t0.2\t0\t100\t0\t0\t0\t0\t0\t-360\t360;
];
mpc.gencost = [
\t2\t0\t0\t3\t0.01\t10\t0;
\t2\t0\t0\t2\t12\t0\t0;
\t2\t0\t0\t1\t0\t0\t0;
\t2\t0\t0\t1\t0\t0\t0;
];
mpc.bus_name = {
\t'Bus 1}';
\t'Bus 2';
};
mpc.areas = [1 1];
""")

# ---- grid YAML ----
put("corpus-gridyaml", "paper3.yaml", read("configs/grids/paper3.yaml"))
put("corpus-gridyaml", "every-key.yaml", """name: every-key
base_mva: 100
buses:
  - {id: 1, type: ref, pd: 0, gs: 0}
  - {id: 2, type: pv, pd: 50.5, gs: 1e-3}
  - id: 7
    type: pq
    pd: 60
generators:
  - {name: g1, bus: 1, pmin: 0, pmax: 200, cost: [0.01, 10, 0], on: true}
  - {name: g2, bus: 2, pmin: -5, pmax: 100, cost: [0, 12, 3], on: false}
branches:
  - {name: l1, from: 1, to: 2, r: 0.01, x: 0.1, rate: 100, tap: 0.97, shift: -2, on: true}
  - {name: l2, from: 2, to: 7, x: -0.05, rate: 0}
  - {from: 1, to: 7, x: 0.2, on: no}
""")
put("corpus-gridyaml", "two-bus.yaml", "buses: [{id: 1, type: ref}, {id: 2}]\n"
    "generators: [{bus: 1, pmax: 10, cost: [0, 1, 0]}]\nbranches: [{from: 1, to: 2, x: 0.1}]\n")

# ---- run configs, alone and with --set arguments ----
configs = sorted(glob.glob("configs/*.yaml") + glob.glob("configs/bench/*.yaml"))
for p in configs:
    put("corpus-config", os.path.basename(p), read(p))
paper = read("configs/paper.yaml")
put("corpus-config", "paper-set.yaml", paper + b"\0days=3\0utility.fixed_cost_per_day=1e-400\0"
    b"aggregator.ppo.policy_kwargs.net_arch=[8, 8]")
put("corpus-config", "paper-set-bad.yaml", paper + b"\0days=abc\0utilty.fixed_cost_per_day=3")
cartpole = read("configs/cartpole.yaml")
put("corpus-config", "cartpole-set.yaml", cartpole + b"\0learning_rate=1e-3\0policy_kwargs.net_arch=[8,8]\0seed=3")
put("corpus-config", "set-only.yaml", b"env: CartPole-v1\n\0n_envs=2\0learning_rat=1")


# ---- dictionaries ----
def dict_file(name, tokens, why):
    with open(os.path.join(OUT, name + ".dict"), "w") as f:
        f.write("# %s.dict: libFuzzer dictionary (make_text_seeds.py): %s\n" % (name, why))
        for t in sorted(set(tokens)):
            f.write('"%s"\n' % t.replace('"', '\\"'))  # backslashes are libFuzzer escapes (\x00)


keys = set()
words = set()
for p in configs:
    for line in read(p).decode().splitlines():
        line = line.split("#")[0]
        m = re.match(r"\s*(?:- )?([A-Za-z_][A-Za-z0-9_]*):", line)
        if m:
            keys.add(m.group(1))
        for w in re.findall(r":\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*$", line):
            words.add(w)
dict_file("config", [k + ":" for k in keys] + [k + "=" for k in keys] + list(words)
          + ["[", "]", "{", "}", ": ", "\\x00", ".inf", "1e-400", "1e400", "true", "false", "\\x0a  "],
          "the keys and words of configs/*.yaml, --set separators, YAML punctuation")
dict_file("gridyaml", ["name:", "base_mva:", "buses:", "generators:", "branches:", "id:", "type:", "ref", "pv", "pq",
                       "pd:", "gs:", "bus:", "pmin:", "pmax:", "cost:", "on:", "from:", "to:", "r:", "x:", "rate:",
                       "tap:", "shift:", "{", "}", "[", "]", "- ", ".inf", "1e400", "true", "false"],
          "the grid YAML keys (src/config/gridyaml.h)")
dict_file("matpower", ["mpc.version = '2';", "mpc.baseMVA = ", "mpc.bus = [", "mpc.gen = [", "mpc.branch = [",
                       "mpc.gencost = [", "mpc.bus_name = {", "mpc.areas = [", "];", "};", "...", "%", ";", "\\x09",
                       "Inf", "NaN", "-Inf", "1e400", "1e-400", "function mpc = ", "mpc.gen(1, 9) = 0;"],
          "MATPOWER case-file tokens")
