"""Storage types: seattn.quantize / dequantize against NumPy transcriptions of ggml's reference
quantizers and torch's bf16 rounding (written here, apart from the library), and attention on
each type against the same attention on the decoded float32 values."""

import numpy as np
import pytest

import seattn


def _f16(x):
    return np.float32(np.float16(x))


def ggml_q8_0(x):
    """quantize_row_q8_0_ref, float32 arithmetic: d = amax / 127, q = roundf(x / d)."""
    x = np.asarray(x, np.float32).reshape(-1, 32)
    out = []
    for blk in x:
        amax = np.float32(np.max(np.abs(blk)))
        d = np.float32(amax / np.float32(127))
        idv = np.float32(1) / d if d else np.float32(0)
        q = [int(np.copysign(np.floor(abs(v * idv) + 0.5), v * idv)) for v in blk]  # roundf
        out.append(np.float16(d).tobytes() + np.array(q, np.int8).tobytes())
    return np.frombuffer(b"".join(out), np.uint8)


def ggml_q4_0(x):
    """quantize_row_q4_0_ref: max = the first value of largest magnitude, d = max / -8,
    q = min(15, (int8)(x / d + 8.5))."""
    x = np.asarray(x, np.float32).reshape(-1, 32)
    out = []
    for blk in x:
        i = int(np.argmax(np.abs(blk)))  # the first of the largest
        d = np.float32(blk[i] / np.float32(-8))
        idv = np.float32(1) / d if d else np.float32(0)
        q = [min(15, int(np.float32(v * idv + np.float32(8.5)))) for v in blk]
        qs = bytes((q[j] | (q[j + 16] << 4)) for j in range(16))
        out.append(np.float16(d).tobytes() + qs)
    return np.frombuffer(b"".join(out), np.uint8)


def e4m3_values():
    """Every finite OCP E4M3FN value by its code (0 .. 126; 127 is NaN), from the format's
    definition."""
    vals = []
    for b in range(127):
        e, m = b >> 3, b & 7
        vals.append(m * 2.0 ** -9 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7))
    return np.array(vals)


def test_q8_0_and_q4_0_match_the_reference_quantizers():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 5, 64)) * rng.uniform(0.01, 30, (3, 5, 1))).astype(np.float32)
    x[0, 0, :32] = 0.0  # an all-zero block: d = 0
    x[0, 1, 5] = -x[0, 1, :32].__abs__().max() * 1.0  # a tie in magnitude, negative first
    for name, ref in (("q8_0", ggml_q8_0), ("q4_0", ggml_q4_0)):
        got = seattn.quantize(x, name)
        assert got.dtype == np.uint8 and got.shape == (3, 5, 64 // 32 * (34 if name == "q8_0"
                                                                          else 18))
        assert np.array_equal(got.reshape(-1), ref(x)), name
        # decoding: d * q from the stored f16 scale
        dec = seattn.dequantize(got, name)
        assert dec.shape == x.shape
        raw = got.reshape(-1, 34 if name == "q8_0" else 18)
        d = raw[:, :2].copy().view(np.float16).astype(np.float32)
        if name == "q8_0":
            q = raw[:, 2:].view(np.int8).astype(np.float32)
        else:
            qs = raw[:, 2:].astype(np.int32)
            q = np.concatenate([(qs & 15) - 8, (qs >> 4) - 8], axis=1).astype(np.float32)
        assert np.array_equal(dec.reshape(-1, 32), d * q)


