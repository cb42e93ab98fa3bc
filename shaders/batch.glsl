// Batches (seattn_attention_batch): many sequences in one call, their metadata on the device.
// Sequence s is five words of meta from META_SEQ + 5 s: q_start, q_len, q_pos, kv_len,
// kv_start (seattn_seq). In a batch the push constants hold bounds the host vouches for:
// pc.q_len the longest q_len, pc.kv_len the longest kv_len, pc.q_pos the page size P (0: each
// sequence's keys are kv_len consecutive tokens of the k and v views from kv_start: BATCH 1),
// pc.q_tokens
// the rows of the q, out and lse views, pc.kv_tokens the tokens of the k and v views (the pool
// of pages). Key j of a paged sequence is token bt[kv_start + j / P] P + j % P of the pool and
// keeps its logical position j.
//
// Metadata the device reads is checked here, and nothing outside the views is ever read or
// written: a sequence whose query range leaves the views (or whose q_len passes the bound) has
// no rows, so nothing is written for it; one whose other fields are out of bounds, or one of
// whose pages lies past the pool, gets NaN in every output and lse element of its rows: each
// workgroup checks every page of its key split, whatever rows it holds, and the splits' merge
// makes a row NaN if any split found its sequence bad. A page past the pool is read as page 0
// before it is found out.

// 0: not a batch; 1: contiguous keys; 2: pages of a power-of-2 size; 3: pages of any size
// (a constant, so that llvmpipe, which runs both sides of a branch, pays for one path only)
layout(constant_id = 13) const uint BATCH = 0u;
// The records and the block table are words of the meta binding (common.glsl): records from
// META_SEQ, the table from s_bt, the first word after the last record, to the range's end.

#define QNAN uintBitsToFloat(0x7fc00000u)
#define POS_INF uintBitsToFloat(0x7f800000u) // a split partial's m: its sequence is bad

// The workgroup's sequence (outside a batch: the call itself), set by seq_load().
uint sq_len, sq_pos, skv_len, sq_tok0, skv_start, s_index, s_count;
uint s_pshift, s_npool; // pages: log2 of the page size (BATCH 2), pages in the pool
uint s_bt; // the block table's first word in meta
bool s_bad; // its metadata is out of bounds: its rows get NaN

void seq_load(uint s, uint n_seqs) {
    s_index = s;
    s_count = n_seqs;
    s_bt = 0u;
    sq_tok0 = 0u;
    skv_start = 0u;
    s_bad = false;
    sq_len = pc.q_len;
    sq_pos = pc.q_pos;
    skv_len = pc.kv_len;
    if (BATCH == 0u) return;
    const uint at = META_SEQ + 5u * s;
    const uint q0 = meta[at], qn = meta[at + 1u], qp = meta[at + 2u];
    const uint kl = meta[at + 3u], ks = meta[at + 4u];
    const bool rows = qn <= pc.q_len && qn <= pc.q_tokens && q0 <= pc.q_tokens - qn;
    bool ok = kl <= pc.kv_len && qp <= kl && qn <= kl - qp;
    const uint P = pc.q_pos;
    if (BATCH == 1u) {
        ok = ok && kl <= pc.kv_tokens && ks <= pc.kv_tokens - kl;
    } else {
        s_pshift = uint(findLSB(P));
        s_npool = pc.kv_tokens / P;
        s_bt = META_SEQ + 5u * n_seqs;
        const uint n_bt = uint(meta.length()) - s_bt; // the bound range: the table's entries
        const uint np = kl / P + (kl % P != 0u ? 1u : 0u);
        ok = ok && ks <= n_bt && np <= n_bt - ks;
    }
    sq_tok0 = rows ? q0 : 0u;
    sq_len = rows ? qn : 0u;
    s_bad = rows && !ok;
    sq_pos = ok ? qp : 0u; // a bad sequence walks no keys
    skv_len = ok ? kl : 0u;
    skv_start = ok ? ks : 0u;
}

// The token of the sequence's key j in the k and v views.
uint kv_tok(uint j) {
    if (BATCH == 0u) return j;
    if (BATCH == 1u) return skv_start + j;
    const uint P = pc.q_pos;
    const uint page = BATCH == 2u ? j >> s_pshift : j / P;
    const uint pg = meta[s_bt + skv_start + page];
    return (pg < s_npool ? pg : 0u) * P + (BATCH == 2u ? j & (P - 1u) : j % P);
}

// KV_CHUNKS: the chunk holding pool token tok, and the token's place in it in *local; KV_CHUNKS
// when none does (a page in a gap between chunks, or past them), with *local 0.
uint kv_chunk(uint tok, out uint local) {
    local = 0u;
    for (uint c = 0u; c < KV_CHUNKS; ++c) {
        const uint t0 = meta[8u * c + 4u], n = meta[8u * c + 5u];
        if (tok - t0 < n) {
            local = tok - t0;
            return c;
        }
    }
    return KV_CHUNKS;
}

// Key j's token in *tok, and the end of the run of keys from j (up to end) whose tokens follow
// it one by one: the rest of j's page, or all of them for contiguous keys. With KV_CHUNKS (the
// SEATTN_BDA builds) the run also ends with its chunk, *tok is the token's place in the chunk,
// and the chunk's addresses become k_at and v_at (address.glsl).
uint kv_run(uint j, uint end, out uint tok) {
    tok = kv_tok(j);
    uint run_end = end;
    if (BATCH >= 2u) {
        const uint P = pc.q_pos;
        const uint page_end = BATCH == 2u ? ((j >> s_pshift) + 1u) << s_pshift : (j / P + 1u) * P;
        run_end = min(end, page_end);
    }
#ifdef SEATTN_BDA
    if (KV_CHUNKS != 0u) { // a token in no chunk (a bad page) never comes: its sequence walks no keys
        uint local;
        uint c = kv_chunk(tok, local);
        c = c < KV_CHUNKS ? c : 0u;
        chunk_select(c);
        run_end = min(run_end, j + (meta[8u * c + 5u] - local));
        tok = local;
    }
#endif
    return run_end;
}

// Whether every page of keys [j0, j1) lies in the pool (and with KV_CHUNKS in a chunk): this
// invocation checks pages
// j0 / P + t, + t + stride, ...
bool pages_ok(uint j0, uint j1, uint t, uint stride) {
    if (BATCH < 2u || j1 <= j0) return true;
    const uint P = pc.q_pos;
    bool ok = true;
    for (uint i = j0 / P + t; i <= (j1 - 1u) / P; i += stride) {
        const uint pg = meta[s_bt + skv_start + i];
        uint local;
        ok = ok && pg < s_npool && (KV_CHUNKS == 0u || kv_chunk(pg * P, local) < KV_CHUNKS);
    }
    return ok;
}

// The split partial row of query head h and the sequence's query row tok (merge.comp).
uint part_row(uint h, uint tok) {
    return BATCH != 0u ? (h * s_count + s_index) * pc.q_len + tok : h * pc.q_len + tok;
}
