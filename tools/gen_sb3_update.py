#!/usr/bin/python3
"""gen_sb3_update.py: whole PPO updates run by Stable-Baselines3 2.3.2 itself, for tests/test_ppo.c.

    /usr/bin/python3 tools/gen_sb3_update.py SB3_DIR GYMNASIUM_DIR    -> tests/data/ppo/update_<case>.txt

SB3_DIR and GYMNASIUM_DIR are checkouts of stable-baselines3 2.3.2 and Gymnasium 0.29.1 (not part
of this project; nothing here refers to them by default). Debian's python3-torch and python3-numpy
run it. The output files are committed: the C test needs neither SB3 nor torch.

Legend: N envs, T n_steps, R = T * N rows, O obs size, A action floats, K head width, E epochs,
P parameters.

For each case: a PPO model built by SB3 (MlpPolicy, tanh, separate pi and vf nets) gets our
initial parameters and a rollout buffer filled directly (observations, actions, old values,
old log-probs, advantages, returns), then SB3's own PPO.train() runs once: E epochs of shuffled
minibatches, advantage normalisation per minibatch, clipped surrogate, optional value clipping,
entropy bonus, gradient-norm clipping, Adam (eps 1e-5), the learning-rate and clip-range
schedules at the given progress_remaining, and the target_kl early stop. The file holds the
parameters after it, the statistics SB3 logs, and the permutations SB3 drew (numpy's
np.random.permutation, recorded by wrapping it), which the C test feeds to our update.

The reference run is SB3 in float64 (the policy .double(), the buffer arrays float64) on inputs
that are exactly float32 values; SB3's ordinary float32 run is also made and its distance from
the reference printed, for information. A case is redrawn (next seed) unless every decision the
update takes has a margin in the reference run: each ratio at least 1e-4 from 1 +- clip, each
value change at least 1e-4 from +- clip_vf, each minibatch's approx_kl at least 1% from
1.5 target_kl. Float32 arithmetic (ours or SB3's) then cannot take another branch.

Row order: SB3's buffer flattens (T, N) env-major (row n T + t); ours is step-major (t N + n).
The file is in our order, and the permutations are mapped to it.

Masked categorical: SB3 has no action masking. sb3-contrib's MaskablePPO.train() is PPO.train()
with the mask passed to evaluate_actions; its distribution (MaskableCategorical) replaces the
logits of invalid actions by -1e8 before the softmax and sums the entropy over valid actions
only. Here SB3's PPO.train() runs unchanged with the policy's evaluate_actions replaced by one
that applies that rule with the minibatch's masks (the buffer's _get_samples is wrapped to say
which rows the minibatch holds). (MaskablePPO normalises even a one-row minibatch's advantages,
giving NaN where SB3's PPO skips it; the masked cases avoid one-row minibatches.)
"""
import math
import os
import sys

if len(sys.argv) != 3:
    sys.exit("usage: gen_sb3_update.py SB3_DIR GYMNASIUM_DIR (stable-baselines3 2.3.2, Gymnasium 0.29.1)")
sys.path[:0] = [os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])]

import numpy as np  # noqa: E402
import torch as th  # noqa: E402
import gymnasium as gym  # noqa: E402
import stable_baselines3  # noqa: E402
import stable_baselines3.common.policies as sb3_policies  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

OUT_DIR = os.path.join("tests", "data", "ppo")
RATIO_MARGIN = 1e-4
KL_MARGIN = 0.01


class Case:
    def __init__(self, name, seed, kind, obs_dim, arch, n_envs, n_steps, batch, n_epochs, lr, lr_linear, clip,
                 clip_linear, clip_vf, ent_coef, vf_coef, max_grad_norm, progress, target_kl_at=None, K=0, A=0,
                 mask_kind=None, normalize_advantage=True, log_ratio=0.3):
        self.__dict__.update(locals())
        del self.__dict__["self"]
        self.R = n_steps * n_envs
        if kind == "box":
            self.K = A
        else:
            self.A = 1


