#!/usr/bin/python3
"""npz_check.py: NumPy's side of the .npz tests (tests/test_npz.c, tests/test_policy.c).

NumPy is the independent reference: it reads what the C writer wrote, writes what the C
reader must read, and recomputes exported policies' forward pass in float64.

  npz_check.py check-c FILE        FILE written by the C test: values and .npy bytes as numpy's
  npz_check.py write-np FILE       write the reference arrays with numpy.savez_compressed
  npz_check.py forward POLICY BIN N SEED
                                   recompute N random observations per agent and compare
                                   with `BIN eval POLICY --json` to 1e-5
  npz_check.py readme README POLICY BIN N SEED
                                   run the README's Python example (the ```python block that
                                   starts with "# played_action.py") as it is written, in a
                                   directory holding POLICY as policies.npz, then compare its
                                   aggregator_action and utility_tariff with `BIN eval --json`'s
                                   played action on N random observations per agent, to 1e-6
Prints "ok ..." and exits 0 on success; prints what differs and exits 1 otherwise.
"""
import io
import json
import subprocess
import sys
import zipfile

import numpy as np


def reference_arrays():
    """The arrays both sides build from the same formulas (see test_npz.c)."""
    return {
        "a": (np.arange(12, dtype=np.float64) * 0.5 - 1.0).astype("<f4").reshape(3, 4),
        "h": np.array([1.0, -2.0, 0.5, 65504.0, 2.0 ** -24], dtype="<f2"),
        "d": (np.arange(8, dtype=np.float64) / 7.0).reshape(2, 2, 2),
        "i": np.array([-1, 2 ** 40, 7], dtype="<i8"),
        "u": np.array([2 ** 63 + 5], dtype="<u8"),
        "b": np.array([0, 1, 254, 255], dtype="|u1"),
        "s": np.array(np.pi, dtype="<f8"),
        "e": np.zeros((0, 3), dtype="<f4"),
    }


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def check_c(path):
    ref = reference_arrays()
    with np.load(path) as z:
        names = sorted(z.files)
        want = sorted(list(ref) + ["meta.json"])
        if names != want:
            fail("members %s, expected %s" % (names, want))
        for k, v in ref.items():
            got = z[k]
            if got.dtype != v.dtype or got.shape != v.shape:
                fail("%s: %s %s, expected %s %s" % (k, got.dtype, got.shape, v.dtype, v.shape))
            if got.tobytes() != v.tobytes():
                fail("%s: values differ: %r vs %r" % (k, got, v))
        meta = json.loads(bytes(z["meta.json"]).decode())
        if meta != {"x": 1, "name": "caf\u00e9"}:
            fail("meta.json: %r" % meta)
    with zipfile.ZipFile(path) as zf:
        if zf.testzip() is not None:
            fail("zip CRC check failed")
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_DEFLATED:
                fail("%s is not deflated" % info.filename)
        # Each .npy member is byte for byte what numpy's own writer produces.
        for k, v in ref.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, v)
            if zf.read(k + ".npy") != buf.getvalue():
                fail("%s.npy: bytes differ from numpy.lib.format.write_array" % k)
    print("ok check-c", len(ref), "arrays")


def write_np(path):
    arrays = reference_arrays()
    np.savez_compressed(path, **arrays)
    # A raw (non-.npy) member, as our meta.json: appended with zipfile, deflated.
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps({"x": 1, "name": "caf\u00e9"}))
    print("ok write-np", path)


def forward(weights, bias, x, relu):
    h = x
    for l, (w, b) in enumerate(zip(weights, bias)):
        h = w @ h + b
        if l + 1 < len(weights):
            h = np.maximum(h, 0.0) if relu else np.tanh(h)
    return h


