#!/usr/bin/env python3
"""The passkey test of ../shared/passkey, in NumPy, with every attention through seattn.

A 153k-parameter RoPE model trained on sequences of at most 256 tokens must repeat a 5-digit
passkey hidden in a longer prompt. Past its trained length plain RoPE loses it; Self-Extend,
with no fine-tuning, keeps it. The model runs the way an inference engine runs one: the prompt
in one prefill, then greedy decoding of 5 tokens, the keys of every layer cached rotated at
their own positions (keys="rotated") and the queries placed with q_pos.

    python3 python/examples/passkey.py --length 1024
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import seattn  # noqa: E402  (the package beside this folder, or the installed one)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "passkey"))
ANSWER = 5


class Model:
    def __init__(self, folder):
        with open(os.path.join(folder, "model.json")) as f:
            meta = json.load(f)
        data = np.fromfile(os.path.join(folder, "model.f32"), dtype="<f4")
        self.w = {}
        for t in meta["tensors"]:
            off = t["offset_bytes"] // 4
            self.w[t["name"]] = data[off:off + t["numel"]].reshape(t["shape"])
        c = meta["config"]
        self.d, self.heads, self.layers = c["d"], c["h"], c["nl"]
        self.hd = self.d // self.heads
        self.theta = float(c["rope_theta"])

    def rope(self, x, pos):
        """x [heads, n, hd] rotated (rotate_half) at positions pos [n]."""
        half = self.hd // 2
        inv = self.theta ** (-np.arange(half, dtype=np.float64) * 2.0 / self.hd)
        ang = pos[:, None].astype(np.float64) * inv[None, :]
        c, s = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
        a, b = x[..., :half], x[..., half:]
        return np.concatenate([a * c - b * s, b * c + a * s], axis=-1)


def rmsnorm(x, w):
    return x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True) + 1e-6
                       ).astype(np.float32) * w


class Session:
    """One prompt's KV cache: per layer, keys rotated at their positions and values,
    [heads, max_len, head_dim]."""

    def __init__(self, model, max_len, ctx, g, w):
        self.m, self.ctx, self.g, self.w = model, ctx, g, w
        shape = (model.layers, model.heads, max_len, model.hd)
        self.k = np.zeros(shape, np.float32)
        self.v = np.zeros(shape, np.float32)

    def forward(self, tokens, pos):
        """Runs tokens at positions pos.. through the model; the logits of the last one."""
        m, n = self.m, len(tokens)
        x = m.w["emb.weight"][tokens]
        heads = lambda y: y.reshape(n, m.heads, m.hd).transpose(1, 0, 2)  # noqa: E731
        for l in range(m.layers):
            p = "blocks.%d." % l
            y = rmsnorm(x, m.w[p + "ln1.weight"])
            q = heads(y @ m.w[p + "wq.weight"].T)
            k = heads(y @ m.w[p + "wk.weight"].T)
            self.k[l, :, pos:pos + n] = m.rope(k, np.arange(pos, pos + n))
            self.v[l, :, pos:pos + n] = heads(y @ m.w[p + "wv.weight"].T)
            kv = pos + n
            att = self.ctx.attention(
                np.ascontiguousarray(q), self.k[l, :, :kv], self.v[l, :, :kv],
                group_size=self.g, window=self.w if self.g > 1 else None,
                rope_theta=m.theta, keys="rotated", q_pos=pos)
            x = x + att.transpose(1, 0, 2).reshape(n, m.d) @ m.w[p + "wo.weight"].T
            h = rmsnorm(x, m.w[p + "ln2.weight"]) @ m.w[p + "w1.weight"].T
            x = x + (h / (1.0 + np.exp(-h))) @ m.w[p + "w2.weight"].T
        return rmsnorm(x[-1], m.w["ln_f.weight"]) @ m.w["head.weight"].T


def answer(model, ctx, prompt, g, w):
    s = Session(model, len(prompt) + ANSWER, ctx, g, w)
    logits = s.forward(prompt, 0)
    out = []
    for t in range(ANSWER):
        out.append(int(np.argmax(logits)))
        if t + 1 < ANSWER:
            logits = s.forward(np.array(out[-1:]), len(prompt) + t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--length", type=int, action="append", choices=[256, 512, 1024, 2048],
                    help="prompt set (repeatable; default 1024)")
    ap.add_argument("--se", action="append", metavar="G,W",
                    help="a Self-Extend setting (repeatable; default 16,64)")
    ap.add_argument("--limit", type=int, default=0, help="first N prompts of each set")
    ap.add_argument("--backend", default="vulkan", choices=["vulkan", "cpu"])
    ap.add_argument("--device", default=None, help="index or part of a device name")
    ap.add_argument("--dir", default=os.environ.get("SEATTN_PASSKEY_DIR", DEFAULT_DIR))
    a = ap.parse_args()
    modes = [(1, 0)] + [tuple(int(x) for x in s.split(",")) for s in (a.se or ["16,64"])]
    lengths = a.length or [1024]

    model = Model(a.dir)
    ctx = seattn.Context(a.backend, a.device)
    print("passkey accuracy (exact match of 5 digits, greedy), model trained on <= 256 tokens")
    print("device: %s; attention by seattn %s from Python, keys cached rotated\n" % (
        ctx.device_info["name"], seattn.__version__))
    print("%-24s" % "attention" + "".join(" %8d" % L for L in lengths) + "   prompts  seconds")
    for g, w in modes:
        label = "plain RoPE" if g == 1 else "Self-Extend G=%d W=%d" % (g, w)
        print("%-24s" % label, end="", flush=True)
        t0 = time.time()
        for L in lengths:
            rows = np.fromfile(os.path.join(a.dir, "prompts_%d.u8" % L), np.uint8).reshape(-1, L)
            if a.limit:
                rows = rows[:a.limit]
            right = sum(answer(model, ctx, r[:-ANSWER].astype(np.int64), g, w) ==
                        r[-ANSWER:].tolist() for r in rows)
            print(" %8.3f" % (right / len(rows)), end="", flush=True)
        print("   %7d  %7.1f" % (len(rows), time.time() - t0))
    ctx.close()


if __name__ == "__main__":
    main()
