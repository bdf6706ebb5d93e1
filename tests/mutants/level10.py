"""Level 10 (grouped-query attention): mutants of solutions_hidden/level10_gqa_attention.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="kv_head_modulo",
        bug="Query head h reads kv head h % Hkv (interleaved groups) instead of h // (Hq // Hkv).",
        expect="h % Hkv",
        edits=(("kv_row = b * H_KV + h // GROUP", "kv_row = b * H_KV + h % H_KV"),),
    ),
    Mutant(
        name="group_inverted",
        bug="The group size is computed as Hkv // Hq (0 whenever Hq > Hkv).",
        expect="group",
        edits=(("GROUP=H_q // H_kv,", "GROUP=H_kv // H_q,"),),
    ),
    Mutant(
        name="kv_batch_forgotten",
        bug="The kv head row ignores the batch: every sequence reads batch 0's keys and values.",
        expect="batch",
        edits=(("kv_row = b * H_KV + h // GROUP", "kv_row = h // GROUP"),),
    ),
    Mutant(
        name="kv_batch_stride_hq",
        bug="The batch offset into k and v counts Hq heads per batch instead of Hkv.",
        expect="hkv heads per batch",
        edits=(("kv_row = b * H_KV + h // GROUP", "kv_row = b * H_Q + h // GROUP"),),
    ),
    Mutant(
        name="causal_mask_missing",
        bug="The diagonal tile is processed without the causal mask, so future keys leak in.",
        expect="causal mask",
        edits=(("        if CAUSAL:\n            visible = visible & (cols[None, :] <= rows[:, None])\n", ""),),
    ),
    Mutant(
        name="diagonal_tile_skipped",
        bug="Causal: only the key tiles below the diagonal are visited; the diagonal tile is skipped.",
        expect="diagonal tile is skipped",
        edits=(("hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)", "hi_end = lo_end"),),
    ),
    Mutant(
        name="negative_scale_max",
        bug="With a negative scale the fast path still takes max(qk) * scale as the row max, which is the smallest score: exp2 overflows.",
        expect="negative scale",
        edits=(("m_new = tl.maximum(m_i, tl.min(qk, axis=1) * qk_scale)", "m_new = tl.maximum(m_i, tl.max(qk, axis=1) * qk_scale)"),),
    ),
    Mutant(
        name="kv_repeated_in_wrapper",
        bug="The wrapper repeats k and v to Hq heads and runs plain multi-head attention: right values, the copy GQA exists to avoid.",
        expect="repeated for the query heads",
        edits=((
            "    q, k, v = (t.contiguous() for t in (q, k, v))  # no-ops for the contract's contiguous inputs\n",
            "    q, k, v = (t.contiguous() for t in (q, k, v))\n"
            "    k, v = (t.repeat_interleave(H_q // H_kv, dim=1) for t in (k, v))\n"
            "    H_kv = H_q\n",
        ),),
    ),
]
