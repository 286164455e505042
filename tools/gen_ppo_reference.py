#!/usr/bin/python3
"""gen_ppo_reference.py: reference PPO minibatch losses and gradients from PyTorch, for tests/test_ppo.c.

Run from the repository root with Debian's python3-torch (CI does not need torch: the output is
committed):   /usr/bin/python3 tools/gen_ppo_reference.py   -> tests/data/ppo/<case>.txt
and, for tests/test_dist.c, the masked categorical row by row at the game's sizes (9, 16, 17, 33,
201 levels; the game's SoC masks and random ones): log-probabilities, probabilities, entropy, the
gradient of g_logp log p_a + g_ent H w.r.t. the logits, and the expected level
sum_k p_k a_k, a_k = -1 + 2k/(K-1)                             -> tests/data/ppo/cat<K>.txt

Legend: R rows loaded into the rollout buffer, B minibatch rows (idx into R), O obs size,
A action floats, K head width (Box: A; Discrete: n; MultiDiscrete: sum of nvec), P parameters.

What is computed is Stable-Baselines3 2.3.2's loss for one minibatch, written here from the SB3
sources that were read for this purpose (with the search tool, DLR-RM/stable-baselines3 and
Stable-Baselines-Team/stable-baselines3-contrib):
  * stable_baselines3/ppo/ppo.py, PPO.train():
        advantages = (adv - adv.mean()) / (adv.std() + 1e-8)   if normalize_advantage and len > 1
        ratio = th.exp(log_prob - old_log_prob)
        policy_loss = -th.min(adv * ratio, adv * th.clamp(ratio, 1 - clip, 1 + clip)).mean()
        clip_fraction = th.mean((th.abs(ratio - 1) > clip).float())
        values_pred = values                    if clip_range_vf is None, else
        values_pred = old_values + th.clamp(values - old_values, -clip_vf, clip_vf)
        value_loss = F.mse_loss(returns, values_pred)
        entropy_loss = -th.mean(entropy)
        loss = policy_loss + ent_coef * entropy_loss + vf_coef * value_loss
        log_ratio = log_prob - old_log_prob;  approx_kl = th.mean((th.exp(log_ratio) - 1) - log_ratio)
    (torch's Tensor.std() is the unbiased estimator, divisor B - 1.)
  * stable_baselines3/common/policies.py, ActorCriticPolicy: mlp_extractor (Linear + activation
    per hidden layer, separate pi and vf nets), then action_net = Linear(latent_pi, K) and
    value_net = Linear(latent_vf, 1); log_std is a free parameter of shape (A).
  * stable_baselines3/common/distributions.py:
        DiagGaussianDistribution: Normal(mean, ones_like(mean) * log_std.exp()), log_prob and entropy
        summed over action dims (sum_independent_dims).
        CategoricalDistribution: Categorical(logits=action_logits).
        MultiCategoricalDistribution: one Categorical per th.split(logits, nvec), log_prob and
        entropy summed over the sub-actions.
  * sb3_contrib/common/maskable/distributions.py, MaskableCategorical.apply_masking / entropy:
        logits = th.where(masks, original_logits, -1e8);  Categorical(logits=logits)
        entropy = -(th.where(masks, logits * probs, 0)).sum(-1)      (logits normalised by torch)
    and MaskableMultiCategoricalDistribution splits the mask columnwise like the logits.

Our flat parameter layout: [pi net | vf net | log_std (Box only)], each net layer by layer
W (out, in) row-major then b (out); the last layer of each net is the linear head.

The reference is evaluated in float64 on parameters and data that are exactly float32 values
(everything is drawn in float32 first), so it is the float32 inputs' exact loss to ~1e-15; SB3
itself runs float32, which differs from this by ~1e-7 relative (printed for information).
Rows are redrawn until every clip decision has a margin (ratio at least 0.02 from 1 +- clip,
value change at least 0.02 from +- clip_vf), so float32 rounding in C, or a finite-difference
step in tests, cannot flip a branch.

File format: '#' comment lines, then "name count" followed by count whitespace-separated values,
one section per name, in a fixed order (see write_case).
"""
import math
import os
import sys

import numpy as np
import torch as th
import torch.nn.functional as F

OUT_DIR = os.path.join("tests", "data", "ppo")
MARGIN = 0.02


