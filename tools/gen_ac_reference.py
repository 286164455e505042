#!/usr/bin/python3
"""gen_ac_reference.py: reference updates of the one-step actor-critic (src/rl/ac.h) from PyTorch,
for tests/test_ac.c.

Run from the repository root with Debian's python3-torch (CI does not need torch: the output is
committed):   /usr/bin/python3 tools/gen_ac_reference.py   -> tests/data/ac/<case>.txt

Legend: U updates in a case, O obs size, A action floats, K head width (Discrete: levels; Box: A).

What is computed, for each transition (s, a, r, s', terminal) in turn, with learning rates
lr_actor and lr_critic given per update (written here from ac.h's contract, independently of
ac.c):
    V = critic(s);  V' = critic(s') unless terminal, else 0           (parameters before the update)
    log pi(a | s): sb3-contrib's MaskableCategorical on actor(s) (masked logits -> -1e8), or SB3's
        DiagGaussian Normal(actor(s), exp(log_std)), log-probabilities summed over dims
    target = r - tau log pi(a | s) + gamma V'          (held fixed: detached)
    delta  = target - V                                (held fixed in the actor's loss)
    loss   = (target - V)^2 / 2  +  (-delta log pi(a | s))
    one step of torch.optim.Adam (eps 1e-5, betas 0.9 0.999; param groups: the actor net and
    log_std at lr_actor, the critic at lr_critic) or torch.optim.SGD (no momentum) on the gradient.
The nets are SB3's: Linear + Tanh per hidden layer, a linear head; separate actor and critic.

Everything is float64 on parameters and data drawn as float32 values; our float32 run differs
by rounding only. File format as tools/gen_ppo_reference.py's: '#' comment lines, then
"name count" and count values.
"""
import os

import numpy as np
import torch as th
import torch.nn.functional as F

OUT_DIR = os.path.join("tests", "data", "ac")


class Case:
    def __init__(self, name, seed, kind, obs_dim, pi_arch, vf_arch, gamma, tau, optimizer, updates,
                 n=0, box_dim=0, mask_kind="none", lr_actor=1e-2, lr_critic=3e-2, terminal_every=3, pstd=0.6):
        self.__dict__.update(locals())
        del self.__dict__["self"]
        self.A, self.K = (box_dim, box_dim) if kind == "box" else (1, n)


CASES = [
    # The aggregators' head (201 masked levels, the game's SoC masks), the game's discount and
    # entropy weight, Adam at step sizes c / sqrt(k + 1). Weights of sd 0.3: with 0.6 some
    # hidden units saturate, their gradients fall to ~1e-6, where Adam's step g / (|g| + eps)
    # turns float32 rounding into a 6e-4 relative change (PyTorch's own float32 run included).
    Case("cat201_soc_adam", 61, "discrete", 6, [5, 4], [6, 3], 0.9999, 0.01, "adam", 8, n=201, mask_kind="soc",
         pstd=0.3),
    # A small categorical with random masks, SGD, a large entropy weight and a discount < 1.
    Case("cat9_masked_sgd", 62, "discrete", 3, [5, 4], [6, 3], 0.9, 0.5, "sgd", 8, n=9, mask_kind="random"),
    # No mask at all.
    Case("cat5_adam", 63, "discrete", 3, [4], [5], 0.95, 0.05, "adam", 6, n=5),
    # The utility's head: a 6-dim Gaussian on 12 observations, gamma 0 (ac_smfg's leader).
    Case("gauss6_adam", 64, "box", 12, [6, 5], [6, 5], 0.0, 0.01, "adam", 8, box_dim=6),
    # A Gaussian with bootstrapping and SGD.
    Case("gauss2_sgd", 65, "box", 4, [5, 4], [6, 3], 0.99, 0.2, "sgd", 8, box_dim=2),
]


def layer_shapes(n_in, arch, n_out):
    sizes = [n_in] + list(arch) + [n_out]
    return [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]


def n_net(shapes):
    return sum(o * i + o for o, i in shapes)


