"""seattn: Self-Extend attention (Jin et al., ICML 2024) on Vulkan, from Python.

    import numpy as np, seattn
    out = seattn.attention(q, k, v, group_size=8, window=512)   # q [heads, tokens, head_dim]

NumPy arrays or PyTorch CPU tensors in, the same type, dtype and layout out. Every call of
`attention` uses one context per (backend, device), created on first use and kept for the life
of the process; `Context` gives explicit control and device-resident tensors. Errors are
`seattn.Error` with the library's status and message (bad arguments are also `ValueError`),
raised before any work is done.
"""

import ctypes
import threading
import weakref

import numpy as np

from . import _ffi

__version__ = "0.1.0"
__all__ = ["attention", "attention_batch", "quantize", "dequantize", "Context", "Tensor", "Error", "InvalidArgument",
           "devices", "rope_frequencies", "attention_config", "AttentionConfig",
           "SelfExtendAttn", "SelfExtend", "__version__"]

_lib = _ffi.load()


class Error(Exception):
    """A failed seattn call: `status` is the library's seattn_status (negative), `args[0]` its
    message."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class InvalidArgument(Error, ValueError):
    """An argument the library (or this package, before calling it) refuses."""


def _status_name(status):
    return _lib.seattn_status_string(status).decode()


def _raise(status, message):
    cls = InvalidArgument if status in (_ffi.ERROR_INVALID_ARGUMENT,
                                        _ffi.ERROR_BUFFER_TOO_SMALL) else Error
    raise cls("%s: %s" % (_status_name(status), message), status)


def _bad(message):
    raise InvalidArgument(message, _ffi.ERROR_INVALID_ARGUMENT)


def _info_dict(info):
    return {
        "name": info.name.decode(errors="replace"),
        "driver": info.driver.decode(errors="replace"),
        "vendor_id": info.vendor_id,
        "device_id": info.device_id,
        "type": {0: "other", 1: "integrated", 2: "discrete", 3: "virtual", 4: "cpu"}.get(
            info.type, str(info.type)),
        "subgroup_size": info.subgroup_size,
        "storage_16bit": bool(info.storage_16bit),
        "device_local_bytes": info.device_local_bytes,
        "index": None if info.index == 0xFFFFFFFF else info.index,
    }


def devices():
    """The Vulkan devices (a list of dicts: name, driver, type, ...); [] without a driver."""
    n = _ffi._u32(0)
    if _lib.seattn_device_list(None, ctypes.byref(n)) != _ffi.SUCCESS:
        return []
    infos = (_ffi.DeviceInfo * max(n.value, 1))()
    if _lib.seattn_device_list(infos, ctypes.byref(n)) != _ffi.SUCCESS:
        return []
    return [_info_dict(infos[i]) for i in range(n.value)]


# ---- Arrays in and out --------------------------------------------------------------------

_DTYPES = {np.dtype(np.float32): _ffi.DTYPE_F32, np.dtype(np.float16): _ffi.DTYPE_F16}
# what a Tensor may hold: floats, and the raw storage of the other types (bf16 as uint16; q8_0,
# q4_0 and fp8_e4m3 as uint8)
_STORAGE = (np.dtype(np.float32), np.dtype(np.float16), np.dtype(np.uint16), np.dtype(np.uint8))
# the NumPy dtype that holds each storage type's raw values
_HOLDER = {_ffi.DTYPE_F32: np.dtype(np.float32), _ffi.DTYPE_F16: np.dtype(np.float16),
           _ffi.DTYPE_BF16: np.dtype(np.uint16), _ffi.DTYPE_Q8_0: np.dtype(np.uint8),
           _ffi.DTYPE_Q4_0: np.dtype(np.uint8), _ffi.DTYPE_FP8_E4M3: np.dtype(np.uint8)}
_TYPES_TEXT = ("float32 or float16, or with dtype= bf16 (uint16 words, or torch.bfloat16), "
               "q8_0 or q4_0 (uint8 blocks, seattn.quantize) or fp8_e4m3 (uint8, or "
               "torch.float8_e4m3fn)")


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _to_numpy(x, name):
    """(array, was_torch): a C-contiguous NumPy view or copy of x. Refuses anything that is not
    a NumPy array or torch CPU tensor of a dtype seattn stores (torch's bfloat16 and
    float8_e4m3fn come back as their uint16 and uint8 bits)."""
    if x is None:
        _bad("%s is None; it must be a NumPy array or a torch tensor" % name)
    if _is_torch(x):
        import torch

        if x.device.type != "cpu":
            _bad("%s is a torch tensor on %s; seattn takes CPU tensors (call .cpu()); the "
                 "device seattn computes on is chosen with backend= and device=" % (
                     name, x.device))
        t = x.detach().contiguous()
        if t.dtype == torch.bfloat16:
            a = t.view(torch.int16).numpy().view(np.uint16)
        elif str(t.dtype) == "torch.float8_e4m3fn":
            a = t.view(torch.uint8).numpy()
        elif t.dtype in (torch.float32, torch.float16, torch.uint8):
            a = t.numpy()
        else:
            _bad("%s has dtype %s; seattn takes %s" % (name, x.dtype, _TYPES_TEXT))
        torch_in = True
    elif isinstance(x, np.ndarray):
        a, torch_in = x, False
    else:
        _bad("%s is a %s; it must be a NumPy array or a torch tensor" % (name, type(x).__name__))
    if a.dtype not in _STORAGE:
        _bad("%s has dtype %s; seattn takes %s (convert with .astype(np.float32) or .float())"
             % (name, a.dtype, _TYPES_TEXT))
    return np.ascontiguousarray(a), torch_in


def _torch_kind(x):
    """The storage type a torch tensor's own dtype names (bfloat16, float8_e4m3fn), or None."""
    if not _is_torch(x):
        return None
    return {"torch.bfloat16": _ffi.DTYPE_BF16,
            "torch.float8_e4m3fn": _ffi.DTYPE_FP8_E4M3}.get(str(x.dtype))


def _storage_type(x, held, name, given, kv=True):
    """The seattn type of operand x held as NumPy dtype `held`: given (a dtype= name) where the
    holder alone does not say (uint16: bf16; uint8: q8_0, q4_0, fp8_e4m3)."""
    implied = _torch_kind(x)
    if given is not None:
        if given not in _ffi.DTYPE_NAMES:
            _bad("%s dtype %r; seattn knows %s" % (name, given, sorted(_ffi.DTYPE_NAMES)))
        t = _ffi.DTYPE_NAMES[given]
        if implied is not None and implied != t:
            _bad("%s is a torch %s tensor but dtype %r was given" % (name, x.dtype, given))
    elif implied is not None:
        t = implied
    elif held in _DTYPES:
        t = _DTYPES[held]
    else:
        _bad("%s holds %s; say what it stores with %s_dtype= (%s)" % (
            name, held, name, "bf16" if held == np.uint16 else "q8_0, q4_0 or fp8_e4m3"))
    if _HOLDER[t] != held:
        _bad("%s is %s but holds %s; a %s tensor is held as %s" % (
            name, [k for k, v in _ffi.DTYPE_NAMES.items() if v == t][0], held,
            [k for k, v in _ffi.DTYPE_NAMES.items() if v == t][0], _HOLDER[t]))
    if not kv and t not in (_ffi.DTYPE_F32, _ffi.DTYPE_F16, _ffi.DTYPE_BF16):
        _bad("%s: %s is a type for k and v only; q takes float32, float16 or bf16" % (
            name, given))
    return t