# target_kl_at (epoch, minibatch): the minibatch at which the case's target_kl must stop the
# update (the generator sets target_kl between that minibatch's approx_kl and the largest before).
CASES = [
    # 10 epochs of 5 minibatches (four of 10 rows, one of 8), constant lr and clip.
    Case("update_gauss", 101, "box", 3, [8, 8], 2, 24, 10, 10, 1e-3, False, 0.2, False, 0.0, 0.01, 0.5, 0.5,
         0.7, A=2),
    # One env, minibatches of 10 and a last one of 1 row (SB3 does not normalise its advantage),
    # linear lr and clip schedules at progress 0.55, value clipping, and target_kl stopping the
    # update in its fourth epoch.
    Case("update_gauss_sched_kl", 102, "box", 3, [8, 8], 1, 41, 10, 10, 2e-3, True, 0.25, True, 0.3, 0.0, 0.5,
         0.5, 0.55, target_kl_at=(3, 2), A=2),
    # The aggregators' head: 201 levels with the game's SoC masks, the game's nets [18, 36] and
    # ent_coef; minibatches of 12 and a last one of 2.
    Case("update_masked201", 103, "discrete", 4, [18, 36], 2, 25, 12, 10, 1e-3, False, 0.2, False, 0.0, 0.01,
         0.5, 0.5, 0.8, K=201, mask_kind="soc"),
    # 33 levels with random masks, linear schedules, value clipping, target_kl stopping in the
    # third epoch.
    Case("update_masked33_sched_kl", 104, "discrete", 3, [8, 8], 1, 40, 16, 10, 2e-3, True, 0.2, True, 0.2,
         0.02, 0.5, 0.5, 0.4, target_kl_at=(2, 1), K=33, mask_kind="random"),
]


def soc_mask(soc, K, tol=1e-9):
    """The game's rule (as tools/gen_ppo_reference.py): level a_k = -1 + 2k/(K-1) is feasible iff
    -soc <= a_k <= 1 - soc."""
    a = -1.0 + 2.0 * np.arange(K) / (K - 1)
    return ((a >= -soc - tol) & (a <= 1.0 - soc + tol)).astype(np.uint8)


class NullEnv(gym.Env):
    """Only its spaces matter: the buffer is filled directly and train() never steps an env."""

    def __init__(self, c):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (c.obs_dim,), np.float32)
        if c.kind == "box":
            self.action_space = gym.spaces.Box(-1.0, 1.0, (c.A,), np.float32)
        else:
            self.action_space = gym.spaces.Discrete(c.K)
        self.obs_dim = c.obs_dim

    def reset(self, seed=None, options=None):
        return np.zeros(self.obs_dim, np.float32), {}

    def step(self, action):
        return np.zeros(self.obs_dim, np.float32), 0.0, False, False, {}


def layer_shapes(n_in, arch, n_out):
    sizes = [n_in] + list(arch) + [n_out]
    return [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]


def sb3_layers(policy):
    """SB3's Linear modules in our flat order: pi hidden layers, action_net, vf hidden layers,
    value_net (then log_std for Box)."""
    pi = [m for m in policy.mlp_extractor.policy_net if isinstance(m, th.nn.Linear)] + [policy.action_net]
    vf = [m for m in policy.mlp_extractor.value_net if isinstance(m, th.nn.Linear)] + [policy.value_net]
    return pi + vf


def set_flat(policy, c, flat):
    off = 0
    with th.no_grad():
        for lin in sb3_layers(policy):
            o, i = lin.weight.shape
            lin.weight.copy_(th.tensor(flat[off:off + o * i].reshape(o, i)))
            off += o * i
            lin.bias.copy_(th.tensor(flat[off:off + o]))
            off += o
        if c.kind == "box":
            policy.log_std.copy_(th.tensor(flat[off:off + c.A]))
            off += c.A
    assert off == flat.size


def get_flat(policy, c):
    parts = []
    for lin in sb3_layers(policy):
        parts += [lin.weight.detach().numpy().ravel(), lin.bias.detach().numpy().ravel()]
    if c.kind == "box":
        parts.append(policy.log_std.detach().numpy().ravel())
    return np.concatenate(parts).astype(np.float64)


def n_params(c):
    n = 0
    for shapes in (layer_shapes(c.obs_dim, c.arch, c.K), layer_shapes(c.obs_dim, c.arch, 1)):
        n += sum(o * i + o for o, i in shapes)
    return n + (c.A if c.kind == "box" else 0)


def masked_dist(logits, mask):
    """sb3-contrib's MaskableCategorical: (distribution, entropy over the valid actions)."""
    m = th.as_tensor(mask).bool()
    d = th.distributions.Categorical(logits=th.where(m, logits, th.tensor(-1e8, dtype=logits.dtype)))
    return d, -th.where(m, d.logits * d.probs, th.tensor(0.0, dtype=logits.dtype)).sum(-1)


