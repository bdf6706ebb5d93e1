"""Level 11 (paged decoding): mutants of solutions_hidden/level11_paged_decode.py."""

from . import Mutant

MUTANTS = [
    Mutant(
        name="block_table_ignored",
        bug="The block table is ignored: sequence b's page i is assumed to be page b * max_pages + i of the pool.",
        expect="block table",
        probe_only=True,
        edits=(
            (
                "page = tl.load(table_row + tokens // PAGE_SIZE, mask=token_ok, other=0)",
                "page = b * stride_table + tokens // PAGE_SIZE",
            ),
        ),
    ),
    Mutant(
        name="whole_last_page",
        bug="The last page is read to its end: the slots past seq_len (garbage) are attended to.",
        expect="past seq_len",
        probe_only=True,
        edits=(
            (
                "end = tl.minimum(start + tokens_per_split, seq_len)",
                "end = tl.minimum(start + tokens_per_split, tl.cdiv(seq_len, PAGE_SIZE) * PAGE_SIZE)",
            ),
        ),
    ),
    Mutant(
        name="garbage_times_zero",
        bug="The k and v loads are unmasked and the masked weights are multiplied by 0, so NaN garbage leaks (NaN * 0 = NaN).",
        expect="NaN",
        probe_only=True,
        edits=(
            (
                "k = tl.load(k_cache_ptr + row[:, None] + dims[None, :], mask=token_ok[:, None], other=0.0)",
                "k = tl.load(k_cache_ptr + row[:, None] + dims[None, :])",
            ),
            (
                's = tl.where(token_ok[None, :], tl.dot(q, tl.trans(k)) * qk_scale, float("-inf"))',
                "s = tl.dot(q, tl.trans(k)) * qk_scale",
            ),
            ("p = tl.exp2(s - m_new[:, None])", "p = tl.exp2(s - m_new[:, None]) * token_ok[None, :]"),
            (
                "v = tl.load(v_cache_ptr + row[:, None] + dims[None, :], mask=token_ok[:, None], other=0.0)",
                "v = tl.load(v_cache_ptr + row[:, None] + dims[None, :])",
            ),
        ),
    ),
    Mutant(
        name="partials_not_rescaled",
        bug="The reduction adds the partial sums without rescaling them by exp(m - M).",
        expect="rescaled by exp(m_p - m)",
        edits=(("weight = tl.where(used, tl.exp2(m - m_all), 0.0)", "weight = tl.where(used, 1.0, 0.0)"),),
    ),
    Mutant(
        name="reduce_with_exp",
        bug="The partial maxima are in log2 units but the reduction rescales them with exp.",
        expect="log2(e)",
        edits=(("weight = tl.where(used, tl.exp2(m - m_all), 0.0)", "weight = tl.where(used, tl.exp(m - m_all), 0.0)"),),
    ),
    Mutant(
        name="kv_head_interleaved",
        bug="Query head h is served by kv head h % Hkv instead of h // (Hq // Hkv).",
        expect="kv head",
        edits=(("heads = hk * GROUP + group_rows", "heads = hk + group_rows * H_KV"),),
    ),
    Mutant(
        name="scale_twice",
        bug="The scale is applied twice: the scores are multiplied by scale^2.",
        expect="scale",
        edits=(("scale * LOG2E, H_kv, num_splits, tokens_per_split,", "scale * scale * LOG2E, H_kv, num_splits, tokens_per_split,"),),
    ),
    Mutant(
        name="seq_len_minus_one",
        bug="seq_lens[b] - 1 tokens are attended to: the newest cached token is left out.",
        expect="last cached token",
        edits=(("seq_len = tl.load(seq_lens_ptr + b)\n", "seq_len = tl.load(seq_lens_ptr + b) - 1\n"),),
    ),
    Mutant(
        name="token_end_inclusive",
        bug="The token mask is tokens <= end: one slot past the sequence (garbage) is attended to.",
        expect="past seq_len",
        probe_only=True,
        edits=(("token_ok = tokens < end", "token_ok = tokens <= end"),),
    ),
    Mutant(
        name="cache_gathered",
        bug="The wrapper gathers every sequence's pages into a contiguous copy of the cache first: right values, twice the memory traffic.",
        expect="gathered copy",
        edits=((
            "    out = torch.empty_like(q)\n\n    # The pieces are sized",
            "    out = torch.empty_like(q)\n"
            "    pages = block_table.long()\n"
            "    k_cache = k_cache[pages].reshape(B * max_pages, page_size, H_kv, D)\n"
            "    v_cache = v_cache[pages].reshape(B * max_pages, page_size, H_kv, D)\n"
            "    block_table = torch.arange(B * max_pages, device=q.device, dtype=torch.int32).reshape(B, max_pages)\n"
            "\n    # The pieces are sized",
        ),),
    ),
]
