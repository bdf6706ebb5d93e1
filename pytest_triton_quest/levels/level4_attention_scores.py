"""Level 4: attention scores, q @ k^T * scale for every (batch, head) at once."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .._lazy import torch
from .attention_bench import attention_cases, scores_baseline
from . import evidence
from .slice_sources import slice_source_note
from .base import Baseline, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work, default_scale
from ..model import one_of

if TYPE_CHECKING:
    import torch as torch_types

    from ..model import StrayAccess


# Block sizes a learner is likely to use; a wrong region that starts at the last full block of one of
# them points at the grid or the masks of the partial last block.
_COMMON_BLOCKS = (16, 32, 64, 128)


class AttentionScores(Level):
    number = 4
    name = "Attention Scores"
    kata_file = "level4_attention_scores.py"
    function = "attention_scores"
    positional = ("q", "k")
    keywords = ("scale",)
    output_axes = {"out": ("batch", "head", "query", "key")}
    concept = (
        "Attention starts by asking how well every query matches every key: score[i, j] = q_i . k_j * scale, "
        "one small matrix product per (batch, head). A program computes one BLOCK_M x BLOCK_N tile of one "
        "head's S x S score matrix: it loads BLOCK_M query rows and BLOCK_N key rows (D values each), and "
        "tl.dot(q, tl.trans(k)) gives the whole tile at once. The third grid axis walks over batch and "
        "head, and masks on the sequence axis handle any S. Flash Attention computes exactly these tiles, "
        "it just never writes them to memory."
    )
    hints = (
        "The output is B*H independent S x S matrices. Cut each into BLOCK_M x BLOCK_N tiles and give every "
        "tile of every (batch, head) its own program: a 3-D grid (cdiv(S, BLOCK_M), cdiv(S, BLOCK_N), B*H).",
        "Treat q and k as (B*H, S, D): q.reshape(B * H, S, D) is free for contiguous tensors. Element "
        "[bh, s, d] lives at bh * stride(0) + s * stride(1) + d * stride(2); pass the strides to the kernel.",
        "In the kernel, rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M) are query indices, cols = pid_n * "
        "BLOCK_N + tl.arange(0, BLOCK_N) are key indices, and dims = tl.arange(0, D) walks the head dimension "
        "(D is a power of two, so one load covers it).",
        "Load a (BLOCK_M, D) tile of q with pointers rows[:, None] * stride_s + dims[None, :] and the mask "
        "rows[:, None] < S; load a (BLOCK_N, D) tile of k the same way with cols. Masked lanes use other=0.0.",
        "tl.dot(q_tile, tl.trans(k_tile)) is the (BLOCK_M, BLOCK_N) tile of q @ k^T, accumulated in float32. "
        "Multiply by scale, and in the wrapper use scale = 1 / sqrt(D) only when the caller passed None.",
        "Store to out (a float32 (B*H, S, S) tensor from torch.empty) at rows[:, None] * S + cols[None, :] "
        "with the mask (rows[:, None] < S) & (cols[None, :] < S), then return out.reshape(B, H, S, S). Keep "
        "BLOCK_M, BLOCK_N >= 16: tl.dot needs that on a GPU.",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        # (dtype, B, H, S, D, explicit scale or None, purpose)
        table: list[tuple[str, int, int, int, int, float | None, str]] = [
            ("fp32", 1, 1, 1, 16, None, "a single token: S = 1, the smallest ragged tail"),
            ("fp32", 2, 2, 77, 32, None, "ragged S (77 is not a multiple of any block) and B*H = 4 heads"),
            ("fp32", 1, 2, 64, 16, 0.3, "S a multiple of common blocks, with an explicit scale"),
            ("fp16", 1, 3, 100, 64, None, "half precision, D = 64, three heads"),
            ("fp16", 2, 1, 150, 32, 2.5, "a longer ragged S with an explicit scale larger than 1"),
        ]
        if mode.on_gpu:
            table += [
                ("fp32", 2, 4, 1000, 64, None, "a long ragged sequence in float32 (TF32 on the GPU)"),
                ("fp16", 2, 8, 2048, 128, None, "a long sequence with D = 128"),
                ("fp16", 3, 5, 1537, 64, 0.1, "a long ragged sequence, odd B and H, explicit scale"),
                ("bf16", 2, 4, 999, 64, None, "bfloat16, long ragged sequence"),
                ("bf16", 1, 2, 33, 128, 0.5, "bfloat16, short ragged sequence, D = 128, explicit scale"),
            ]
        cases = []
        for dtype, b, h, s, d, scale, purpose in table:
            params: dict[str, Any] = {"B": b, "H": h, "S": s, "D": d}
            case_id = f"{dtype}-{b}x{h}x{s}x{d}"
            if scale is not None:
                params["scale"] = scale
                case_id += f"-scale{scale:g}"
            cases.append(Case(id=case_id, dtype=dtype, purpose=purpose, params=params))
        return cases

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        p = case.params
        shape = (p["B"], p["H"], p["S"], p["D"])
        inputs: dict[str, Any] = {
            "q": torch.randn(shape, generator=generator).to(case.torch_dtype),
            "k": torch.randn(shape, generator=generator).to(case.torch_dtype),
        }
        if "scale" in p:  # a case without "scale" checks the default, 1 / sqrt(D)
            inputs["scale"] = p["scale"]
        return inputs

    @staticmethod
    def _scale(case: Case) -> float:
        return case.params.get("scale", default_scale(case.params["D"]))

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        q = inputs["q"].to(torch.float64)
        k = inputs["k"].to(torch.float64)
        return (q @ k.transpose(-1, -2)) * self._scale(case)

    def expected_dtype(self, case: Case) -> "torch_types.dtype":
        return torch.float32  # scores are always float32, whatever the input dtype

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # A score is a sum of D products of unit-variance numbers, times scale: its typical size is
        # scale * sqrt(D), and so is the size of the rounding errors' terms, so atol follows it.
        # - float32 inputs: on a GPU tl.dot rounds q and k to TF32 (10-bit mantissa), a relative error
        #   of about 2^-11 per input, so each product is off by ~1e-3 and the sum by ~1e-3 * typical,
        #   a few times that at the worst of a million elements: 1e-2 * typical leaves headroom.
        # - float16 / bfloat16 inputs: products of two half-precision numbers are exact in float32 and
        #   the sum is accumulated in float32 (relative error ~1e-7 * sqrt(D)); 1e-3 * typical is far
        #   above that and still fails any output stored in half precision or any real bug.
        # An all-zero or constant output misses by about `typical` and fails every case.
        p = case.params
        typical = self._scale(case) * math.sqrt(p["D"])
        factor = 1e-2 if case.dtype == "fp32" else 1e-3
        return Tolerance(atol=factor * typical, rtol=factor)

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        if failure.stores is not None:
            stored = evidence.tile_store_notes(failure.stores, failure.launches, tuple(failure.ref.shape))
            if stored:
                return stored
        q, k = (failure.inputs[name].to(torch.float64) for name in ("q", "k"))
        notes = _replay_notes(q, k, failure.out, failure.case, failure.tolerance, failure.ruled_out)
        if not notes and evidence.every_slice_is_the_first(
            failure.out, failure.ref[:1, :1], 5 * failure.tolerance.atol, 5 * failure.tolerance.rtol
        ):
            notes.append(_HEAD_OFFSET)
        if not notes:
            scale = self._scale(failure.case)
            moved = slice_source_note(failure, ("q", "k"), lambda s: (s["q"] @ s["k"].transpose(-1, -2)) * scale)
            notes = [moved] if moved else []
        return notes

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        access = stray.stray
        if stray.probe is None or access.argument is None:
            return []
        # One head, S a multiple of every block: no ragged edge, so a wrong answer is not a mask's doing.
        case = stray.case
        generator = torch.Generator().manual_seed(4)
        shape = (1, 1, 128, case.params["D"])
        q = torch.randn(shape, generator=generator).to(case.torch_dtype)
        k = torch.randn(shape, generator=generator).to(case.torch_dtype)
        inputs = {"q": q, "k": k, **({"scale": stray.inputs["scale"]} if "scale" in stray.inputs else {})}
        run = stray.probe.run(inputs)
        if run.out is None:
            return []
        tolerance = self.tolerance(case, Mode("cpu", True))
        q64, k64 = q.to(torch.float64), k.to(torch.float64)
        if not evidence.close_to(run.out, (q64 @ k64.transpose(-1, -2)) * self._scale(case), tolerance.atol, tolerance.rtol):
            return _replay_notes(q64, k64, run.out, case, tolerance)
        if access.wholly_past_the_end:
            return []  # a whole tile outside: its start is wrong, which no mask fixes (the generic notes say which index)
        name = access.argument.lower()
        if access.access == "store":
            return ["likely: the store mask lets lanes past S through: mask the store with (rows[:, None] < S) & (cols[None, :] < S)"]
        one_past = _one_row_past_the_end(access, case.params["D"])
        if name.startswith("k"):
            if one_past:
                return [
                    "likely: the k mask is off by one: it lets key S through, one past the last (the stray lanes are "
                    f"exactly the row after `{access.argument}` ends), as cols <= S would; mask the k load with cols < S "
                    "(other=0.0)"
                ]
            return ["likely: the k tile is loaded past the last key: mask the k load with its own key indices, cols < S (other=0.0)"]
        if name.startswith("q"):
            if one_past:
                return [
                    "likely: the q mask is off by one: it lets query S through, one past the last (the stray lanes "
                    f"are exactly the row after `{access.argument}` ends), as rows <= S would; mask the q load with rows "
                    "< S (other=0.0)"
                ]
            return ["likely: the q tile is loaded past the last query: mask the q load with its own query indices, rows < S (other=0.0)"]
        return []

    def benchmark_cases(self) -> list[Case]:
        return [case for case in attention_cases((1024, 4096)) if not case.params["causal"]]

    def baselines(self) -> dict[str, Baseline]:
        return {"torch": scores_baseline}

    def work(self, case: Case) -> Work:
        p = case.params
        scores = p["B"] * p["H"] * p["S"] * p["S"]
        # Read q and k once (in their dtype), write the float32 scores once.
        element = case.torch_dtype.itemsize
        return Work(flops=2.0 * scores * p["D"], bytes=4.0 * scores + 2.0 * element * p["B"] * p["H"] * p["S"] * p["D"])


_HEAD_OFFSET = (
    "likely: every (batch, head) slice holds the scores of slice [0, 0]: the pointers leave out the offset of "
    "the batch and head, bh * stride (q.stride(1) per head of a contiguous (B, H, S, D) tensor)"
)


def _one_row_past_the_end(access: "StrayAccess", D: int) -> bool:
    """The masked load's stray lanes are exactly the D elements of the row just past the tensor's end:
    its mask lets one index too many through (<= where < belongs)."""
    if not access.masked or access.numel is None or not access.stray_offsets:
        return False
    return set(access.stray_offsets) == set(range(access.numel, access.numel + D))


def _replay_notes(
    q: "torch_types.Tensor",
    k: "torch_types.Tensor",
    out: "torch_types.Tensor",
    case: Case,
    tolerance: Tolerance,
    ruled_out: set[str] | None = None,
) -> list[str]:
    """The known bugs whose float64 replay gives this output; those whose replay the output is far
    from go into `ruled_out` (for the level's summary: a near miss must hold on every failing case)."""
    S, D = q.shape[-2], q.shape[-1]
    scale = AttentionScores._scale(case)
    right = q @ k.transpose(-1, -2)
    finite = bool(torch.isfinite(out).all())

    def resembles(candidate: "torch_types.Tensor") -> bool:
        # Close to a wrong-but-plausible answer, with the same relative slack as the tolerance.
        if not finite:
            return False
        size = float(candidate.abs().mean()) + 1e-12
        return float((out - candidate).abs().max()) <= 10 * tolerance.rtol * size

    if resembles(right * scale):
        return []
    notes: list[str] = []
    far: set[str] = set()  # lines whose replay lies far from the output

    def check(candidate: "torch_types.Tensor", note: str, pinned: bool = True) -> bool:
        # pinned: the line itself pins its replay down (no chunk width the kernel may not use), so a
        # replay far from the output rules the line out.
        if resembles(candidate):
            notes.append(note)
            return True
        if pinned and evidence.rules_out(out, candidate, tolerance.atol, tolerance.rtol):
            far.add(note)
        return False

    if S > 1:
        check((right * scale).transpose(-1, -2), "likely: the scores are transposed (k @ q^T): row i must be query i, "
              "column j key j, so the tile is tl.dot(q_tile, tl.trans(k_tile))")
    if scale != 1.0:
        twice = "likely: the scale is applied twice (to q, or to the scores, and again): multiply by it once"
        # Without an explicit scale, 1 / D is (1 / sqrt(D))^2: the output cannot tell the two apart.
        one_over_d = "likely: the default scale is 1 / D: it is 1 / sqrt(D) (D ** -0.5) when scale is None"
        if not check(right, "likely: the scale is not applied: multiply q @ k^T by scale (1 / sqrt(D) when scale is None)"):
            if not check(right * scale * scale, twice if "scale" in case.params else one_of([twice, one_over_d])):
                check(right / scale, "likely: the scores are divided by the scale instead of multiplied by it: scale "
                      "is already 1 / sqrt(D)")
    if "scale" in case.params:
        check(right * default_scale(D), "likely: the explicit `scale` argument is ignored: use 1 / sqrt(D) only when scale is None")
    elif S != D:
        check(right * default_scale(S), "likely: the default scale is 1 / sqrt(S), the sequence length: it is 1 / sqrt(D), D the "
              "head dimension (q.shape[-1])")
    # A loop over the head dimension in chunks: one that stops early sums the first features only;
    # one that assigns instead of adding keeps the last chunk only.
    for chunk in (c for c in _D_CHUNKS if c < D and D % c == 0):
        for end in range(chunk, D, chunk):
            check((q[..., :end] @ k[..., :end].transpose(-1, -2)) * scale,
                  f"likely: only the first {end} of the {D} features enter the dot product: the loop over the head "
                  f"dimension stops early; it must run over d = 0 .. D - 1 (range(0, D, BLOCK_D))")
        check((q[..., D - chunk :] @ k[..., D - chunk :].transpose(-1, -2)) * scale,
              f"likely: only the last {chunk} features (d = {D - chunk}..{D - 1}) count: each chunk of the head "
              "dimension overwrites the sum (acc = tl.dot(...)); accumulate, acc += tl.dot(...)")
        check(sum(q[..., i : i + chunk] @ k[..., i : i + chunk].transpose(-1, -2) for i in range(D // chunk)) * scale,
              f"likely: the chunks of the head dimension start at 0, 1, 2, ...: the loop runs over chunk numbers "
              f"(range(D // {chunk})) and uses the number as the offset, so chunks overlap; offset chunk i by "
              f"i * BLOCK_D, or loop over range(0, D, BLOCK_D)")
        if scale != 1.0:  # chunk < D: always two chunks or more
            # The scale applied to the running sum inside the loop, after or before each chunk is added.
            pieces = [q[..., d : d + chunk] @ k[..., d : d + chunk].transpose(-1, -2) for d in range(0, D, chunk)]
            after = before = torch.zeros_like(pieces[0])
            for piece in pieces:
                after, before = (after + piece) * scale, before * scale + piece
            inside = ("likely: the scale multiplies the running sum inside the loop over the head dimension, so the "
                      "earlier chunks are scaled again at every step; multiply by the scale once, after the loop")
            if not check(after, inside, pinned=False) and not check(before * scale, inside, pinned=False):
                check(before, inside, pinned=False)
    if q.shape[0] * q.shape[1] > 1:
        for names, q_read, k_read in (
            ("q and k", _head_at_row_stride(q), _head_at_row_stride(k)),
            ("q", _head_at_row_stride(q), k),
            ("k", q, _head_at_row_stride(k)),
        ):
            check((q_read @ k_read.transpose(-1, -2)) * scale,
                  f"likely: the (batch, head) offset of {names} multiplies the row stride: slice bh reads rows "
                  f"bh .. bh + S - 1 counted from the start of the tensor, inside the first head; the offset is "
                  f"bh times the head stride (q.stride(1)), or b * q.stride(0) + h * q.stride(1)")
    if S > 1:
        # Replayed with a k tile of D keys: a kernel whose tiles are another width gives other scores.
        check(_k_untransposed(q, k) * scale,
              "likely: k is not transposed: tl.dot(q_tile, k_tile) pairs q's features with the key index; the scores "
              "are tl.dot(q_tile, tl.trans(k_tile))", pinned=False)
    if S >= D:
        for name, swapped in (("q", _strides_swapped(q) @ k.transpose(-1, -2)), ("k", q @ _strides_swapped(k).transpose(-1, -2))):
            check(swapped * scale,
                  f"likely: {name} is read with its sequence and head-dim strides swapped: element [s, d] is at "
                  f"s * {name}.stride(2) + d * {name}.stride(3); pass the strides in the kernel's order")
    notes = list(dict.fromkeys(notes))
    if ruled_out is not None:
        ruled_out.update(far - set(notes))
    return notes


# Chunk widths of a loop over the head dimension (tl.dot needs at least 16 on a GPU).
_D_CHUNKS = (16, 32, 64)


def _k_untransposed(q: "torch_types.Tensor", k: "torch_types.Tensor") -> "torch_types.Tensor":
    """tl.dot(q_tile, k_tile) with a k tile of D keys (the only width that multiplies): column n0 + j
    of the scores is sum_d q[i, d] * k[n0 + d, j], keys past S loaded as 0."""
    S, D = q.shape[-2], q.shape[-1]
    padded = torch.zeros(*k.shape[:-2], -(-S // D) * D, D, dtype=k.dtype)
    padded[..., :S, :] = k
    tiles = [q @ padded[..., n0 : n0 + D, :] for n0 in range(0, S, D)]
    return torch.cat(tiles, dim=-1)[..., :S]


def _head_at_row_stride(x: "torch_types.Tensor") -> "torch_types.Tensor":
    """What slice bh = b * H + h reads from a contiguous (B, H, S, D) x whose head offset is bh times
    the row stride: rows bh .. bh + S - 1 of x seen as (B * H * S, D) rows (inside x for every bh)."""
    B, H, S, D = x.shape
    rows = x.reshape(B * H * S, D)
    return torch.stack([rows[bh : bh + S] for bh in range(B * H)]).reshape(B, H, S, D)


def _strides_swapped(x: "torch_types.Tensor") -> "torch_types.Tensor":
    """What a kernel reads from each (S, D) slice of a contiguous x when the two strides are swapped:
    element [s, d] from offset s + d * D (inside the slice while S >= D)."""
    B, H, S, D = x.shape
    flat = x.reshape(B, H, S * D)
    index = torch.arange(S)[:, None] + torch.arange(D)[None, :] * D
    return flat[..., index.reshape(-1)].reshape(B, H, S, D)
