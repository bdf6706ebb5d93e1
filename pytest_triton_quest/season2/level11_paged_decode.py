"""Level 11: paged decoding, one new token per sequence attending over a paged KV cache, the
sequence split across programs and the pieces merged (flash-decoding).

The cases build vLLM's layout: a pool of fixed-size pages handed out in a shuffled order, a block
table per sequence, ragged lengths, and every slot that no sequence owns holding NaN, so that a read
past seq_len or outside the block table cannot go unnoticed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .._lazy import torch
from ..levels.attention_inputs import LARGE_OFFSET
from ..levels.attention_reference import scale_of
from ..levels.base import Baseline, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work
from ..model import SEEN, CleanRun, one_of
from ..levels.level7_fused_attention import FusedAttention
from .level10_gqa_attention import holds_rows_of
from ..levels import evidence
from .replay import matches, tried

if TYPE_CHECKING:
    import torch as torch_types

SPARE_PAGES = 3  # pages in the pool that no sequence uses: NaN, and named by the table's tail entries


class PagedDecode(Level):
    number = 11
    name = "Paged Decoding"
    kata_file = "level11_paged_decode.py"
    function = "paged_decode"
    positional = ("q", "k_cache", "v_cache", "block_table", "seq_lens")
    # The page table and lengths may reach a kernel in another form (offsets, a cumulative sum).
    read_inputs = ("q", "k_cache", "v_cache")
    planted_nan = ("k_cache", "v_cache")
    keywords = ("scale",)
    max_launches = 2
    concept = (
        "Decoding computes attention for one new token per sequence over that sequence's KV cache, which a "
        'serving system keeps in fixed-size pages scattered through a shared pool: token t of sequence b is '
        'slot t % page_size of page block_table[b, t // page_size]. Only the first ceil(seq_len / page_size) '
        'table entries mean anything, and the slots past seq_len hold garbage, possibly NaN, which masked '
        'loads and tl.where keep out (NaN * 0 is NaN). With one query per sequence, one program per '
        "(sequence, head) leaves the GPU idle, so flash-decoding splits each sequence's tokens into pieces: "
        'each program returns a partial max m, normaliser l and unnormalised accumulator acc, and a second '
        'kernel merges them, rescaling each by exp(m - M) with M the largest m. The query heads of a GQA '
        'group share one program, so each page is read once; the work is bound by memory bandwidth.'
    )
    hints = (
        'First get the addressing right: for token t of sequence b, page = block_table[b, t // page_size] and '
        'slot = t % page_size; its key for kv head g is k_cache[page, slot, g, :]. Pages are not contiguous '
        'and not in order, so every tile of tokens must look its pages up in the table.',
        'Tokens t >= seq_lens[b] must not count, even inside the last real page, and table entries past '
        'ceil(seq_len / page_size) point at garbage. Mask the table lookup and the k and v loads with t < end '
        '(other=0), and set their scores to -inf with tl.where. Multiplying a NaN by 0 still gives NaN.',
        'A program per (sequence, kv head) that walks 32k tokens alone leaves most of the GPU idle. Cut the '
        'token range into pieces of tokens_per_split tokens and give each piece its own program (a second '
        'grid axis). A piece that starts past seq_len has nothing to do: return at once.',
        'Each piece runs the online softmax over its tokens and stores, per query head, its m, l and '
        '(unnormalised) acc in float32 scratch buffers: (B, Hq, num_splits) and (B, Hq, num_splits, D). The '
        'merge is the online softmax rescale once more: M = max(m_p), w_p = exp(m_p - M), out = sum(w_p * '
        'acc_p) / sum(w_p * l_p). Only the first cdiv(seq_len, tokens_per_split) pieces exist.',
        'Grouping: the query heads hk * group .. hk * group + group - 1 (group = Hq // Hkv) all read kv head '
        'hk. Load them as the rows of one q tile, padded to at least 16 rows for tl.dot: s = tl.dot(q, '
        'tl.trans(k)) is (rows, tokens) and tl.dot(p.to(v.dtype), v, acc) updates every head of the group at '
        'once.',
        'Split kernel, grid (B * Hkv, num_splits): tokens = t0 + tl.arange(0, BLOCK_N); token_ok = tokens < '
        'end; page = tl.load(table_row + tokens // PAGE_SIZE, mask=token_ok, other=0); row = page * '
        'stride_page + (tokens % PAGE_SIZE) * stride_slot + hk * stride_head; load k and v at row[:, None] + '
        'dims with mask token_ok[:, None]; s = tl.where(token_ok[None, :], qk * qk_scale, -inf). Reduce '
        "kernel, grid (B * Hq,): load the used pieces' m, l, acc, merge with exp2, store in q's dtype.",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        rows = [
            _row("fp32", 2, 1, 16, 8, (1, 17, 40), 6, "a one-token sequence beside longer ones, multi-query, pages of 8"),
            _row("fp32", 8, 2, 32, 16, (77, 5), 6, "groups of four query heads, a short sequence, explicit scale", scale=0.3),
            _row("fp32", 4, 4, 16, 64, (130, 64), 3, "Hkv = Hq, a sequence that ends exactly on a page boundary, a negative scale", scale=-0.25),
            _row("fp16", 8, 1, 64, 128, (1, 200), 2, "pages of 128 in half precision, multi-query"),
            _row("fp32", 4, 2, 32, 16, (50, 33), 4, "large logits (about 1000): exp overflows unless the max is subtracted", large=True),
            _row("fp16", 2, 2, 16, 8, (23, 64), 8, "large logits in half precision, many small pages", large=True),
            _row("fp16", 4, 2, 128, 16, (30, 100), 7, "D = 128, pages of 16"),
            _row("fp32", 2, 1, 16, 32, (300, 7, 129), 10, "a long sequence over ten pages: several splits to merge"),
            _row("fp32", 4, 2, 16, 16, (40, 150), 10, "very negative scores (about -1000) over several splits: a max that "
                 "starts at 0, or an unused split's max read as 0, leaves exp(s - 0) = 0 and 0 / 0", scale=-0.25, large=True),
        ]
        if mode.on_gpu:
            rows += [
                _row("fp16", 32, 8, 128, 16, (1000, 1, 4097, 300), 300, "Llama-like heads, lengths from 1 to 4097"),
                _row("bf16", 8, 1, 64, 8, (77, 1999), 250, "bfloat16, multi-query, pages of 8, explicit scale", scale=0.1),
                _row("bf16", 4, 4, 128, 128, (129, 1024), 9, "bfloat16, pages of 128, a negative scale", scale=-0.125),
                _row("fp32", 8, 2, 64, 64, (5000, 33), 80, "float32 (TF32 in tl.dot on the GPU), a long sequence"),
                _row("fp16", 16, 2, 128, 32, (3000, 60), 100, "large logits over a long sequence", large=True),
            ]
        return rows

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        p = case.params
        lens: list[int] = list(p["seq_lens"])
        B, Hq, Hkv, D, page = len(lens), p["Hq"], p["Hkv"], p["D"], p["page_size"]
        benchmark = case.purpose == "benchmark" and torch.cuda.is_available()
        dtype = case.torch_dtype
        used = [math.ceil(n / page) for n in lens]
        pool = sum(used) + SPARE_PAGES
        order = torch.randperm(pool, generator=generator).tolist()
        garbage = order[sum(used):]
        if benchmark:  # timing only: random everywhere, made on the GPU where they are timed
            from .level9_flash_backward import _cuda_generator

            cuda = _cuda_generator(generator)
            k_cache = torch.randn((pool, page, Hkv, D), generator=cuda, dtype=dtype, device="cuda")
            v_cache = torch.randn((pool, page, Hkv, D), generator=cuda, dtype=dtype, device="cuda")
        else:  # every slot NaN until a token is written to it
            k_cache = torch.full((pool, page, Hkv, D), math.nan)
            v_cache = torch.full((pool, page, Hkv, D), math.nan)
        table = torch.empty((B, p["max_pages"]), dtype=torch.int32)
        handed_out = 0
        for b, n in enumerate(lens):
            for slot in range(p["max_pages"]):
                if slot < used[b]:
                    table[b, slot] = order[handed_out]
                    handed_out += 1
                else:  # meaningless tail entries: valid indices, of pages that hold garbage
                    table[b, slot] = garbage[(b + slot) % len(garbage)]
            if not benchmark:
                keys = torch.randn((n, Hkv, D), generator=generator)
                values = torch.randn((n, Hkv, D), generator=generator)
                if p.get("large"):
                    keys[..., 0] = LARGE_OFFSET
                pages = table[b, : used[b]].long()
                k_cache.view(-1, Hkv, D)[_slots(pages, page, n)] = keys
                v_cache.view(-1, Hkv, D)[_slots(pages, page, n)] = values
        q = torch.randn((B, Hq, D), generator=generator)
        if p.get("large"):
            q[..., 0] = LARGE_OFFSET
        inputs: dict[str, Any] = {
            "q": q.to(dtype),
            "k_cache": k_cache.to(dtype),
            "v_cache": v_cache.to(dtype),
            "block_table": table,
            "seq_lens": torch.tensor(lens, dtype=torch.int32),
        }
        if "scale" in p:
            inputs["scale"] = p["scale"]
        return inputs

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return _decode64(inputs)

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # One query row of level 7's arithmetic per head (scores, an online softmax, p @ v over the
        # cached tokens), with one more float32 rescaling per split: level 7's tolerances and reasons.
        return FusedAttention().tolerance(case, mode)

    def forbidden_copy(self, inputs: dict[str, Any], tensor: "torch_types.Tensor") -> str | None:
        # A copy holds at least every token's row of one kv head; scratch for m, l or partial sums of
        # B * Hq rows is smaller than that or has no rows of D at all.
        D = inputs["q"].shape[-1]
        if tensor.numel() % D or tensor.numel() < int(inputs["seq_lens"].sum()) * D:
            return None
        for name in ("k_cache", "v_cache"):
            if holds_rows_of(tensor, _cached(inputs, name)):
                return (
                    f"a gathered copy of `{name}` ({tensor.numel()} elements): read the pages in place through "
                    "block_table; copying the cache doubles the memory traffic that decoding is bound by"
                )
        return None

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        access = stray.stray
        if access.access == "load" and access.numel == stray.inputs["k_cache"].numel():
            # Outside the page pool: the page number was wrong, which no mask on the k/v load fixes.
            # Past the pool's end: a page, a slot or a kv head index out of its range (the offsets alone
            # do not say which), never a mask that a k/v load lacks.
            replayed = _near_misses_on_a_larger_pool(stray, self.tolerance(stray.case, Mode("cpu", True)))
            if replayed:
                return replayed
            return [
                SEEN + "an address past the end of the cache, from a page, slot or head index out of range (the "
                "address alone does not say which). Token t of sequence b is in page block_table[b, t // page_size], "
                "slot t % page_size, and query head h reads kv head h // (Hq // Hkv)"
            ]
        return []

    # ----- benchmarks ---------------------------------------------------------------------------
    def benchmark_cases(self) -> list[Case]:
        # Every sequence the same length, so gather + SDPA needs no mask; 32k tokens is where flash-
        # decoding's split matters most.
        cases = []
        for B, Hq, Hkv, D, page, tokens in ((8, 32, 8, 128, 16, 32768), (8, 32, 8, 128, 128, 32768), (32, 32, 8, 128, 16, 4096), (8, 32, 1, 128, 16, 32768)):
            params = {"Hq": Hq, "Hkv": Hkv, "D": D, "page_size": page, "seq_lens": (tokens,) * B, "max_pages": tokens // page}
            case_id = f"fp16-B{B}-{Hq}/{Hkv}x{D}-page{page}-len{tokens}"
            cases.append(Case(id=case_id, dtype="fp16", purpose="benchmark", params=params))
        return cases

    def baselines(self) -> dict[str, Baseline]:
        return {"gather+sdpa": _gather_sdpa}

    def work(self, case: Case) -> Work:
        p = case.params
        element = 2 if case.dtype in ("fp16", "bf16") else 4
        lens = p["seq_lens"]
        tokens = sum(lens)
        # Each cached key and value is read once, and so are q, seq_lens and the block table entries in
        # use; out is written once. The cache is nearly all of it: GB/s stay within 1% of "cache read once".
        cache = 2.0 * tokens * p["Hkv"] * p["D"] * element
        query_and_out = 2.0 * len(lens) * p["Hq"] * p["D"] * element
        table = 4.0 * (len(lens) + sum(-(-n // p["page_size"]) for n in lens))
        return Work(flops=4.0 * tokens * p["Hq"] * p["D"], bytes=cache + query_and_out + table)

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        return diagnose_decode(failure)


def _row(
    dtype: str, Hq: int, Hkv: int, D: int, page: int, lens: tuple[int, ...], max_pages: int, purpose: str,
    scale: float | None = None, large: bool = False,
) -> Case:
    params: dict[str, Any] = {"Hq": Hq, "Hkv": Hkv, "D": D, "page_size": page, "seq_lens": lens, "max_pages": max_pages}
    case_id = f"{dtype}-{Hq}/{Hkv}x{D}-page{page}-lens{'_'.join(str(n) for n in lens)}"
    if scale is not None:
        params["scale"] = scale
        case_id += f"-scale{scale:g}"
    if large:
        params["large"] = True
        case_id += "-large"
    return Case(id=case_id, dtype=dtype, purpose=purpose, params=params)


def _slots(
    pages: "torch_types.Tensor", page_size: int, n: int, page_of: int = 0, slot_of: int = 0, tile_page: int = 0,
    split_relative: int = 0,
    relative_slots: bool = False,
) -> "torch_types.Tensor":
    """Row indices, in the cache seen as (pool * page_size, Hkv, D), of a sequence's first n tokens
    (`page_of`, `slot_of`: another divisor for the page entry, another modulus for the slot, or with
    slot_of < 0 none: the slot is t itself; `tile_page`: every token of a tile of that many takes the
    page of the tile's first token; `split_relative`: the page entry is found from the token's place
    inside its split of that many tokens, and with `relative_slots` the slot too)."""
    tokens = torch.arange(n)
    slots = tokens if slot_of < 0 else tokens % (slot_of or page_size)  # slot_of < 0: no modulo at all
    looked_up = (tokens // tile_page) * tile_page if tile_page else tokens
    if split_relative:
        looked_up = looked_up % split_relative
        if relative_slots:
            slots = looked_up % page_size
    return pages[looked_up // (page_of or page_size)] * page_size + slots


def _sequence(
    inputs: dict[str, Any], name: str, b: int, n: int, page_of: int = 0, slot_of: int = 0, tile_page: int = 0,
    split_relative: int = 0, relative_slots: bool = False,
) -> "torch_types.Tensor":
    """Sequence b's first n cached rows of `name`, (n, Hkv, D), found through the block table."""
    cache = inputs[name].to(device="cpu", dtype=torch.float64)
    page = cache.shape[1]
    pages = inputs["block_table"][b].to("cpu").long()
    rows = cache.reshape(-1, *cache.shape[2:])
    slots = _slots(pages, page, n, page_of, slot_of, tile_page, split_relative, relative_slots)
    return rows[slots.clamp(max=rows.shape[0] - 1)]


