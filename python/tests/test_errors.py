"""Bad input raises seattn.Error (ValueError for bad arguments) with a message, before any
work, and never takes the interpreter down."""

import numpy as np
import pytest

import seattn


def rand(shape, dtype=np.float32):
    return np.random.default_rng(0).uniform(-1, 1, shape).astype(dtype)


Q, K, V = rand((4, 3, 16)), rand((2, 10, 16)), rand((2, 10, 16))

BAD = [
    # (what, q, k, v, options, message)
    ("q None", None, K, V, {}, "q is None"),
    ("v None", Q, K, None, {}, "v is None"),
    ("a list", Q.tolist(), K, V, {}, "q is a list"),
    ("float64", Q.astype(np.float64), K, V, {}, "float64"),
    ("int32", Q, K.astype(np.int32), V, {}, "int32"),
    ("bool", Q, K, V.astype(bool), {}, "bool"),
    ("2-D", Q[0], K, V, {}, "shape"),
    ("5-D", Q[None, None], K[None, None], V[None, None], {}, "shape"),
    ("mixed ranks", Q[None], K, V, {}, "all"),
    ("k and v differ", Q, K, V[:, :9], {}, "must match"),
    ("head_dim differs", Q, rand((2, 10, 8)), rand((2, 10, 8)), {}, "head_dim"),
    ("GQA does not divide", Q, rand((3, 10, 16)), rand((3, 10, 16)), {}, "divide"),
    ("batch differs", Q[None].repeat(2, 0), K[None], V[None], {}, "batch"),
    ("empty", Q[:, :0], K, V, {}, "0"),
    ("odd head_dim", rand((4, 3, 7)), rand((2, 10, 7)), rand((2, 10, 7)), {}, "head_dim"),
    ("head_dim 514", rand((1, 1, 514)), rand((1, 2, 514)), rand((1, 2, 514)), {}, "head_dim"),
    ("G without W", Q, K, V, {"group_size": 4}, "window"),
    ("G 0", Q, K, V, {"group_size": 0}, "group_size"),
    ("G float", Q, K, V, {"group_size": 2.5, "window": 4}, "group_size"),
    ("W negative", Q, K, V, {"group_size": 2, "window": -1}, "window"),
    ("W disagree", Q, K, V, {"group_size": 2, "window": 4, "window_size": 5}, "disagree"),
    ("q_pos too far", Q, K, V, {"q_pos": 8}, "q_pos"),
    ("q_pos string", Q, K, V, {"q_pos": "1"}, "q_pos"),
    ("theta negative", Q, K, V, {"rope_theta": -1.0}, "rope_theta"),
    ("theta nan", Q, K, V, {"rope_theta": float("nan")}, "rope_theta"),
    ("rotary odd", Q, K, V, {"rotary_dims": 3}, "rotary_dims"),
    ("rotary too big", Q, K, V, {"rotary_dims": 32}, "rotary_dims"),
    ("layout", Q, K, V, {"rope_layout": "sideways"}, "rope_layout"),
    ("keys", Q, K, V, {"keys": "cooked"}, "keys"),
    ("pairs", Q, K, V, {"pairs": "some"}, "pairs"),
    ("scale 0", Q, K, V, {"scale": 0}, "scale"),
    ("scale_base 0.5", Q, K, V, {"scale_base": 0.5}, "scale_base"),
    ("norm weight shape", Q, K, V, {"q_norm_weight": rand((8,))}, "q_norm_weight"),
    ("norm weight dtype", Q, K, V, {"k_norm_weight": rand((16,), np.float64)}, "float64"),
    ("k_norm on rotated keys", Q, K, V, {"k_norm": True, "keys": "rotated"}, "K_NORM"),
    ("eps negative", Q, K, V, {"q_norm": True, "qk_norm_eps": -1.0}, "eps"),
    ("out not a Tensor", Q, K, V, {"out": np.zeros_like(Q)}, "out="),
]


@pytest.mark.parametrize("what, q, k, v, options, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises(backend, what, q, k, v, options, message):
    with pytest.raises(seattn.InvalidArgument, match=message) as e:
        seattn.attention(q, k, v, backend=backend, **options)
    assert isinstance(e.value, ValueError) and isinstance(e.value, seattn.Error)
    assert e.value.status == -1


def test_an_unknown_option_is_a_type_error():
    with pytest.raises(TypeError):
        seattn.attention(Q, K, V, backend="cpu", windows=4)


def test_bad_backend_and_device():
    with pytest.raises(ValueError, match="backend"):
        seattn.attention(Q, K, V, backend="gpu")
    with pytest.raises(seattn.Error) as e:
        seattn.Context("vulkan", device="no such device 12345")
    assert e.value.status < 0 and "no such device 12345" in str(e.value)
    with pytest.raises(ValueError, match="device"):
        seattn.Context("cpu", device=1.5)


def test_tensors_of_another_context_and_bad_uploads():
    with seattn.Context("cpu") as a, seattn.Context("cpu") as b:
        kt = a.tensor(K)
        with pytest.raises(ValueError, match="another context"):
            b.attention(Q, kt, V)
        with pytest.raises(ValueError, match="upload"):
            kt.upload(K[:1])
        with pytest.raises(ValueError, match="float32 or float16"):
            a.empty((2, 2), np.int64)


def test_torch_inputs_of_the_wrong_kind(torch):
    with pytest.raises(ValueError, match="int64"):
        seattn.attention(torch.zeros(4, 3, 16, dtype=torch.int64), K, V, backend="cpu")
    with pytest.raises(ValueError, match="float64"):
        seattn.attention(torch.zeros(4, 3, 16, dtype=torch.float64), K, V, backend="cpu")
    meta = torch.zeros(4, 3, 16, device="meta")
    with pytest.raises(ValueError, match="meta"):
        seattn.attention(meta, K, V, backend="cpu")
