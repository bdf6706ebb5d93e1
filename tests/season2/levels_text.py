"""What levels 9 to 11 teach: name, concept paragraph and six graded hints of each, for the level classes.

The integrator copies each dict's fields into the level's class (`name`, `concept`, `hints`), as in
pytest_triton_quest/levels/level8_flash_attention.py.
"""

from __future__ import annotations

LEVEL9: dict[str, object] = {
    "name": "Flash backward",
    "concept": (
        "The backward pass of attention finds dQ, dK and dV from dO without ever storing the S x S "
        "probabilities: it recomputes them tile by tile from q, k and lse, the log-sum-exp that the forward "
        "pass kept for each query row, as P = exp(q @ k^T * scale - lse), with no running max. The calculus "
        "gives dV = P^T @ dO, dP = dO @ V^T, dS = P * (dP - delta) with delta = rowsum(dO * O), "
        "dQ = scale * dS @ K and dK = scale * dS^T @ Q. dK and dV sum over queries while dQ sums over keys, so "
        "FlashAttention-2 uses three kernels: one computes delta, one gives each program a tile of keys that "
        "walks the query tiles accumulating dK and dV, one gives each program a tile of queries that walks the "
        "key tiles accumulating dQ. Under the causal mask, tiles that cannot see each other are skipped and "
        "only the diagonal ones are masked."
    ),
    "hints": (
        "Nothing of size S x S may be stored, so recompute P where you need it: P[i, j] = exp(s[i, j] - lse[i]) "
        "with s = q @ k^T * scale. lse already holds the row's max and sum, so there is no online softmax here. "
        "Write down which sums produce dV, dK and dQ: over which index does each one run?",
        "The formulas: dV = P^T @ dO; dP = dO @ V^T; dS = P * (dP - delta[:, None]) where delta = rowsum(dO * O) "
        "(one float32 per query row); dQ = scale * dS @ K; dK = scale * dS^T @ Q. delta needs the whole row of O, "
        "so compute it first, in its own small kernel.",
        "Give each program of the dK/dV kernel BLOCK_N keys of one (batch, head): it loads k and v once, keeps dk "
        "and dv in float32 registers and walks the query tiles. Give each program of the dQ kernel BLOCK_M "
        "queries: it loads q, dO, lse and delta once and walks the key tiles. Three launches in all.",
        "Causal: query i sees key j when j <= i. For the key tile starting at start_n, query tiles before "
        "start_n see none of it (skip them), the queries start_n .. start_n + BLOCK_N - 1 need the mask, and the "
        "later ones need none. For dQ: keys before start_m without mask, the diagonal tile with it, later keys "
        "skipped. Hidden and padded entries must become 0 with tl.where: a hidden score can overflow exp.",
        "In the dK/dV loop work transposed (keys along rows): pT = tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - "
        "lse2[None, :]) with qk_scale = scale * log2(e) and lse2 = lse * log2(e); dv = tl.dot(pT.to(do.dtype), do, "
        "dv); dpT = tl.dot(v, tl.trans(do)); dsT = pT * (dpT - delta[None, :]); dk = tl.dot(dsT.to(q.dtype), q, dk). "
        "Padded query rows load as 0 (q, dO, lse, delta) and then add exactly nothing.",
        "In the dQ loop: p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None]); on the masked tiles "
        "p = tl.where(visible, p, 0.0) with visible = (keys < S) & (keys <= rows) when causal; dp = tl.dot(do, "
        "tl.trans(v)); ds = p * (dp - delta[:, None]); dq = tl.dot(ds.to(k.dtype), k, dq). Store dk * scale, dv "
        "and dq * scale in q's dtype, masked to rows < S.",
    ),
}

LEVEL10: dict[str, object] = {
    "name": "Grouped-query attention",
    "concept": (
        "Grouped-query attention keeps Hq query heads but only Hkv key/value heads, so the KV cache that "
        "inference must read shrinks by Hq / Hkv. Each key/value head serves a group of Hq // Hkv consecutive "
        "query heads: query head h reads key/value head h // (Hq // Hkv); Hkv = 1 is multi-query attention. "
        "Repeating k and v to Hq heads would write and re-read the very memory GQA saves, so the kernel reads "
        "them in place: a program serving query head h computes where its key/value head lives in k and v, "
        "whose batch stride counts Hkv heads, not Hq. Programs of one group read the same key tiles, which the "
        "L2 cache shares between them. The rest is level 8: online softmax in base 2, causal tiles split into "
        "visible, diagonal and skipped, one launch."
    ),
    "hints": (
        "Start from your level 8 kernel: one program per (query tile, batch * query head), the same stages and "
        "online softmax. Only one thing changes: where the program finds its keys and values. Do not repeat or "
        "expand k and v in the wrapper; that copy is what GQA exists to avoid.",
        "With Hq = 8 and Hkv = 2, query heads 0-3 share kv head 0 and 4-7 share kv head 1. Write the map from "
        "h to the kv head for that example, then for Hkv = 1 and for Hkv = Hq. Which one of h // group and "
        "h % Hkv gives consecutive heads the same kv head?",
        "The program id over heads is bhq = b * Hq + h: b = bhq // Hq, h = bhq % Hq. q and out are "
        "(B, Hq, S, D), so their head offset is bhq * S * D. k and v are (B, Hkv, S, D): batch b starts at "
        "b * Hkv * S * D, not b * Hq * S * D.",
        "group = Hq // Hkv is a natural constexpr (pass it from the wrapper); kv_row = b * Hkv + h // group "
        "is the row of k and v seen as (B * Hkv, S, D), and its offset is kv_row * S * D (int64 for large "
        "tensors). Pass k.stride(1) for k and v, q.stride(1) for q and out.",
        "The fast path scales the row max instead of every score: m_new = max(m, max(qk) * qk_scale). That "
        "only holds for qk_scale > 0. With a negative scale the largest scaled score comes from the smallest "
        "qk: use tl.min(qk, 1) * qk_scale there (a constexpr flag from the wrapper), or apply the scale to "
        "the scores before taking the max.",
        "Kernel: b, h and kv_row from tl.program_id(1); q loaded at bhq, k and v at kv_row; stage 1 keys "
        "[0, lo_end) unmasked, stage 2 [lo_end, hi_end) masked (causal: lo_end = start_m * BLOCK_M, hi_end = "
        "min(lo_end + BLOCK_M, S); not causal: lo_end = (S // BLOCK_N) * BLOCK_N, hi_end = S); store acc / l. "
        "Wrapper: grid (cdiv(S, BLOCK_M), B * Hq), GROUP = Hq // Hkv, one launch.",
    ),
}