def make_model(c, target_kl, dtype):
    venv = DummyVecEnv([lambda: NullEnv(c) for _ in range(c.n_envs)])
    lr0, clip0 = c.lr, c.clip
    model = PPO("MlpPolicy", venv, n_steps=c.n_steps, batch_size=c.batch, n_epochs=c.n_epochs,
                learning_rate=(lambda f: f * lr0) if c.lr_linear else lr0,
                clip_range=(lambda f: f * clip0) if c.clip_linear else clip0,
                clip_range_vf=c.clip_vf if c.clip_vf > 0 else None, ent_coef=c.ent_coef, vf_coef=c.vf_coef,
                max_grad_norm=c.max_grad_norm, target_kl=target_kl, normalize_advantage=c.normalize_advantage,
                policy_kwargs=dict(net_arch=dict(pi=list(c.arch), vf=list(c.arch)), activation_fn=th.nn.Tanh),
                device="cpu", seed=0)
    model.set_logger(configure(None, []))
    if dtype == th.float64:
        model.policy.double()  # in place: the optimiser keeps the same Parameter objects
    return model


def draw(c, rng):
    """Initial parameters (float32) and a rollout in our row order (t N + n)."""
    flat = rng.normal(0.0, 0.5, size=n_params(c)).astype(np.float32)
    if c.kind == "box":
        flat[-c.A:] = rng.uniform(-0.7, 0.0, size=c.A).astype(np.float32)
    R, K = c.R, c.K
    obs = rng.normal(0.0, 1.0, size=(R, c.obs_dim)).astype(np.float32)
    mask = None
    if c.kind != "box":
        if c.mask_kind == "soc":
            mask = np.stack([soc_mask(float(s), K) for s in rng.uniform(0.0, 1.0, size=R)])
            mask[0], mask[1] = soc_mask(1.0, K), soc_mask(0.0, K)
        else:
            mask = (rng.uniform(size=(R, K)) < 0.5).astype(np.uint8)
            mask[np.arange(R), rng.integers(0, K, size=R)] = 1
            mask[0] = 0
            mask[0, K - 1] = 1  # one row with a single valid level
    # The old policy's actions, log-probs and values, as a rollout with these parameters would
    # have recorded them; log-probs then moved by up to +-log_ratio so clipping acts from the first
    # epoch on.
    model = make_model(c, None, th.float64)
    set_flat(model.policy, c, flat.astype(np.float64))
    with th.no_grad():
        x = th.tensor(obs, dtype=th.float64)
        lat_pi = model.policy.mlp_extractor.forward_actor(x)
        lat_vf = model.policy.mlp_extractor.forward_critic(x)
        head = model.policy.action_net(lat_pi)
        values = model.policy.value_net(lat_vf).flatten().numpy()
        if c.kind == "box":
            std = model.policy.log_std.exp()
            act = (head + std * th.tensor(rng.normal(size=(R, c.A)))).numpy().astype(np.float32)
            logp = th.distributions.Normal(head, std).log_prob(th.tensor(act, dtype=th.float64)).sum(1)
        else:
            d, _ = masked_dist(head, mask)
            p = d.probs.numpy()
            act = np.array([[rng.choice(K, p=p[r] / p[r].sum())] for r in range(R)], dtype=np.float32)
            logp = d.log_prob(th.tensor(act[:, 0], dtype=th.long))
    old_logp = (logp.numpy() - rng.uniform(-c.log_ratio, c.log_ratio, size=R)).astype(np.float32)
    old_val = (values + rng.normal(0.0, 0.2, size=R)).astype(np.float32)
    adv = rng.normal(0.3, 2.0, size=R).astype(np.float32)
    ret = (adv + old_val).astype(np.float32)
    return flat, dict(obs=obs, act=act, mask=mask, old_logp=old_logp, old_val=old_val, adv=adv, ret=ret)


def sb3_rows(c):
    """ours[s]: our row of SB3's flattened row s = n T + t."""
    s = np.arange(c.R)
    return (s % c.n_steps) * c.n_envs + s // c.n_steps