def check_forward(path, binary, n, seed):
    rng = np.random.default_rng(seed)
    worst = 0.0
    count = 0
    with np.load(path) as z:
        meta = json.loads(bytes(z["meta.json"]).decode())
        if meta["format"] != "stackelberg-policy" or meta["version"] != 1:
            fail("meta.json format/version")
        for spec in meta["policies"]:
            name = spec["name"]
            get = lambda what: z["%s.%s" % (name, what)].astype(np.float64)
            pi = [(get("pi.%d.weight" % l), get("pi.%d.bias" % l)) for l in range(len(spec["pi_sizes"]) - 1)]
            vf = [(get("vf.%d.weight" % l), get("vf.%d.bias" % l)) for l in range(len(spec["vf_sizes"]) - 1)]
            for l, (w, b) in enumerate(pi):
                if w.shape != (spec["pi_sizes"][l + 1], spec["pi_sizes"][l]):
                    fail("%s.pi.%d.weight shape %s" % (name, l, w.shape))
            relu = spec["activation"] == "relu"
            act = spec["action"]
            norm = spec["normalize_obs"]
            if norm:
                mean, var = get("obs_mean"), get("obs_var")
            for _ in range(n):
                obs = rng.normal(size=spec["obs_dim"]) * 3.0
                x = obs
                if norm:
                    x = np.clip((obs - mean) / np.sqrt(var + spec["obs_eps"]), -spec["clip_obs"], spec["clip_obs"])
                head = forward([w for w, _ in pi], [b for _, b in pi], x, relu)
                value = forward([w for w, _ in vf], [b for _, b in vf], x, relu)[0]
                cmd = [binary, "eval", path, "--agent", name, "--json",
                       "--obs", ",".join(repr(float(v)) for v in obs)]
                mask = None
                if act["kind"] == "discrete":
                    mask = (rng.random(act["size"]) < 0.7).astype(int)
                    mask[rng.integers(act["size"])] = 1
                    cmd += ["--mask", ",".join(str(int(m)) for m in mask)]
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    fail("eval exited %d: %s" % (res.returncode, res.stderr))
                out = json.loads(res.stdout)
                checks = [("value", np.array([value]), np.array([out["value"]]))]
                if act["kind"] == "box":
                    low, high = np.array(act["low"]), np.array(act["high"])
                    std = np.exp(get("log_std"))
                    checks += [("mean", head, np.array(out["mean"])), ("std", std, np.array(out["std"])),
                               ("raw_action", np.clip(head, low, high), np.array(out["raw_action"]))]
                else:
                    logits = np.where(mask == 1, head, -np.inf)
                    p = np.exp(logits - logits.max())
                    p /= p.sum()
                    checks += [("probs", p, np.array(out["probs"]))]
                    if int(np.argmax(logits)) != out["raw_action"]:
                        fail("%s: raw_action %d, numpy argmax %d" % (name, out["raw_action"], int(np.argmax(logits))))
                for key, want, got in checks:
                    if want.shape != got.shape:
                        fail("%s: %s has shape %s, numpy %s" % (name, key, got.shape, want.shape))
                    d = float(np.max(np.abs(want - got) / np.maximum(1.0, np.abs(want))))
                    worst = max(worst, d)
                    if d > 1e-5:
                        fail("%s: %s differs by %g: eval %r numpy %r" % (name, key, d, got, want))
                count += 1
    print("ok forward: %d evaluations, max relative difference %.3g" % (count, worst))


def readme_example(readme):
    """The README's example code, exactly as written there."""
    text = open(readme, encoding="utf-8").read()
    marker = "```python\n# played_action.py"
    start = text.find(marker)
    if start < 0:
        fail("%s: no ```python block starting with '# played_action.py'" % readme)
    start += len("```python\n")
    end = text.find("\n```", start)
    return text[start:end + 1]


def eval_json(binary, path, agent, obs):
    cmd = [binary, "eval", path, "--agent", agent, "--json", "--obs", ",".join(repr(float(v)) for v in obs)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        fail("eval exited %d: %s" % (res.returncode, res.stderr))
    return json.loads(res.stdout)


def check_readme(readme, path, binary, n, seed):
    import os
    import tempfile
    code = readme_example(readme)
    path = os.path.abspath(path)
    ns = {"__name__": "readme_example"}
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(path, os.path.join(tmp, "policies.npz"))
        os.chdir(tmp)
        try:  # the whole block, its example calls included
            exec(compile(code, readme + ":played_action.py", "exec"), ns)
        finally:
            os.chdir(cwd)
    rng = np.random.default_rng(seed)
    with np.load(path) as z:
        meta = json.loads(bytes(z["meta.json"]).decode())
    worst, count, seen = 0.0, 0, set()
    for spec in meta["policies"]:
        name, kind = spec["name"], spec.get("play", {}).get("kind")
        if kind not in ("levels", "affine"):
            continue
        seen.add(kind)
        for i in range(n):
            if kind == "levels":
                # belief, hour, net-demand ratio, SoC, alpha_buy, alpha_sell (, progress); SoCs
                # on the level grid and at the ends too, where the mask's tolerance matters
                soc = [0.0, 1.0, 0.37, 0.5, 0.01 * rng.integers(0, 101)][i] if i < 5 else rng.random()
                obs = [rng.uniform(-3, 3), rng.integers(0, 8) / 8, rng.uniform(0.4, 1.0), soc,
                       rng.uniform(0, 0.01), rng.uniform(0, 0.01)]
                obs += [rng.random()] * (spec["obs_dim"] - len(obs))
                want = [ns["aggregator_action"](path, name, obs)]
            else:
                obs = list(rng.normal(size=spec["obs_dim"]) * 3.0)
                want = [v for v, _ in ns["utility_tariff"](path, obs).values()]
            out = eval_json(binary, path, name, obs)
            got = out["played"]
            if got is None or len(got) != len(want):
                fail("%s: eval played %r, the README example %r" % (name, got, want))
            d = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(got, want))
            worst = max(worst, d)
            if d > 1e-6:
                fail("%s: eval played %r, the README example %r (obs %r)" % (name, got, want, obs))
            count += 1
    if seen != {"levels", "affine"}:
        fail("%s: expected aggregators (levels) and a utility (affine), found %s" % (path, sorted(seen)))
    print("ok readme: %d played actions, max difference %.3g" % (count, worst))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "check-c":
        check_c(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "write-np":
        write_np(sys.argv[2])
    elif len(sys.argv) >= 7 and sys.argv[1] == "readme":
        check_readme(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif len(sys.argv) >= 6 and sys.argv[1] == "forward":
        check_forward(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