class Case:
    def __init__(self, name, seed, kind, obs_dim, pi_arch, vf_arch, ent_coef, vf_coef, clip,
                 clip_vf, normalize_advantage, rows, batch, n=0, nvec=(), box_dim=0, masked=False,
                 mask_kind="random"):
        self.__dict__.update(locals())
        del self.__dict__["self"]
        if kind == "box":
            self.A, self.K = box_dim, box_dim
        elif kind == "discrete":
            self.A, self.K = 1, n
        else:
            self.A, self.K = len(nvec), sum(nvec)


CASES = [
    Case("box_gauss", 11, "box", 3, [5, 4], [6, 3], 0.01, 0.5, 0.2, 0.0, 1, 16, 12, box_dim=2),
    Case("box_gauss_clipvf", 12, "box", 3, [5, 4], [6, 3], 0.02, 0.7, 0.25, 0.3, 1, 16, 12, box_dim=2),
    Case("box_gauss_raw_adv", 13, "box", 4, [6], [5, 4], 0.0, 0.5, 0.2, 0.0, 0, 14, 10, box_dim=3),
    Case("discrete", 21, "discrete", 3, [5, 4], [6, 3], 0.01, 0.5, 0.2, 0.0, 1, 16, 12, n=5),
    Case("discrete_masked", 22, "discrete", 3, [5, 4], [6, 3], 0.05, 0.5, 0.2, 0.0, 1, 16, 12, n=5,
         masked=True),
    Case("discrete_masked_clipvf", 23, "discrete", 3, [5, 4], [6, 3], 0.03, 0.5, 0.15, 0.2, 1, 16, 14,
         n=5, masked=True),
    Case("multidiscrete", 31, "multi", 3, [5, 4], [6, 3], 0.01, 0.5, 0.2, 0.5, 1, 16, 12, nvec=(3, 4)),
    Case("multidiscrete_masked", 32, "multi", 3, [5, 4], [6, 3], 0.02, 0.6, 0.2, 0.0, 1, 16, 12,
         nvec=(3, 4), masked=True),
    # The game's sizes (issue 14): head widths on both sides of the categorical's eight lanes
    # (9 = 8 + 1, 16 = 2 x 8, 17 = 16 + 1, 33 = 32 + 1) and the aggregators' 201 levels, with the
    # game's masks (the levels a fleet at a random SoC may take, "soc") or random ones.
    Case("discrete9_soc", 41, "discrete", 3, [5, 4], [6, 3], 0.01, 0.5, 0.2, 0.0, 1, 16, 12, n=9,
         masked=True, mask_kind="soc"),
    Case("discrete16_masked", 42, "discrete", 3, [5, 4], [6, 3], 0.02, 0.5, 0.2, 0.3, 1, 16, 12, n=16,
         masked=True),
    Case("discrete17_soc", 43, "discrete", 3, [5, 4], [6, 3], 0.01, 0.5, 0.2, 0.0, 1, 16, 12, n=17,
         masked=True, mask_kind="soc"),
    Case("discrete33_masked", 44, "discrete", 3, [5, 4], [6, 3], 0.03, 0.5, 0.2, 0.0, 1, 16, 12, n=33,
         masked=True),
    Case("discrete201_soc", 45, "discrete", 4, [8, 8], [8, 8], 0.01, 0.5, 0.2, 0.0, 1, 24, 16,
         n=201, masked=True, mask_kind="soc"),
    Case("discrete201_masked", 46, "discrete", 3, [5, 4], [6, 3], 0.01, 0.5, 0.2, 0.2, 1, 16, 12,
         n=201, masked=True),
]


def soc_mask(soc, K, tol=1e-9):
    """The game's mask (src/grid/fleet.c, written again here): level k means a_k = -1 + 2k/(K-1) of
    the fleet's capacity moved in one step, feasible iff the SoC stays in [0, 1]: -soc <= a_k <= 1 - soc,
    with a float tolerance. The feasible levels are one contiguous range [lo, hi]."""
    a = -1.0 + 2.0 * np.arange(K) / (K - 1)
    return ((a >= -soc - tol) & (a <= 1.0 - soc + tol)).astype(np.uint8)


