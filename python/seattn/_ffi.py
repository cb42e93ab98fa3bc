"""The C library through ctypes: finding it, refusing one that does not match, its structs."""

import ctypes
import os

# What this package was written for: seattn.h of version 0.1.x.
VERSION_MAJOR = 0
VERSION_MINOR = 1

# seattn_status values (seattn.h, SEATTN_STATUS_MAP)
SUCCESS = 0
ERROR_INVALID_ARGUMENT = -1
ERROR_BUFFER_TOO_SMALL = -2
ERROR_UNSUPPORTED = -3
ERROR_NO_DEVICE = -4

BACKEND_VULKAN = 0
BACKEND_CPU = 1
CONTEXT_VALIDATION = 0x1

DTYPE_F32 = 0
DTYPE_F16 = 1
DTYPE_BF16 = 2
DTYPE_Q8_0 = 3
DTYPE_Q4_0 = 4
DTYPE_FP8_E4M3 = 5
# storage type names (seattn_dtype_name) and codes
DTYPE_NAMES = {"f32": DTYPE_F32, "f16": DTYPE_F16, "bf16": DTYPE_BF16, "q8_0": DTYPE_Q8_0,
               "q4_0": DTYPE_Q4_0, "fp8_e4m3": DTYPE_FP8_E4M3}
# the block types: bytes a block of 32 values
BLOCK_BYTES = {DTYPE_Q8_0: 34, DTYPE_Q4_0: 18}

ATTN_Q_POS = 0x1
ATTN_NEIGHBOR_ONLY = 0x2
ATTN_GROUPED_ONLY = 0x4
ATTN_Q_NORM = 0x8
ATTN_K_NORM = 0x10
ATTN_SINKS = 0x20

ROPE_ROTATE_HALF = 0
ROPE_INTERLEAVED = 1
KEYS_RAW = 0
KEYS_ROTATED = 1

_u32 = ctypes.c_uint32
_u64 = ctypes.c_uint64
_enum = ctypes.c_int  # a C enum of small values is an int on every ABI seattn builds for


class Strides(ctypes.Structure):
    _fields_ = [("head", _u64), ("token", _u64)]


class ContextOptions(ctypes.Structure):
    _fields_ = [
        ("backend", _enum),
        ("device", ctypes.c_char_p),
        ("flags", _u32),
        ("log", ctypes.c_void_p),
        ("log_user", ctypes.c_void_p),
        ("timeout_ms", _u32),
        ("vk_allocator", ctypes.c_void_p),
        ("pipeline_cache_path", ctypes.c_char_p),
        ("kernel", ctypes.c_char_p),
    ]


class CallStats(ctypes.Structure):
    _fields_ = [
        ("device_ms", ctypes.c_double),
        ("host_ms", ctypes.c_double),
        ("dispatches", _u32),
        ("kernel", ctypes.c_char * 96),
        ("kernel_id", ctypes.c_int32),
        ("key_splits", _u32),
        ("plain", _u32),
    ]


class DeviceInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * 256),
        ("driver", ctypes.c_char * 256),
        ("vendor_id", _u32),
        ("device_id", _u32),
        ("api_version", _u32),
        ("driver_version", _u32),
        ("type", ctypes.c_int32),
        ("max_storage_buffer_range", _u32),
        ("max_compute_shared_memory", _u32),
        ("max_workgroup_invocations", _u32),
        ("max_workgroup_count", _u32 * 3),
        ("max_texel_buffer_elements", _u32),
        ("subgroup_size", _u32),
        ("subgroup_ops", _u32),
        ("storage_16bit", _u32),
        ("shader_float16", _u32),
        ("timestamp_period_ns", ctypes.c_float),
        ("device_local_bytes", _u64),
        ("index", _u32),
        ("device_uuid", ctypes.c_uint8 * 16),
        ("driver_uuid", ctypes.c_uint8 * 16),
    ]