def _logical(shape, t, name):
    """The shape of the values a tensor of type t holds in an array of `shape` (a block type's
    last axis is whole blocks of bytes)."""
    if t not in _ffi.BLOCK_BYTES:
        return tuple(shape)
    bb = _ffi.BLOCK_BYTES[t]
    if shape[-1] % bb != 0:
        _bad("%s's last axis holds %d bytes, not whole %d-byte blocks of 32 values" % (
            name, shape[-1], bb))
    return tuple(shape[:-1]) + (shape[-1] // bb * 32,)


def _result(a, t, torch_out):
    """A result array of type t (bf16 held as uint16) as NumPy, or as torch when torch_out."""
    if not torch_out:
        return a
    import torch

    if t == _ffi.DTYPE_BF16:
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def _from_numpy(a, torch_out):
    if not torch_out:
        return a
    import torch

    return torch.from_numpy(a)


# ---- Contexts and tensors -----------------------------------------------------------------

class _Closes:
    """close() when garbage-collected, quietly (the interpreter may be shutting down)."""

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Tensor(_Closes):
    """Device memory of a context holding one array (shape and dtype kept for the call), e.g. a
    KV cache uploaded once and used by many calls. Made by Context.tensor() / Context.empty()."""

    def __init__(self, ctx, shape, dtype):
        self.context = ctx
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        if self.dtype not in _STORAGE:
            _bad("tensor dtype %s; seattn takes float32 or float16, or uint16 / uint8 holding "
                 "another type's raw storage" % self.dtype)
        nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.nbytes = nbytes
        self._h = ctypes.c_void_p()
        ctx._call(_lib.seattn_tensor_create, ctx._ptr(), max(nbytes, 4), ctypes.byref(self._h))
        ctx._tensors.add(self)

    def _ptr(self):
        if not self._h:
            _bad("the tensor was closed")
        return self._h

    def upload(self, array):
        """Copies array (same shape and dtype) into the tensor."""
        a, _ = _to_numpy(array, "array")
        if a.shape != self.shape or a.dtype != self.dtype:
            _bad("upload of %s %s into a tensor of %s %s" % (a.dtype, a.shape, self.dtype,
                                                              self.shape))
        self.context._call(_lib.seattn_tensor_upload, self.context._ptr(), self._ptr(), 0,
                           a.ctypes.data, a.nbytes)

    def numpy(self):
        """A NumPy copy of the tensor's contents."""
        a = np.empty(self.shape, self.dtype)
        self.context._call(_lib.seattn_tensor_download, self.context._ptr(), self._ptr(), 0,
                           a.ctypes.data, a.nbytes)
        return a

    def close(self):
        with self.context._lock:
            if self._h:
                _lib.seattn_tensor_destroy(self._h)
                self._h = ctypes.c_void_p()
                self.context._tensors.discard(self)

    def __repr__(self):
        return "seattn.Tensor(shape=%s, dtype=%s)" % (self.shape, self.dtype)


class Context(_Closes):
    """A seattn context: the CPU reference (backend="cpu") or a Vulkan device
    (backend="vulkan"; device= an index into seattn.devices() or part of a device name, None:
    the library's default choice). Threads may share it: its calls take turns. close() (or a
    with block) frees the device, and the tensors still open on it."""

    def __init__(self, backend="vulkan", device=None, validation=False, timeout_ms=0,
                 pipeline_cache_path=None, kernel=None):
        if backend not in ("vulkan", "cpu"):
            _bad("backend=%r; it must be 'vulkan' or 'cpu'" % (backend,))
        o = _ffi.ContextOptions()
        o.backend = _ffi.BACKEND_CPU if backend == "cpu" else _ffi.BACKEND_VULKAN
        if device is not None:
            if not isinstance(device, (int, str)) or isinstance(device, bool):
                _bad("device=%r; it must be an index or part of a device name" % (device,))
            o.device = str(device).encode()
        o.flags = _ffi.CONTEXT_VALIDATION if validation else 0
        o.timeout_ms = int(timeout_ms)
        if pipeline_cache_path is not None:
            o.pipeline_cache_path = str(pipeline_cache_path).encode()
        if kernel is not None:
            if not isinstance(kernel, str):
                _bad("kernel=%r; it must be a kernel's name (Context.kernels())" % (kernel,))
            o.kernel = kernel.encode()
        self.backend = backend
        # the library wants one call on a context at a time; ctypes lets other Python threads
        # run during a call, so every call on the context takes this lock
        self._lock = threading.RLock()
        self._tensors = weakref.WeakSet()
        self._h = ctypes.c_void_p()
        s = _lib.seattn_context_create(ctypes.byref(o), ctypes.byref(self._h))
        if s != _ffi.SUCCESS:
            _raise(s, _lib.seattn_last_create_error().decode(errors="replace"))

    def _ptr(self):
        if not self._h:
            _bad("the context was closed")
        return self._h

    def _call(self, fn, *args):
        with self._lock:
            s = fn(*args)
            if s != _ffi.SUCCESS:
                _raise(s, _lib.seattn_context_last_error(self._h).decode(errors="replace"))

    @property
    def device_info(self):
        info = _ffi.DeviceInfo()
        self._call(_lib.seattn_context_device_info, self._ptr(), ctypes.byref(info))
        return _info_dict(info)

    @property
    def last_call(self):
        """What the last attention call did: device_ms, host_ms, dispatches, kernel (its
        description), kernel_id ("cpu", "texel", "merge" or "flash"), key_splits,
        plain."""
        st = _ffi.CallStats()
        self._call(_lib.seattn_context_last_call, self._ptr(), ctypes.byref(st))
        kinds = {0: "cpu", 1: "storage (retired)", 2: "texel", 3: "merge", 4: "flash"}
        return {"device_ms": st.device_ms, "host_ms": st.host_ms, "dispatches": st.dispatches,
                "kernel": st.kernel.decode(errors="replace"),
                "kernel_id": kinds.get(st.kernel_id, str(st.kernel_id)),
                "key_splits": st.key_splits, "plain": bool(st.plain)}

    def kernels(self):
        """The Vulkan kernel table: a dict per kernel (name, description, available, why_not);
        a name is what Context(kernel=) takes. Empty on the CPU backend."""
        out = []
        with self._lock:
            i = 0
            while True:
                k = _ffi.KernelInfo()
                if _lib.seattn_context_kernel_info(self._ptr(), i, ctypes.byref(k)) != _ffi.SUCCESS:
                    break
                out.append({"name": k.name.decode(), "description": k.description.decode(),
                            "available": bool(k.available), "why_not": k.why_not.decode()})
                i += 1
        return out

    @property
    def validation_errors(self):
        return _lib.seattn_context_validation_errors(self._ptr())

    def tensor(self, array):
        """A device tensor holding a copy of array (NumPy or torch, float32 or float16)."""
        a, _ = _to_numpy(array, "array")
        t = Tensor(self, a.shape, a.dtype)
        t.upload(a)
        return t

    def empty(self, shape, dtype=np.float32):
        """A device tensor of this shape and dtype, contents undefined."""
        return Tensor(self, shape, dtype)

    def attention(self, q, k, v, **options):
        """seattn.attention() on this context. q, k, v may also be this context's Tensors
        (nothing is uploaded for them); the result is a NumPy array then, or written to
        out= (a Tensor of q's shape) and None returned."""
        return _attention(self, q, k, v, **options)

    def attention_batch(self, q, k, v, seqs, block_table=None, **options):
        """seattn.attention_batch() on this context."""
        return _attention_batch(self, q, k, v, seqs, block_table, **options)

    def close(self):
        with self._lock:
            if self._h:
                for t in list(self._tensors):
                    t.close()
                _lib.seattn_context_destroy(self._h)
                self._h = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        if not self._h:
            return "seattn.Context(closed)"
        return "seattn.Context(%s: %s)" % (self.backend, self.device_info["name"])


_contexts = {}
_contexts_lock = threading.Lock()


def _default_context(backend, device):
    key = (backend, None if device is None else str(device))
    with _contexts_lock:
        ctx = _contexts.get(key)
        if ctx is None:
            ctx = _contexts[key] = Context(backend, device)
        return ctx


# ---- Attention ----------------------------------------------------------------------------

_LAYOUTS = {"rotate_half": _ffi.ROPE_ROTATE_HALF, "neox": _ffi.ROPE_ROTATE_HALF,
            "interleaved": _ffi.ROPE_INTERLEAVED, "gptj": _ffi.ROPE_INTERLEAVED}
_KEYS = {"raw": _ffi.KEYS_RAW, "rotated": _ffi.KEYS_ROTATED}
_PAIRS = {"all": 0, "neighbor": _ffi.ATTN_NEIGHBOR_ONLY, "grouped": _ffi.ATTN_GROUPED_ONLY}


def _int(name, x, lo=None):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        _bad("%s=%r; it must be an integer" % (name, x))
    if lo is not None and x < lo:
        _bad("%s=%d; it must be >= %d" % (name, x, lo))
    return int(x)


def _float(name, x):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
        _bad("%s=%r; it must be a number" % (name, x))
    return float(x)


class _Operand:
    """One of q, k, v: a host array to upload or a Tensor of the context, as [heads, tokens,
    head_dim] with the batch folded into the heads."""

    def __init__(self, ctx, x, name, given=None):
        self.name = name
        if isinstance(x, Tensor):
            if x.context is not ctx:
                _bad("%s is a Tensor of another context" % name)
            x._ptr()
            self.tensor, self.array, self.torch = x, None, False
            held = x.dtype
            raw_shape = x.shape
        else:
            self.array, self.torch = _to_numpy(x, name)
            self.tensor = None
            held, raw_shape = self.array.dtype, self.array.shape
        self.stype = _storage_type(x, held, name, given, kv=name != "q")
        self.shape, self.dtype = _logical(raw_shape, self.stype, name), held
        if len(self.shape) not in (3, 4):
            _bad("%s has shape %s; it must be [heads, tokens, head_dim] or [batch, heads, "
                 "tokens, head_dim]" % (name, self.shape))
        if any(s == 0 for s in self.shape):
            _bad("%s has shape %s; no dimension may be 0" % (name, self.shape))


def _norm_weight(ctx, w, name, head_dim, keep):
    if w is None:
        return None
    a, _ = _to_numpy(w, name)
    if a.shape != (head_dim,):
        _bad("%s has shape %s; it must be [head_dim] = [%d]" % (name, a.shape, head_dim))
    t = ctx.tensor(a.astype(np.float32))
    keep.append(t)
    return t


def _rope_options(d, head_dim, group_size, window, window_size, scale_base, rope_theta,
                  rotary_dims, rope_layout, keys, scale, rope_inv_freq=None,
                  rope_attention_factor=None, logit_softcap=None, rotary_offset=None):
    """The Self-Extend, RoPE and scale keywords, checked, into descriptor d (attention() and
    attention_batch() take them alike). Returns what d points to (rope_inv_freq's array), to
    be kept alive until the call has run."""
    if window is not None and window_size is not None and window != window_size:
        _bad("window=%r and window_size=%r disagree; give one" % (window, window_size))
    if window is None:
        window = window_size
    g = _int("group_size", group_size, 1)
    if g > 1 and window is None:
        _bad("group_size=%d needs window= (the neighbor window W, in tokens)" % g)
    if rope_layout not in _LAYOUTS:
        _bad("rope_layout=%r; it must be one of %s" % (rope_layout, sorted(_LAYOUTS)))
    if keys not in _KEYS:
        _bad("keys=%r; it must be 'raw' or 'rotated'" % (keys,))
    d.group_size = g
    d.neighbor_window = 0 if window is None else _int("window", window, 0)
    d.rope_theta = _float("rope_theta", rope_theta)
    d.rotary_dims = 0 if rotary_dims is None else _int("rotary_dims", rotary_dims, 1)
    d.rotary_offset = 0 if rotary_offset is None else _int("rotary_offset", rotary_offset, 0)
    d.rope_layout = _LAYOUTS[rope_layout]
    d.key_mode = _KEYS[keys]
    d.scale = 0.0 if scale is None else _float("scale", scale)
    if d.scale == 0.0 and scale is not None:
        _bad("scale=0; it must be > 0 (None: 1/sqrt(head_dim))")
    d.scale_base = 0.0 if scale_base is None else _float("scale_base", scale_base)
    if d.scale_base == 0.0 and scale_base is not None:
        _bad("scale_base=0; it must be > 1 (None: off)")
    d.rope_attention_factor = 0.0 if rope_attention_factor is None else \
        _float("rope_attention_factor", rope_attention_factor)
    if d.rope_attention_factor == 0.0 and rope_attention_factor is not None:
        _bad("rope_attention_factor=0; it must be > 0 (None: 1)")
    d.logit_softcap = 0.0 if logit_softcap is None else _float("logit_softcap", logit_softcap)
    if d.logit_softcap == 0.0 and logit_softcap is not None:
        _bad("logit_softcap=0; it must be > 0 (None: off)")
    if rope_inv_freq is None:
        return None
    try:
        freq = np.ascontiguousarray(np.asarray(rope_inv_freq, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError):
        _bad("rope_inv_freq must be a sequence of numbers (rotary_dims / 2 of them)")
    # its length is checked here (the library reads rotary_dims / 2 values); its values, as
    # every field, by the library
    half = (d.rotary_dims or head_dim) // 2
    if freq.size != half:
        _bad("rope_inv_freq has %d values; it must have rotary_dims / 2 = %d" % (freq.size, half))
    d.rope_inv_freq = freq.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    return freq


def _sinks(ctx, sinks, n_heads, repeat, keep):
    """The sinks keyword ([n_heads] floats, one a query head) as a tensor of the context, the
    values repeated `repeat` times (a batch folded into the heads); None: no sinks."""
    if sinks is None:
        return None
    if _is_torch(sinks):
        sinks = sinks.detach().cpu().numpy()
    try:
        a = np.asarray(sinks, dtype=np.float32)
    except (TypeError, ValueError):
        _bad("sinks must be [n_heads] numbers (one a query head)")
    if a.shape != (n_heads,):
        _bad("sinks has shape %s; it must be [n_heads] = [%d] (one a query head)" % (
            a.shape, n_heads))
    t = ctx.tensor(np.ascontiguousarray(np.tile(a.astype(np.float32), repeat)))
    keep.append(t)
    return t


def _attention(ctx, q, k, v, *, group_size=1, window=None, window_size=None, scale_base=None,
               rope_theta=10000.0, rotary_dims=None, rope_layout="rotate_half", keys="raw",
               q_pos=None, scale=None, q_norm=None, k_norm=None, q_norm_weight=None,
               k_norm_weight=None, qk_norm_eps=None, pairs="all", return_lse=False, out=None,
               rope_inv_freq=None, rope_attention_factor=None, logit_softcap=None,
               rotary_offset=None, sinks=None, q_dtype=None, k_dtype=None, v_dtype=None,
               k_scale=None, v_scale=None, out_dtype=None):
    ctx._ptr()
    ops = [_Operand(ctx, x, n, t) for x, n, t in ((q, "q", q_dtype), (k, "k", k_dtype),
                                                   (v, "v", v_dtype))]
    oq, ok_, ov = ops
    if not (len(oq.shape) == len(ok_.shape) == len(ov.shape)):
        _bad("q, k and v must all be [heads, tokens, head_dim] or all [batch, heads, tokens, "
             "head_dim]; got %s, %s, %s" % (oq.shape, ok_.shape, ov.shape))
    if ok_.shape[:-1] != ov.shape[:-1]:
        _bad("k has shape %s and v %s; they must match but for v's head size" % (
            ok_.shape, ov.shape))
    batch = oq.shape[0] if len(oq.shape) == 4 else 1
    if len(oq.shape) == 4 and ok_.shape[0] != batch:
        _bad("q has batch %d and k %d; they must match" % (batch, ok_.shape[0]))
    n_heads, q_len, head_dim = oq.shape[-3:]
    n_kv, kv_len, k_dim = ok_.shape[-3:]
    if k_dim != head_dim:
        _bad("q has head_dim %d and k %d; they must match" % (head_dim, k_dim))
    if n_heads % n_kv != 0:
        _bad("q has %d heads and k %d; k's heads must divide q's (GQA)" % (n_heads, n_kv))
    d = _ffi.AttentionDesc()
    freq = _rope_options(d, head_dim, group_size, window, window_size, scale_base, rope_theta,
                         rotary_dims, rope_layout, keys, scale, rope_inv_freq,
                         rope_attention_factor, logit_softcap, rotary_offset)
    d.v_head_dim = ov.shape[-1]
    if pairs not in _PAIRS:
        _bad("pairs=%r; it must be 'all', 'neighbor' or 'grouped'" % (pairs,))
    if out is not None and not isinstance(out, Tensor):
        _bad("out= takes a Tensor of the context (results come back as the return value)")

    # the batch folds into the heads: query head b H + h reads KV head (b H + h) / (H / H_kv)
    # = b H_kv + h / (H / H_kv), which is batch b's own KV head h / (H / H_kv)
    d.n_heads, d.n_kv_heads, d.head_dim = batch * n_heads, batch * n_kv, head_dim
    d.q_len, d.kv_len = q_len, kv_len
    flags = _PAIRS[pairs]
    if q_pos is not None:
        d.q_pos = _int("q_pos", q_pos, 0)
        flags |= _ffi.ATTN_Q_POS
    if q_norm or q_norm_weight is not None:
        flags |= _ffi.ATTN_Q_NORM
    if k_norm or k_norm_weight is not None:
        flags |= _ffi.ATTN_K_NORM
    if qk_norm_eps is not None:
        d.qk_norm_eps = _float("qk_norm_eps", qk_norm_eps)
    if sinks is not None:
        flags |= _ffi.ATTN_SINKS
    d.flags = flags
    d.q_type, d.k_type, d.v_type = (o.stype for o in ops)
    _scales(d, k_scale, v_scale)
    if out is not None:
        out_dtype = out.dtype
        d.out_type = _ffi.DTYPE_BF16 if out_dtype == np.uint16 else _DTYPES.get(out_dtype, -1)
    else:  # q's type unless out_dtype= names another
        d.out_type = oq.stype if out_dtype is None else _out_type(out_dtype)
        out_dtype = _HOLDER[d.out_type]
    out_shape = oq.shape[:-1] + (ov.shape[-1],)  # v's head size
    if out is not None and out.shape != out_shape:
        _bad("out has shape %s; it must be %s (q's, with v's head size)" % (out.shape,
                                                                            out_shape))
    # every field checked by the library before anything is allocated
    ctx._call(_lib.seattn_attention_desc_check, ctx._ptr(), ctypes.byref(d), None)

    keep = []  # tensors made for this call, closed at the end
    try:
        ts = _ffi.AttentionTensors()
        for o, field in ((oq, "q"), (ok_, "k"), (ov, "v")):
            t = o.tensor
            if t is None:
                t = ctx.tensor(o.array)
                keep.append(t)
            setattr(ts, field, t._ptr())
        out_t = out
        if out_t is None:
            out_t = ctx.empty(out_shape, out_dtype)
            keep.append(out_t)
        ts.out = out_t._ptr()
        lse_t = None
        if return_lse:
            lse_t = ctx.empty(out_shape[:-1], np.float32)
            keep.append(lse_t)
            ts.lse = lse_t._ptr()
        for w, name, field in ((q_norm_weight, "q_norm_weight", "q_norm_weight"),
                               (k_norm_weight, "k_norm_weight", "k_norm_weight")):
            t = _norm_weight(ctx, w, name, head_dim, keep)
            if t is not None:
                setattr(ts, field, t._ptr())
        sinks_t = _sinks(ctx, sinks, n_heads, batch, keep)
        if sinks_t is not None:
            ts.sinks = sinks_t._ptr()
        ctx._call(_lib.seattn_attention_run, ctx._ptr(), ctypes.byref(d), ctypes.byref(ts))
        res = None if out is not None else out_t.numpy()
        lse = lse_t.numpy() if lse_t is not None else None
    finally:
        for t in keep:
            t.close()
    torch_out = oq.torch
    if res is not None:
        res = _result(res, d.out_type, torch_out)
    if return_lse:
        return res, _from_numpy(lse, torch_out)
    return res


def _out_type(name):
    """out_dtype=: "f32", "f16" or "bf16" (also np.float32 / np.float16)."""
    if not isinstance(name, str):
        try:
            name = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16"}[np.dtype(name)]
        except (TypeError, KeyError):
            _bad("out_dtype=%r; it must be 'f32', 'f16' or 'bf16'" % (name,))
    if name not in ("f32", "f16", "bf16"):
        _bad("out_dtype=%r; it must be 'f32', 'f16' or 'bf16'" % (name,))
    return _ffi.DTYPE_NAMES[name]


def _scales(d, k_scale, v_scale):
    """The fp8 scales (checked by the library: an fp8 tensor's only)."""
    if k_scale is not None:
        d.k_scale = _float("k_scale", k_scale)
    if v_scale is not None:
        d.v_scale = _float("v_scale", v_scale)


class _Words(Tensor):
    """A tensor of u32 words (a batch's sequences or block table), uploaded from an array."""

    def __init__(self, ctx, words):
        self.context = ctx
        self.shape, self.dtype = words.shape, words.dtype
        self.nbytes = words.nbytes
        self._h = ctypes.c_void_p()
        ctx._call(_lib.seattn_tensor_create, ctx._ptr(), max(words.nbytes, 4),
                  ctypes.byref(self._h))
        ctx._tensors.add(self)
        ctx._call(_lib.seattn_tensor_upload, ctx._ptr(), self._h, 0, words.ctypes.data,
                  words.nbytes)


def _words(x, name, width=None):
    """x (NumPy or torch integers) as a C-contiguous uint32 array; values must fit."""
    if _is_torch(x):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        _bad("%s has dtype %s; it must hold integers" % (name, a.dtype))
    if a.size and (a.min() < 0 or a.max() > 0xffffffff):
        _bad("%s holds values outside 0 .. 2^32 - 1" % name)
    a = np.ascontiguousarray(a, dtype=np.uint32)
    if width is not None and (a.ndim != 2 or a.shape[1] != width or a.shape[0] == 0):
        _bad("%s has shape %s; it must be [n_seqs, %d]" % (name, a.shape, width))
    return a


def _attention_batch(ctx, q, k, v, seqs, block_table=None, *, page_size=None, max_q_len=None,
                     max_kv_len=None, group_size=1, window=None, window_size=None,
                     scale_base=None, rope_theta=10000.0, rotary_dims=None,
                     rope_layout="rotate_half", keys="raw", scale=None, return_lse=False,
                     rope_inv_freq=None, rope_attention_factor=None, logit_softcap=None,
                     rotary_offset=None, sinks=None, q_dtype=None, k_dtype=None, v_dtype=None,
                     k_scale=None, v_scale=None, out_dtype=None):
    ctx._ptr()
    qa, torch_out = _to_numpy(q, "q")
    qt = _storage_type(q, qa.dtype, "q", q_dtype, kv=False)
    if qa.ndim != 3:
        _bad("q has shape %s; it must be [tokens, heads, head_dim], the sequences' query "
             "tokens one after another" % (qa.shape,))
    # a pool in chunks: k and v as lists, chunk c's tokens (or pages) following chunk c - 1's
    chunked = isinstance(k, (list, tuple))
    if chunked != isinstance(v, (list, tuple)) or (chunked and (len(k) != len(v) or not k)):
        _bad("k and v must both be arrays, or both lists of as many chunks (at least one)")
    kl, vl = (list(k), list(v)) if chunked else ([k], [v])
    kas, vas = [], []
    for i, (kc, vc) in enumerate(zip(kl, vl)):
        name = "k[%d]" % i if chunked else "k"
        ka, _ = _to_numpy(kc, name)
        va, _ = _to_numpy(vc, name.replace("k", "v"))
        kt = _storage_type(kc, ka.dtype, "k", k_dtype)
        vt = _storage_type(vc, va.dtype, "v", v_dtype)
        kshape, vshape = _logical(ka.shape, kt, name), _logical(va.shape, vt, "v")
        if kshape[:-1] != vshape[:-1]:
            _bad("%s has shape %s and v %s; they must match but for v's head size" %
                 (name, kshape, vshape))
        if ka.ndim == 4:  # [pages, page_size, kv_heads, head_dim], vLLM's cache layout
            if page_size is not None and page_size != ka.shape[1]:
                _bad("page_size=%r, but %s's pages hold %d tokens" % (page_size, name,
                                                                     ka.shape[1]))
            page_size = ka.shape[1]
            ka = ka.reshape(-1, ka.shape[2], ka.shape[3])
            va = va.reshape(-1, va.shape[2], va.shape[3])
        if ka.ndim != 3:
            _bad("%s has shape %s; it must be [tokens, kv_heads, head_dim] or [pages, "
                 "page_size, kv_heads, head_dim]" % (name, ka.shape))
        if kas and (ka.shape[1:] != kas[0].shape[1:] or va.shape[1:] != vas[0].shape[1:] or
                    ka.dtype != kas[0].dtype or va.dtype != vas[0].dtype):
            _bad("%s has shape %s and dtype %s; every chunk must match k[0]'s but for its "
                 "tokens" % (name, ka.shape, ka.dtype))
        kas.append(ka)
        vas.append(va)
    kshape, vshape = _logical(kas[0].shape, kt, "k"), _logical(vas[0].shape, vt, "v")
    chunk_tokens = [a.shape[0] for a in kas]
    q_tokens, n_heads, head_dim = qa.shape
    kv_tokens, n_kv, k_dim = sum(chunk_tokens), kshape[1], kshape[2]
    if k_dim != head_dim:
        _bad("q has head_dim %d and k %d; they must match" % (head_dim, k_dim))
    sq = _words(seqs, "seqs", 5)
    paged = block_table is not None
    if paged and not page_size:
        _bad("block_table= needs page_size= (or k and v as [pages, page_size, kv_heads, "
             "head_dim])")
    if page_size and not paged:
        _bad("page_size=%r needs block_table=" % (page_size,))
    bt = _words(block_table, "block_table").reshape(-1) if paged else None
    if paged and bt.size == 0:
        _bad("block_table is empty")
    d = _ffi.AttentionDesc()
    freq = _rope_options(d, head_dim, group_size, window, window_size, scale_base, rope_theta,
                         rotary_dims, rope_layout, keys, scale, rope_inv_freq,
                         rope_attention_factor, logit_softcap, rotary_offset)
    dv = vshape[-1]

    b = _ffi.BatchDesc()
    b.n_seqs = sq.shape[0]
    b.max_q_len = _int("max_q_len", max_q_len, 1) if max_q_len is not None else \
        max(1, int(sq[:, 1].max()))
    b.max_kv_len = _int("max_kv_len", max_kv_len, 1) if max_kv_len is not None else \
        max(b.max_q_len, int(sq[:, 3].max()))
    b.q_tokens, b.kv_tokens = q_tokens, kv_tokens
    b.page_size = int(page_size) if paged else 0
    b.block_table_len = bt.size if paged else 0
    # the host has the metadata: check it first, as the kernels would, with a clear message
    msg = ctypes.create_string_buffer(512)
    status = _lib.seattn_batch_check(ctypes.byref(b), sq.ctypes.data,
                                     bt.ctypes.data if paged else None, msg, len(msg))
    if status != _ffi.SUCCESS:
        _raise(status, "seqs: " + msg.value.decode(errors="replace"))

    d.n_heads, d.n_kv_heads, d.head_dim, d.v_head_dim = n_heads, n_kv, head_dim, dv
    if sinks is not None:
        d.flags |= _ffi.ATTN_SINKS
    # token-major views: [tokens, heads, head_dim], lse [tokens, heads]
    d.q_strides = _ffi.Strides(head_dim, n_heads * head_dim)
    d.out_strides = _ffi.Strides(dv, n_heads * dv)
    d.k_strides = _ffi.Strides(head_dim, n_kv * head_dim)
    d.v_strides = _ffi.Strides(dv, n_kv * dv)
    d.lse_strides = _ffi.Strides(1, n_heads)
    d.q_type, d.k_type, d.v_type = qt, kt, vt
    d.out_type = qt if out_dtype is None else _out_type(out_dtype)
    _scales(d, k_scale, v_scale)

    keep = []
    try:
        ts = _ffi.AttentionTensors()
        t = ctx.tensor(qa)
        keep.append(t)
        ts.q = t._ptr()
        if chunked:
            chunks = (_ffi.KvChunk * len(kas))()
            first = 0
            for i, (ka, va) in enumerate(zip(kas, vas)):
                tk, tv = ctx.tensor(ka), ctx.tensor(va)
                keep += [tk, tv]
                chunks[i].k, chunks[i].v = tk._ptr(), tv._ptr()
                chunks[i].first_token, chunks[i].tokens = first, ka.shape[0]
                first += ka.shape[0]
            ts.kv_chunks = ctypes.cast(chunks, ctypes.c_void_p)
            ts.n_kv_chunks = len(kas)
        else:
            for a, field in ((kas[0], "k"), (vas[0], "v")):
                t = ctx.tensor(a)
                keep.append(t)
                setattr(ts, field, t._ptr())
        out_t = ctx.empty((q_tokens, n_heads, dv), _HOLDER[d.out_type])
        keep.append(out_t)
        ts.out = out_t._ptr()
        lse_t = None
        if return_lse:
            lse_t = ctx.empty(qa.shape[:2], np.float32)
            keep.append(lse_t)
            ts.lse = lse_t._ptr()
        sinks_t = _sinks(ctx, sinks, n_heads, 1, keep)
        if sinks_t is not None:
            ts.sinks = sinks_t._ptr()
        seq_t = _Words(ctx, sq)
        keep.append(seq_t)
        bt_t = None
        if paged:
            bt_t = _Words(ctx, bt)
            keep.append(bt_t)
        ctx._call(_lib.seattn_attention_batch, ctx._ptr(), ctypes.byref(d), ctypes.byref(b),
                  ctypes.byref(ts), seq_t._ptr(), bt_t._ptr() if bt_t is not None else None)
        res = out_t.numpy()
        lse = lse_t.numpy() if lse_t is not None else None
    finally:
        for t in keep:
            t.close()
    res = _result(res, d.out_type, torch_out)
    if return_lse:
        return res, _from_numpy(lse, torch_out)
    return res


def _codes(t):
    if t not in _ffi.DTYPE_NAMES:
        _bad("dtype %r; seattn knows %s" % (t, sorted(_ffi.DTYPE_NAMES)))
    return _ffi.DTYPE_NAMES[t]


def _scale_arg(t, scale):
    if t != _ffi.DTYPE_FP8_E4M3:
        if scale is not None:
            _bad("scale= is for fp8_e4m3 only")
        return 1.0
    return 1.0 if scale is None else _float("scale", scale)


def quantize(x, dtype, scale=None):
    """x's values (float32 NumPy or torch, any shape; cast to float32) stored as dtype, exactly as
    the engines store them: "bf16" (uint16 bits, round to nearest even), "q8_0" and "q4_0"
    (uint8, llama.cpp's reference quantizers bit for bit: the last axis becomes its blocks'
    bytes, 34 or 18 per 32 values; it must be a multiple of 32), "fp8_e4m3" (uint8, x / scale
    saturated to +-448, round to nearest even; scale a per-tensor float, default 1), "f16" or
    "f32". Returns a NumPy array, or a torch tensor for a torch input (uint8; bf16 as
    torch.bfloat16)."""
    t = _codes(dtype)
    sc = _scale_arg(t, scale)
    torch_in = _is_torch(x)
    if torch_in:
        x = x.detach().cpu().float().numpy()
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if a.ndim == 0:
        a = a.reshape(1)
    if t in _ffi.BLOCK_BYTES and a.shape[-1] % 32 != 0:
        _bad("quantize to %s: the last axis (%d) must be a multiple of 32" % (dtype,
                                                                               a.shape[-1]))
    out_shape = a.shape[:-1] + ((a.shape[-1] // 32 * _ffi.BLOCK_BYTES[t],)
                                if t in _ffi.BLOCK_BYTES else (a.shape[-1],))
    out = np.empty(out_shape, _HOLDER[t])
    status = _lib.seattn_quantize(t, a.ctypes.data, a.size, out.ctypes.data, sc)
    if status != _ffi.SUCCESS:
        _raise(status, "quantize to %s failed" % dtype)
    if torch_in:
        return _result(out, t, True)
    return out


def dequantize(raw, dtype, scale=None):
    """The float32 values of raw storage of dtype (the inverse of quantize(), exactly what every
    kernel reads): a NumPy array, or a torch tensor for a torch input."""
    t = _codes(dtype)
    sc = _scale_arg(t, scale)
    a, torch_in = _to_numpy(raw, "raw")
    if a.dtype != _HOLDER[t]:
        _bad("raw holds %s; %s is held as %s" % (a.dtype, dtype, _HOLDER[t]))
    shape = _logical(a.shape, t, "raw")
    out = np.empty(shape, np.float32)
    status = _lib.seattn_dequantize(t, a.ctypes.data, out.size, out.ctypes.data, sc)
    if status != _ffi.SUCCESS:
        _raise(status, "dequantize of %s failed" % dtype)
    return _from_numpy(out, torch_in)


def rope_frequencies(config, *, seq_len=None):
    """A model's RoPE frequencies and attention factor from its Hugging Face config (the dict of
    its config.json, or the keys below), computed by the library with transformers' formulas
    (default, linear, dynamic, yarn, longrope, llama3): returns (rope_inv_freq, a float64 array
    of rotary_dims / 2 values, and rope_attention_factor), the keywords of attention().

    Keys read: rope_theta (10000), rope_scaling (None; its rope_type or type, factor,
    original_max_position_embeddings, low/high_freq_factor, beta_fast/slow, mscale,
    mscale_all_dim, attention_factor, truncate, short/long_factor), max_position_embeddings,
    original_max_position_embeddings (Phi-3 keeps it at the top level), head_dim (else
    hidden_size / num_attention_heads) and partial_rotary_factor (1). seq_len: the length the
    frequencies are for (dynamic, longrope; None: the short ones)."""
    if not isinstance(config, dict):
        _bad("config must be a dict (a config.json's)")
    rs = config.get("rope_scaling") or {}
    if not isinstance(rs, dict):
        _bad("rope_scaling must be a dict or None")
    rope_type = rs.get("rope_type", rs.get("type", "default"))
    if rope_type not in _ffi.ROPE_TYPES:
        _bad("rope_scaling type %r; seattn knows %s" % (rope_type, sorted(_ffi.ROPE_TYPES)))
    if "head_dim" in config and config["head_dim"]:
        head_dim = _int("head_dim", config["head_dim"], 1)
    elif "hidden_size" in config and "num_attention_heads" in config:
        head_dim = _int("hidden_size", config["hidden_size"], 1) // \
            _int("num_attention_heads", config["num_attention_heads"], 1)
    else:
        _bad("config has no head_dim (nor hidden_size and num_attention_heads)")
    rotary_dims = int(head_dim * _float("partial_rotary_factor",
                                        config.get("partial_rotary_factor", 1.0)))
    if config.get("qk_rope_head_dim"):  # DeepSeek's MLA rotates a slice of its own size
        rotary_dims = _int("qk_rope_head_dim", config["qk_rope_head_dim"], 2)
    c = _ffi.RopeConfig()
    c.type = _ffi.ROPE_TYPES[rope_type]
    c.theta = _float("rope_theta", config.get("rope_theta", 10000.0))
    c.rotary_dims = rotary_dims
    c.max_position_embeddings = _int("max_position_embeddings",
                                     config.get("max_position_embeddings", 0), 0)
    orig = rs.get("original_max_position_embeddings",
                  config.get("original_max_position_embeddings", 0))
    c.original_max_position_embeddings = _int("original_max_position_embeddings", orig or 0, 0)
    for key in ("factor", "low_freq_factor", "high_freq_factor", "beta_fast", "beta_slow",
                "mscale", "mscale_all_dim", "attention_factor"):
        if rs.get(key) is not None:
            setattr(c, key, _float(key, rs[key]))
    c.yarn_no_truncate = 1 if rs.get("truncate", True) is False else 0
    keep = []
    for key in ("short_factor", "long_factor"):
        if rs.get(key) is not None:
            a = np.ascontiguousarray(np.asarray(rs[key], dtype=np.float64).reshape(-1))
            if a.size != rotary_dims // 2:
                _bad("rope_scaling %s has %d values; it must have rotary_dims / 2 = %d" % (
                    key, a.size, rotary_dims // 2))
            keep.append(a)
            setattr(c, key, a.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
    c.seq_len = 0 if seq_len is None else _int("seq_len", seq_len, 0)
    inv_freq = np.zeros(max(rotary_dims // 2, 1), np.float64)
    factor = ctypes.c_float()
    status = _lib.seattn_rope_frequencies(
        ctypes.byref(c), inv_freq.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        ctypes.byref(factor))
    if status != _ffi.SUCCESS:
        _raise(status, _lib.seattn_last_create_error().decode(errors="replace"))
    return inv_freq[:rotary_dims // 2], float(factor.value)


# keys that change attention in ways seattn does not compute (refused, not ignored)
_UNSUPPORTED_CONFIG_KEYS = ("attention_chunk_size", "no_rope_layers", "alibi",
                            "rope_scaling_list")


class AttentionConfig(dict):
    """The keywords of attention() for one layer of a model (a dict: attention(q, k, v,
    **cfg)), with what the caller supplies itself as attributes: n_heads, n_kv_heads,
    head_dim, v_head_dim (q, k and v must have these), layer_type ("full_attention" or
    "sliding_attention"), sliding_window, sinks (True: pass the layer's learned sinks=, one a
    query head), qk_norm (True: pass the layer's q_norm_weight= and k_norm_weight=; Gemma 3
    stores w and multiplies by 1 + w, so pass 1 + w there)."""

    def __repr__(self):
        return "AttentionConfig(%s, %s)" % (dict.__repr__(self), ", ".join(
            "%s=%r" % (k, getattr(self, k)) for k in ("n_heads", "n_kv_heads", "head_dim",
                                                     "v_head_dim", "layer_type",
                                                     "sliding_window", "sinks", "qk_norm")))


def _layer_slides(config, model_type, layer, window, max_pos):
    types = config.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or layer >= len(types):
            _bad("layer_types has no entry for layer %d" % layer)
        if types[layer] not in ("sliding_attention", "full_attention"):
            _bad("layer_types[%d] is %r, which seattn does not know" % (layer, types[layer]))
        return types[layer] == "sliding_attention"
    if not window:
        return False
    if model_type == "gemma2":
        return layer % 2 == 0
    if model_type.startswith("gemma3"):
        pattern = int(config.get("sliding_window_pattern") or 6)
        return (layer + 1) % pattern != 0
    if config.get("use_sliding_window") is False:
        return False
    return window < max_pos  # a window past the trained context is full attention


def attention_config(config, layer=0, *, group_size=None, window=None, seq_len=None):
    """The attention of layer `layer` of a model from its Hugging Face config (the dict of its
    config.json; a multimodal one's text_config is used), as the keywords of attention(): an
    AttentionConfig (a dict, with the head counts and what the caller must pass as attributes).

    Reads, as transformers' models do: head_dim (else hidden_size / num_attention_heads),
    num_key_value_heads, rope_theta and rope_scaling (rope_frequencies(), for seq_len tokens),
    partial_rotary_factor, rope_interleaved, DeepSeek's MLA (qk_nope_head_dim +
    qk_rope_head_dim, the last rotated and interleaved, v_head_dim, softmax scale times
    yarn's g(factor, mscale_all_dim)^2), query_pre_attn_scalar (scale its ^-0.5),
    attn_logit_softcapping, gpt-oss's sinks, QK-norm (Qwen3, Gemma 3, OLMo 2), and which layers
    slide (layer_types; Gemma 2 even layers; Gemma 3 all but every sliding_window_pattern-th,
    with rope_local_base_freq unscaled; other models' sliding_window below
    max_position_embeddings). A sliding layer gets seattn's sliding-window form: group_size 1,
    window its window, pairs "neighbor" (it never sees a distance past its training). A full
    layer gets group_size and window when given (Self-Extend's G and W; `seattn model` suggests
    them). A key that changes attention in a way seattn does not compute raises
    InvalidArgument naming it."""
    if not isinstance(config, dict):
        _bad("config must be a dict (a config.json's)")
    if isinstance(config.get("text_config"), dict):
        config = config["text_config"]
    for key in _UNSUPPORTED_CONFIG_KEYS:
        if config.get(key) not in (None, False):
            _bad("config has %r, an attention feature seattn does not have" % key)
    if config.get("position_embedding_type") not in (None, "rope"):
        _bad("position_embedding_type is %r; seattn computes RoPE" % (
            config["position_embedding_type"],))
    model_type = config.get("model_type") or ""
    heads = _int("num_attention_heads", config.get("num_attention_heads"), 1)
    kv = _int("num_key_value_heads", config.get("num_key_value_heads") or heads, 1)
    layers = _int("num_hidden_layers", config.get("num_hidden_layers"), 1)
    max_pos = _int("max_position_embeddings", config.get("max_position_embeddings"), 1)
    layer = _int("layer", layer, 0)
    if layer >= layers:
        _bad("layer=%d; the model has %d layers" % (layer, layers))
    mla = bool(config.get("qk_rope_head_dim"))
    if mla:
        head_dim = _int("qk_nope_head_dim", config.get("qk_nope_head_dim", 0), 0) + \
            _int("qk_rope_head_dim", config["qk_rope_head_dim"], 2)
    elif config.get("head_dim"):
        head_dim = _int("head_dim", config["head_dim"], 2)
    else:
        head_dim = _int("hidden_size", config.get("hidden_size"), 1) // heads
    v_head_dim = _int("v_head_dim", config.get("v_head_dim") or head_dim, 2)
    window_cfg = config.get("sliding_window") or 0
    sliding = _layer_slides(config, model_type, layer, window_cfg, max_pos)
    gemma3 = model_type.startswith("gemma3")
    rope_cfg = dict(config, head_dim=head_dim)
    if mla:
        rope_cfg["head_dim"] = config["qk_rope_head_dim"]
    if gemma3 and sliding and config.get("rope_local_base_freq"):
        rope_cfg["rope_theta"] = config["rope_local_base_freq"]
        rope_cfg["rope_scaling"] = None
    inv_freq, factor = rope_frequencies(rope_cfg, seq_len=seq_len)
    scale = config["query_pre_attn_scalar"] ** -0.5 if config.get("query_pre_attn_scalar") \
        else head_dim ** -0.5
    rs = config.get("rope_scaling") or {}
    if mla and rs.get("mscale_all_dim") and rs.get("factor"):
        s = float(rs["factor"])
        g = 1.0 if s <= 1 else 0.1 * float(rs["mscale_all_dim"]) * np.log(s) + 1.0
        scale *= g * g  # DeepSeek's yarn_apply_mscale
    cfg = AttentionConfig(
        rope_theta=float(rope_cfg.get("rope_theta", 10000.0)), rope_inv_freq=inv_freq,
        rope_attention_factor=factor, rotary_dims=2 * inv_freq.size,
        rotary_offset=head_dim - config["qk_rope_head_dim"] if mla else 0,
        rope_layout="interleaved" if mla or config.get("rope_interleaved") else "rotate_half",
        scale=float(scale))
    if config.get("attn_logit_softcapping"):
        cfg["logit_softcap"] = float(config["attn_logit_softcapping"])
    qk_norm = model_type in ("qwen3", "qwen3_moe", "olmo2") or gemma3
    if qk_norm:
        cfg["q_norm"] = cfg["k_norm"] = True
        if config.get("rms_norm_eps"):
            cfg["qk_norm_eps"] = float(config["rms_norm_eps"])
    if sliding:
        cfg.update(group_size=1, window=int(window_cfg), pairs="neighbor")
    else:
        if group_size is not None:
            cfg["group_size"] = group_size
        if window is not None:
            cfg["window"] = window
    cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.v_head_dim = heads, kv, head_dim, v_head_dim
    cfg.layer_type = "sliding_attention" if sliding else "full_attention"
    cfg.sliding_window = int(window_cfg) if sliding else None
    cfg.sinks = model_type == "gpt_oss"
    cfg.qk_norm = qk_norm
    return cfg


def attention_batch(q, k, v, seqs, block_table=None, *, backend="vulkan", device=None,
                    **options):
    """Self-Extend attention of many sequences in one call, as a serving engine runs a step.

    q: [tokens, heads, head_dim], the query tokens of every sequence one after another (the
    varlen layout); k, v: the keys as [tokens, kv_heads, head_dim], or a paged cache as
    [pages, page_size, kv_heads, head_dim] (vLLM's layout) with block_table=; or a pool in
    chunks, as lists of such arrays (chunk c's tokens or pages numbered after chunk c - 1's),
    which the kernels read by buffer device address (seattn_kv_chunk). seqs: integers
    [n_seqs, 5], a row per sequence: q_start (its first row of q), q_len, q_pos (the position
    of its first query), kv_len (its keys, q_pos + q_len <= kv_len), kv_start (its first key
    token, or paged its first block_table entry). Key j of a paged sequence is token
    block_table[kv_start + j // page_size] * page_size + j % page_size of the pool, at
    position j. block_table: integers, any shape (flattened), e.g. vLLM's [n_seqs, max_pages]
    with kv_start = s * max_pages.

    Returns out like q ([tokens, heads, head_dim]; rows no sequence covers are undefined), and
    with return_lse=True also the log-sum-exp [tokens, heads]. The metadata is checked first
    (seattn_batch_check): a bad row raises InvalidArgument naming it. Options as for
    attention() (group_size, window, rope_theta, rotary_dims, rotary_offset, rope_layout, keys,
    scale, scale_base, rope_inv_freq, rope_attention_factor, logit_softcap, sinks,
    return_lse, and the storage types' q_dtype, k_dtype, v_dtype, k_scale, v_scale, out_dtype:
    a q8_0 pool is uint8 [tokens, kv_heads, head_dim / 32 * 34] or [pages, page_size,
    kv_heads, head_dim / 32 * 34]), and max_q_len / max_kv_len (default: the seqs' own).
    """
    return _attention_batch(_default_context(backend, device), q, k, v, seqs, block_table,
                            **options)


def attention(q, k, v, *, backend="vulkan", device=None, **options):
    """Self-Extend attention (SPEC.md): out = softmax(scale * scores) v, one score per (query,
    key) pair, neighbor pairs (p - j < window) at their exact positions, the others at grouped
    positions (p // G + W - W // G for the query, j // G for the key).

    q: [heads, q_len, head_dim] or [batch, heads, q_len, head_dim] (the Hugging Face layout);
    k: [kv_heads, kv_len, head_dim] or [batch, kv_heads, kv_len, head_dim], kv_heads dividing
    heads (GQA, MQA); v like k but for its head size, which may differ (v_head_dim: MLA's 128
    against q's 192). float32 or float16 NumPy arrays or torch CPU tensors (or the storage
    types below), of any strides (copied to a dense layout); the result has q's type and dtype
    and q's shape with v's head size. Keys sit at positions 0 .. kv_len - 1; query row r at q_pos + r (default
    kv_len - q_len).

    Options (the names the authors use where they have one):
      group_size (G, default 1: plain RoPE attention), window / window_size (W, tokens;
      needed when G > 1), rope_theta (10000), rotary_dims (None: head_dim), rotary_offset
      (None: 0; the rotated dims are [rotary_offset, rotary_offset + rotary_dims), as
      DeepSeek's MLA rotates its last 64 of 192), rope_layout ("rotate_half" or
      "interleaved"), keys ("raw", or "rotated": k already rotated at its
      own position, as a KV cache holds it), q_pos, scale (None: 1/sqrt(head_dim)),
      scale_base (None: off; else queries scaled by max(1, ln(p + 1) / ln(scale_base))),
      q_norm / k_norm (QK-norm, RMSNorm over head_dim) with q_norm_weight / k_norm_weight
      ([head_dim], implying the norm) and qk_norm_eps (1e-6), pairs ("all", "neighbor" or
      "grouped": the two halves of the authors' two-pass method), return_lse (also return
      the log-sum-exp, [.., heads, q_len] float32), and for models with RoPE scaling
      rope_inv_freq (rotary_dims / 2 frequencies, transformers' inv_freq: pair m turns by
      position * rope_inv_freq[m]; None: rope_theta's) and rope_attention_factor (None: 1;
      multiplies the rotated components of q and of raw keys; rotated keys carry it), and
      logit_softcap (None: off; Gemma 2's c: each scaled score s becomes c tanh(s / c)), and
      sinks (None: off; gpt-oss's [heads] logits, one a query head, that join each row's
      softmax denominator with no value; the lse includes them; pairs="grouped" leaves them
      to the neighbor half).
    Storage types (the KV caches engines keep): q_dtype, k_dtype, v_dtype name what an array
    holds where its dtype alone does not say: "bf16" for uint16 arrays (torch.bfloat16 needs
    no name), "q8_0" / "q4_0" for uint8 arrays of llama.cpp's blocks (the last axis a row's
    blocks: head_dim / 32 * 34 or 18 bytes; seattn.quantize() makes them), "fp8_e4m3" for uint8
    arrays (torch.float8_e4m3fn needs no name) with k_scale / v_scale (vLLM's per-tensor
    scales, default 1). q may be f32, f16 or bf16; out_dtype ("f32", "f16", "bf16"; default:
    q's) sets the result's (bf16 comes back as torch.bfloat16, or uint16 NumPy words).
    backend: "vulkan" (default) or "cpu" (the exact reference); device: an index or part of a
    name. The context is made on first use and reused.
    """
    return _attention(_default_context(backend, device), q, k, v, **options)


def __getattr__(name):
    # SelfExtendAttn is a torch.nn.Module when torch is installed; torch is imported only when
    # the class is first asked for, so `import seattn` stays quick for NumPy users.
    if name in ("SelfExtendAttn", "SelfExtend"):
        from ._module import SelfExtendAttn

        globals()["SelfExtendAttn"] = globals()["SelfExtend"] = SelfExtendAttn
        return SelfExtendAttn
    raise AttributeError("module 'seattn' has no attribute %r" % name)