def draw_soc(rng, r):
    """A fleet's SoC for row r: the two ends (only discharging or only charging possible), then
    uniform draws."""
    return 1.0 if r == 0 else 0.0 if r == 1 else float(rng.uniform(0.0, 1.0))


def layer_shapes(n_in, arch, n_out):
    sizes = [n_in] + list(arch) + [n_out]
    return [(sizes[i + 1], sizes[i]) for i in range(len(sizes) - 1)]


def n_params(c):
    n = 0
    for shapes in (layer_shapes(c.obs_dim, c.pi_arch, c.K), layer_shapes(c.obs_dim, c.vf_arch, 1)):
        n += sum(o * i + o for o, i in shapes)
    return n + (c.A if c.kind == "box" else 0)


def unflatten(c, flat):
    """Views into the flat parameter tensor: pi [(W, b)...], vf [(W, b)...], log_std or None."""
    off = 0
    nets = []
    for shapes in (layer_shapes(c.obs_dim, c.pi_arch, c.K), layer_shapes(c.obs_dim, c.vf_arch, 1)):
        layers = []
        for o, i in shapes:
            W = flat[off:off + o * i].view(o, i)
            off += o * i
            b = flat[off:off + o]
            off += o
            layers.append((W, b))
        nets.append(layers)
    log_std = flat[off:off + c.A] if c.kind == "box" else None
    return nets[0], nets[1], log_std


def mlp(layers, x):
    """SB3's mlp_extractor net (Linear + Tanh) followed by its linear head."""
    for k, (W, b) in enumerate(layers):
        x = F.linear(x, W, b)
        if k < len(layers) - 1:
            x = th.tanh(x)
    return x


def masked_categorical(logits, mask):
    """(log_prob function, entropy) of sb3-contrib's MaskableCategorical, or plain Categorical."""
    if mask is None:
        d = th.distributions.Categorical(logits=logits)
        return d, d.entropy()
    m = mask.bool()
    huge_neg = th.tensor(-1e8, dtype=logits.dtype)
    d = th.distributions.Categorical(logits=th.where(m, logits, huge_neg))
    p_log_p = th.where(m, d.logits * d.probs, th.tensor(0.0, dtype=logits.dtype))
    return d, -p_log_p.sum(-1)


def evaluate_actions(c, flat, obs, act, mask):
    """ActorCriticPolicy.evaluate_actions: values (B), log_prob (B), entropy (B)."""
    pi, vf, log_std = unflatten(c, flat)
    head = mlp(pi, obs)
    values = mlp(vf, obs).flatten()
    if c.kind == "box":
        std = th.ones_like(head) * log_std.exp()
        d = th.distributions.Normal(head, std)
        return values, d.log_prob(act).sum(dim=1), d.entropy().sum(dim=1)
    if c.kind == "discrete":
        d, ent = masked_categorical(head, mask)
        return values, d.log_prob(act[:, 0].long()), ent
    lps, ents = [], []
    splits = th.split(head, list(c.nvec), dim=1)
    msplits = th.split(mask, list(c.nvec), dim=1) if mask is not None else [None] * len(c.nvec)
    for j, (lg, mk) in enumerate(zip(splits, msplits)):
        d, ent = masked_categorical(lg, mk)
        lps.append(d.log_prob(act[:, j].long()))
        ents.append(ent)
    return values, th.stack(lps, dim=1).sum(dim=1), th.stack(ents, dim=1).sum(dim=1)


def sb3_loss(c, flat, b, dtype):
    """PPO.train()'s loss on the minibatch b (dict of float64 numpy arrays, already gathered)."""
    t = {k: (th.tensor(v, dtype=dtype) if v is not None else None) for k, v in b.items()}
    values, log_prob, entropy = evaluate_actions(c, flat, t["obs"], t["act"], t["mask"])
    advantages = t["adv"]
    if c.normalize_advantage and len(advantages) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    ratio = th.exp(log_prob - t["old_logp"])
    policy_loss_1 = advantages * ratio
    policy_loss_2 = advantages * th.clamp(ratio, 1 - c.clip, 1 + c.clip)
    policy_loss = -th.min(policy_loss_1, policy_loss_2).mean()
    clip_fraction = th.mean((th.abs(ratio - 1) > c.clip).to(dtype))
    if c.clip_vf <= 0:
        values_pred = values
    else:
        values_pred = t["old_val"] + th.clamp(values - t["old_val"], -c.clip_vf, c.clip_vf)
    value_loss = F.mse_loss(t["ret"], values_pred)
    entropy_loss = -th.mean(entropy)
    loss = policy_loss + c.ent_coef * entropy_loss + c.vf_coef * value_loss
    with th.no_grad():
        log_ratio = log_prob - t["old_logp"]
        approx_kl = th.mean((th.exp(log_ratio) - 1) - log_ratio)
    terms = dict(pg=policy_loss, vf=value_loss, ent=entropy_loss, kl=approx_kl, clipfrac=clip_fraction,
                 loss=loss)
    return terms, ratio.detach(), values.detach(), log_prob.detach()