class AttentionDesc(ctypes.Structure):
    _fields_ = [
        ("n_heads", _u32),
        ("n_kv_heads", _u32),
        ("head_dim", _u32),
        ("q_len", _u32),
        ("kv_len", _u32),
        ("flags", _u32),
        ("q_pos", _u32),
        ("group_size", ctypes.c_int32),
        ("neighbor_window", ctypes.c_int32),
        ("rope_theta", ctypes.c_float),
        ("rotary_dims", _u32),
        ("rope_layout", _enum),
        ("scale", ctypes.c_float),
        ("scale_base", ctypes.c_float),
        ("key_mode", _enum),
        ("q_type", _enum),
        ("k_type", _enum),
        ("v_type", _enum),
        ("out_type", _enum),
        ("q_strides", Strides),
        ("k_strides", Strides),
        ("v_strides", Strides),
        ("out_strides", Strides),
        ("q_offset", _u64),
        ("k_offset", _u64),
        ("v_offset", _u64),
        ("out_offset", _u64),
        ("lse_offset", _u64),
        ("lse_strides", Strides),
        ("qk_norm_eps", ctypes.c_float),
        ("q_norm_offset", _u64),
        ("k_norm_offset", _u64),
        ("rope_inv_freq", ctypes.POINTER(ctypes.c_double)),
        ("rope_attention_factor", ctypes.c_float),
        ("logit_softcap", ctypes.c_float),
        ("rotary_offset", _u32),
        ("v_head_dim", _u32),
        ("sinks_offset", _u64),
        ("k_scale", ctypes.c_float),
        ("v_scale", ctypes.c_float),
    ]


class AttentionTensors(ctypes.Structure):
    _fields_ = [
        ("q", ctypes.c_void_p),
        ("k", ctypes.c_void_p),
        ("v", ctypes.c_void_p),
        ("out", ctypes.c_void_p),
        ("lse", ctypes.c_void_p),
        ("q_norm_weight", ctypes.c_void_p),
        ("k_norm_weight", ctypes.c_void_p),
        ("sinks", ctypes.c_void_p),
        ("kv_chunks", ctypes.c_void_p),
        ("n_kv_chunks", ctypes.c_uint32),
    ]


class KvChunk(ctypes.Structure):
    _fields_ = [
        ("k", ctypes.c_void_p),
        ("v", ctypes.c_void_p),
        ("first_token", ctypes.c_uint32),
        ("tokens", ctypes.c_uint32),
    ]


class KernelInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * 32),
        ("description", ctypes.c_char * 160),
        ("kernel_id", ctypes.c_int32),
        ("available", _u32),
        ("why_not", ctypes.c_char * 160),
    ]


class Seq(ctypes.Structure):
    _fields_ = [(f, _u32) for f in ("q_start", "q_len", "q_pos", "kv_len", "kv_start")]


class BatchDesc(ctypes.Structure):
    _fields_ = [
        ("n_seqs", _u32),
        ("max_q_len", _u32),
        ("max_kv_len", _u32),
        ("q_tokens", _u32),
        ("kv_tokens", _u32),
        ("page_size", _u32),
        ("block_table_len", _u32),
        ("seqs_offset", _u64),
        ("block_table_offset", _u64),
    ]


# seattn_struct_id -> the struct this package declares for it
class RopeConfig(ctypes.Structure):
    _fields_ = [
        ("type", _enum),
        ("theta", ctypes.c_double),
        ("rotary_dims", _u32),
        ("max_position_embeddings", _u32),
        ("factor", ctypes.c_double),
        ("original_max_position_embeddings", _u32),
        ("low_freq_factor", ctypes.c_double),
        ("high_freq_factor", ctypes.c_double),
        ("beta_fast", ctypes.c_double),
        ("beta_slow", ctypes.c_double),
        ("mscale", ctypes.c_double),
        ("mscale_all_dim", ctypes.c_double),
        ("attention_factor", ctypes.c_double),
        ("yarn_no_truncate", _u32),
        ("short_factor", ctypes.POINTER(ctypes.c_double)),
        ("long_factor", ctypes.POINTER(ctypes.c_double)),
        ("seq_len", _u32),
    ]


ROPE_TYPES = {"default": 0, "linear": 1, "dynamic": 2, "yarn": 3, "longrope": 4, "llama3": 5}


STRUCTS = {
    1: ContextOptions,
    2: CallStats,
    3: DeviceInfo,
    4: AttentionDesc,
    5: AttentionTensors,
    6: KernelInfo,
    7: Seq,
    8: BatchDesc,
    9: RopeConfig,
    10: KvChunk,
}


class LibraryMismatch(ImportError):
    """The library found is not the one this package was written for."""


def _candidates():
    """Where to look, in order: SEATTN_LIBRARY, next to this package, the install prefix
    recorded when the package was installed, then the system's library path."""
    env = os.environ.get("SEATTN_LIBRARY")
    if env:
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    # (MSVC names the DLL seattn.dll, mingw-w64 libseattn.dll)
    names = ["libseattn.so.%d" % VERSION_MAJOR, "libseattn.so", "libseattn.dylib", "seattn.dll",
             "libseattn.dll"]
    found = [os.path.join(here, n) for n in names]
    try:
        from . import _install  # written by `cmake --install`: where the library went

        found += [os.path.normpath(os.path.join(here, _install.LIBDIR, n)) for n in names]
    except ImportError:
        pass
    return [p for p in found if os.path.exists(p)] + names, False


