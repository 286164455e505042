#!/usr/bin/python3
"""make_seeds.py: write the NumPy-made seeds of tests/fuzz/corpus (run from the repo root).

Tiny exported policies built by NumPy itself (so the C loader is also checked against files
it did not write), arrays of every dtype, stored (uncompressed) members, and malformed
variants that must be rejected with a message. The C-made seeds (policy-*.npz) come from
`stackelberg export` on small synthetic checkpoints."""
import io
import json
import os
import zipfile

import numpy as np

OUT = "tests/fuzz/corpus"
rng = np.random.default_rng(5)


def spec(name, obs, pi, vf, action, act="tanh", norm=False):
    return {"name": name, "obs_dim": obs, "pi_sizes": pi, "vf_sizes": vf, "activation": act,
            "action": action, "normalize_obs": norm, "clip_obs": 10.0, "obs_eps": 1e-8}


def tensors(s, dtype):
    out = {}
    for net in ("pi", "vf"):
        sz = s[net + "_sizes"]
        for l in range(len(sz) - 1):
            out["%s.%s.%d.weight" % (s["name"], net, l)] = rng.normal(size=(sz[l + 1], sz[l])).astype(dtype)
            out["%s.%s.%d.bias" % (s["name"], net, l)] = rng.normal(size=sz[l + 1]).astype(dtype)
    if s["action"]["kind"] == "box":
        out[s["name"] + ".log_std"] = np.full(s["action"]["size"], -0.5, dtype=dtype)
    if s["normalize_obs"]:
        out[s["name"] + ".obs_mean"] = rng.normal(size=s["obs_dim"])
        out[s["name"] + ".obs_var"] = rng.random(s["obs_dim"]) + 0.1
    return out


def policy(path, specs, dtype="<f4", meta_patch=None, compressed=True, drop=None, reshape=None):
    arrays = {}
    for s in specs:
        arrays.update(tensors(s, dtype))
    if drop:
        del arrays[drop]
    if reshape:
        arrays[reshape] = arrays[reshape].T.copy()
    meta = {"format": "stackelberg-policy", "version": 1, "project_version": "0.1.0", "seed": 1,
            "dtype": "float32", "agents": [s["name"] for s in specs], "policies": specs,
            "config": {"seeds": 5, "nested": {"a": [1, 2.5e-3, None, True, "\u00e9\ud83d\ude00"]}}}
    if meta_patch:
        meta.update(meta_patch)
    (np.savez_compressed if compressed else np.savez)(os.path.join(OUT, path), **arrays)
    mode = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(os.path.join(OUT, path), "a", compression=mode) as zf:
        zf.writestr("meta.json", json.dumps(meta))


multi = spec("md", 3, [3, 4, 5], [3, 4, 1], {"kind": "multi_discrete", "size": 2, "nvec": [2, 3], "mask": "none"}, act="relu")
disc = spec("d", 2, [2, 3, 3], [2, 1], {"kind": "discrete", "size": 3, "mask": "soc_range"}, norm=True)
box = spec("b", 2, [2, 2], [2, 2, 1], {"kind": "box", "size": 2, "low": [-1, 0], "high": [1, 5], "mask": "none"}, norm=True)

policy("np-multi.npz", [multi])
policy("np-three.npz", [multi, disc, box])
policy("np-box-f16.npz", [box], dtype="<f2")
policy("np-stored.npz", [disc], compressed=False)
policy("np-three-stored.npz", [multi, disc, box], compressed=False)
policy("bad-version.npz", [disc], meta_patch={"version": 2})
policy("bad-format.npz", [disc], meta_patch={"format": "stackelberg-checkpoint"})
policy("bad-missing.npz", [disc], drop="d.pi.0.bias")
policy("bad-shape.npz", [disc], reshape="d.pi.0.weight")
policy("bad-names.npz", [disc], meta_patch={"agents": ["x"]})
# Agents whose meta.json describes observations and the played action (io/pspec.h): the
# parsers of "observations" and "play" and sb_policy_play get fuzzed from these.
lv = spec("lv", 2, [2, 5], [2, 1], {"kind": "discrete", "size": 5, "mask": "soc_range"})
lv["observations"] = [{"name": "belief", "unit": "1", "formula": "clip((b - mean) / sd, -clip, clip)",
                       "constants": {"mean": 30.5, "sd": 4.25, "clip": 3}},
                      {"name": "soc", "unit": "fraction", "formula": "state of charge"}]
lv["play"] = {"kind": "levels", "rule": "expected", "names": ["a"], "units": ["fraction"], "levels": [-1, 1],
              "soc_range": {"obs": 1, "tol": 1e-9}}
tf = spec("tf", 2, [2, 3], [2, 1], {"kind": "box", "size": 3, "low": [-1, -1, -1], "high": [1, 1, 1], "mask": "none"},
          norm=True)
tf["play"] = {"kind": "affine", "names": ["buy", "sell", "fixed"], "units": ["$/kWh", "$/kWh", "$/day"],
              "squash": "tanh", "low": [0, 0, 0], "high": [0.01, 0.01, 15],
              "sell": {"rule": "swap", "buy": 0, "sell": 1},
              "derived": {"index": 2, "constant": 100, "coef": [-1000, 0, 0], "divisor": 7, "low": 0, "high": 15}}
tb = spec("tb", 1, [1, 2], [1, 1], {"kind": "discrete", "size": 2, "mask": "none"})
tb["play"] = {"kind": "table", "names": ["force"], "units": ["N"], "values": [-10, 10]}
gs = spec("gs", 2, [2, 1], [2, 1], {"kind": "box", "size": 1, "low": [-1], "high": [1], "mask": "none"})
gs["play"] = {"kind": "raw", "rule": "sample", "names": ["a"], "units": ["fraction"], "soc_range": {"obs": 0, "tol": 0}}
policy("np-described.npz", [lv, tf, tb, gs])
np.savez_compressed(os.path.join(OUT, "np-dtypes.npz"), a=np.arange(6, dtype="<f4").reshape(2, 3),
                    b=np.arange(3, dtype="<f2"), c=np.arange(2, dtype="<f8"), d=np.arange(2, dtype="<i8"),
                    e=np.arange(2, dtype="<u8"), f=np.arange(2, dtype="|u1"), g=np.arange(2, dtype="<i4"),
                    s=np.float64(1.5), z=np.zeros((0,), dtype="<f4"))
np.savez(os.path.join(OUT, "np-stored-arrays.npz"), a=np.ones((2, 2), dtype="<f8"))
# Old-style .npy v2.0 header inside a zip.
buf = io.BytesIO()
np.lib.format.write_array(buf, np.ones(3, dtype="<f4"), version=(2, 0))
with zipfile.ZipFile(os.path.join(OUT, "np-v2-header.npz"), "w", compression=zipfile.ZIP_DEFLATED) as zf:
    zf.writestr("v.npy", buf.getvalue())
with open(os.path.join(OUT, "text.txt"), "w") as f:
    f.write("not a zip file\n")
with open(os.path.join(OUT, "empty"), "wb") as f:
    pass
with open(os.path.join(OUT, "json-deep.json"), "w") as f:
    f.write("[" * 40 + "]" * 40)
with open(os.path.join(OUT, "json-ok.json"), "w") as f:
    f.write('{"a": [1, -2.5e+3, "x\\u00e9\\ud83d\\ude00\\n", true, false, null, {}]}')
print("seeds written to", OUT)