def f32(x):
    return np.asarray(x, dtype=np.float32)


def draw_case(c, rng):
    """Parameters and a buffer of R rows (float32 values) with margins around every clip decision."""
    P = n_params(c)
    flat = f32(rng.normal(0.0, 0.6, size=P))
    if c.kind == "box":
        flat[-c.A:] = f32(rng.uniform(-0.6, 0.3, size=c.A))
    R = c.rows
    obs = f32(rng.normal(0.0, 1.0, size=(R, c.obs_dim)))
    mask = None
    if c.kind == "box":
        act = f32(rng.normal(0.0, 1.5, size=(R, c.A)))  # unclipped samples, some beyond any bound
    else:
        sizes = [c.n] if c.kind == "discrete" else list(c.nvec)
        act = np.zeros((R, c.A), dtype=np.float32)
        if c.masked:
            mask = np.ones((R, c.K), dtype=np.uint8)
        off = 0
        for j, k in enumerate(sizes):
            act[:, j] = rng.integers(0, k, size=R)
            if c.masked and c.mask_kind == "soc":
                for r in range(R):
                    m = soc_mask(draw_soc(rng, r), k)
                    act[r, j] = rng.choice(np.flatnonzero(m))  # sampled among the feasible levels
                    mask[r, off:off + k] = m
            elif c.masked:
                for r in range(R):
                    m = (rng.uniform(size=k) < 0.6).astype(np.uint8)
                    if r == 0:
                        m[:] = 0  # a row with a single valid action: log_prob 0, entropy 0
                    m[int(act[r, j])] = 1  # the taken action was valid when it was sampled
                    mask[r, off:off + k] = m
            off += k
    adv = f32(rng.normal(0.3, 2.0, size=R))
    ret = f32(rng.normal(0.0, 1.5, size=R))
    idx = rng.permutation(R)[:c.batch].astype(np.int64)

    # Old log-probs and old values relative to the current ones, so ratios and value changes
    # land on both sides of the clip ranges.
    flat_t = th.tensor(flat, dtype=th.float64)
    values, log_prob, _ = evaluate_actions(
        c, flat_t, th.tensor(obs, dtype=th.float64), th.tensor(act, dtype=th.float64),
        th.tensor(mask, dtype=th.float64) if mask is not None else None)
    log_ratio = rng.uniform(-0.45, 0.45, size=R)
    old_logp = f32(log_prob.numpy() - log_ratio)
    dv = rng.uniform(-2.0, 2.0, size=R) * (c.clip_vf if c.clip_vf > 0 else 0.5)
    old_val = f32(values.numpy() - dv)
    return flat, dict(obs=obs, act=act, mask=mask, old_logp=old_logp, adv=adv, ret=ret, old_val=old_val), idx


def gather(b, idx):
    return {k: (v[idx].astype(np.float64) if v is not None else None) for k, v in b.items()}


def margins_ok(c, flat, b, idx):
    terms, ratio, values, _ = sb3_loss(c, th.tensor(flat, dtype=th.float64), gather(b, idx), th.float64)
    r = ratio.numpy()
    if np.min(np.abs(np.abs(r - 1.0) - c.clip)) < MARGIN:
        return False
    if c.clip_vf > 0:
        dv = values.numpy() - b["old_val"][idx]
        if np.min(np.abs(np.abs(dv) - c.clip_vf)) < MARGIN:
            return False
        if not (np.any(np.abs(dv) > c.clip_vf) and np.any(np.abs(dv) < c.clip_vf)):
            return False
    # Clipping must be exercised both ways: a clipped row (zero gradient) and a row outside the
    # range whose unclipped term is the minimum (gradient flows).
    adv = b["adv"][idx].astype(np.float64)
    if c.normalize_advantage:
        adv = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)
    lo, hi = 1 - c.clip, 1 + c.clip
    clipped = ((adv > 0) & (r > hi)) | ((adv < 0) & (r < lo))
    outside_unclipped = ((adv > 0) & (r < lo)) | ((adv < 0) & (r > hi))
    return bool(np.any(clipped) and np.any(outside_unclipped) and np.any((r > lo) & (r < hi)))


