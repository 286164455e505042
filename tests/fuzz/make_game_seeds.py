#!/usr/bin/python3
"""make_game_seeds.py: write the hand-made seeds of tests/fuzz/corpus_games (run from the repo
root): small valid tabular and mean-field games, each broken in one way the readers must
report, and the example games of configs/games/ copied as they are. The fuzz-* files beside
them are inputs the fuzzer found (make fuzz-games), kept one per distinct error message."""
import os
import shutil

OUT = "tests/fuzz/corpus_games"

MF = """game: mean_field
states: 2
leader_actions: 2
follower_actions: 2
gamma: 0.8
entropy: 0.5
reward:
  follower:
    base: [[[1, 0], [0, 1]], [[0.5, 0.5], [0, 2]]]
    mean_field: [[[[[-1, 0], [0, 0]], [[0, -1], [0, 0]]], [[[-1, 0], [0, 0]], [[0, -1], [0, 0]]]], [[[[0, 0], [-1, 0]], [[0, 0], [0, -1]]], [[[0, 0], [-1, 0]], [[0, 0], [0, -1]]]]]
  leader:
    base: [0, 0.1]
    mean_field: [[[1, 0], [0, 0]], [[0, 0], [0, 1]]]
transition: [[[[0.9, 0.1], [0.2, 0.8]], [[1, 0], [0, 1]]], [[[0.5, 0.5], [0.3, 0.7]], [[0.6, 0.4], [0.1, 0.9]]]]
solver: {method: ac_smfg, seed: 1, leader_policy: [0.5, 0.5], alpha: 3, mfe: {tol: 1e-9}, ac_smfg: {iterations: 100},
         nested: {inner: samples, inner_steps: 10}, exact: {grid_points: 50}, ppo: {rounds: 1, mean_field_steps: 10}}
"""

TAB = """game: tabular
states: 1
leader_actions: 2
follower_actions: 2
gamma: {leader: 0.0, follower: 0.0}
reward:
  leader:   [[[2, 4], [1, 3]]]
  follower: [[[1, 0], [0, 1]]]
transition: [[[[1.0], [1.0]], [[1.0], [1.0]]]]
solver: {method: softmax, alpha: {leader: 2, follower: 3}, net: 4, ppo: {rounds: 1}}
"""

VARIANTS = {
    "mf-valid.yaml": MF,
    "mf-row-sum.yaml": MF.replace("[[[[0.9, 0.1]", "[[[[0.9, 0.2]"),
    "mf-negative.yaml": MF.replace("[0.6, 0.4]", "[1.6, -0.6]"),
    "mf-nesting.yaml": MF.replace("base: [[[1, 0], [0, 1]], [[0.5, 0.5], [0, 2]]]", "base: [[1, 0], [0, 1]]"),
    "mf-entropy-zero.yaml": MF.replace("entropy: 0.5", "entropy: 0"),
    "mf-entropy-missing.yaml": MF.replace("entropy: 0.5\n", ""),
    "mf-policy-off-simplex.yaml": MF.replace("leader_policy: [0.5, 0.5]", "leader_policy: [0.7, 0.4]"),
    "mf-policy-negative.yaml": MF.replace("leader_policy: [0.5, 0.5]", "leader_policy: [1.5, -0.5]"),
    "mf-unknown-key.yaml": MF + "colour: blue\n",
    "mf-big-sizes.yaml": MF.replace("states: 2", "states: 100").replace("leader_actions: 2", "leader_actions: 16"),
    "mf-method.yaml": MF.replace("method: ac_smfg", "method: guess"),
    "tab-valid.yaml": TAB,
    "tab-gamma.yaml": TAB.replace("leader: 0.0", "leader: 1.0"),
    "tab-nesting.yaml": TAB.replace("[[[2, 4], [1, 3]]]", "[[2, 4], [1, 3]]"),
    "kind-unknown.yaml": "game: chess\n",
    "empty.yaml": "",
    "scalar-root.yaml": "42\n",
    "alias.yaml": "game: &g mean_field\nstates: *g\n",
    "deep.yaml": "game: mean_field\nstates: " + "[" * 64 + "]" * 64 + "\n",
    "bad-syntax.yaml": "game: [mean_field\n",
}

os.makedirs(OUT, exist_ok=True)
for name, text in VARIANTS.items():
    with open(os.path.join(OUT, name), "w") as f:
        f.write(text)
for name in sorted(os.listdir("configs/games")):
    shutil.copy(os.path.join("configs/games", name), os.path.join(OUT, "example-" + name))
print("wrote", len(VARIANTS), "seeds and the examples to", OUT)