def _strides_swapped(cache: "torch_types.Tensor") -> "torch_types.Tensor":
    """What a kernel reads as cache[p, s, h] when it steps the slot s by the head stride and the kv
    head h by the slot stride: the element at p * stride(0) + s * stride(2) + h * stride(1) of the
    contiguous pool (zeros past its end, where such a kernel would have been stopped by the guard)."""
    pool, page, heads, dim = cache.shape
    flat = torch.cat([cache.to(device="cpu", dtype=torch.float64).flatten(), torch.zeros(heads * heads * dim + page * dim, dtype=torch.float64)])
    return flat.as_strided((pool, page, heads, dim), (page * heads * dim, dim, heads * dim, 1))


def _slot_at_head_stride(cache: "torch_types.Tensor") -> "torch_types.Tensor":
    """What a kernel reads as cache[p, s, h] when both the slot s and the kv head h step the head
    stride: the element at p * stride(0) + (s + h) * stride(2) of the contiguous pool (zeros past its
    end)."""
    pool, page, heads, dim = cache.shape
    flat = torch.cat([cache.to(device="cpu", dtype=torch.float64).flatten(), torch.zeros(heads * dim, dtype=torch.float64)])
    return flat.as_strided((pool, page, heads, dim), (page * heads * dim, dim, dim, 1))