def fmt(v):
    return " ".join("%.9g" % x for x in np.asarray(v).ravel())


def write_case(c, flat, b, idx, terms, grad, path):
    lines = [
        "# PPO minibatch reference from tools/gen_ppo_reference.py (PyTorch %s, float64 on float32 data)"
        % th.__version__,
        "# case %s: %s space, SB3 2.3.2 PPO.train() loss; see the script for the formulas" % (c.name, c.kind),
    ]

    def sec(name, values):
        values = np.asarray(values).ravel()
        lines.append("%s %d" % (name, values.size))
        lines.append(fmt(values) if values.size else "")

    kind = {"box": 0, "discrete": 1, "multi": 2}[c.kind]
    sec("space", [kind, c.A, c.K, int(c.masked)])
    sec("nvec", list(c.nvec) if c.kind == "multi" else [])
    sec("obs_dim", [c.obs_dim])
    sec("pi_arch", c.pi_arch)
    sec("vf_arch", c.vf_arch)
    sec("coefs", [c.ent_coef, c.vf_coef, c.clip, c.clip_vf, c.normalize_advantage])
    sec("rows", [c.rows])
    sec("idx", idx)
    sec("params", flat)
    sec("obs", b["obs"])
    sec("act", b["act"])
    sec("mask", b["mask"] if b["mask"] is not None else [])
    sec("old_logp", b["old_logp"])
    sec("adv", b["adv"])
    sec("ret", b["ret"])
    sec("old_val", b["old_val"])
    sec("loss", [float(terms[k]) for k in ("pg", "vf", "ent", "kl", "clipfrac", "loss")])
    lines.append("grad %d" % grad.size)
    lines.append(" ".join("%.12g" % x for x in grad))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# ---- categoricals row by row, for tests/test_dist.c --------------------------------------------

DIST_SIZES = (9, 16, 17, 33, 201)


def dist_rows(K, rng):
    """Rows of (logits (K) float32, mask (K), soc or -1 for a mask that is not the game's).
    The game's masks at SoCs 1, 0, 1/2 (levels on the bounds), and uniform draws; random masks;
    one valid level only, in the scalar tail if K has one; every level valid; and logits spread
    over ~100 nats so the smallest probabilities fall below float32's range."""
    rows = []
    for soc in (1.0, 0.0, 0.5) + tuple(rng.uniform(0.0, 1.0, size=3)):
        rows.append((f32(rng.normal(0.0, 1.5, size=K)), soc_mask(float(soc), K), float(soc)))
    for _ in range(3):
        m = (rng.uniform(size=K) < 0.5).astype(np.uint8)
        m[rng.integers(0, K)] = 1
        rows.append((f32(rng.normal(0.0, 1.5, size=K)), m, -1.0))
    one = np.zeros(K, dtype=np.uint8)
    one[K - 1] = 1
    rows.append((f32(rng.normal(0.0, 1.5, size=K)), one, -1.0))
    rows.append((f32(rng.normal(0.0, 1.5, size=K)), np.ones(K, dtype=np.uint8), -1.0))
    rows.append((f32(rng.normal(0.0, 20.0, size=K)), soc_mask(0.3, K), 0.3))
    return rows