def mlp(flat, shapes, x):
    off = 0
    for k, (o, i) in enumerate(shapes):
        W = flat[off:off + o * i].view(o, i)
        off += o * i
        b = flat[off:off + o]
        off += o
        x = F.linear(x, W, b)
        if k < len(shapes) - 1:
            x = th.tanh(x)
    return x


def soc_mask(soc, K, tol=1e-9):
    """The game's mask (src/grid/fleet.c, as tools/gen_ppo_reference.py writes it): level k moves
    a_k = -1 + 2k/(K-1) of the capacity, feasible iff the SoC stays in [0, 1]."""
    a = -1.0 + 2.0 * np.arange(K) / (K - 1)
    return ((a >= -soc - tol) & (a <= 1.0 - soc + tol)).astype(np.uint8)


def f32(x):
    return np.asarray(x, dtype=np.float32)


def draw(c, rng):
    pi_shapes = layer_shapes(c.obs_dim, c.pi_arch, c.K)
    vf_shapes = layer_shapes(c.obs_dim, c.vf_arch, 1)
    pi = f32(rng.normal(0.0, c.pstd, size=n_net(pi_shapes)))
    vf = f32(rng.normal(0.0, c.pstd, size=n_net(vf_shapes)))
    log_std = f32(rng.uniform(-1.2, 0.2, size=c.A)) if c.kind == "box" else f32([])
    U = c.updates
    obs = f32(rng.normal(0.0, 1.0, size=(U, c.obs_dim)))
    nxt = f32(rng.normal(0.0, 1.0, size=(U, c.obs_dim)))
    rew = f32(rng.normal(0.0, 2.0, size=U))
    term = np.array([1 if (u + 1) % c.terminal_every == 0 else 0 for u in range(U)], dtype=np.uint8)
    mask = None
    if c.kind == "box":
        act = f32(rng.normal(0.0, 1.2, size=(U, c.A)))
    else:
        act = np.zeros((U, 1), dtype=np.float32)
        if c.mask_kind != "none":
            mask = np.zeros((U, c.K), dtype=np.uint8)
        for u in range(U):
            if c.mask_kind == "soc":
                m = soc_mask(1.0 if u == 0 else 0.0 if u == 1 else float(rng.uniform()), c.K)
            elif c.mask_kind == "random":
                m = (rng.uniform(size=c.K) < 0.6).astype(np.uint8)
                m[rng.integers(0, c.K)] = 1
            else:
                m = np.ones(c.K, dtype=np.uint8)
            act[u, 0] = rng.choice(np.flatnonzero(m))
            if mask is not None:
                mask[u] = m
    # Step sizes c / sqrt(k + 1), as the game schedules them.
    lra = np.array([c.lr_actor / np.sqrt(k + 1.0) for k in range(U)])
    lrc = np.array([c.lr_critic / np.sqrt(k + 1.0) for k in range(U)])
    return pi_shapes, vf_shapes, pi, vf, log_std, dict(obs=obs, act=act, mask=mask, rew=rew, next=nxt, term=term,
                                                         lra=lra, lrc=lrc)


def log_prob(c, head, log_std, act, mask):
    if c.kind == "box":
        d = th.distributions.Normal(head, th.ones_like(head) * log_std.exp())
        return d.log_prob(act).sum()
    logits = head if mask is None else th.where(mask.bool(), head, th.tensor(-1e8, dtype=head.dtype))
    return th.distributions.Categorical(logits=logits).log_prob(act[0].long())


