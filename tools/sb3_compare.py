#!/usr/bin/python3
"""sb3_compare.py: our PPO against Stable-Baselines3 2.3.2 on the same single-agent config, side by side.

Usage (Debian's python3 with python3-torch; SB3 and Gymnasium from their source trees):

    /usr/bin/python3 tools/sb3_compare.py --sb3 PATH/stable-baselines3 --gymnasium PATH/Gymnasium \\
        [--config configs/bench/pendulum-paper.yaml] [--runs 3] [--sb3-steps N] [--bin bin/stackelberg ...]

It reads the config (the keys of src/config/single_config.h: env, seed, n_envs, total_timesteps and
SB3's PPO keys and policy_kwargs), builds SB3's PPO("MlpPolicy", ...) with the same hyperparameters
and networks on the same Gymnasium environment, single-threaded (torch.set_num_threads(1), and
OMP/MKL/OpenBLAS at one thread), and times its learn() against `bin/stackelberg train CONFIG`, run
alternately (SB3, ours, SB3, ours, ...) so that both see the same load (with several --bin, each
round runs SB3 and then every binary). Each SB3 run is a fresh
child process. Printed: every run, the medians and their ratio, in env steps per second of wall
time (training only on both sides: our summary.json's steps_per_s, SB3's learn()) and per CPU
second (SB3: process time of learn(); ours: the child's CPU time for the whole command, which also
covers start-up and the final evaluation episodes, so that ratio errs against us).

--sb3-steps shortens SB3's runs (default: the config's total_timesteps): its rate per step is
steady after the first rollout, and a full run takes about a minute.

Legend: N env steps, R runs per side. Exit status 2 on a bad argument or an unsupported config key.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# Config keys this comparison maps onto SB3 (the rest of single_config.h's keys are ours only).
PPO_KEYS = ("learning_rate", "n_steps", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range",
            "clip_range_vf", "normalize_advantage", "ent_coef", "vf_coef", "max_grad_norm", "target_kl")
OURS_ONLY = ("eval_episodes", "blas_threads", "reset_num_timesteps")
TOP_KEYS = ("env", "seed", "n_envs", "total_timesteps", "policy_kwargs", "normalize") + PPO_KEYS + OURS_ONLY
POLICY_KEYS = ("net_arch", "activation_fn", "log_std_init", "ortho_init")


def fail(msg):
    print("sb3_compare: " + msg, file=sys.stderr)
    sys.exit(2)


def read_config(path):
    import yaml  # Debian python3-yaml
    try:
        with open(path) as f:
            cfg = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        fail("%s: %s" % (path, e))
    if not isinstance(cfg, dict):
        fail("%s: expected a mapping at the top level" % path)
    for k in cfg:
        if k not in TOP_KEYS:
            fail("%s: %s: not supported by this comparison" % (path, k))
    for k in cfg.get("policy_kwargs") or {}:
        if k not in POLICY_KEYS:
            fail("%s: policy_kwargs.%s: not supported by this comparison" % (path, k))
    for k in ("learning_rate", "clip_range"):
        if isinstance(cfg.get(k), str):
            fail("%s: %s: schedules (lin_X) are not supported by this comparison" % (path, k))
    if "env" not in cfg:
        fail("%s: env: missing" % path)
    return cfg


# ---- the SB3 side (a child process with SB3 and Gymnasium on its path) ----

def sb3_child(config, steps):
    import torch
    torch.set_num_threads(1)
    import gymnasium
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    cfg = read_config(config)
    seed = int(cfg.get("seed", 0))
    env = make_vec_env(cfg["env"], n_envs=int(cfg.get("n_envs", 1)), seed=seed)
    norm = cfg.get("normalize")
    if norm:
        kw = norm if isinstance(norm, dict) else {}
        env = VecNormalize(env, norm_obs=kw.get("norm_obs", True), norm_reward=kw.get("norm_reward", True),
                           clip_obs=kw.get("clip_obs", 10.0), clip_reward=kw.get("clip_reward", 10.0),
                           gamma=float(cfg.get("gamma", 0.99)))
    pk = dict(cfg.get("policy_kwargs") or {})
    act = str(pk.pop("activation_fn", "tanh")).lower()
    pk["activation_fn"] = torch.nn.ReLU if act in ("relu", "nn.relu") else torch.nn.Tanh
    kwargs = {k: cfg[k] for k in PPO_KEYS if k in cfg}
    model = PPO("MlpPolicy", env, policy_kwargs=pk, seed=seed, device="cpu", verbose=0, **kwargs)
    w0, c0 = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=steps)
    w, c = time.perf_counter() - w0, time.process_time() - c0
    print(json.dumps({"steps": int(model.num_timesteps), "wall_s": w, "cpu_s": c, "torch": torch.__version__,
                      "gymnasium": gymnasium.__version__}))


def run_sb3(args, steps):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([args.sb3, args.gymnasium]))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--config", args.config,
                          "--sb3-steps", str(steps)], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("sb3_compare: the SB3 run failed:\n" + out.stderr[-3000:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"sps": r["steps"] / r["wall_s"], "cpu_sps": r["steps"] / r["cpu_s"], "steps": r["steps"],
            "versions": "torch %s, gymnasium %s" % (r["torch"], r["gymnasium"])}


# ---- our side ----

def run_ours(args, binary):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as d:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([binary, "train", args.config, "--out", os.path.join(d, "run"), "--quiet"], env=env,
                             capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if out.returncode != 0:
            sys.exit("sb3_compare: %s train failed:\n%s" % (binary, out.stderr[-3000:]))
        with open(os.path.join(d, "run", "summary.json")) as f:
            s = json.load(f)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"sps": s["steps_per_s"], "cpu_sps": s["env_steps"] / cpu, "steps": s["env_steps"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--sb3", help="path of Stable-Baselines3's source tree (the directory holding stable_baselines3/)")
    ap.add_argument("--gymnasium", help="path of Gymnasium's source tree (the directory holding gymnasium/)")
    ap.add_argument("--config", default="configs/bench/pendulum-paper.yaml")
    ap.add_argument("--bin", action="append", help="our binary (default bin/stackelberg); repeat it to time "
                    "several builds in the same rounds (e.g. before and after a change)")
    ap.add_argument("--runs", type=int, default=3, help="runs per side, alternated (default 3)")
    ap.add_argument("--sb3-steps", type=int, default=0, help="SB3's total_timesteps (default: the config's)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sb3_child(args.config, args.sb3_steps)
        return
    if not args.sb3 or not args.gymnasium:
        ap.error("--sb3 and --gymnasium are required (the paths of their source trees)")
    for p, what in ((args.sb3, "stable_baselines3"), (args.gymnasium, "gymnasium")):
        if not os.path.isdir(os.path.join(p, what)):
            ap.error("%s: no %s/ package directory there" % (p, what))
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    args.bin = args.bin or ["bin/stackelberg"]
    for b in args.bin:
        if not os.access(b, os.X_OK):
            ap.error("%s: not an executable (run make first)" % b)
    cfg = read_config(args.config)
    steps = args.sb3_steps or int(cfg.get("total_timesteps", 0))
    if steps < 1:
        ap.error("the config has no total_timesteps: give --sb3-steps")

    print("config %s: env %s, n_steps %s, batch %s, epochs %s, net_arch %s; SB3 %d steps per run, ours %s"
          % (args.config, cfg["env"], cfg.get("n_steps", 2048), cfg.get("batch_size", 64), cfg.get("n_epochs", 10),
             (cfg.get("policy_kwargs") or {}).get("net_arch", "default"), steps, cfg.get("total_timesteps")))
    sb3, ours = [], {b: [] for b in args.bin}
    for i in range(args.runs):
        sb3.append(run_sb3(args, steps))
        print("  run %d: SB3 %9.0f steps/s, %9.0f per CPU second (%s)"
              % (i + 1, sb3[-1]["sps"], sb3[-1]["cpu_sps"], sb3[-1]["versions"]), flush=True)
        for b in args.bin:
            ours[b].append(run_ours(args, b))
            print("  run %d: %s %9.0f steps/s, %9.0f per CPU second" % (i + 1, b, ours[b][-1]["sps"],
                                                                        ours[b][-1]["cpu_sps"]), flush=True)
    med = lambda rs, k: statistics.median(r[k] for r in rs)
    ws, cs = med(sb3, "sps"), med(sb3, "cpu_sps")
    print("medians of %d: SB3 %.0f steps/s, %.0f per CPU second" % (args.runs, ws, cs))
    for b in args.bin:
        wo, co = med(ours[b], "sps"), med(ours[b], "cpu_sps")
        print("  %s: %.0f steps/s: %.1fx SB3 (wall); %.0f per CPU second: %.1fx SB3" % (b, wo, wo / ws, co, co / cs))


if __name__ == "__main__":
    main()