def run_sb3(c, flat, b, target_kl, dtype, perm_seed):
    """SB3's train() once. Returns parameters after, logged stats, permutations (SB3 rows), and a
    trace per evaluated minibatch (ratios, value changes, approx_kl) from the reference run."""
    model = make_model(c, target_kl, dtype)
    set_flat(model.policy, c, flat.astype(np.float64))
    npdt = np.float64 if dtype == th.float64 else np.float32
    buf = model.rollout_buffer
    T, N = c.n_steps, c.n_envs

    def tn(v):
        """The buffer's arrays are (T, N, ...): our row t N + n is element [t, n]."""
        return v.reshape(T, N, *v.shape[1:])

    buf.observations = tn(b["obs"]).astype(npdt)
    buf.actions = tn(b["act"]).astype(npdt)
    buf.values = tn(b["old_val"]).astype(npdt)
    buf.log_probs = tn(b["old_logp"]).astype(npdt)
    buf.advantages = tn(b["adv"]).astype(npdt)
    buf.returns = tn(b["ret"]).astype(npdt)
    buf.rewards = np.zeros((T, N), npdt)
    buf.episode_starts = np.zeros((T, N), npdt)
    buf.full, buf.pos, buf.generator_ready = True, T, False
    mask_flat = tn(b["mask"]).swapaxes(0, 1).reshape(c.R, c.K) if b["mask"] is not None else None

    state = {}
    trace = []
    orig_samples = buf._get_samples

    def get_samples(batch_inds, env=None):
        state["inds"] = batch_inds
        return orig_samples(batch_inds, env)

    buf._get_samples = get_samples
    policy = model.policy
    orig_eval = policy.evaluate_actions

    def evaluate_actions(obs, actions):
        if mask_flat is None:
            values, log_prob, entropy = orig_eval(obs, actions)
        else:
            # ActorCriticPolicy.evaluate_actions with MaskableCategorical in place of Categorical
            lat_pi, lat_vf = policy.mlp_extractor(policy.extract_features(obs))
            d, entropy = masked_dist(policy.action_net(lat_pi), mask_flat[state["inds"]])
            values, log_prob = policy.value_net(lat_vf), d.log_prob(actions)
        inds = state["inds"]
        old_lp = buf.log_probs[inds].flatten().astype(np.float64)
        lr_ = log_prob.detach().numpy().astype(np.float64) - old_lp
        dv = values.detach().numpy().flatten().astype(np.float64) - buf.values[inds].flatten()
        trace.append(dict(ratio=np.exp(lr_), dv=dv, kl=float(np.mean(np.expm1(lr_) - lr_))))
        return values, log_prob, entropy

    policy.evaluate_actions = evaluate_actions
    perms = []
    orig_perm = np.random.permutation

    def permutation(n):
        p = orig_perm(n)
        perms.append(p.copy())
        return p

    # SB3's preprocess_obs casts Box observations to float32 (.float()); the float64 run keeps
    # them float64 (they are float32 values: the cast back is exact).
    orig_pre = sb3_policies.preprocess_obs
    if dtype == th.float64:
        sb3_policies.preprocess_obs = lambda obs, space, normalize_images=True: \
            orig_pre(obs, space, normalize_images).double()
    np.random.seed(perm_seed)
    np.random.permutation = permutation
    try:
        model._current_progress_remaining = c.progress
        model.train()
    finally:
        np.random.permutation = orig_perm
        sb3_policies.preprocess_obs = orig_pre
    log = model.logger.name_to_value
    stats = dict(n_updates=model._n_updates, policy_loss=log["train/policy_gradient_loss"],
                 value_loss=log["train/value_loss"], entropy_loss=log["train/entropy_loss"],
                 approx_kl=log["train/approx_kl"], clip_fraction=log["train/clip_fraction"],
                 loss=log["train/loss"], explained_variance=log["train/explained_variance"],
                 std=log.get("train/std", math.nan), learning_rate=log["train/learning_rate"],
                 clip_range=log["train/clip_range"])
    return get_flat(policy, c), stats, perms, trace


def margins(c, trace, target_kl):
    """The smallest distances of the run's decisions from their thresholds."""
    clip = c.clip * (c.progress if c.clip_linear else 1.0)
    m = dict(ratio=min(np.min(np.abs(np.abs(t["ratio"] - 1.0) - clip)) for t in trace))
    m["vf"] = min(np.min(np.abs(np.abs(t["dv"]) - c.clip_vf)) for t in trace) if c.clip_vf > 0 else math.inf
    m["kl"] = (min(abs(t["kl"] / (1.5 * target_kl) - 1.0) for t in trace) if target_kl else math.inf)
    m["clipped"] = sum(int(np.sum(np.abs(t["ratio"] - 1.0) > clip)) for t in trace) / sum(t["ratio"].size
                                                                                          for t in trace)
    return m


