"""seattn.attention and seattn.Context against the golden cases and against themselves."""

import json
import os

import numpy as np
import pytest

import seattn
from conftest import GOLDEN_DIR

CASES = sorted(d for d in os.listdir(GOLDEN_DIR)
               if os.path.exists(os.path.join(GOLDEN_DIR, d, "meta.json"))) \
    if os.path.isdir(GOLDEN_DIR) else []


def load_case(name):
    folder = os.path.join(GOLDEN_DIR, name)
    with open(os.path.join(folder, "meta.json")) as f:
        m = json.load(f)
    arr = {n: np.fromfile(os.path.join(folder, n + ".f32"), "<f4").reshape(
        m["files"][n + ".f32"]["shape"]) for n in ("q", "k", "v", "out")}
    opts = dict(group_size=m["group_size_G"], window=m["neighbor_window_W"],
                rope_theta=m["rope_theta"], scale=m["softmax_scale"], q_pos=m["q_pos_start"],
                scale_base=None if m["scale_base"] == -1 else m["scale_base"])
    return arr, opts


def rand(shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def test_golden_cases_exist():
    assert len(CASES) >= 10, "no golden cases under %s" % GOLDEN_DIR


@pytest.mark.parametrize("case", CASES)
def test_golden(case, backend):
    a, opts = load_case(case)
    out = seattn.attention(a["q"], a["k"], a["v"], backend=backend, **opts)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == a["out"].shape
    err = float(np.max(np.abs(out - a["out"])))
    assert err <= 1e-4, "%s on %s: max error %g" % (case, backend, err)


def test_version_matches_the_library():
    assert seattn.__version__ == seattn._lib.seattn_version_string().decode()


def test_a_library_that_does_not_match_is_refused():
    from seattn import _ffi

    class Fake:
        def __init__(self, version, sizes):
            self.version, self.sizes = version, sizes

        def seattn_version(self):
            return self.version

        def seattn_version_string(self):
            return b"x"

        def seattn_struct_size(self, i):
            return self.sizes.get(i, 0)

    good = {i: __import__("ctypes").sizeof(s) for i, s in _ffi.STRUCTS.items()}
    _ffi._check(Fake(100, good), "lib")  # this package's own version and sizes pass
    with pytest.raises(_ffi.LibraryMismatch, match="written for 0.1"):
        _ffi._check(Fake(200, good), "lib")
    bigger = dict(good)
    bigger[4] += 8  # a field appended to seattn_attention_desc
    with pytest.raises(_ffi.LibraryMismatch, match="AttentionDesc"):
        _ffi._check(Fake(100, bigger), "lib")


def test_batch_layout_equals_per_batch_calls(backend):
    q, k, v = rand((3, 4, 9, 32), 1), rand((3, 2, 20, 32), 2), rand((3, 2, 20, 32), 3)
    out, lse = seattn.attention(q, k, v, group_size=4, window=6, return_lse=True,
                                backend=backend)
    assert out.shape == q.shape and lse.shape == q.shape[:3]
    for b in range(3):
        ob, lb = seattn.attention(q[b], k[b], v[b], group_size=4, window=6, return_lse=True,
                                  backend=backend)
        np.testing.assert_array_equal(out[b], ob)
        np.testing.assert_array_equal(lse[b], lb)


def test_float16_and_strided_inputs(backend):
    q, k, v = rand((2, 5, 16), 4), rand((2, 30, 16), 5), rand((2, 30, 16), 6)
    ref = seattn.attention(q, k, v, group_size=2, window=4, backend="cpu")
    h = seattn.attention(q.astype(np.float16), k.astype(np.float16), v.astype(np.float16),
                         group_size=2, window=4, backend=backend)
    assert h.dtype == np.float16 and h.shape == q.shape
    assert np.max(np.abs(h.astype(np.float32) - ref)) < 5e-3
    # a view with other strides (tokens first, then transposed) gives the same as dense input
    kt = np.ascontiguousarray(k.transpose(1, 0, 2)).transpose(1, 0, 2)
    assert not kt.flags.c_contiguous
    np.testing.assert_array_equal(
        seattn.attention(q, kt, v[:, ::1], group_size=2, window=4, backend=backend),
        seattn.attention(q, k, v, group_size=2, window=4, backend=backend))


def test_every_option_reaches_the_library(backend):
    q, k, v = rand((4, 6, 32), 7), rand((2, 40, 32), 8), rand((2, 40, 32), 9)
    qw, kw = rand((32,), 10) + 1.5, rand((32,), 11) + 1.5
    base = dict(group_size=4, q_pos=20, backend=backend)
    plain = seattn.attention(q, k, v, window=5, **base)
    for extra in (dict(rope_theta=500000.0), dict(rotary_dims=16),
                  dict(rope_layout="interleaved"), dict(keys="rotated"), dict(scale=0.3),
                  dict(scale_base=8.0), dict(q_norm=True), dict(k_norm=True),
                  dict(q_norm_weight=qw), dict(k_norm_weight=kw),
                  dict(q_norm=True, qk_norm_eps=0.5), dict(pairs="neighbor"),
                  dict(pairs="grouped"), dict(window_size=9)):
        if "window_size" not in extra:
            extra = dict(extra, window=5)
        got = seattn.attention(q, k, v, **dict(base, **extra))
        ref = seattn.attention(q, k, v, **dict(base, **dict(extra, backend="cpu")))
        assert np.max(np.abs(got - ref)) < 1e-4, extra
        assert np.max(np.abs(got - plain)) > 1e-3, "%s changed nothing" % extra


def test_two_halves_merge_to_the_whole(backend):
    q, k, v = rand((2, 8, 16), 12), rand((2, 50, 16), 13), rand((2, 50, 16), 14)
    kw = dict(group_size=4, window=10, return_lse=True, backend=backend)
    o, l = seattn.attention(q, k, v, **kw)
    on, ln = seattn.attention(q, k, v, pairs="neighbor", **kw)
    og, lg = seattn.attention(q, k, v, pairs="grouped", **kw)
    m = np.logaddexp(ln, lg)
    merged = on * np.exp(ln - m)[..., None] + og * np.exp(lg - m)[..., None]
    assert np.max(np.abs(merged - o)) < 1e-5 and np.max(np.abs(m - l)) < 1e-5


def test_context_keeps_tensors_on_the_device(backend):
    q, k, v = rand((4, 1, 64), 15), rand((2, 300, 64), 16), rand((2, 300, 64), 17)
    with seattn.Context(backend) as ctx:
        kt, vt = ctx.tensor(k), ctx.tensor(v)
        assert kt.shape == k.shape and kt.dtype == np.float32
        np.testing.assert_array_equal(kt.numpy(), k)
        for seed in range(3):  # many calls against one upload of K and V
            qs = rand(q.shape, 100 + seed)
            np.testing.assert_array_equal(
                ctx.attention(qs, kt, vt, group_size=8, window=32),
                seattn.attention(qs, k, v, group_size=8, window=32, backend=backend))
        out = ctx.empty(q.shape)
        assert ctx.attention(ctx.tensor(q), kt, vt, group_size=8, window=32, out=out) is None
        np.testing.assert_array_equal(
            out.numpy(), seattn.attention(q, k, v, group_size=8, window=32, backend=backend))
        assert ctx.last_call["dispatches"] >= 1 or backend == "cpu"
        assert ctx.validation_errors == 0
    with pytest.raises(seattn.Error, match="closed"):
        kt.numpy()
    with pytest.raises(seattn.Error, match="closed"):
        ctx.attention(q, k, v)


def test_numpy_and_torch_agree(backend, torch):
    for dtype in (np.float32, np.float16):
        q, k, v = rand((2, 3, 7, 32), 18, dtype), rand((2, 1, 7, 32), 19, dtype), \
            rand((2, 1, 7, 32), 20, dtype)
        a = seattn.attention(q, k, v, group_size=2, window=3, backend=backend)
        t = seattn.attention(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v),
                             group_size=2, window=3, backend=backend)
        assert isinstance(t, torch.Tensor) and isinstance(a, np.ndarray)
        assert t.dtype == torch.from_numpy(a).dtype and tuple(t.shape) == a.shape
        np.testing.assert_array_equal(t.numpy(), a)
    # a tensor that requires grad, and a transposed (non-contiguous) one
    qt = torch.from_numpy(rand((2, 5, 16), 21)).requires_grad_()
    kt = torch.from_numpy(rand((9, 2, 16), 22)).transpose(0, 1)
    vt = torch.from_numpy(rand((2, 9, 16), 23))
    o, lse = seattn.attention(qt, kt, vt, return_lse=True, backend=backend)
    assert isinstance(lse, torch.Tensor) and tuple(lse.shape) == (2, 5)
    ref = seattn.attention(qt.detach().numpy(), kt.numpy(), vt.numpy(), backend=backend)
    np.testing.assert_array_equal(o.numpy(), ref)