def dist_reference(logits, mask, a, g_logp, g_ent, dtype):
    """MaskableCategorical (see masked_categorical) on one row: log-probs (-inf where masked),
    probabilities, entropy, dL/dlogits of L = g_logp log p_a + g_ent H, and the expected level
    sum_k p_k a_k with a_k = -1 + 2k/(K-1)."""
    K = logits.size
    z = th.tensor(logits, dtype=dtype, requires_grad=True)
    d, ent = masked_categorical(z, th.tensor(mask))
    lp = th.where(th.tensor(mask).bool(), d.logits, th.tensor(-math.inf, dtype=dtype))
    L = g_logp * d.log_prob(th.tensor(a)) + g_ent * ent
    L.backward()
    levels = -1.0 + 2.0 * np.arange(K) / (K - 1)
    p = d.probs.detach().numpy().astype(np.float64)
    return (lp.detach().numpy().astype(np.float64), p, float(ent), z.grad.numpy().astype(np.float64),
            float(np.sum(p * levels)))


def write_dist_file(K, seed, path):
    rng = np.random.default_rng(seed)
    rows = dist_rows(K, rng)
    R = len(rows)
    cols = {k: [] for k in ("soc", "logits", "mask", "act", "g_logp", "g_ent", "lp", "p", "entropy",
                            "dlogits", "level")}
    dev = 0.0
    for z, m, soc in rows:
        a = int(rng.choice(np.flatnonzero(m)))
        g_logp, g_ent = float(rng.uniform(-1.0, 1.0)), float(rng.uniform(-0.1, 0.1))
        lp, p, H, dz, level = dist_reference(z, m, a, g_logp, g_ent, th.float64)
        # PyTorch's own float32 run, for information: how far float32 moves the probabilities.
        _, p32, _, _, _ = dist_reference(z, m, a, g_logp, g_ent, th.float32)
        dev = max(dev, np.max(np.abs(p32 - p) / np.maximum(p, 1e-30)))
        for k, v in (("soc", soc), ("logits", z), ("mask", m), ("act", a), ("g_logp", g_logp),
                     ("g_ent", g_ent), ("lp", lp), ("p", p), ("entropy", H), ("dlogits", dz),
                     ("level", level)):
            cols[k].append(np.atleast_1d(np.asarray(v, dtype=np.float64)))
    lines = ["# Masked categorical reference from tools/gen_ppo_reference.py (PyTorch %s, float64 on "
             "float32 logits)" % th.__version__,
             "# K %d: sb3-contrib MaskableCategorical row by row; soc -1 marks a mask that is not the game's" % K,
             "K 1", "%d" % K, "rows 1", "%d" % R]
    for k, v in cols.items():
        v = np.concatenate(v)
        lines.append("%s %d" % (k, v.size))
        spec = "%.9g" if k in ("logits", "mask", "act", "g_logp", "g_ent", "soc") else "%.12g"
        lines.append(" ".join(spec % x for x in v))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("cat K %-3d rows %2d  PyTorch float32 probabilities vs float64: max rel %.2e  -> %s" % (K, R, dev, path))


def main():
    th.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    for c in CASES:
        rng = np.random.default_rng(c.seed)
        for attempt in range(1000):
            flat, b, idx = draw_case(c, rng)
            if margins_ok(c, flat, b, idx):
                break
        else:
            sys.exit("%s: no draw satisfied the clip margins" % c.name)
        mb = gather(b, idx)
        flat64 = th.tensor(flat, dtype=th.float64, requires_grad=True)
        terms, ratio, _, _ = sb3_loss(c, flat64, mb, th.float64)
        terms["loss"].backward()
        grad = flat64.grad.numpy()
        # The same computation in float32, as SB3 runs it: how far float32 rounding moves things.
        flat32 = th.tensor(flat, dtype=th.float32, requires_grad=True)
        t32, _, _, _ = sb3_loss(c, flat32, mb, th.float32)
        t32["loss"].backward()
        g32 = flat32.grad.numpy().astype(np.float64)
        scale = np.max(np.abs(grad))
        dev = np.max(np.abs(g32 - grad) / np.maximum(np.abs(grad), 1e-3 * scale))
        path = os.path.join(OUT_DIR, c.name + ".txt")
        write_case(c, flat, b, idx, terms, grad, path)
        print("%-24s draws %3d  P %3d  loss %+.6f  clipfrac %.3f  float32-vs-float64 grad %.2e  -> %s"
              % (c.name, attempt + 1, flat.size, float(terms["loss"]), float(terms["clipfrac"]), dev, path))
    for i, K in enumerate(DIST_SIZES):
        write_dist_file(K, 500 + i, os.path.join(OUT_DIR, "cat%d.txt" % K))


if __name__ == "__main__":
    main()