def test_fp8_e4m3_rounds_to_nearest_even_and_saturates():
    vals = e4m3_values()
    scale = 0.25
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(500) * 40, vals[:20] * scale, [1000.0, -1e6],
                        (vals[40:50] + vals[41:51]) / 2 * scale]).astype(np.float32)
    got = seattn.quantize(x, "fp8_e4m3", scale=scale)
    assert got.dtype == np.uint8
    for xi, g in zip(x, got):
        y = np.float32(xi / np.float32(scale))
        a = min(abs(float(y)), 448.0)
        # nearest code; a tie goes to the even code (mantissa's last bit 0)
        dist = np.abs(vals - a)
        best = np.flatnonzero(dist == dist.min())
        code = int(best[0] if len(best) == 1 else best[best % 2 == 0][0])
        assert g == (code | (0x80 if y < 0 else 0)), (xi, g, code)
    dec = seattn.dequantize(got, "fp8_e4m3", scale=scale)
    want = np.float32(vals[got & 127]) * np.float32(scale) * np.where(got & 128, -1, 1)
    assert np.array_equal(dec, want.astype(np.float32))


def test_bf16_matches_torch(torch):
    x = torch.randn(1000) * 100
    got = seattn.quantize(x, "bf16")
    assert got.dtype == torch.bfloat16
    assert torch.equal(got, x.to(torch.bfloat16))
    assert torch.equal(seattn.dequantize(got, "bf16"), x.to(torch.bfloat16).float())


def test_bad_quantize_arguments_are_refused():
    with pytest.raises(ValueError, match="multiple of 32"):
        seattn.quantize(np.zeros(40, np.float32), "q8_0")
    with pytest.raises(ValueError, match="scale"):
        seattn.quantize(np.zeros(32, np.float32), "q8_0", scale=2.0)
    with pytest.raises(ValueError, match="q5_1"):
        seattn.quantize(np.zeros(32, np.float32), "q5_1")


@pytest.mark.parametrize("kv", ["bf16", "q8_0", "q4_0", "fp8_e4m3"])
def test_attention_reads_each_type_as_its_decoded_values(kv, backend):
    rng = np.random.default_rng(11)
    q = rng.standard_normal((4, 9, 64)).astype(np.float32)
    k = rng.standard_normal((2, 50, 64)).astype(np.float32)
    v = rng.standard_normal((2, 50, 64)).astype(np.float32)
    scale = 0.02 if kv == "fp8_e4m3" else None
    kr = seattn.quantize(k, kv, scale=scale)
    vr = seattn.quantize(v, kv, scale=scale)
    opts = dict(group_size=4, window=8, backend=backend)
    want = seattn.attention(q, seattn.dequantize(kr, kv, scale=scale),
                            seattn.dequantize(vr, kv, scale=scale), **opts)
    got = seattn.attention(q, kr, vr, k_dtype=kv, v_dtype=kv, k_scale=scale, v_scale=scale,
                           **opts)
    assert np.max(np.abs(got - want)) <= 1e-5
    # the batched call takes them too: one sequence, contiguous keys, token-major views
    seqs = np.array([[0, 9, 41, 50, 0]], np.uint32)
    gb = seattn.attention_batch(q.transpose(1, 0, 2).copy(), kr.transpose(1, 0, 2).copy(),
                                vr.transpose(1, 0, 2).copy(), seqs, k_dtype=kv, v_dtype=kv,
                                k_scale=scale, v_scale=scale, group_size=4, window=8,
                                backend=backend)
    assert np.max(np.abs(gb.transpose(1, 0, 2) - want)) <= 1e-5


def test_bf16_queries_give_bf16_outputs(torch, backend):
    q = torch.randn(2, 5, 32).to(torch.bfloat16)
    k = torch.randn(2, 5, 32).to(torch.bfloat16)
    v = torch.randn(2, 5, 32).to(torch.bfloat16)
    out = seattn.attention(q, k, v, backend=backend)
    assert out.dtype == torch.bfloat16
    ref = seattn.attention(q.float(), k.float(), v.float(), backend=backend)
    assert torch.equal(out, ref.to(torch.bfloat16)) or \
        float((out.float() - ref).abs().max()) <= 2 ** -7
    with pytest.raises(ValueError, match="k and v only"):
        seattn.attention(seattn.quantize(q.float(), "q8_0").numpy(), k, v, q_dtype="q8_0",
                         backend=backend)
    with pytest.raises(ValueError, match="k_dtype="):
        seattn.attention(q, np.zeros((2, 5, 34), np.uint8), v, backend=backend)