def test_threads_share_a_context(backend):
    import threading

    q, k, v = rand((4, 8, 32), 30), rand((2, 64, 32), 31), rand((2, 64, 32), 32)
    want = seattn.attention(q, k, v, group_size=4, window=8, backend=backend)
    got, errors = [], []

    def work():
        try:
            for _ in range(5):
                got.append(seattn.attention(q, k, v, group_size=4, window=8, backend=backend))
        except Exception as e:  # reported below: an assert in a thread would be lost
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 20
    for g in got:
        np.testing.assert_array_equal(g, want)


def test_each_kernel_by_name(backend):
    """Context(kernel=) runs the kernel named, and each gives the CPU reference's answer."""
    q, k, v = rand((4, 70, 64), 21), rand((2, 70, 64), 22), rand((2, 70, 64), 23)
    ref = seattn.attention(q, k, v, group_size=4, window=16, backend="cpu")
    if backend == "cpu":
        with pytest.raises(seattn.InvalidArgument, match="kernel"):
            seattn.Context("cpu", kernel="flash")
        assert seattn.Context("cpu").kernels() == []
        return
    with seattn.Context("vulkan") as ctx:
        table = ctx.kernels()
    names = [t["name"] for t in table]
    assert {"flash_sg", "flash_smem", "texel"} <= set(names)
    assert "storage" not in names  # retired: flash_smem serves its devices
    with pytest.raises(seattn.InvalidArgument, match="retired"):
        seattn.Context("vulkan", kernel="storage")
    for t in table:
        if not t["available"]:
            assert t["why_not"], t
            continue
        with seattn.Context("vulkan", kernel=t["name"]) as ctx:
            np.testing.assert_allclose(ctx.attention(q, k, v, group_size=4, window=16), ref,
                                       atol=1e-4)
            assert ctx.last_call["kernel"].startswith(t["name"]), (t, ctx.last_call)
    with pytest.raises(seattn.InvalidArgument, match="no_such_kernel.*flash"):
        seattn.Context("vulkan", kernel="no_such_kernel")