def fmt(v, spec="%.9g"):
    return " ".join(spec % x for x in np.asarray(v, dtype=np.float64).ravel())


def write_case(c, flat, b, perms, target_kl, after, stats, n_steps_taken, path):
    ours = sb3_rows(c)
    lines = ["# One PPO update by stable-baselines3 %s (torch %s, float64 on float32 inputs): tools/gen_sb3_update.py"
             % (stable_baselines3.__version__, th.__version__),
             "# case %s; rows in our order (t * n_envs + n); perms: SB3's permutations mapped to our rows" % c.name]

    def sec(name, values, spec="%.9g"):
        values = np.asarray(values, dtype=np.float64).ravel()
        lines.append("%s %d" % (name, values.size))
        lines.append(fmt(values, spec) if values.size else "")

    kind = {"box": 0, "discrete": 1}[c.kind]
    sec("space", [kind, c.A, c.K, int(b["mask"] is not None)])
    sec("obs_dim", [c.obs_dim])
    sec("arch", c.arch)
    sec("envs_steps", [c.n_envs, c.n_steps])
    sec("config", [c.lr, int(c.lr_linear), c.clip, int(c.clip_linear), c.clip_vf, c.ent_coef, c.vf_coef,
                   c.max_grad_norm, target_kl or 0.0, c.n_epochs, c.batch, int(c.normalize_advantage)])
    sec("progress", [c.progress], "%.17g")
    sec("params", flat)
    for k in ("obs", "act", "old_logp", "adv", "ret", "old_val"):
        sec(k, b[k])
    sec("mask", b["mask"] if b["mask"] is not None else [])
    sec("perms", np.concatenate([ours[p] for p in perms]))
    sec("optimizer_steps", [n_steps_taken])
    sec("params_after", after, "%.12g")
    sec("stats", [stats[k] for k in ("n_updates", "policy_loss", "value_loss", "entropy_loss", "approx_kl",
                                     "clip_fraction", "loss", "explained_variance", "std", "learning_rate",
                                     "clip_range")], "%.12g")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    th.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for c in CASES:
        for attempt in range(200):
            seed = c.seed * 1000 + attempt
            rng = np.random.default_rng(seed)
            flat, b = draw(c, rng)
            target_kl = None
            _, _, _, trace = run_sb3(c, flat, b, None, th.float64, seed)
            if c.target_kl_at is not None:
                per_epoch = -(-c.R // c.batch)
                j = c.target_kl_at[0] * per_epoch + c.target_kl_at[1]
                before = max(t["kl"] for t in trace[:j])
                if not trace[j]["kl"] > before * 1.05:
                    continue
                target_kl = math.sqrt(before * trace[j]["kl"]) / 1.5
            after, stats, perms, trace = run_sb3(c, flat, b, target_kl, th.float64, seed)
            m = margins(c, trace, target_kl)
            if m["ratio"] < RATIO_MARGIN or m["vf"] < RATIO_MARGIN or m["kl"] < KL_MARGIN:
                continue
            if c.target_kl_at is not None and len(trace) != j + 1:
                continue
            break
        else:
            sys.exit("%s: no draw left every decision a margin" % c.name)
        n_taken = len(trace) - (1 if target_kl else 0)
        after32, _, perms32, _ = run_sb3(c, flat, b, target_kl, th.float32, seed)
        assert all(np.array_equal(p, q) for p, q in zip(perms, perms32))
        delta = after - flat
        dev32 = np.max(np.abs(after32 - after)) / np.max(np.abs(delta))
        path = os.path.join(OUT_DIR, c.name + ".txt")
        write_case(c, flat, b, perms, target_kl, after, stats, n_taken, path)
        print("%-26s seed %d: P %d, %d epochs begun, %d optimiser steps, clipped ratios %.0f%%, margins ratio %.1e "
              "vf %.1e kl %.2f; |delta| max %.3g; SB3 float32 vs float64: %.1e of max |delta|  -> %s"
              % (c.name, seed, flat.size, stats["n_updates"], n_taken, 100 * m["clipped"], m["ratio"], m["vf"],
                 m["kl"], np.max(np.abs(delta)), dev32, path))


if __name__ == "__main__":
    main()