def run(c, pi_shapes, vf_shapes, pi0, vf0, ls0, t, dt=th.float64):
    pi = th.tensor(pi0, dtype=dt, requires_grad=True)
    vf = th.tensor(vf0, dtype=dt, requires_grad=True)
    groups = [dict(params=[pi], lr=0.0), dict(params=[vf], lr=0.0)]
    ls = None
    if c.kind == "box":
        ls = th.tensor(ls0, dtype=dt, requires_grad=True)
        groups.insert(1, dict(params=[ls], lr=0.0))
    if c.optimizer == "adam":
        opt = th.optim.Adam(groups, lr=0.0, betas=(0.9, 0.999), eps=1e-5)
    else:
        opt = th.optim.SGD(groups, lr=0.0)
    deltas = []
    for u in range(c.updates):
        s = th.tensor(t["obs"][u], dtype=dt)
        s2 = th.tensor(t["next"][u], dtype=dt)
        a = th.tensor(t["act"][u], dtype=dt)
        m = th.tensor(t["mask"][u]) if t["mask"] is not None else None
        v = mlp(vf, vf_shapes, s)[0]
        logp = log_prob(c, mlp(pi, pi_shapes, s), ls, a, m)
        with th.no_grad():
            v_next = 0.0 if t["term"][u] else mlp(vf, vf_shapes, s2)[0]
            target = float(t["rew"][u]) - c.tau * logp + c.gamma * v_next
            delta = target - v
        loss = 0.5 * (target - v) ** 2 - delta * logp
        opt.zero_grad()
        loss.backward()
        for g in opt.param_groups:
            g["lr"] = float(t["lrc"][u]) if g["params"][0] is vf else float(t["lra"][u])
        opt.step()
        deltas.append(float(delta))
    return pi.detach().numpy(), vf.detach().numpy(), (ls.detach().numpy() if ls is not None else np.zeros(0)), deltas


def main():
    th.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for c in CASES:
        rng = np.random.default_rng(c.seed)
        pi_shapes, vf_shapes, pi, vf, ls, t = draw(c, rng)
        pi1, vf1, ls1, deltas = run(c, pi_shapes, vf_shapes, pi, vf, ls, t)
        # PyTorch's own float32 run, for information: how far float32 rounding moves the result.
        p32, v32, _, d32 = run(c, pi_shapes, vf_shapes, pi, vf, ls, t, th.float32)
        dev = max(np.max(np.abs(p32 - pi1) / np.maximum(np.abs(pi1), 0.1)),
                  np.max(np.abs(v32 - vf1) / np.maximum(np.abs(vf1), 0.1)))
        ddev = max(abs(a - b) / max(abs(b), 1e-3) for a, b in zip(d32, deltas))
        lines = ["# one-step actor-critic reference from tools/gen_ac_reference.py (PyTorch %s, float64 on "
                 "float32 data)" % th.__version__,
                 "# case %s: %s, optimizer %s; see the script for the formulas" % (c.name, c.kind, c.optimizer)]

        def sec(name, values, spec="%.9g"):
            values = np.asarray(values, dtype=np.float64).ravel()
            lines.append("%s %d" % (name, values.size))
            lines.append(" ".join(spec % x for x in values))

        sec("space", [0 if c.kind == "box" else 1, c.A, c.K, int(t["mask"] is not None)])
        sec("obs_dim", [c.obs_dim])
        sec("pi_arch", c.pi_arch)
        sec("vf_arch", c.vf_arch)
        sec("coefs", [c.gamma, c.tau, 0 if c.optimizer == "adam" else 1])
        sec("updates", [c.updates])
        sec("pi", pi)
        sec("vf", vf)
        sec("log_std", ls)
        sec("obs", t["obs"])
        sec("act", t["act"])
        sec("mask", t["mask"] if t["mask"] is not None else [])
        sec("reward", t["rew"])
        sec("next_obs", t["next"])
        sec("terminal", t["term"])
        sec("lr_actor", t["lra"], "%.17g")
        sec("lr_critic", t["lrc"], "%.17g")
        sec("delta", deltas, "%.15g")
        sec("pi_after", pi1, "%.15g")
        sec("vf_after", vf1, "%.15g")
        sec("log_std_after", ls1, "%.15g")
        path = os.path.join(OUT_DIR, c.name + ".txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        moved = max(np.max(np.abs(pi1 - pi)), np.max(np.abs(vf1 - vf)))
        print("%-18s U %d  deltas %s  largest move %.3g  float32 vs float64: params %.2e deltas %.2e  -> %s"
              % (c.name, c.updates, " ".join("%+.3f" % d for d in deltas), moved, dev, ddev, path))


if __name__ == "__main__":
    main()
