"""Level 10 (grouped-query attention): learner mistakes, as edits of solutions_hidden/level10_gqa_attention.py.

The solution reads k and v through tensor descriptors over (B * Hkv, S, D), which return zeros for a
row past S and for a kv row past B * Hkv; the learner's kata loads them through pointers at
kv_row * stride_kvbh, masked in the masked stage only (as level 8's kata). Every mistake therefore
starts from LEARNER_LOADS, which turns the solution's loads into the kata's, so that a wrong kv row
reads what the learner's kernel would read (another head's keys, or past the end of k), not zeros.
The solution with LEARNER_LOADS alone passes every case (tests/test_mistakes.py checks it).
"""

from . import Mistake

LEARNER_LOADS: tuple[tuple[str, str], ...] = (
    (
        "    k = k_desc.load([kv_row, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)\n",
        "    keys = start_n + tl.arange(0, BLOCK_N)\n"
        "    kv_offsets = kv_row.to(tl.int64) * S * HEAD_DIM + keys[:, None] * HEAD_DIM + tl.arange(0, HEAD_DIM)[None, :]\n"
        "    if MASKED:\n"
        "        k = tl.load(k_desc + kv_offsets, mask=keys[:, None] < S, other=0.0)\n"
        "    else:\n"
        "        k = tl.load(k_desc + kv_offsets)\n",
    ),
    (
        "    v = v_desc.load([kv_row, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)\n",
        "    if MASKED:\n"
        "        v = tl.load(v_desc + kv_offsets, mask=keys[:, None] < S, other=0.0)\n"
        "    else:\n"
        "        v = tl.load(v_desc + kv_offsets)\n",
    ),
    (
        "k_desc, v_desc = (TensorDescriptor(t, shape=[B * H_kv, S, D], strides=[S * D, D, 1], block_shape=[1, 16, D]) for t in (k, v))",
        "k_desc, v_desc = k, v  # plain pointers, as in the kata",
    ),
    ('        args[name].block_shape = [1, args["BLOCK_N"], args["HEAD_DIM"]]\n', "        pass  # no descriptors\n"),
)

KV_ROW = "kv_row = b * H_KV + h // GROUP"
Q_HEAD = "head = bhq.to(tl.int64) * stride_bh"
# Rival diagnoses of the head mapping (the headlines of the planted mutants' bugs). Only phrases that
# name a cause: "(batch 0, head 1)" may appear in a headline merely to locate a wrong slice.
MAPPING_RIVALS = ("h % Hkv", "batch 0's", "batch 0 is right", "Hkv // Hq")
# A rival for mistakes in q's and out's offset: the blame put on the k and v reads.
KV_READ_RIVALS = ("keys and values", "into k and v", "`k` and `v` are read")

MISTAKES = [
    Mistake(
        name="kv_head_divided_by_hkv",
        bug="Query head h reads kv head h // Hkv (divided by the number of kv heads, not by the group size Hq // Hkv).",
        expect="h // Hkv",
        wrong=(*MAPPING_RIVALS, "causal mask", "negative scale"),
        issue="22",
        edits=(*LEARNER_LOADS, (KV_ROW, "kv_row = b * H_KV + h // H_KV")),
    ),
    Mistake(
        name="batch_split_by_hkv",
        bug="b = bhq // Hkv: the program index, which counts Hq query heads per batch, is split with the kv head count.",
        expect="bhq // Hq",
        wrong=(*MAPPING_RIVALS, "causal mask"),
        issue="22",
        edits=(*LEARNER_LOADS, ("b = bhq // H_Q", "b = bhq // H_KV")),
    ),
    Mistake(
        name="q_offset_without_batch",
        bug="q and out are offset by the query head h only (h * stride_bh), not by bhq = b * Hq + h: every batch reads and writes batch 0's rows.",
        expect="output's batch offset",
        wrong=(*KV_READ_RIVALS, "h % Hkv", "causal mask", "alpha is inverted"),
        issue="22",
        edits=(*LEARNER_LOADS, (Q_HEAD, "head = h.to(tl.int64) * stride_bh")),
    ),
    Mistake(
        name="q_read_at_kv_row",
        bug="One offset for all: q and out are read and written at the kv head's row (kv_row * stride_bh) instead of the query head's (bhq).",
        expect="worked out wrong",
        wrong=(*MAPPING_RIVALS, *KV_READ_RIVALS, "causal mask", "reads memory that was never written", "alpha is inverted"),
        issue="22",
        edits=(*LEARNER_LOADS, (Q_HEAD, "head = kv_row.to(tl.int64) * stride_bh")),
    ),
    Mistake(
        name="grid_over_kv_heads",
        bug="The grid launches B * Hkv programs per query tile instead of B * Hq: only the first B * Hkv query heads are computed.",
        expect="grid",
        wrong=(*MAPPING_RIVALS, "causal mask", "scale", "reads memory that was never written", "alpha is inverted"),
        issue="22",
        edits=(*LEARNER_LOADS, ('return (triton.cdiv(S, meta["BLOCK_M"]), B * H_q)', 'return (triton.cdiv(S, meta["BLOCK_M"]), B * H_kv)')),
    ),
    Mistake(
        name="causal_mask_strict",
        bug="The diagonal stage masks with j < i instead of j <= i: query i does not see key i (and row 0 sees nothing at all).",
        expect="diagonal is masked",
        wrong=("not applied", "diagonal tile is skipped", "h % Hkv", "batch 0's"),
        issue="22",
        edits=(
            *LEARNER_LOADS,
            (
                "visible = visible & (cols[None, :] <= rows[:, None])",
                "visible = visible & (cols[None, :] < rows[:, None])",
            ),
        ),
    ),
    Mistake(
        name="default_scale_one_over_d",
        bug="scale=None becomes 1 / D instead of 1 / sqrt(D).",
        expect="sqrt",
        wrong=("not applied", "ignored", "twice", "h % Hkv", "negative scale"),
        issue="22",
        edits=(*LEARNER_LOADS, ("        scale = 1.0 / math.sqrt(D)\n", "        scale = 1.0 / D\n")),
    ),
    Mistake(
        name="qk_scale_without_log2e",
        bug="The wrapper passes scale as qk_scale (LOG2E forgotten) while the kernel exponentiates with exp2.",
        expect="log2(e)",
        wrong=("exponentiated with exp", "not applied", "ignored", "h % Hkv", "negative scale"),
        issue="22",
        edits=(*LEARNER_LOADS, ("S, H_q, H_kv, scale * LOG2E,", "S, H_q, H_kv, scale,")),
    ),
    Mistake(
        name="acc_not_rescaled",
        bug="acc is not multiplied by alpha when the running max grows: acc = p @ v + acc, with the old tiles' weights left unscaled.",
        expect="accumulator",
        wrong=("neither", "normaliser is not", "h % Hkv", "causal mask"),
        issue="22",
        edits=(
            *LEARNER_LOADS,
            ("acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])", "acc = tl.dot(p.to(v.dtype), v, acc)"),
        ),
    ),
    Mistake(
        name="l_not_rescaled",
        bug="The normaliser is not multiplied by alpha when the running max grows: l = l + rowsum(p).",
        expect="normaliser",
        wrong=("neither", "accumulator is not", "h % Hkv", "causal mask"),
        issue="22",
        edits=(*LEARNER_LOADS, ("l_i = l_i * alpha + tl.sum(p, axis=1)", "l_i = l_i + tl.sum(p, axis=1)")),
    ),
]
