"""SelfExtendAttn: the call shape of the PyTorch module seattn grew from, on seattn."""

import numpy as np

from . import _attention, _bad, _default_context, _from_numpy, _is_torch, _to_numpy

_DOC = """Self-Extend attention with the call shape of the original PyTorch module:

    attn = SelfExtendAttn(dim, g_size, w_size, qk_norm=False)
    out = attn(q, k, v, pos)      # q, k, v [batch, seq, dim]; pos [batch, seq]; out like q

It computes the paper's function (Jin et al., ICML 2024, SPEC.md) for one head of `dim`: q and
k are rotated by RoPE (rotate_half, theta `rope_theta`, 10000), a pair (p, j) with p - j <
w_size at its exact positions and every other pair at the grouped positions (p // g_size +
w_size - w_size // g_size for the query, j // g_size for the key), each pair takes exactly one
score, causal, one softmax with scale 1/sqrt(dim). Keys sit at the same positions as the
queries (self-attention over the sequence). `qk_norm=True` adds an RMSNorm over head_dim with
a learnable weight (ones at first; `q_norm_weight`, `k_norm_weight`) to q and k before RoPE,
through the library's QK-norm (eps `eps`, 1e-6).

Where the original module differs from the paper: its README speaks of sine and cosine
positional encodings, and its code adds sinusoidal absolute encodings to the tensors, while
the paper (and this class) rotates q and k (RoPE) and takes each pair's score at either the
exact or the grouped relative position. Results of the two therefore differ; this one is
checked against the paper authors' own code (../shared/golden).

Each row of `pos` must hold consecutive positions p0, p0 + 1, ..., starting at a multiple of
g_size (0 in the original's example): other rows raise seattn.InvalidArgument. Inputs are
NumPy arrays or torch CPU tensors, float32 or float16; the result has q's type and dtype.
Inference only: no gradient flows through the call. With torch installed this is a
torch.nn.Module (the norm weights are its parameters).
backend= and device= pick the context as in seattn.attention().
"""


class _Core:
    def _setup(self, dim, g_size, w_size, qk_norm, rope_theta, eps, backend, device):
        for name, x, lo in (("dim", dim, 2), ("g_size", g_size, 1), ("w_size", w_size, 1)):
            if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
                _bad("%s=%r; it must be an integer >= %d" % (name, x, lo))
        self.dim, self.g_size, self.w_size = int(dim), int(g_size), int(w_size)
        self.qk_norm = bool(qk_norm)
        self.rope_theta, self.eps = float(rope_theta), float(eps)
        self.backend, self.device = backend, device
        _default_context(backend, device)  # a missing device is an error here, not at the call

    def _positions(self, pos, batch, seq):
        if pos is None:
            _bad("pos is None; it must be [batch, seq] integer positions")
        if _is_torch(pos):
            pos = pos.detach().cpu().numpy()
        p = np.asarray(pos)
        if p.dtype.kind not in "iu":
            _bad("pos has dtype %s; it must hold integers" % p.dtype)
        if p.ndim == 1:
            p = np.broadcast_to(p, (batch, p.shape[0]))
        if p.shape != (batch, seq):
            _bad("pos has shape %s; it must be [batch, seq] = [%d, %d]" % (p.shape, batch, seq))
        steps = np.arange(seq, dtype=np.int64)
        for b in range(batch):
            p0 = int(p[b, 0])
            if p0 < 0 or not np.array_equal(p[b].astype(np.int64) - p0, steps):
                _bad("pos row %d is not consecutive positions p0, p0 + 1, ... (it starts %s); "
                     "seattn computes positions itself from where a row starts" % (
                         b, p[b, :4].tolist()))
            if p0 % self.g_size != 0:
                _bad("pos row %d starts at %d, not a multiple of g_size (%d): with no keys "
                     "before it, such a row's grouped positions cannot be expressed" % (
                         b, p0, self.g_size))

    def _forward(self, q, k, v, pos, q_weight, k_weight):
        arrays = []
        for x, name in ((q, "q"), (k, "k"), (v, "v")):
            a, was_torch = _to_numpy(x, name)
            if a.ndim != 3 or a.shape[-1] != self.dim:
                _bad("%s has shape %s; it must be [batch, seq, dim] with dim %d" % (
                    name, a.shape, self.dim))
            arrays.append(a)
            if name == "q":
                torch_out = was_torch
        qa, ka, va = arrays
        if not (qa.shape == ka.shape == va.shape):
            _bad("q, k and v have shapes %s, %s, %s; they must be equal" % (
                qa.shape, ka.shape, va.shape))
        batch, seq, _ = qa.shape
        self._positions(pos, batch, seq)
        # Every row starts at a multiple of G, and Self-Extend depends only on p - j and on
        # p // G - j // G, so each row is computed at positions 0 .. seq - 1; the batch is
        # one call with a head per row.
        out = _attention(
            _default_context(self.backend, self.device), qa[:, None], ka[:, None], va[:, None],
            group_size=self.g_size, window=self.w_size, rope_theta=self.rope_theta,
            q_norm_weight=q_weight, k_norm_weight=k_weight,
            qk_norm_eps=self.eps if self.qk_norm else None)
        return _from_numpy(out[:, 0], torch_out)


def _make():
    try:
        import torch
    except ImportError:
        torch = None

    if torch is None:
        class SelfExtendAttn(_Core):
            def __init__(self, dim, g_size, w_size, qk_norm=False, *, rope_theta=10000.0,
                         eps=1e-6, backend="vulkan", device=None):
                self._setup(dim, g_size, w_size, qk_norm, rope_theta, eps, backend, device)
                ones = np.ones(self.dim, np.float32)
                self.q_norm_weight = ones.copy() if self.qk_norm else None
                self.k_norm_weight = ones.copy() if self.qk_norm else None

            def __call__(self, q, k, v, pos):
                return self._forward(q, k, v, pos, self.q_norm_weight, self.k_norm_weight)
    else:
        class SelfExtendAttn(_Core, torch.nn.Module):
            def __init__(self, dim, g_size, w_size, qk_norm=False, *, rope_theta=10000.0,
                         eps=1e-6, backend="vulkan", device=None):
                torch.nn.Module.__init__(self)
                self._setup(dim, g_size, w_size, qk_norm, rope_theta, eps, backend, device)
                if self.qk_norm:
                    self.q_norm_weight = torch.nn.Parameter(torch.ones(self.dim))
                    self.k_norm_weight = torch.nn.Parameter(torch.ones(self.dim))
                else:
                    self.q_norm_weight = self.k_norm_weight = None

            def forward(self, q, k, v, pos):
                return self._forward(q, k, v, pos, self.q_norm_weight, self.k_norm_weight)

            def extra_repr(self):
                return "dim=%d, g_size=%d, w_size=%d, qk_norm=%s" % (
                    self.dim, self.g_size, self.w_size, self.qk_norm)

    SelfExtendAttn.__doc__ = _DOC
    return SelfExtendAttn


SelfExtendAttn = _make()
