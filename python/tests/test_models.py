"""The cases of shared/golden-models whose features seattn has, through seattn.attention and
seattn.attention_batch, with the keywords named as the cases' keys."""

import json
import os

import numpy as np
import pytest

import seattn
from conftest import GOLDEN_MODELS_DIR

# the features seattn has; a case using any other is left to the issue that adds it
SUPPORTED = {"rope_inv_freq", "rope_attention_factor", "rotary_dims", "rope_layout",
             "softmax_scale", "logit_softcap", "q_dtype", "k_dtype", "v_dtype", "rotary_offset",
             "v_head_dim", "sinks", "k_scale", "v_scale"}
DTYPES = {"f32": np.float32, "f16": np.float16}
# the other storage types: their raw files, as seattn takes them (bf16 as uint16 words; q8_0,
# q4_0 and fp8_e4m3 as uint8 bytes, a row's blocks along the last axis)
RAW = {"bf16": np.uint16, "q8_0": np.uint8, "q4_0": np.uint8, "fp8_e4m3": np.uint8}


def _cases():
    if not os.path.isdir(GOLDEN_MODELS_DIR):
        return []
    out = []
    for name in sorted(os.listdir(GOLDEN_MODELS_DIR)):
        path = os.path.join(GOLDEN_MODELS_DIR, name, "meta.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            m = json.load(f)
        dtypes_ok = all(m.get(t + "_dtype", "f32") in DTYPES or m[t + "_dtype"] in RAW
                        for t in "qkv")
        if set(m.get("features", [])) <= SUPPORTED and dtypes_ok:
            out.append(name)
    return out


CASES = _cases()


def load(name):
    folder = os.path.join(GOLDEN_MODELS_DIR, name)
    with open(os.path.join(folder, "meta.json")) as f:
        m = json.load(f)
    arr = {}
    for n in ("q", "k", "v", "out", "lse"):
        a = np.fromfile(os.path.join(folder, n + ".f32"), "<f4").reshape(
            m["files"][n + ".f32"]["shape"])
        # the .f32 file holds the decoded values: an f16 tensor is them as float16, exactly
        t = m.get(n + "_dtype", "f32")
        if t in RAW:
            raw = np.fromfile(os.path.join(folder, "%s.%s" % (n, t)), RAW[t])
            a = raw.reshape(a.shape[:-1] + (-1,))
        arr[n] = a.astype(DTYPES[t]) if n in "qkv" and t in DTYPES else a
    opts = dict(group_size=m["group_size_G"], window=m["neighbor_window_W"],
                rope_theta=m["rope_theta"], scale=m["softmax_scale"], q_pos=m["q_pos_start"],
                scale_base=None if m["scale_base"] == -1 else m["scale_base"])
    for key in ("rope_inv_freq", "rope_attention_factor", "rotary_dims", "rope_layout",
                "logit_softcap", "rotary_offset", "sinks"):
        if key in m:
            opts[key] = m[key]
    for t in "qkv":
        if m.get(t + "_dtype") in RAW:
            opts[t + "_dtype"] = m[t + "_dtype"]
    for key in ("k_scale", "v_scale"):
        if key in m:
            opts[key] = m[key]
    if m.get("q_dtype") == "bf16":
        opts["out_dtype"] = "f32"  # the cases' outputs are f32; a bf16 one rounds them
    return arr, opts


def tolerance(out):
    """1e-4 (the cases' README); an f16 output (q given as f16) one f16 ulp more, as the C
    tests allow."""
    return 1e-4 + (2.0 ** -10 if np.asarray(out).dtype == np.float16 else 0.0)


def test_the_model_cases_are_there():
    assert len(CASES) >= 4, "no model cases seattn can run under %s" % GOLDEN_MODELS_DIR


@pytest.mark.parametrize("case", CASES)
def test_model_case(case, backend):
    a, opts = load(case)
    out, lse = seattn.attention(a["q"], a["k"], a["v"], backend=backend, return_lse=True,
                                **opts)
    err = float(np.max(np.abs(out.astype(np.float64) - a["out"])))
    assert err <= tolerance(out), "%s on %s: max error %g" % (case, backend, err)
    err = float(np.max(np.abs(lse.astype(np.float64) - a["lse"])))  # the sink included
    assert err <= 1e-4, "%s on %s: lse max error %g" % (case, backend, err)
    # and the model keywords are not ignored: without the frequencies, the softcap, the
    # sinks or the offset, it is wrong
    for key in ("rope_inv_freq", "logit_softcap", "sinks", "rotary_offset"):
        if opts.get(key):  # present and not the default
            without = {k: x for k, x in opts.items() if k != key}
            wrong = seattn.attention(a["q"], a["k"], a["v"], backend=backend, **without)
            assert float(np.max(np.abs(wrong - a["out"]))) > 1e-3, key


@pytest.mark.parametrize("case", CASES)
def test_model_case_as_a_paged_batch(case, backend):
    a, opts = load(case)
    q_pos = opts.pop("q_pos")
    n_heads, q_len, d = a["q"].shape
    n_kv, kv_len, _ = a["k"].shape
    page = 7
    pages = (kv_len + page - 1) // page
    order = np.random.default_rng(1).permutation(pages).astype(np.uint32)
    kp = np.zeros((pages * page, n_kv, a["k"].shape[2]), a["k"].dtype)
    vp = np.zeros((pages * page, n_kv, a["v"].shape[2]), a["v"].dtype)
    for j in range(kv_len):
        tok = order[j // page] * page + j % page
        kp[tok] = a["k"][:, j]
        vp[tok] = a["v"][:, j]
    seqs = np.array([[0, q_len, q_pos, kv_len, 0]], np.uint32)
    out, lse = seattn.attention_batch(np.ascontiguousarray(a["q"].transpose(1, 0, 2)), kp, vp,
                                      seqs, order, page_size=page, backend=backend,
                                      return_lse=True, **opts)
    err = float(np.max(np.abs(np.asarray(out, np.float64).transpose(1, 0, 2) - a["out"])))
    assert err <= tolerance(out), "%s on %s as a batch: max error %g" % (case, backend, err)
    err = float(np.max(np.abs(np.asarray(lse, np.float64).T - a["lse"])))
    assert err <= 1e-4, "%s on %s as a batch: lse max error %g" % (case, backend, err)


def test_bad_rope_keywords_are_refused():
    q = np.zeros((2, 3, 8), np.float32)
    with pytest.raises(ValueError, match="rope_inv_freq"):
        seattn.attention(q, q, q, backend="cpu", rope_inv_freq=[1.0, 0.5])
    with pytest.raises(ValueError, match="rope_inv_freq"):
        seattn.attention(q, q, q, backend="cpu", rope_inv_freq=[1.0, 0.5, -1.0, 0.1])
    with pytest.raises(ValueError, match="rope_attention_factor"):
        seattn.attention(q, q, q, backend="cpu", rope_attention_factor=float("nan"))
    with pytest.raises(ValueError, match="logit_softcap"):
        seattn.attention(q, q, q, backend="cpu", logit_softcap=-50.0)
    with pytest.raises(ValueError, match="rotary_offset"):
        seattn.attention(q, q, q, backend="cpu", rotary_offset=2)  # 2 + 8 > head_dim 8
    with pytest.raises(ValueError, match="sinks"):
        seattn.attention(q, q, q, backend="cpu", sinks=[0.5])  # 2 heads
    with pytest.raises(ValueError, match="v"):
        seattn.attention(q, q, np.zeros((2, 4, 8), np.float32), backend="cpu")


def test_mla_shapes_and_sinks_with_a_batch_dimension(backend):
    """v's head size from v's shape, the out shape that follows, and sinks given per query
    head while a batch dimension is folded into the heads: each batch entry alone agrees."""
    rng = np.random.default_rng(5)
    q = rng.standard_normal((2, 4, 6, 48)).astype(np.float32)
    k = rng.standard_normal((2, 2, 30, 48)).astype(np.float32)
    v = rng.standard_normal((2, 2, 30, 16)).astype(np.float32)
    opts = dict(group_size=3, window=8, rotary_offset=32, rotary_dims=16,
                rope_layout="interleaved", sinks=[0.5, 2.0, -1.0, 3.0])
    out = seattn.attention(q, k, v, backend=backend, **opts)
    assert out.shape == (2, 4, 6, 16)
    for b in range(2):
        one = seattn.attention(q[b], k[b], v[b], backend="cpu", **opts)
        assert float(np.max(np.abs(out[b] - one))) <= 1e-4


def _meta_cases_with_frequencies():
    out = []
    if os.path.isdir(GOLDEN_MODELS_DIR):
        for name in sorted(os.listdir(GOLDEN_MODELS_DIR)):
            path = os.path.join(GOLDEN_MODELS_DIR, name, "meta.json")
            if os.path.exists(path):
                with open(path) as f:
                    m = json.load(f)
                if "rope_inv_freq" in m:
                    out.append(m)
    return out


@pytest.mark.parametrize("m", _meta_cases_with_frequencies(), ids=lambda m: m["name"])
def test_rope_frequencies_from_the_config(m):
    """seattn.rope_frequencies on the configuration each case records gives its frequencies
    and attention factor (the case's were computed from transformers' formulas)."""
    config = {"rope_theta": m["rope_theta"], "rope_scaling": m.get("rope_scaling"),
              "max_position_embeddings": m.get("rope_max_position_embeddings"),
              "head_dim": m["head_dim"],
              "partial_rotary_factor": m.get("rotary_dims", m["head_dim"]) / m["head_dim"]}
    if "rope_original_max_position_embeddings" in m:
        config["original_max_position_embeddings"] = m["rope_original_max_position_embeddings"]
    inv, factor = seattn.rope_frequencies(config, seq_len=m.get("rope_seq_len"))
    want = np.array(m["rope_inv_freq"])
    assert inv.shape == want.shape
    assert float(np.max(np.abs(inv - want) / want)) <= 1e-13
    assert factor == np.float32(m["rope_attention_factor"])


def test_rope_frequencies_of_every_model_config():
    folder = os.path.join(GOLDEN_MODELS_DIR, "configs")
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    assert len(names) >= 10
    for name in names:
        with open(os.path.join(folder, name)) as f:
            config = json.load(f)
        inv, factor = seattn.rope_frequencies(config)
        assert inv.ndim == 1 and inv.size >= 16 and np.all(inv > 0), name
        assert 1.0 <= factor < 2.0, name
    with pytest.raises(ValueError, match="rope_scaling type"):
        seattn.rope_frequencies({"head_dim": 64, "rope_scaling": {"rope_type": "ntk"}})
    with pytest.raises(ValueError, match="factor"):
        seattn.rope_frequencies({"head_dim": 64, "max_position_embeddings": 4096,
                                 "rope_scaling": {"rope_type": "linear"}})


def _config(name):
    with open(os.path.join(GOLDEN_MODELS_DIR, "configs", name)) as f:
        return json.load(f)


def _cases_with_configs():
    out = []
    for name in CASES:
        with open(os.path.join(GOLDEN_MODELS_DIR, name, "meta.json")) as f:
            m = json.load(f)
        if m.get("model_config"):
            out.append(name)
    return out


@pytest.mark.parametrize("case", _cases_with_configs())
def test_attention_config_runs_the_case(case, backend):
    """attention_config() of the model's own config.json gives the keywords the case was
    computed with: the case's data with them (and its G, W, sinks and positions) gives its
    output."""
    a, opts = load(case)
    with open(os.path.join(GOLDEN_MODELS_DIR, case, "meta.json")) as f:
        m = json.load(f)
    config = _config(os.path.basename(m["model_config"]))
    layer = 0
    while True:  # the first full-attention layer: the cases model those
        cfg = seattn.attention_config(config, layer, group_size=m["group_size_G"],
                                      window=m["neighbor_window_W"], seq_len=m.get("rope_seq_len"))
        if cfg.layer_type == "full_attention":
            break
        layer += 1
    assert cfg.head_dim == m["head_dim"] and cfg.v_head_dim == m.get("v_head_dim", m["head_dim"])
    assert cfg.sinks == ("sinks" in m)
    assert cfg["scale"] == pytest.approx(m["softmax_scale"], rel=1e-12)
    keywords = dict(cfg)
    keywords.pop("q_norm", None), keywords.pop("k_norm", None)  # m11's data come normalised
    keywords.pop("qk_norm_eps", None)
    if cfg.sinks:
        keywords["sinks"] = opts["sinks"]
    for key in ("q_dtype", "k_dtype", "v_dtype", "k_scale", "v_scale", "out_dtype"):
        if key in opts:  # how the engine stores its cache is not in config.json
            keywords[key] = opts[key]
    out = seattn.attention(a["q"], a["k"], a["v"], backend=backend, q_pos=opts["q_pos"],
                           **keywords)
    err = float(np.max(np.abs(out.astype(np.float64) - a["out"])))
    assert err <= tolerance(out), "%s from its config on %s: max error %g" % (case, backend, err)


def test_attention_config_layer_types():
    g2 = _config("gemma-2-2b.json")
    assert seattn.attention_config(g2, 0).layer_type == "sliding_attention"
    full = seattn.attention_config(g2, 1, group_size=4, window=1024)
    assert full.layer_type == "full_attention" and full["logit_softcap"] == 50.0
    assert full["group_size"] == 4 and full["scale"] == 0.0625
    slide = seattn.attention_config(g2, 2)
    assert slide["pairs"] == "neighbor" and slide["window"] == 4096 and slide["group_size"] == 1
    g3 = _config("gemma-3-4b.json")
    types = [seattn.attention_config(g3, i).layer_type for i in range(g3["num_hidden_layers"])]
    assert types.count("full_attention") == 5 and types[5] == "full_attention"
    glob, loc = seattn.attention_config(g3, 5), seattn.attention_config(g3, 0)
    assert glob.qk_norm and glob["q_norm"] and glob["rope_theta"] == 1e6
    np.testing.assert_allclose(glob["rope_inv_freq"],
                               1e6 ** (-np.arange(128) / 128.0) / 8.0, rtol=1e-13)
    np.testing.assert_allclose(loc["rope_inv_freq"], 1e4 ** (-np.arange(128) / 128.0),
                               rtol=1e-13)
    oss = _config("gpt-oss-20b.json")
    assert seattn.attention_config(oss, 0).sliding_window == 128
    assert seattn.attention_config(oss, 1).sinks
    ds = seattn.attention_config(_config("deepseek-v2-lite.json"), 0)
    assert (ds.head_dim, ds.v_head_dim, ds["rotary_offset"], ds["rotary_dims"]) == \
        (192, 128, 128, 64)
    assert ds["rope_layout"] == "interleaved"
    for name in sorted(os.listdir(os.path.join(GOLDEN_MODELS_DIR, "configs"))):
        c = _config(name)
        for i in range(c["num_hidden_layers"]):
            seattn.attention_config(c, i)  # every layer of every config reads
    with pytest.raises(ValueError, match="layers"):
        seattn.attention_config(g2, 26)
    with pytest.raises(ValueError, match="attention_chunk_size"):
        seattn.attention_config(dict(g2, attention_chunk_size=8192), 0)