def _cached(inputs: dict[str, Any], name: str) -> "torch_types.Tensor":
    lens = inputs["seq_lens"].tolist()
    return torch.cat([_sequence(inputs, name, b, n) for b, n in enumerate(lens)])


def _decode64(
    inputs: dict[str, Any],
    lengths: list[int] | None = None,
    scale_power: int = 1,
    interleaved: bool = False,
    heads: list[int] | None = None,
    scale: float | None = None,
    page_of: int = 0,
    slot_of: int = 0,
    unshifted: bool = False,
    tile_page: int = 0,
    padded_to: int = 0,
    split_relative: int = 0,
    relative_slots: bool = False,
) -> "torch_types.Tensor":
    """The answer in float64, or a known wrong one: other lengths, the scale applied twice (or another
    scale), query head h served by kv head h % Hkv (or by `heads[h]`), (`unshifted`) the softmax's
    exp taken in float32 with no max subtracted, or (`padded_to`) the tokens from seq_len up to the
    next multiple of that many scored 0 with value 0. Another block table: pass inputs with it."""
    q = inputs["q"].to(device="cpu", dtype=torch.float64)
    B, Hq, D = q.shape
    Hkv = inputs["k_cache"].shape[2]
    group = Hq // Hkv
    if heads is None:
        heads = [h % Hkv if interleaved else h // group for h in range(Hq)]
    scale = (scale_of(inputs) if scale is None else scale) ** scale_power
    out = torch.full((B, Hq, D), math.nan, dtype=torch.float64)
    for b, n in enumerate(lengths if lengths is not None else inputs["seq_lens"].tolist()):
        if n < 1:
            continue
        keys = _sequence(inputs, "k_cache", b, n, page_of, slot_of, tile_page, split_relative, relative_slots)[:, heads]  # (n, Hq, D)
        values = _sequence(inputs, "v_cache", b, n, page_of, slot_of, tile_page, split_relative, relative_slots)[:, heads]
        scores = torch.einsum("hd,nhd->hn", q[b], keys) * scale
        if padded_to:  # padding that scores 0 (a key loaded as 0, never set to -inf) and adds value 0
            extra = -n % padded_to
            scores = torch.cat([scores, scores.new_zeros(Hq, extra)], dim=1)
            values = torch.cat([values, values.new_zeros(extra, Hq, D)])
        if unshifted:
            e = torch.exp(scores.float())
            weights = (e / e.sum(dim=-1, keepdim=True)).double()
        else:
            weights = torch.softmax(scores, dim=-1)
        out[b] = torch.einsum("hn,nhd->hd", weights, values)
    return out


def _gather_sdpa(inputs: dict[str, Any]) -> Any:
    """PyTorch's way without paging support: gather each sequence's pages into a contiguous cache, then
    SDPA (every benchmark sequence has the same length, so no mask is needed)."""
    q, table = inputs["q"], inputs["block_table"].long()
    B, _, D = q.shape
    Hkv = inputs["k_cache"].shape[2]
    tokens = int(inputs["seq_lens"][0])
    k = inputs["k_cache"][table].reshape(B, -1, Hkv, D)[:, :tokens].transpose(1, 2)
    v = inputs["v_cache"][table].reshape(B, -1, Hkv, D)[:, :tokens].transpose(1, 2)
    out = torch.nn.functional.scaled_dot_product_attention(q[:, :, None, :], k, v, scale=inputs.get("scale"), enable_gqa=True)
    return out[:, :, 0, :]


def diagnose_decode(failure: Failure) -> list[str]:
    inputs, out, ref = failure.inputs, failure.out, failure.ref
    lens: list[int] = inputs["seq_lens"].tolist()
    # Replays first: a known wrong answer explains NaN too (a sequence left with no token is 0 / 0, a
    # garbage page read by mistake is NaN in the replay as in the kernel).
    replayed = [(replay(), note) for replay, note in _near_misses(inputs, out, failure.launches)]  # each computed once
    notes = _simplest([note for replay, note in replayed if tried(failure, replay, note, exact=_pinned(note))])
    if not notes:
        notes = _simplest(_confirmed_on_clean_cache(failure, replayed))
        failure.reproduced.update(notes)
    if notes:
        return [one_of(notes)]
    heads = _kv_heads_read(failure)
    if heads:
        return [heads]
    broken = ~torch.isfinite(out) & torch.isfinite(ref)
    if not bool(broken.any()):
        return []
    # Garbage the cache holds explains NaN before the arithmetic does: on a case of large scores the
    # softmax with no max subtracted is NaN nearly everywhere, so it would match any NaN output.
    return _nan_from_the_cache(failure) or ([_UNSHIFTED] if _overflows_unshifted(failure) else [])


_UNSHIFTED = (
    "likely: an exp is taken without the max subtracted first (of the scores inside a split, or of the "
    "split maxima in the merge): with scores about 1000 in size, exp overflows to inf or underflows to 0, "
    "and inf / inf or 0 / 0 is NaN; subtract the running max inside a split, and weigh each split by "
    "exp(m_p - M), M the largest m_p"
)


def _confirmed_on_clean_cache(failure: Failure, replayed: list[tuple["torch_types.Tensor", str]]) -> list[str]:
    """Replays wrong only where the cache's garbage (NaN on purpose) makes them NaN, as the output is:
    too weak alone, since any replay that reads garbage is NaN there. Each is named only if, with the
    NaN slots set to 0, the kernel's output and the replay's still agree, and are still wrong."""
    if failure.probe is None or evidence.unwritten_among(failure, failure.bad):
        return []
    loose = {note for replay, note in replayed if matches(failure, replay, nan_only=True)}
    if not loose:
        return []
    cleaned = PagedDecode.planted_nan_free(failure.inputs)
    run = _clean_stand_in(failure, cleaned) or failure.probe.run(cleaned)
    if run.out is None:
        return []
    ref = _decode64(cleaned)
    bad = ~torch.isclose(run.out, ref, rtol=failure.tolerance.rtol, atol=failure.tolerance.atol)
    clean = Failure(failure.case, cleaned, run.out, ref, bad, failure.tolerance, run.launches)
    return [note for replay, note in _near_misses(cleaned, run.out) if note in loose and matches(clean, replay())]


def _overflows_unshifted(failure: Failure) -> bool:
    """A case of large logits whose output is NaN or inf exactly where a float32 softmax that subtracts
    no max is (and right elsewhere): the arithmetic overflowed, not memory (NaN from memory nobody
    wrote never counts). Not a replay that `matches` can take: it is NaN nearly everywhere."""
    if not failure.case.params.get("large") or evidence.unwritten_among(failure, failure.bad) or failure.probe is None:
        return False
    unshifted = _decode64(failure.inputs, unshifted=True)
    special = ~torch.isfinite(unshifted)
    if not bool(special.any()) or not bool((~torch.isfinite(failure.out) == special).all()):
        return False
    close = torch.isclose(failure.out[~special], failure.ref[~special], atol=failure.tolerance.atol, rtol=failure.tolerance.rtol)
    if not bool(close.all()):
        return False
    # The cache's garbage (NaN on purpose) set to 0: NaN that stay are the arithmetic's.
    cleaned = PagedDecode.planted_nan_free(failure.inputs)
    run = _clean_stand_in(failure, cleaned) or failure.probe.run(cleaned)
    return run.out is not None and bool((~torch.isfinite(run.out) == special).all())


def _clean_stand_in(failure: Failure, cleaned: dict[str, Any]) -> CleanRun | None:
    """The check's own run with all of the caches' garbage at 0 (`Failure.clean_run`), where it gives
    what a probe on `cleaned` would: no kernel loaded a NaN of the caches that `cleaned` keeps. It
    saves a call of the learner's function per diagnosis."""
    run = failure.clean_run
    if run is None:
        return None
    for name, loaded in run.loaded.items():
        if bool((torch.isnan(cleaned[name]).cpu() & loaded).any()):
            return None
    return run


_LOG2E = 1.4426950408889634


_SLOT_IS_TOKEN = "likely: the slot inside the page is t itself, with no modulo: it must be t % page_size"
_SLOT_MODULO_TILE = "likely: the slot inside the page is t % "


def _simplest(notes: list[str]) -> list[str]:
    """Replays that all reproduce the output, less those that only add an assumption to another: a
    slot taken modulo some tile width beside one taken with no modulo at all (on these tokens the two
    agree, and the plainer slip is the likelier)."""
    if _SLOT_IS_TOKEN in notes:
        return [note for note in notes if not note.startswith(_SLOT_MODULO_TILE)]
    return notes


def _near_misses(
    inputs: dict[str, Any], out: "torch_types.Tensor", launches: Sequence[Any] = ()
) -> list[tuple[Callable[[], "torch_types.Tensor"], str]]:
    """The level's family of near misses of the reference: another block table, other lengths, another
    scale, another kv head mapping, a split or merge bug at the usual split sizes and at those the
    launches' grids allow. Each is named only when it reproduces the output."""
    lens: list[int] = inputs["seq_lens"].tolist()
    table = inputs["block_table"]
    B = table.shape[0]
    pool, page_size, Hkv = inputs["k_cache"].shape[:3]
    Hq = inputs["q"].shape[1]
    scale = scale_of(inputs)
    D = inputs["q"].shape[-1]
    family: list[tuple[Callable[[], torch_types.Tensor], str]] = []
    if Hkv not in (1, Hq):
        family.append((lambda: _decode64(inputs, interleaved=True), "likely: query head h is served by kv head h % Hkv; it must be kv head h // (Hq // Hkv)"))
    group = Hq // Hkv
    if 1 < group <= Hkv:  # the group size in the modulo: every head it names exists only then
        family.append((
            lambda: _decode64(inputs, heads=[h % group for h in range(Hq)]),
            "likely: query head h is served by kv head h % (Hq // Hkv); it must be kv head h // (Hq // Hkv)",
        ))
    logical = torch.arange(table.shape[1], dtype=table.dtype).expand_as(table).contiguous()
    family.append((
        lambda: _decode64({**inputs, "block_table": logical}),
        "likely: the cache is addressed with the logical page number t // page_size: token t of sequence b "
        "lives in page block_table[b, t // page_size]; look the page up in the block table and address that page",
    ))
    # Pages taken as contiguous in the pool: every token addressed from the sequence's first page on,
    # block_table[b, 0] * page_size + t. Only where every page that reaches lies in the pool.
    firsts = table[:, :1] + torch.arange(table.shape[1], dtype=table.dtype)
    if all(int(table[b, 0]) + -(-n // page_size) <= pool for b, n in enumerate(lens) if n > 0):
        family.append((
            lambda: _decode64({**inputs, "block_table": firsts.contiguous()}),
            "likely: the pages are taken as contiguous from the sequence's first page: token t is read at "
            "block_table[b, 0] * page_size + t; each page must be looked up, block_table[b, t // page_size]",
        ))
    if B > 1:
        family.append((
            lambda: _decode64({**inputs, "block_table": table[:1].expand_as(table).contiguous()}),
            "likely: every sequence looks its pages up in row 0 of the block table: sequence b must read row b, "
            "which starts at b * block_table.stride(0)",
        ))
        # The row stride taken from the wrong dimension (stride(1), which is 1): row b starts b entries
        # into row 0. Only where every entry a sequence needs lies inside the table.
        used = [-(-n // page_size) for n in lens]
        if all(b + pages_used <= table.numel() for b, pages_used in enumerate(used)):
            flat = torch.cat([table.flatten(), table.new_zeros(B)])  # the padding is never read: checked above
            shifted = torch.stack([flat[b : b + table.shape[1]] for b in range(B)])
            family.append((
                lambda: _decode64({**inputs, "block_table": shifted}),
                "likely: the block table's row stride is 1 (block_table.stride(1), the stride between entries): "
                "sequence b reads its pages from entry b of row 0 onwards; row b starts at b * block_table.stride(0)",
            ))
    if any(n > 1 for n in lens):
        def shorter() -> "torch_types.Tensor":
            replay = _decode64(inputs, lengths=[n - 1 for n in lens])
            one_token = torch.tensor([n == 1 for n in lens])
            replay[one_token] = out[one_token]  # a sequence of one token has nothing left to compare
            return replay

        family.append((shorter, "likely: the last cached token is left out: sequence b attends to tokens 0 .. seq_lens[b] - 1, all of them"))
    pages = table.shape[1] * page_size
    if all(n < pages for n in lens):
        family.append((
            lambda: _decode64(inputs, lengths=[n + 1 for n in lens]),
            "likely: one token past seq_len is attended to (tokens <= seq_len): mask the tokens with t < seq_lens[b]",
        ))
    if abs(scale) != 1.0:
        family.append((lambda: _decode64(inputs, scale_power=2), "likely: the scale is applied twice (scores multiplied by scale^2)"))
        if inputs.get("scale") is None:  # 1 / D is (1 / sqrt(D))^2: both are named where both reproduce
            family.append((lambda: _decode64(inputs, scale=1.0 / D), "likely: the default scale is 1 / D: it is 1 / sqrt(D) when scale is None"))
        family.append((lambda: _decode64(inputs, scale=1.0), "likely: the scale is not applied: multiply the scores by scale (1 / sqrt(D) when it is None)"))
    if inputs.get("scale") is not None and abs(scale - 1.0 / math.sqrt(D)) > 1e-12:
        family.append((lambda: _decode64(inputs, scale=1.0 / math.sqrt(D)), "likely: the explicit `scale` is ignored: use 1 / sqrt(D) only when scale is None"))
    longest = max(lens)
    if sum(lens) > _MAX_REPLAY_TOKENS:
        widths: tuple[int, ...] = ()  # a GPU-sized case: dozens of Python-loop replays would take minutes
    else:
        widths = _WIDTHS
    for width in (w for w in widths if w != page_size):
        if (longest - 1) // width < table.shape[1]:
            family.append((
                lambda width=width: _decode64(inputs, page_of=width),
                f"likely: the page entry of token t is looked up as t // {width} (a tile width): it is block_table[b, t // page_size]",
            ))
        if width < longest:  # t % width for every t < longest is t itself: the replay below
            family.append((
                lambda width=width: _decode64(inputs, slot_of=width),
                f"{_SLOT_MODULO_TILE}{width} (a tile width): it must be t % page_size",
            ))
    for width in (w for w in widths if w > page_size and page_size < longest):
        family.append((
            lambda width=width: _decode64(inputs, tile_page=width),
            f"likely: the page is looked up once per tile of {width} tokens, at the tile's first token: each token t "
            "needs its own page, block_table[b, t // page_size], since a tile spans several pages",
        ))
    splits = sorted({*widths, *_split_sizes_of(inputs, launches)}) if widths else []
    for width in (w for w in splits if w < longest):
        family.append((
            lambda width=width: _decode64(inputs, split_relative=width),
            f"{_SPLIT_RELATIVE}({width} tokens a split here): the entry is block_table[b, t // page_size], with t "
            "counted from the sequence's start, not from its split's",
        ))
        if width % page_size:  # else the slot inside the page is the same either way
            family.append((
                lambda width=width: _decode64(inputs, split_relative=width, relative_slots=True),
                f"{_SPLIT_RELATIVE}and so is the slot ({width} tokens a split here): both come from t counted from "
                "the sequence's start, block_table[b, t // page_size] and t % page_size, not from its split's",
            ))
    # The last tile: of one of the widths a kernel's tiles have, or of one page.
    tails = {w for w in widths if any(n % w for n in lens)}
    if widths and any(n % page_size for n in lens):
        tails.add(page_size)
    for width in sorted(tails):
        family.append((
            lambda width=width: _decode64(inputs, padded_to=width),
            f"likely: the tokens past seq_len in the last tile (of {width}) are scored 0 instead of -inf: their "
            "keys load as 0, and exp(0 - m) adds to the normaliser; set their scores to -inf with tl.where(t < seq_len, s, -inf)",
        ))
    # Every token from K on never visited (too few splits, or a token loop that stops early): the
    # answer over each sequence's first min(seq_len, K) tokens, for K a multiple of 8 below the
    # longest sequence (a kernel's tiles, pages and splits are).
    cuts = [cut for cut in range(8, longest, 8) if any(n > cut for n in lens)][:_MAX_CUTS] if widths else []
    for cut in cuts:
        family.append((
            lambda cut=cut: _decode64(inputs, lengths=[min(n, cut) for n in lens]),
            f"{_CUT}{cut} on are never visited: only each sequence's first {cut} tokens are attended "
            "to; the splits (or the loop over tokens) must reach seq_lens[b], e.g. num_splits = "
            "cdiv(longest seq_len, tokens per split)",
        ))
    if longest > page_size:
        family.append((lambda: _decode64(inputs, slot_of=-1), _SLOT_IS_TOKEN))
    if Hkv > 1 and page_size > 1:
        family.append((
            lambda: _decode64({**inputs, **{name: _strides_swapped(inputs[name]) for name in ("k_cache", "v_cache")}}),
            "likely: the slot and the kv head are addressed with each other's strides: slot s steps "
            "k_cache.stride(1) (Hkv * D in a contiguous cache) and kv head h steps k_cache.stride(2) (D)",
        ))
        family.append((
            lambda: _decode64({**inputs, **{name: _slot_at_head_stride(inputs[name]) for name in ("k_cache", "v_cache")}}),
            "likely: the slot inside the page steps the kv head's stride: slot s is at s * k_cache.stride(2) (D in a "
            "contiguous cache); it is s * k_cache.stride(1), the slot stride (Hkv * D)",
        ))
    for per_split in (w for w in splits if w < longest):
        # Splits counted with a floor: each sequence loses its last, partial split (a short one, all).
        floored = [n // per_split * per_split for n in lens]
        if floored != lens:
            family.append((
                lambda floored=floored: _decode64(inputs, lengths=floored),
                f"{_FLOORED}{per_split} tokens: the last, partial split of each sequence is left out (a sequence "
                "shorter than one split has none: 0 / 0); count a sequence's splits with cdiv(seq_len, tokens per split)",
            ))
        for bug, note in _MERGE_BUGS.items():
            family.append((lambda per_split=per_split, bug=bug: _split_decode64(inputs, per_split, per_split, bug), note))
        for tile in (w for w in _WIDTHS if w < per_split):
            for bug, note in _SPLIT_BUGS.items():
                family.append((lambda per_split=per_split, tile=tile, bug=bug: _split_decode64(inputs, per_split, tile, bug), note))
    family.append((lambda: _decode64(inputs, scale=scale / _LOG2E), "likely: exp2 is used without log2(e) folded into the scale: multiply the scale by log2(e) once"))
    family.append((lambda: _decode64(inputs, scale=scale * _LOG2E), "likely: the scores are scaled by log2(e) but exponentiated with exp (or log2(e) is applied twice)"))
    return family


# Widths a kernel's tiles and splits are likely to have, and the most cached tokens (all sequences)
# a case may have for the tile-shaped replays to run.
_WIDTHS = (16, 32, 64, 128, 256)
_MAX_REPLAY_TOKENS = 4096
_MAX_CUTS = 64  # truncation points tried (a replay each)
_SPLIT_BUGS = {
    "split_acc": "likely: inside a split, the accumulator is not rescaled when the running max grows: acc = acc * "
    "exp(m_old - m_new) + p @ v",
    "split_l": "likely: inside a split, the normaliser is not rescaled when the running max grows: l = l * "
    "exp(m_old - m_new) + rowsum(p)",
}
_MERGE_BUGS = {
    "merge_acc": "likely: the merge sums the splits' accumulators as they are: each acc_p must be rescaled by "
    "exp(m_p - M), M the largest m_p",
    "merge_l": "likely: the merge sums the splits' normalisers as they are: each l_p must be rescaled by "
    "exp(m_p - M), M the largest m_p",
    "merge_both": "likely: the merge sums the splits' accumulators and normalisers as they are: each must be "
    "rescaled by exp(m_p - M), M the largest m_p",
    "merge_exp": "likely: the merge rescales with exp while the splits' maxima are in log2 units (scaled by "
    "log2(e)): rescale by exp2(m_p - M) there",
    "merge_exp2": "likely: the merge rescales with exp2 while the splits' maxima are in natural-log units (the "
    "scores carry no log2(e)): rescale by exp(m_p - M) there, or keep the splits in log2 units too",
    "merge_normalised_first": "likely: the merge averages each split's normalised output acc_p / l_p with weights "
    "exp(m_p - M): it must divide the weighted sums, sum(w_p * acc_p) / sum(w_p * l_p), since each weight also "
    "needs its split's l_p",
    "merge_inverted": "likely: the merge weighs each split by exp(M - m_p), the inverse factor: it must be "
    "exp(m_p - M), at most 1, with M the largest m_p",
    "merge_lse_inverted": "likely: the merge weighs each split's normalised output by exp(M - lse_p), the inverse "
    "factor: it must be exp(lse_p - M), with M the largest lse_p",
    "merge_normalised_twice": "likely: each split stores its normalised output acc_p / l_p, and the merge divides by "
    "the normalisers again, sum(w_p * acc_p / l_p) / sum(w_p * l_p): store the unnormalised acc_p, or weigh the "
    "normalised outputs by w_p * l_p",
}


_PER_SPLIT = {*_SPLIT_BUGS.values(), *_MERGE_BUGS.values()}
_CUT = "likely: tokens from "
_SPLIT_RELATIVE = "likely: the page entry is looked up from the token's place inside its split, (t - split start) // page_size "
_FLOORED = "likely: the splits are counted with a floor, seq_len // "


# At most this many split sizes besides _WIDTHS are read off the grids: each costs a dozen replays.
_MAX_GRID_SPLITS = 4


def _split_sizes_of(inputs: dict[str, Any], launches: Sequence[Any]) -> list[int]:
    """Split sizes, multiples of 16 outside _WIDTHS (a learner's 48 or 96), that some launch's grid
    allows: n programs along one axis over T tokens (the longest sequence, or what the block table
    can hold) means pieces of P tokens with cdiv(T, P) = n. The smallest come first."""
    lens: list[int] = inputs["seq_lens"].tolist()
    totals = {max(lens), inputs["block_table"].shape[1] * inputs["k_cache"].shape[1]}
    counts = {n for launch in launches for n in launch.grid if n > 1}
    sizes = {
        size for n in counts for total in totals for size in range(16, total, 16)
        if -(-total // size) == n and size not in _WIDTHS
    }
    return sorted(sizes)[:_MAX_GRID_SPLITS]


def _pinned(note: str) -> bool:
    """Whether a replay that misses rules the line's bug out. Not a split's or the merge's slip, nor a
    page entry found inside a split, which are replayed with split sizes and tiles the kernel may not
    use; nor tokens never visited from some K on, where K follows from the case's lengths and pages (a
    page count rounded down cuts each sequence at its own place), so another case's K is another claim;
    nor splits counted with a floor, replayed at split sizes the kernel may not use."""
    return note not in _PER_SPLIT and not note.startswith((_CUT, _SPLIT_RELATIVE, _FLOORED))


def _split_decode64(inputs: dict[str, Any], per_split: int, tile: int, bug: str) -> "torch_types.Tensor":
    """Flash-decoding with one known bug: each sequence's tokens in splits of `per_split`, each split an
    online softmax over tiles of `tile` tokens, then the merge of the splits' (m, l, acc)."""
    q = inputs["q"].to(device="cpu", dtype=torch.float64)
    B, Hq, D = q.shape
    Hkv = inputs["k_cache"].shape[2]
    heads = [h // (Hq // Hkv) for h in range(Hq)]
    scale = scale_of(inputs)
    out = torch.full((B, Hq, D), math.nan, dtype=torch.float64)
    for b, n in enumerate(inputs["seq_lens"].tolist()):
        keys = _sequence(inputs, "k_cache", b, n)[:, heads]
        values = _sequence(inputs, "v_cache", b, n)[:, heads]
        scores = torch.einsum("hd,nhd->hn", q[b], keys) * scale  # (Hq, n)
        parts = []
        for start in range(0, n, per_split):
            m = torch.full((Hq,), -math.inf, dtype=torch.float64)
            l = torch.zeros(Hq, dtype=torch.float64)
            acc = torch.zeros(Hq, D, dtype=torch.float64)
            for first in range(start, min(start + per_split, n), tile):
                last = min(first + tile, start + per_split, n)
                block = scores[:, first:last]
                m_new = torch.maximum(m, block.amax(dim=1))
                alpha = torch.exp(m - m_new)
                p = torch.exp(block - m_new[:, None])
                l = (l if bug == "split_l" else l * alpha) + p.sum(dim=1)
                acc = (acc if bug == "split_acc" else acc * alpha[:, None]) + torch.einsum("hn,nhd->hd", p, values[first:last])
                m = m_new
            parts.append((m, l, acc))
        if bug == "merge_lse_inverted":  # splits kept as (normalised output, lse), weighed by exp(M - lse_p)
            lses = [m + torch.log(l) for m, l, _ in parts]
            top_lse = torch.stack(lses).amax(dim=0)
            inverse = [torch.exp(top_lse - lse) for lse in lses]
            out[b] = sum(w[:, None] * acc / l[:, None] for (_, l, acc), w in zip(parts, inverse)) / sum(inverse)[:, None]
            continue
        top = torch.stack([m for m, _, _ in parts]).amax(dim=0)
        # exp of a difference of log2-unit maxima; exp2 of natural-log ones
        units = {"merge_exp": _LOG2E, "merge_exp2": 1.0 / _LOG2E}.get(bug, 1.0)
        sign = -1.0 if bug == "merge_inverted" else 1.0
        weights = [torch.exp(sign * (m - top) * units) for m, _, _ in parts]
        if bug in ("merge_normalised_first", "merge_normalised_twice"):
            # Each split's normalised output acc_p / l_p, weighed; divided by the weights alone, or
            # (twice) by the normalisers again, as the merge of unnormalised splits would.
            weighted = sum(w[:, None] * acc / l[:, None] for (_, l, acc), w in zip(parts, weights))
            if bug == "merge_normalised_first":
                total = sum(weights)
            else:
                total = sum(l * w for (_, l, _), w in zip(parts, weights))
            out[b] = weighted / total[:, None]
            continue
        total_l = sum((l if bug in ("merge_l", "merge_both") else l * w) for (_, l, _), w in zip(parts, weights))
        total_acc = sum((acc if bug in ("merge_acc", "merge_both") else acc * w[:, None]) for (_, _, acc), w in zip(parts, weights))
        out[b] = total_acc / total_l[:, None]
    return out


def _kv_heads_read(failure: Failure) -> str | None:
    """For each query head whose output is wrong, the one kv head (if any) whose keys and values
    reproduce it; named when every wrong head has one and they break the contract's h // (Hq // Hkv)."""
    inputs, out, tolerance = failure.inputs, failure.out, failure.tolerance
    Hkv, Hq = inputs["k_cache"].shape[2], inputs["q"].shape[1]
    if Hkv == 1:
        return None
    group = Hq // Hkv
    replays = [_decode64(inputs, heads=[j] * Hq) for j in range(Hkv)]
    wrong_heads = failure.bad.any(dim=2).any(dim=0).nonzero().flatten().tolist()
    read: dict[int, int] = {}
    for h in wrong_heads:
        sources = [j for j, replay in enumerate(replays) if evidence.close_to(out[:, h], replay[:, h], 2 * tolerance.atol, 2 * tolerance.rtol)]
        if len(sources) != 1:
            return None
        read[h] = sources[0]
    if not read or all(j == h // group for h, j in read.items()):
        return None
    shown = ", ".join(f"{h}->{j}" for h, j in sorted(read.items())[:8])
    right = ", ".join(f"{h}->{h // group}" for h in sorted(read)[:8])
    return f"likely: query heads read the wrong kv head (query head -> kv head read: {shown}); they must read h // (Hq // Hkv): {right}"


def _nan_from_the_cache(failure: Failure) -> list[str]:
    """NaN where the answer is finite has several sources: the cache's unused slots (NaN here on
    purpose), a tile with no visible token (exp(-inf - (-inf))), scratch or output memory that no
    program wrote. Only a probe tells the first apart: the same call with those slots set to 0 must
    then come out finite. Which slots make the difference says more: those that tokens past seq_len
    address through the block table, or pages no sequence owns (a page, slot or head index reaches
    there). A missing mask is named only when the cleaned call shows what that mistake, and nothing
    else, would give: with v's slots past seq_len zeroed, the right answer; with k's too, the right
    rows diluted by extra tokens of score 0. Without a probe (on a GPU), nothing is claimed."""
    if evidence.unwritten_among(failure, failure.bad) or failure.probe is None or failure.case.params.get("large"):
        return []
    inputs, tolerance = failure.inputs, failure.tolerance
    places = {"past": _past_the_end_slots(inputs), "foreign": ~_owned_page_mask(inputs)[:, None].expand(inputs["k_cache"].shape[:2])}

    cleaned_inputs: dict[str, dict[str, Any]] = {}

    def with_zeros(names: tuple[str, ...], where: str) -> "torch_types.Tensor | None":
        """The call again with the NaN of `names` at `where` set to 0: its output when finite."""
        cleaned = cleaned_inputs.setdefault(where, dict(inputs))
        for name in names:
            cache = inputs[name]
            spots = torch.isnan(cache)
            if where != "all":
                spots = spots & places[where][:, :, None, None]
            cleaned[name] = cache.masked_fill(spots, 0.0)
        run = _clean_stand_in(failure, cleaned) or failure.probe.run(cleaned)  # type: ignore[union-attr]
        return run.out if run.out is not None and bool(torch.isfinite(run.out).all()) else None

    def right(out: "torch_types.Tensor | None") -> bool:
        return out is not None and bool(torch.isclose(out, failure.ref, atol=tolerance.atol, rtol=tolerance.rtol).all())

    past = "the cache slots of tokens t >= seq_len hold garbage (NaN here; with only those"
    # The slots past seq_len first: if zeroing them alone makes the output finite, zeroing all of the
    # garbage would too, and one rerun is saved.
    both = with_zeros(("k_cache", "v_cache"), "past")
    if both is None and with_zeros(("k_cache", "v_cache"), "all") is None:
        return []
    if both is not None:
        # One rerun tells the two apart: with the garbage past seq_len zeroed, an unmasked v load
        # alone leaves the right answer (p is 0 there); keys read and scored leave each row diluted
        # by tokens of score 0, whatever the v load does.
        if right(both):
            return [
                f"likely: the v load runs without a mask past seq_len: {past} slots set to 0 your output is right), "
                "and a probability of 0 does not cancel it, since NaN * 0 is NaN; load v with the token mask and other=0.0"
            ]
        if _diluted(both, failure.ref, tolerance):
            return [
                f"likely: loads past seq_len run without a mask: {past} slots set to 0 your output is finite, and "
                "each row is the right one diluted by extra tokens of score 0); mask the k (and v) loads with the "
                "token mask (other=0.0) and give those tokens the score -inf, since NaN * 0 is NaN"
            ]
        # The reads past seq_len are real, but a missing mask alone would leave the cleaned call right
        # or diluted: something in the addresses is off as well. With the garbage at 0 the output says
        # more, so the level's near misses are tried on it (read where they read, with the same zeros).
        named = _near_misses_named(failure.case, cleaned_inputs["past"], both, tolerance, failure.launches)
        if named:
            return [named + " (found with the cache's unused slots set to 0)"]
        # Otherwise say what was seen, not a cause.
        wrong = int((~torch.isclose(both, failure.ref, atol=tolerance.atol, rtol=tolerance.rtol)).sum())
        return [
            SEEN + "k or v is read at the wrong addresses: loads reach cache slots outside the sequence's tokens "
            f"(NaN here; with those set to 0 your output is finite, and still wrong in {wrong} of {both.numel()} "
            "elements, which no missing mask explains); check how the address of token t is built: its page, "
            "its slot in the page, the kv head, and the stride each one multiplies"
        ]
    if with_zeros(("k_cache", "v_cache"), "foreign") is not None:
        return [
            SEEN + "a page, slot or head index reaches pages that belong to no sequence (NaN here; with those pages "
            "set to 0 your output is finite): token t of sequence b is in page block_table[b, t // page_size], slot "
            "t % page_size"
        ]
    return [
        SEEN + "NaN from cache memory outside the sequence's tokens: this case fills the pages no sequence "
        "owns, and the slots past seq_len, with NaN (with those set to 0 your output is finite). A page, slot "
        "or head index reaches there, or a load past seq_len runs without a mask: give such keys -inf scores "
        "with tl.where, since NaN * 0 is NaN"
    ]


def _diluted(out: "torch_types.Tensor", ref: "torch_types.Tensor", tolerance: Tolerance) -> bool:
    """Each (sequence, head) row of out is the right row times one factor in (0, 1), and not all of
    them 1: what tokens of key 0 and value 0 give when they are scored, since they add to the
    softmax's normaliser and nothing to its sum of values."""
    rows_out, rows_ref = out.reshape(-1, out.shape[-1]), ref.reshape(-1, ref.shape[-1])
    factor = (rows_out * rows_ref).sum(-1) / (rows_ref * rows_ref).sum(-1).clamp_min(1e-30)
    if not bool(((factor > 0) & (factor <= 1 + 1e-3)).all()) or bool((factor > 1 - 1e-3).all()):
        return False
    return bool(torch.isclose(rows_out, factor[:, None] * rows_ref, atol=2 * tolerance.atol, rtol=2 * tolerance.rtol).all())


def _near_misses_on_a_larger_pool(stray: OutOfBounds, tolerance: Tolerance) -> list[str]:
    """A load past the end of the cache: the same call on a pool grown by NaN pages (so that no lane
    strays), and the near misses that reproduce what it returns. Nothing when it still strays."""
    if stray.probe is None:
        return []
    inputs = stray.inputs
    page_size = inputs["k_cache"].shape[1]
    # Enough pages that any token the block table spans (and a tile past it) lands inside the pool.
    extra = max(math.ceil(int(inputs["seq_lens"].max()) / page_size), inputs["block_table"].shape[1]) + 2
    grown = dict(inputs)
    for name in ("k_cache", "v_cache"):
        cache = inputs[name]
        grown[name] = torch.cat([cache, torch.full((extra, *cache.shape[1:]), math.nan, dtype=cache.dtype)])
    run = stray.probe.run(grown)
    if run.out is None or run.stray is not None:
        return []
    named = _near_misses_named(stray.case, grown, run.out, tolerance, run.launches)
    return [named] if named else []


def _near_misses_named(
    case: Case, inputs: dict[str, Any], out: "torch_types.Tensor", tolerance: Tolerance, launches: list[Any]
) -> str | None:
    """The `likely:` line of the level's near misses that reproduce `out`, a call on inputs other than
    the case's own (a grown pool, or the garbage set to 0); None when it is right or none does."""
    ref = _decode64(inputs)
    bad = ~torch.isclose(out, ref, rtol=tolerance.rtol, atol=tolerance.atol)
    if not bool(bad.any()):
        return None
    failure = Failure(case, inputs, out, ref, bad, tolerance, launches)
    notes = _simplest([note for replay, note in _near_misses(inputs, out) if matches(failure, replay())])
    return one_of(notes) if notes else None


def _past_the_end_slots(inputs: dict[str, Any]) -> "torch_types.Tensor":
    """(pool, page_size) bool: the slots that tokens seq_len <= t < max_pages * page_size of each
    sequence address through its block table row, and slot t of page 0 (what a masked table load
    with other=0 gives them): where a load past seq_len without a mask reads."""
    pool, page = inputs["k_cache"].shape[:2]
    table = inputs["block_table"].long()
    past = torch.zeros(pool, page, dtype=torch.bool)
    for b, n in enumerate(inputs["seq_lens"].tolist()):
        tokens = torch.arange(n, table.shape[1] * page)
        past[table[b, tokens // page], tokens % page] = True
        past[0, tokens % page] = True
    return past


def _owned_page_mask(inputs: dict[str, Any]) -> "torch_types.Tensor":
    """(pool,) bool: the pages some sequence's first ceil(seq_len / page_size) table entries name."""
    pool, page = inputs["k_cache"].shape[:2]
    owned = torch.zeros(pool, dtype=torch.bool)
    for b, n in enumerate(inputs["seq_lens"].tolist()):
        owned[inputs["block_table"][b, : math.ceil(n / page)].long()] = True
    return owned
