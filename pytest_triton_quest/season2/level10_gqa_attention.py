"""Level 10: grouped-query attention, Hq query heads sharing Hkv key/value heads, read in place.

Level 8's kernel with one change, where a program finds its keys and values; the cases add the
head counts (Hkv = 1, 2, Hq), and the run-time checks fail a copy of k or v repeated to Hq heads.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._lazy import torch
from ..levels.attention_inputs import GROWTH_Q, LARGE_OFFSET
from ..levels.attention_reference import attention64, scale_of, visible
from ..levels.base import Baseline, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work
from ..levels.fused_attention_rules import NO_MAX_NOTE, diagnose_attention, magnitude_replays
from ..levels.level7_fused_attention import FusedAttention
from ..levels import evidence
from ..model import one_of
from ..levels.slice_sources import slice_source_note
from .replay import tried, wrong_along

if TYPE_CHECKING:
    import torch as torch_types

_LOG2E = 1.4426950408889634
# exp2 overflows float32 past 2^128: a row whose scaled scores span more than this (in log2 units)
# overflows when its max is taken on the wrong side.
_EXP2_LIMIT = 126.0


class GroupedQueryAttention(Level):
    number = 10
    name = "Grouped-Query Attention"
    kata_file = "level10_gqa_attention.py"
    function = "gqa_attention"
    # Legend is what the hidden solution reaches, per head dimension (issue 24): the geometric mean per D of
    # the solution against SDPA with enable_gqa, H200, 2026-12-01.
    legend_by_head_dim = {64: 0.89, 128: 0.80}
    positional = ("q", "k", "v")
    keywords = ("causal", "scale")
    picture_keys = "k"  # --quest-picture: which key tiles each query program read
    max_launches = 1
    concept = (
        'Grouped-query attention keeps Hq query heads but only Hkv key/value heads, so the KV cache that '
        'inference must read shrinks by Hq / Hkv. Each key/value head serves a group of Hq // Hkv consecutive '
        'query heads: query head h reads key/value head h // (Hq // Hkv); Hkv = 1 is multi-query attention. '
        'Repeating k and v to Hq heads would write and re-read the very memory GQA saves, so the kernel reads '
        'them in place: a program serving query head h computes where its key/value head lives in k and v, '
        'whose batch stride counts Hkv heads, not Hq. Programs of one group read the same key tiles, which '
        'the L2 cache shares between them. The rest is level 8: online softmax in base 2, causal tiles split '
        'into visible, diagonal and skipped, one launch.'
    )
    hints = (
        'Start from your level 8 kernel: one program per (query tile, batch * query head), the same stages '
        'and online softmax. Only one thing changes: where the program finds its keys and values. Do not '
        'repeat or expand k and v in the wrapper; that copy is what GQA exists to avoid.',
        'With Hq = 8 and Hkv = 2, query heads 0-3 share kv head 0 and 4-7 share kv head 1. Write the map from '
        'h to the kv head for that example, then for Hkv = 1 and for Hkv = Hq. Which one of h // group and h '
        '% Hkv gives consecutive heads the same kv head?',
        'The program id over heads is bhq = b * Hq + h: b = bhq // Hq, h = bhq % Hq. q and out are (B, Hq, S, '
        'D), so their head offset is bhq * S * D. k and v are (B, Hkv, S, D): batch b starts at b * Hkv * S * '
        'D, not b * Hq * S * D.',
        'group = Hq // Hkv is a natural constexpr (pass it from the wrapper); kv_row = b * Hkv + h // group '
        'is the row of k and v seen as (B * Hkv, S, D), and its offset is kv_row * S * D (int64 for large '
        'tensors). Pass k.stride(1) for k and v, q.stride(1) for q and out.',
        'The fast path scales the row max instead of every score: m_new = max(m, max(qk) * qk_scale). That '
        'only holds for qk_scale > 0. With a negative scale the largest scaled score comes from the smallest '
        'qk: use tl.min(qk, 1) * qk_scale there (a constexpr flag from the wrapper), or apply the scale to '
        'the scores before taking the max.',
        'Kernel: b, h and kv_row from tl.program_id(1); q loaded at bhq, k and v at kv_row; stage 1 keys [0, '
        'lo_end) unmasked, stage 2 [lo_end, hi_end) masked (causal: lo_end = start_m * BLOCK_M, hi_end = '
        'min(lo_end + BLOCK_M, S); not causal: lo_end = (S // BLOCK_N) * BLOCK_N, hi_end = S); store acc / l. '
        'Wrapper: grid (cdiv(S, BLOCK_M), B * Hq), GROUP = Hq // Hkv, one launch. Past gold, the last gap is '
        'overlap: producer warps copy the next k and v tiles while two consumer groups take turns, one\'s '
        'softmax hiding behind the other\'s matmul (triton-quest tutor 10, \'Past gold\').',
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        rows = [
            _row("fp32", 1, 1, 1, 1, 16, True, "a single token and a single head: S = 1, Hq = Hkv = 1"),
            _row("fp32", 1, 2, 1, 17, 32, True, "multi-query (Hkv = 1), causal, S = 17"),
            _row("fp16", 1, 8, 1, 33, 16, False, "multi-query with eight query heads, half precision"),
            _row("fp32", 2, 8, 2, 77, 32, True, "groups of four, two sequences: the kv batch stride counts Hkv heads", scale=0.3),
            _row("fp32", 1, 4, 4, 130, 16, False, "Hkv = Hq (plain multi-head), a negative scale", scale=-0.25),
            _row("fp32", 1, 4, 2, 64, 16, True, "large logits (about 1000): exp overflows unless the running max is subtracted", special="large"),
            _row("fp16", 1, 2, 1, 70, 64, False, "large logits, half precision, D = 64", special="large"),
            _row("fp32", 1, 4, 2, 48, 16, True, "very negative scores (about -1000): the running max must start at -inf, not 0, or exp(s - 0) = 0 gives 0 / 0", special="negative"),
            _row("fp16", 1, 8, 2, 40, 128, True, "causal, D = 128, groups of four"),
            _row("fp32", 1, 2, 1, 160, 16, True, "scores grow along the keys: every key block raises the running max", special="growing"),
            _row("fp16", 2, 6, 3, 64, 16, False, "a negative scale on scores spread over hundreds: the row max must be the max of the SCALED scores", scale=-0.5, special="wide"),
        ]
        if mode.on_gpu:
            rows += [
                _row("fp16", 2, 8, 2, 1000, 64, True, "a long ragged causal sequence"),
                _row("bf16", 1, 8, 1, 777, 128, False, "bfloat16, multi-query, D = 128, explicit scale", scale=0.1),
                _row("bf16", 1, 4, 4, 513, 64, True, "bfloat16, Hkv = Hq, a negative scale", scale=-0.125),
                _row("fp32", 1, 4, 2, 300, 128, True, "float32 (TF32 in tl.dot on the GPU), D = 128"),
                _row("fp16", 1, 8, 1, 1, 64, True, "a single token, compiled"),
                _row("fp16", 1, 8, 2, 1024, 64, True, "large logits on a long causal sequence", special="large"),
            ]
        return rows

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        p = case.params
        S, D = p["S"], p["D"]
        q = torch.randn((p["B"], p["Hq"], S, D), generator=generator)
        k = torch.randn((p["B"], p["Hkv"], S, D), generator=generator)
        v = torch.randn((p["B"], p["Hkv"], S, D), generator=generator)
        if p.get("large"):  # the patterns of levels 7 and 8 (attention_inputs.py)
            q[..., 0] = LARGE_OFFSET
            k[..., 0] = LARGE_OFFSET
        if p.get("negative"):  # the mirror image of "large": exp(s - 0) underflows to 0 in float32
            q[..., 0] = -LARGE_OFFSET
            k[..., 0] = LARGE_OFFSET
        if p.get("wide"):  # times 8, a power of two: scores spread over hundreds, no extra rounding
            # (float16 only: in float32 a GPU's TF32 would round these big scores by ~0.1)
            q, k = q * 8.0, k * 8.0
        if p.get("growing"):
            q[..., 0] = GROWTH_Q
            k[..., 0] = torch.arange(S, dtype=torch.float32) * (2.0**-3 if S <= 256 else 2.0**-6)
        dtype = case.torch_dtype
        inputs: dict[str, Any] = {"q": q.to(dtype), "k": k.to(dtype), "v": v.to(dtype), "causal": p["causal"]}
        if "scale" in p:
            inputs["scale"] = p["scale"]
        return inputs

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return _gqa64(inputs, _kv_heads(inputs, "grouped"))

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # The arithmetic of levels 7 and 8, head for head: their tolerances and their reasons hold.
        return FusedAttention().tolerance(case, mode)

    def sxs_elements(self, inputs: dict[str, Any]) -> int | None:
        B, H, S, D = inputs["q"].shape
        return B * H * S * S if S > D else None

    def forbidden_copy(self, inputs: dict[str, Any], tensor: "torch_types.Tensor") -> str | None:
        k = inputs["k"]
        group = inputs["q"].shape[1] // k.shape[1]
        # Only a tensor that holds more than one copy of k's rows can be k repeated for the groups. At
        # S = 1 the right answer itself is v repeated (one key: all weight on it), so nothing is judged.
        if group == 1 or k.shape[2] == 1 or tensor.numel() < 2 * k.numel():
            return None
        for name in ("k", "v"):
            if holds_rows_of(tensor, inputs[name]):
                return (
                    f"a copy of `{name}` repeated for the query heads ({tensor.numel()} elements): GQA exists to "
                    f"avoid that copy; read {name} in place at kv head h // (Hq // Hkv)"
                )
        return None

    # ----- benchmarks ---------------------------------------------------------------------------
    def benchmark_cases(self) -> list[Case]:
        # Llama-like groups (32 query heads over 8 kv heads), multi-query, 16k tokens per batch.
        cases = []
        for B, Hq, Hkv, S, D in ((4, 32, 8, 4096, 128), (16, 32, 8, 1024, 128), (1, 32, 8, 16384, 128), (4, 32, 1, 4096, 64), (16, 32, 4, 1024, 64)):
            for causal in (True, False):
                params = {"B": B, "Hq": Hq, "Hkv": Hkv, "S": S, "D": D, "causal": causal}
                case_id = f"fp16-{B}x{Hq}/{Hkv}x{S}x{D}-{'causal' if causal else 'full'}"
                cases.append(Case(id=case_id, dtype="fp16", purpose="benchmark", params=params))
        return cases

    def baselines(self) -> dict[str, Baseline]:
        return {"sdpa": _sdpa_gqa}

    def work(self, case: Case) -> Work:
        p = case.params
        flops = 4.0 * p["B"] * p["Hq"] * p["S"] * p["S"] * p["D"] * (0.5 if p["causal"] else 1.0)
        element = 2 if case.dtype in ("fp16", "bf16") else 4
        # q and out have Hq heads, k and v only Hkv: that saving is the point of GQA.
        return Work(flops=flops, bytes=2.0 * p["B"] * (p["Hq"] + p["Hkv"]) * p["S"] * p["D"] * element)

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        return diagnose_gqa(failure)

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        note = _kv_batch_step(stray)
        return [note] if note else []


def _kv_batch_step(stray: OutOfBounds) -> str | None:
    """A tile of k or v wholly past the end, started by the program of (batch b, query head h) at the
    (batch, head) row b * Hq + h // group (or b * Hq + h): the batch was stepped in query heads, and k
    and v have only Hkv heads per batch. Read off the program id and the tile's start; None when the
    record fits neither (or the grid does not say which program is which batch and head)."""
    access, inputs = stray.stray, stray.inputs
    k, q = inputs.get("k"), inputs.get("q")
    if not access.wholly_past_the_end or access.argument is None or k is None or q is None:
        return None
    if access.numel != k.numel():
        return None
    B, Hkv, S, D = k.shape
    Hq = q.shape[1]
    grid = evidence.grid_of(stray)
    if grid is None or Hq == Hkv:
        return None
    axes = [axis for axis in range(3) if grid[axis] == B * Hq]
    if len(axes) != 1:
        return None
    pid = access.program_id[axes[0]]
    b, h = divmod(pid, Hq)
    row = min(access.offsets) // (S * D)  # the flat (batch, head) row, past the end as it may be
    if row not in (b * Hq + h // (Hq // Hkv), b * Hq + h) or b == 0:
        return None
    # Program (b, 0) lands on row b * Hq whether the batch is stepped in query heads or the batch
    # index is taken as bhq // Hkv: the record cannot tell the two apart, so both are named.
    return (
        f"likely: k and v rows overshoot by batch: the program of batch {b}, query head {h} starts its "
        f"{access.access} of `{access.argument}` at (batch, head) row {row} = {b} * Hq + {row - b * Hq}, but k and v "
        f"hold Hkv = {Hkv} heads per batch, so batch {b} starts at row {b} * Hkv. Either the batch is stepped in "
        "query heads (b * Hq, or q's batch stride), or the batch index is taken as bhq // Hkv: it is b = bhq // Hq, "
        "and the kv row is b * Hkv + h // (Hq // Hkv)"
    )


def _row(
    dtype: str, B: int, Hq: int, Hkv: int, S: int, D: int, causal: bool, purpose: str,
    scale: float | None = None, special: str = "",
) -> Case:
    params: dict[str, Any] = {"B": B, "Hq": Hq, "Hkv": Hkv, "S": S, "D": D, "causal": causal}
    case_id = f"{dtype}-{B}x{Hq}/{Hkv}x{S}x{D}-{'causal' if causal else 'full'}"
    if scale is not None:
        params["scale"] = scale
        case_id += f"-scale{scale:g}"
    if special:
        params[special] = True
        case_id += f"-{special}"
    return Case(id=case_id, dtype=dtype, purpose=purpose, params=params)


def _kv_heads(inputs: dict[str, Any], mapping: str) -> list[int]:
    """For each query head, the kv head it reads: the contract's grouping, or a known wrong one."""
    Hq, Hkv = inputs["q"].shape[1], inputs["k"].shape[1]
    group = Hq // Hkv
    return [h // group if mapping == "grouped" else h % Hkv for h in range(Hq)]


def _gqa64(
    inputs: dict[str, Any], heads: list[int], batches: list[int] | None = None, q_rows: list[int] | None = None
) -> "torch_types.Tensor":
    """The answer with known wrong reads: kv head heads[h] for query head h, kv batch batches[b], and
    (q_rows) query head h of batch b read from slice q_rows[b * Hq + h] of q seen as (B * Hq, S, D)."""
    q, k, v = (inputs[name].to(device="cpu", dtype=torch.float64) for name in ("q", "k", "v"))
    if q_rows is not None:
        q = q.reshape(-1, *q.shape[2:])[q_rows].reshape(q.shape)
    if batches is not None:
        k, v = k[batches], v[batches]
    k, v = k[:, heads], v[:, heads]
    mask = visible(q.shape[-2], "causal" if inputs["causal"] else "all")
    return attention64(q, k, v, mask, scale_of(inputs))


def holds_rows_of(tensor: "torch_types.Tensor", source: "torch_types.Tensor", samples: int = 32) -> bool:
    """Whether `tensor` contains, as rows of its last dimension, every one of `samples` rows spread
    over `source`: a copy of source's values in any layout (repeated, transposed, gathered)."""
    D = source.shape[-1]
    if tensor.numel() == 0 or tensor.numel() % D:
        return False
    rows = tensor.detach().to(device="cpu", dtype=torch.float64).reshape(-1, D)
    present = {row.numpy().tobytes() for row in rows}
    wanted = source.detach().to(device="cpu", dtype=torch.float64).reshape(-1, D)
    picks = torch.linspace(0, wanted.shape[0] - 1, min(samples, wanted.shape[0])).long()
    return all(wanted[index].numpy().tobytes() in present for index in picks.tolist())


def _sdpa_gqa(inputs: dict[str, Any]) -> Any:
    return torch.nn.functional.scaled_dot_product_attention(
        inputs["q"], inputs["k"], inputs["v"], is_causal=inputs["causal"], scale=inputs.get("scale"), enable_gqa=True
    )


def diagnose_gqa(failure: Failure) -> list[str]:
    inputs = failure.inputs
    B, Hq = inputs["q"].shape[:2]
    Hkv = inputs["k"].shape[1]
    group = Hq // Hkv
    modulo: list[str] = []
    interleaved = (
        "likely: query head h reads kv head h % Hkv; it must read h // (Hq // Hkv), so that each group of "
        "consecutive query heads shares one kv head"
    )
    if Hkv not in (1, Hq) and tried(failure, _gqa64(inputs, _kv_heads(inputs, "interleaved")), interleaved):
        modulo.append(interleaved)
    by_group = (
        "likely: query head h reads kv head h % (Hq // Hkv), the group size; it must read h // (Hq // Hkv), so "
        "that each group of consecutive query heads shares one kv head"
    )
    if 1 < group <= Hkv and tried(failure, _gqa64(inputs, [h % group for h in range(Hq)]), by_group):
        modulo.append(by_group)
    if modulo:
        return [one_of(modulo)]
    batch_zero = "likely: every batch reads batch 0's keys and values: the kv row needs the batch, b * Hkv + h // (Hq // Hkv)"
    if B > 1 and tried(failure, _gqa64(inputs, _kv_heads(inputs, "grouped"), batches=[0] * B), batch_zero):
        return [batch_zero]
    head_zero = "likely: every query head reads kv head 0: check the group size, Hq // Hkv (not Hkv // Hq), and h // group"
    if Hkv < Hq and tried(failure, _gqa64(inputs, [0] * Hq), head_zero):
        return [head_zero]
    # q read at its kv head's offset: slice b * Hkv + h // group of the (B * Hq) query slices (the kv
    # pointer's offset put on q), or head h // group of its own batch.
    grouped = _kv_heads(inputs, "grouped")
    q_at_kv = [
        (
            [b * Hkv + grouped[h] for b in range(B) for h in range(Hq)],
            "likely: q is read at the kv head's offset, slice b * Hkv + h // (Hq // Hkv): query head h must read its "
            "own rows, at b * q.stride(0) + h * q.stride(1)",
        ),
        (
            [b * Hq + grouped[h] for b in range(B) for h in range(Hq)],
            "likely: q is read at head h // (Hq // Hkv), the kv head's index: only k and v are shared by the group; "
            "query head h reads its own q, at h * q.stride(1)",
        ),
    ]
    named = [note for rows, note in q_at_kv if Hkv < Hq and tried(failure, _gqa64(inputs, grouped, q_rows=rows), note)]
    if named:
        return [one_of(named)]
    # Which kv head (and batch) each wrong query head was computed from, searched over all of them.
    seen = visible(inputs["q"].shape[-2], "causal" if inputs["causal"] else "all")
    scale = scale_of(inputs)
    moved = slice_source_note(
        failure,
        ("q", "k", "v"),
        lambda s: attention64(s["q"], s["k"], s["v"], seen, scale),
        own=lambda name, b, h: (b, h) if name == "q" else (b, h // group),
        head_rules={
            "h // Hkv": lambda h: h // Hkv,
            "h % Hkv": lambda h: h % Hkv,
            "h // (Hkv // Hq)": lambda h: h // max(1, Hkv // Hq),
            "h // (Hq // Hkv)": lambda h: h // group,
            "h % (Hq // Hkv)": lambda h: h % group,
        },
        right_rule=lambda moved: "h, its own" if "`q`" in moved else "h // (Hq // Hkv)",
    )
    if moved:
        return [moved]
    batches = wrong_along(failure, 0)
    written = not evidence.unwritten_among(failure, failure.bad)  # else results may sit elsewhere
    if B > 1 and written and 0 not in batches and batches == list(range(1, B)):
        return [
            "likely: batch 0 is right and every later batch is wrong: the batch offset into k and v, which hold "
            "Hkv heads per batch (b * Hkv, not b * Hq)"
        ]
    negative = _negative_scale_overflow(failure)
    if negative:
        return negative
    # The rest is level 8's arithmetic: its replays apply with k and v repeated to the query heads.
    heads = _kv_heads(inputs, "grouped")
    repeated = dict(inputs, k=inputs["k"][:, heads], v=inputs["v"][:, heads])
    # No probe: it would call your function with level 8's inputs, which a GQA kernel does not take.
    # The rest is shared (the ruled-out sets too, so the level's summary hears what replays rule out).
    failure_as_mha = replace(failure, inputs=repeated, probe=None)
    underflow = _underflow_notes(failure_as_mha, failure.probe)
    if underflow or not bool(torch.isfinite(failure.out).any()):
        return underflow  # nothing but NaN and inf: many bugs end there, and the replays cannot tell them apart
    return diagnose_attention(failure_as_mha)


def _underflow_notes(failure: Failure, probe: Any) -> list[str]:
    """NaN made by arithmetic (not memory nothing wrote) where the answer is finite, at exactly the
    places where a replay of a running max that starts at 0, or of exp without a max, gives 0 / 0 or
    inf / inf. Both bugs are right on ordinary scores, so the same call once more on this case's
    shapes with ordinary scores must be right; and they part on large scores, where only exp without
    a max overflows. Each is ruled out where its replay is finite and far from the output."""
    if evidence.unwritten_among(failure, failure.bad):
        return []
    out = failure.out
    fitting = []
    for replay, note in magnitude_replays(failure):
        nan = torch.isnan(replay)
        finite = torch.isfinite(replay) & torch.isfinite(out)
        agree = (out - replay).abs() <= failure.tolerance.atol + failure.tolerance.rtol * replay.abs()
        if bool((nan & torch.isfinite(failure.ref)).any()) and torch.equal(nan, torch.isnan(out)) and bool(agree[finite].all()):
            fitting.append(note)
        else:
            tried(failure, replay, note)
    if not fitting or not _right_on(failure, probe, ""):
        return []  # right only on ordinary scores is what these bugs are; an all-NaN output alone says little
    # Exp without a max fails on large positive scores, a max that starts at 0 does not; both give
    # 0 / 0 on very negative ones (and a max taken on the wrong side NaN on wide ones, like no max).
    right_on_large = _right_on(failure, probe, "large")
    fitting = [note for note in fitting if (note == NO_MAX_NOTE) != right_on_large]
    for note in fitting:
        failure.reproduced.add(note)
    return fitting


def _right_on(failure: Failure, probe: Any, special: str) -> bool:
    """Whether the learner's function is right on this case's shapes with another input pattern
    ("" for ordinary scores and the default scale, "large" for scores near +1000); False when it
    cannot be run (compiled, or the call failed)."""
    if probe is None:
        return False
    params = {key: value for key, value in failure.case.params.items() if key not in ("negative", "large", "wide", "growing", "scale")}
    if special:
        params[special] = True
    inputs = GroupedQueryAttention().make_inputs(replace(failure.case, params=params), torch.Generator().manual_seed(0))
    run = probe.run(inputs)
    if run.out is None or run.failed:
        return False
    right = _gqa64(inputs, _kv_heads(inputs, "grouped"))
    return evidence.close_to(run.out, right, failure.tolerance.atol, failure.tolerance.rtol)


def _negative_scale_overflow(failure: Failure) -> list[str]:
    """NaN or inf with a negative scale, only in rows whose scaled scores span more than exp2 can
    take, while the same function is right on ordinary scores with the default scale: a row max taken
    as max(q . k) * scale, which is the SMALLEST score when scale < 0 (and the right one when > 0)."""
    inputs = failure.inputs
    scale = scale_of(inputs)
    broken = ~torch.isfinite(failure.out) & torch.isfinite(failure.ref)
    if scale >= 0 or not bool(broken.any()) or evidence.unwritten_among(failure, broken):
        return []  # no negative scale, no overflow, or NaN that memory holds: the premise fails
    heads = _kv_heads(inputs, "grouped")
    q, k = inputs["q"].to(torch.float64), inputs["k"].to(torch.float64)[:, heads]
    scores = (q @ k.transpose(-1, -2)) * scale * _LOG2E
    shown = visible(q.shape[-2], "causal" if inputs["causal"] else "all")
    span = scores.masked_fill(~shown, -math.inf).amax(-1) - scores.masked_fill(~shown, math.inf).amin(-1)
    rows = broken.any(dim=-1)
    over = span > _EXP2_LIMIT
    # The wrong-side max breaks only rows whose span exp2 cannot take, and every other row is right;
    # with a positive scale it is the right max, so the same call on ordinary scores with the default
    # scale must be right (an all-NaN output, as an inverted rescale gives, fits the first test alone).
    if bool((rows & ~over).any()) or bool(failure.bad[~over].any()) or not _right_on(failure, failure.probe, ""):
        return []
    return [
        "likely: with a negative scale, the row max is taken on the wrong side: max(q . k) * scale is the "
        "SMALLEST scaled score when scale < 0, and exp overflows; take the max of the scaled scores"
    ]

