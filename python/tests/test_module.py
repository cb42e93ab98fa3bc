"""SelfExtendAttn: the original module's call shape, mapped onto seattn.attention."""

import numpy as np
import pytest

import seattn


def rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_the_original_readme_example(backend, torch):
    from seattn import SelfExtend  # the original example's only changed line

    dim, g_size, w_size = 512, 2, 4
    self_extend = SelfExtend(dim, g_size, w_size, backend=backend)
    q, k, v = torch.randn(1, 10, dim), torch.randn(1, 10, dim), torch.randn(1, 10, dim)
    pos = torch.arange(0, 10).unsqueeze(0)
    output = self_extend(q, k, v, pos)
    assert isinstance(self_extend, torch.nn.Module)
    assert isinstance(output, torch.Tensor) and tuple(output.shape) == (1, 10, 512)
    assert output.dtype == torch.float32
    ref = seattn.attention(q.numpy()[:, None], k.numpy()[:, None], v.numpy()[:, None],
                           group_size=2, window=4, backend="cpu")[:, 0]
    assert np.max(np.abs(output.numpy() - ref)) < 1e-4


def test_equals_attention_with_mapped_arguments(backend):
    attn = seattn.SelfExtendAttn(64, 4, 8, backend=backend)
    q, k, v = rand((3, 40, 64), 1), rand((3, 40, 64), 2), rand((3, 40, 64), 3)
    pos = np.stack([np.arange(40), np.arange(8, 48), np.arange(400, 440)])
    out = attn(q, k, v, pos)
    for b in range(3):
        # the paper's function at the row's own positions: keys 0 .. p0 - 1 do not exist, and
        # a row starting at a multiple of G gives what positions 0 .. 39 give
        ref = seattn.attention(q[b][None], k[b][None], v[b][None], group_size=4, window=8,
                               scale=1 / 8.0, rope_theta=10000.0, backend=backend)[0]
        np.testing.assert_array_equal(out[b], ref)
    # the row at 400..439, from first principles: keys at their true positions 400..439 and
    # nothing before them
    ref = spec_attention(q[2], k[2], v[2], np.arange(400, 440), 4, 8)
    assert np.max(np.abs(out[2] - ref)) < 1e-4


def rope(x, pos, theta=10000.0):
    half = x.shape[-1] // 2
    ang = np.asarray(pos, np.float64)[..., None] * theta ** (-np.arange(half) * 2.0 / (2 * half))
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * np.cos(ang) - b * np.sin(ang), b * np.cos(ang) + a * np.sin(ang)],
                          -1)


def spec_attention(q, k, v, pos, g, w):
    """SPEC.md in float64 for one head whose queries and keys both sit at positions pos."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    p, j = pos[:, None], pos[None, :]
    near = rope(q, pos) @ rope(k, pos).T
    far = rope(q, pos // g + w - w // g) @ rope(k, pos // g).T
    s = np.where(p - j < w, near, far) / np.sqrt(q.shape[-1])
    s = np.where(j <= p, s, -np.inf)
    e = np.exp(s - s.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)) @ v


def test_qk_norm_weights(backend, torch):
    attn = seattn.SelfExtendAttn(32, 2, 4, qk_norm=True, backend=backend)
    names = sorted(n for n, _ in attn.named_parameters())
    assert names == ["k_norm_weight", "q_norm_weight"]
    with torch.no_grad():
        attn.q_norm_weight.copy_(torch.linspace(0.5, 2.0, 32))
        attn.k_norm_weight.copy_(torch.linspace(2.0, 0.5, 32))
    q, k, v = (torch.from_numpy(rand((2, 12, 32), s)) for s in (4, 5, 6))
    out = attn(q, k, v, torch.arange(12))
    ref = seattn.attention(q.numpy()[:, None], k.numpy()[:, None], v.numpy()[:, None],
                           group_size=2, window=4, q_norm_weight=np.linspace(0.5, 2, 32,
                                                                             dtype=np.float32),
                           k_norm_weight=np.linspace(2, 0.5, 32, dtype=np.float32),
                           backend="cpu")[:, 0]
    assert np.max(np.abs(out.numpy() - ref)) < 1e-4
    unnormed = seattn.SelfExtendAttn(32, 2, 4, backend=backend)(q, k, v, torch.arange(12))
    assert np.max(np.abs(unnormed.numpy() - ref)) > 1e-3


def test_numpy_inputs_without_torch_types(backend):
    attn = seattn.SelfExtendAttn(16, 2, 4, backend=backend)
    out = attn(rand((1, 5, 16), 7), rand((1, 5, 16), 8), rand((1, 5, 16), 9), np.arange(5))
    assert isinstance(out, np.ndarray) and out.shape == (1, 5, 16)


@pytest.mark.parametrize("pos, match", [
    (np.array([[0, 1, 2, 4, 5]]), "not consecutive"),
    (np.array([[5, 4, 3, 2, 1]]), "not consecutive"),
    (np.array([[1, 2, 3, 4, 5]]), "multiple of g_size"),
    (np.array([[-2, -1, 0, 1, 2]]), "not consecutive"),
    (np.array([[0.0, 1, 2, 3, 4]]), "integers"),
    (np.arange(6), "shape"),
    (None, "None"),
])
def test_bad_positions(pos, match):
    attn = seattn.SelfExtendAttn(16, 2, 4, backend="cpu")
    x = rand((1, 5, 16), 10)
    with pytest.raises(seattn.InvalidArgument, match=match):
        attn(x, x, x, pos)


def test_bad_module_arguments():
    for args in ((0, 2, 4), (16, 0, 4), (16, 2, 0), (16.0, 2, 4), (16, 2, "4")):
        with pytest.raises(ValueError):
            seattn.SelfExtendAttn(*args, backend="cpu")
    attn = seattn.SelfExtendAttn(16, 2, 4, backend="cpu")
    x = rand((1, 5, 16), 11)
    with pytest.raises(ValueError, match="dim 16"):
        attn(rand((1, 5, 8), 12), x, x, np.arange(5))
    with pytest.raises(ValueError, match="equal"):
        attn(x, rand((1, 6, 16), 13), x, np.arange(5))


def test_docstring_says_where_the_original_differs():
    doc = seattn.SelfExtendAttn.__doc__
    assert "sine and cosine" in doc and "rotates q and k" in doc