def _declare(lib):
    c = ctypes
    vp = c.c_void_p
    sigs = {
        "seattn_version": (_u32, []),
        "seattn_version_string": (c.c_char_p, []),
        "seattn_struct_size": (c.c_size_t, [_enum]),
        "seattn_status_string": (c.c_char_p, [_enum]),
        "seattn_context_create": (_enum, [c.POINTER(ContextOptions), c.POINTER(vp)]),
        "seattn_context_destroy": (None, [vp]),
        "seattn_context_last_error": (c.c_char_p, [vp]),
        "seattn_last_create_error": (c.c_char_p, []),
        "seattn_context_validation_errors": (_u32, [vp]),
        "seattn_context_last_call": (_enum, [vp, c.POINTER(CallStats)]),
        "seattn_context_kernel_info": (_enum, [vp, _u32, c.POINTER(KernelInfo)]),
        "seattn_context_device_info": (_enum, [vp, c.POINTER(DeviceInfo)]),
        "seattn_device_list": (_enum, [c.POINTER(DeviceInfo), c.POINTER(_u32)]),
        "seattn_tensor_create": (_enum, [vp, c.c_size_t, c.POINTER(vp)]),
        "seattn_tensor_destroy": (None, [vp]),
        "seattn_tensor_bytes": (c.c_size_t, [vp]),
        "seattn_tensor_upload": (_enum, [vp, vp, c.c_size_t, vp, c.c_size_t]),
        "seattn_tensor_download": (_enum, [vp, vp, c.c_size_t, vp, c.c_size_t]),
        "seattn_attention_run": (_enum, [vp, c.POINTER(AttentionDesc),
                                         c.POINTER(AttentionTensors)]),
        "seattn_attention_desc_check": (_enum, [vp, c.POINTER(AttentionDesc),
                                                c.POINTER(AttentionDesc)]),
        "seattn_attention_batch": (_enum, [vp, c.POINTER(AttentionDesc), c.POINTER(BatchDesc),
                                           c.POINTER(AttentionTensors), vp, vp]),
        "seattn_batch_check": (_enum, [c.POINTER(BatchDesc), vp, vp, c.c_char_p, c.c_size_t]),
        "seattn_rope_frequencies": (_enum, [c.POINTER(RopeConfig), c.POINTER(c.c_double),
                                            c.POINTER(c.c_float)]),
        "seattn_dtype_bytes": (c.c_size_t, [_enum, c.c_size_t]),
        "seattn_quantize": (_enum, [_enum, vp, c.c_size_t, vp, c.c_float]),
        "seattn_dequantize": (_enum, [_enum, vp, c.c_size_t, vp, c.c_float]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args


def _check(lib, path):
    v = lib.seattn_version()
    major, minor = v // 10000, v // 100 % 100
    if (major, minor) != (VERSION_MAJOR, VERSION_MINOR):
        raise LibraryMismatch(
            "%s is seattn %s; this package was written for %d.%d.x" %
            (path, lib.seattn_version_string().decode(), VERSION_MAJOR, VERSION_MINOR))
    for sid, struct in STRUCTS.items():
        size = lib.seattn_struct_size(sid)
        if size != ctypes.sizeof(struct):
            raise LibraryMismatch(
                "%s: struct %s is %d bytes in the library and %d in this package; the library "
                "and the package do not match" % (path, struct.__name__, size,
                                                  ctypes.sizeof(struct)))


def load():
    """The C library, declared and checked. Raises ImportError (LibraryMismatch when one was
    found but does not match) if none can be used."""
    paths, explicit = _candidates()
    errors = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
            continue
        try:
            _declare(lib)
        except AttributeError as e:
            raise LibraryMismatch("%s lacks a function this package needs: %s" % (path, e))
        _check(lib, path)
        lib.path = path
        return lib
    where = "SEATTN_LIBRARY=%s" % paths[0] if explicit else "next to the package, in the " \
        "install prefix or on the library path"
    raise ImportError("seattn: the C library libseattn was not found (%s): %s. Build and "
                      "install it (README: ./run.sh install) or point SEATTN_LIBRARY at "
                      "libseattn.so." % (where, "; ".join(errors)))