LEVEL11: dict[str, object] = {
    "name": "Paged decoding",
    "concept": (
        "Decoding computes attention for one new token per sequence over that sequence's KV cache, which a "
        "serving system keeps in fixed-size pages scattered through a shared pool: token t of sequence b is "
        "slot t % page_size of page block_table[b, t // page_size]. Only the first ceil(seq_len / page_size) "
        "table entries mean anything, and the slots past seq_len hold garbage, possibly NaN, which masked loads "
        "and tl.where keep out (NaN * 0 is NaN). With one query per sequence, one program per (sequence, head) "
        "leaves the GPU idle, so flash-decoding splits each sequence's tokens into pieces: each program returns "
        "a partial max m, normaliser l and unnormalised accumulator acc, and a second kernel merges them, "
        "rescaling each by exp(m - M) with M the largest m. The query heads of a GQA group share one program, "
        "so each page is read once; the work is bound by memory bandwidth."
    ),
    "hints": (
        "First get the addressing right: for token t of sequence b, page = block_table[b, t // page_size] and "
        "slot = t % page_size; its key for kv head g is k_cache[page, slot, g, :]. Pages are not contiguous "
        "and not in order, so every tile of tokens must look its pages up in the table.",
        "Tokens t >= seq_lens[b] must not count, even inside the last real page, and table entries past "
        "ceil(seq_len / page_size) point at garbage. Mask the table lookup and the k and v loads with t < end "
        "(other=0), and set their scores to -inf with tl.where. Multiplying a NaN by 0 still gives NaN.",
        "A program per (sequence, kv head) that walks 32k tokens alone leaves most of the GPU idle. Cut the "
        "token range into pieces of tokens_per_split tokens and give each piece its own program (a second grid "
        "axis). A piece that starts past seq_len has nothing to do: return at once.",
        "Each piece runs the online softmax over its tokens and stores, per query head, its m, l and "
        "(unnormalised) acc in float32 scratch buffers: (B, Hq, num_splits) and (B, Hq, num_splits, D). The "
        "merge is the online softmax rescale once more: M = max(m_p), w_p = exp(m_p - M), "
        "out = sum(w_p * acc_p) / sum(w_p * l_p). Only the first cdiv(seq_len, tokens_per_split) pieces exist.",
        "Grouping: the query heads hk * group .. hk * group + group - 1 (group = Hq // Hkv) all read kv head hk. "
        "Load them as the rows of one q tile, padded to at least 16 rows for tl.dot: s = tl.dot(q, tl.trans(k)) "
        "is (rows, tokens) and tl.dot(p.to(v.dtype), v, acc) updates every head of the group at once.",
        "Split kernel, grid (B * Hkv, num_splits): tokens = t0 + tl.arange(0, BLOCK_N); token_ok = tokens < end; "
        "page = tl.load(table_row + tokens // PAGE_SIZE, mask=token_ok, other=0); row = page * stride_page + "
        "(tokens % PAGE_SIZE) * stride_slot + hk * stride_head; load k and v at row[:, None] + dims with mask "
        "token_ok[:, None]; s = tl.where(token_ok[None, :], qk * qk_scale, -inf). Reduce kernel, grid (B * Hq,): "
        "load the used pieces' m, l, acc, merge with exp2, store in q's dtype.",
    ),
}

LEVELS: dict[int, dict[str, object]] = {9: LEVEL9, 10: LEVEL10, 11: LEVEL11}

if __name__ == "__main__":
    for number, text in LEVELS.items():
        assert set(text) == {"name", "concept", "hints"}, number
        assert isinstance(text["hints"], tuple) and len(text["hints"]) == 6, number
        print(f"level {number}: {text['name']}: concept {len(text['concept'])} chars, 6 hints")
