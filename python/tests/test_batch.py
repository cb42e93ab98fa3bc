"""seattn.attention_batch: each sequence of a batch against its own seattn.attention call,
contiguous and paged (vLLM's layout), decode and prefill mixed, and bad metadata refused with
its row named."""

import numpy as np
import pytest

import seattn


def _batch(rng, q_lens, kv_lens, heads=4, kv_heads=2, dim=32, page=None):
    """A packed batch: per-sequence q [heads, q_len, dim], k/v [kv_heads, kv_len, dim], and the
    batch's q [tokens, heads, dim], k/v pool and seqs (and block table when paged)."""
    own, rows, q_rows, k_rows, v_rows = [], [], [], [], []
    n_pages = sum(-(-kl // page) for kl in kv_lens) if page else 0
    order = rng.permutation(n_pages) if page else None
    pool_k = np.zeros((n_pages * (page or 0), kv_heads, dim), np.float32) if page else None
    pool_v = np.zeros_like(pool_k) if page else None
    table, q_at, kv_at, pg_at = [], 0, 0, 0
    for ql, kl in zip(q_lens, kv_lens):
        q = rng.standard_normal((heads, ql, dim)).astype(np.float32)
        k = rng.standard_normal((kv_heads, kl, dim)).astype(np.float32)
        v = rng.standard_normal((kv_heads, kl, dim)).astype(np.float32)
        own.append((q, k, v))
        q_rows.append(q.transpose(1, 0, 2))
        if page:
            pages = [int(p) for p in order[pg_at:pg_at + -(-kl // page)]]
            for j in range(kl):
                pool_k[pages[j // page] * page + j % page] = k[:, j]
                pool_v[pages[j // page] * page + j % page] = v[:, j]
            rows.append((q_at, ql, kl - ql, kl, len(table)))
            table += pages
            pg_at += len(pages)
        else:
            k_rows.append(k.transpose(1, 0, 2))
            v_rows.append(v.transpose(1, 0, 2))
            rows.append((q_at, ql, kl - ql, kl, kv_at))
            kv_at += kl
        q_at += ql
    qb = np.concatenate(q_rows)
    if page:
        kb = pool_k.reshape(n_pages, page, kv_heads, dim)
        vb = pool_v.reshape(n_pages, page, kv_heads, dim)
        return own, qb, kb, vb, np.array(rows), np.array(table)
    return own, qb, np.concatenate(k_rows), np.concatenate(v_rows), np.array(rows), None


@pytest.mark.parametrize("page", [None, 16, 5])
def test_each_sequence_equals_its_own_call(backend, page):
    rng = np.random.default_rng(3)
    q_lens, kv_lens = [1, 9, 1, 20, 1], [40, 9, 130, 70, 5]
    own, q, k, v, seqs, table = _batch(rng, q_lens, kv_lens, page=page)
    opts = dict(group_size=4, window=16)
    out, lse = seattn.attention_batch(q, k, v, seqs, table, backend=backend, return_lse=True,
                                      **opts)
    assert out.shape == q.shape and lse.shape == q.shape[:2]
    for (qs, ks, vs), (q0, ql, _, _, _) in zip(own, seqs):
        want, want_lse = seattn.attention(qs, ks, vs, backend="cpu", return_lse=True, **opts)
        np.testing.assert_allclose(out[q0:q0 + ql].transpose(1, 0, 2), want, atol=1e-4)
        np.testing.assert_allclose(lse[q0:q0 + ql].T, want_lse, atol=1e-4)


@pytest.mark.parametrize("page", [None, 16])
def test_pool_in_chunks(backend, page):
    """The pool given as three arrays, one a chunk (issue 26): the same answer as one array."""
    rng = np.random.default_rng(6)
    own, q, k, v, seqs, table = _batch(rng, [1, 9, 1, 20], [40, 9, 130, 70], page=page)
    opts = dict(group_size=4, window=16)
    want = seattn.attention_batch(q, k, v, seqs, table, backend="cpu", **opts)
    cuts = [len(k) // 3, 2 * len(k) // 3]
    ks, vs = np.split(k, cuts), np.split(v, cuts)
    out = seattn.attention_batch(q, ks, vs, seqs, table, backend=backend, **opts)
    np.testing.assert_allclose(out, want, atol=1e-4)
    with pytest.raises(seattn.InvalidArgument, match="both lists"):
        seattn.attention_batch(q, ks, v, seqs, table, backend=backend, **opts)


def test_torch_in_torch_out(backend, torch):
    rng = np.random.default_rng(4)
    own, q, k, v, seqs, table = _batch(rng, [1, 3], [17, 33], page=16)
    out = seattn.attention_batch(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v),
                                 torch.from_numpy(seqs), torch.from_numpy(table),
                                 backend=backend, group_size=2, window=8)
    assert isinstance(out, torch.Tensor) and tuple(out.shape) == q.shape
    want = seattn.attention_batch(q, k, v, seqs, table, backend="cpu", group_size=2, window=8)
    np.testing.assert_allclose(out.numpy(), want, atol=1e-4)


def test_bad_metadata_is_named(backend):
    rng = np.random.default_rng(5)
    own, q, k, v, seqs, table = _batch(rng, [1, 2], [20, 30], page=16)
    bad = seqs.copy()
    bad[1, 2] = 29  # q_pos + q_len > kv_len
    with pytest.raises(seattn.InvalidArgument, match="sequence 1.*q_pos"):
        seattn.attention_batch(q, k, v, bad, table, backend=backend)
    t = table.copy()
    t[0] = 99  # a page past the pool
    with pytest.raises(seattn.InvalidArgument, match="past the pool"):
        seattn.attention_batch(q, k, v, seqs, t, backend=backend)
    with pytest.raises(seattn.InvalidArgument, match=r"\[n_seqs, 5\]"):
        seattn.attention_batch(q, k, v, seqs[:, :4], table, backend=backend)
    with pytest.raises(seattn.InvalidArgument, match="needs page_size"):
        seattn.attention_batch(q, k.reshape(-1, 2, 32), v.reshape(-1, 2, 32), seqs, table,
                               backend=backend)
