"""Level 3: row-wise softmax, stable for any logits and any row width."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from . import evidence
from .base import Baseline, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work

if TYPE_CHECKING:
    import torch as torch_types


# Block widths a learner is likely to use, for the rules that guess how a row was cut into blocks.
_COMMON_BLOCKS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
# The most blocks of one row an online-softmax replay walks (it loops in Python, block by block).
_MAX_REPLAY_BLOCKS = 256
# Diagnosis rules recompute wrong-but-plausible answers on at most this many rows, to stay cheap on big cases.
_PROBE_ROWS = 64


class Softmax(Level):
    number = 3
    name = "Softmax"
    kata_file = "level3_softmax.py"
    function = "softmax"
    positional = ("x",)
    concept = (
        "softmax(x)_j = exp(x_j) / sum_k exp(x_k) turns a row of scores into weights that sum to 1. Two things "
        "make it a real kernel: exp overflows float32 above ~88, so you subtract the row maximum first "
        "(softmax(x) = softmax(x - c) for any c), and rows can be wider than one block, so you walk them in "
        "blocks, keeping a running maximum and a running sum that you rescale by exp(old_max - new_max) "
        "whenever the maximum grows. That running rescale, the online softmax, is the core of Flash Attention."
    )
    hints = (
        "Give each row its own program: grid = (M,). A program loads its row, or the row's blocks one after "
        "the other, finds the maximum and the sum of exponentials, and writes the normalised weights.",
        "Subtract the row maximum before tl.exp: exp(x - max) is at most 1, so nothing overflows, and the "
        "result is unchanged because the common factor exp(-max) cancels between numerator and sum.",
        "The lanes of a block past the end of the row must not count: load them with "
        "other=float('-inf'), so they never win the max and add exp(-inf) = 0 to the sum. A 0 would win the "
        "max of a row of negative numbers. Do the arithmetic in float32: x = tl.load(...).to(tl.float32).",
        "For rows that fit one block: BLOCK = triton.next_power_of_2(N) (tl.arange needs a power of two), "
        "cols = tl.arange(0, BLOCK), mask = cols < N, x = load, e = tl.exp(x - tl.max(x, axis=0)), store "
        "e / tl.sum(e, axis=0). Wider rows need a loop, or registers run out.",
        "For wide rows, a first loop over blocks keeps a running max m and sum l: m_new = tl.maximum(m, "
        "tl.max(x, axis=0)); l = l * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new), axis=0); m = m_new. Start "
        "from m = float('-inf'), l = 0.0. A second loop stores tl.exp(x - m) / l block by block.",
        "Wrapper: out = torch.empty_like(x); M, N = x.shape; launch one program per row with the row "
        "strides x.stride(0), out.stride(0); use the single-block kernel when next_power_of_2(N) is at most "
        "a cap (e.g. 1024 to 8192) and the looping kernel otherwise; store .to(out_ptr.dtype.element_ty).",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        # (dtype, M, N, kind, purpose); kind picks the logits: "normal", "large", "negative" or "rising".
        table: list[tuple[str, int, int, str, str]] = [
            ("fp32", 3, 1, "large", "rows of one column: every weight is exactly 1, even for huge logits"),
            ("fp32", 1, 2, "normal", "a single row of two: the smallest softmax that is not always 1"),
            ("fp32", 20, 5, "normal", "narrow rows: most lanes of a block are padding"),
            ("fp16", 13, 100, "normal", "half precision, a ragged row width"),
            ("fp32", 9, 777, "negative", "very negative logits (-1e3 to -1e4): padding read as 0 would win the max"),
            ("fp32", 6, 333, "large", "large logits (1e3 to 1e4): exp overflows unless the row max is subtracted"),
            ("fp32", 7, 1500, "normal", "rows wider than 1024 columns"),
            ("fp16", 3, 3000, "normal", "rows much wider than 1024 columns, half precision"),
            ("fp16", 4, 1500, "large", "large logits in rows wider than 1024 columns"),
            ("fp32", 5, 2100, "negative", "very negative logits in rows wider than 1024 columns"),
            ("fp32", 4, 2000, "rising", "the row maximum grows along the row: a running sum must be rescaled"),
            ("fp32", 3, 2000, "steep", "the row maximum climbs by 300 along the row: a max taken from the first block only lets exp overflow"),
        ]
        if mode.on_gpu:
            table += [
                ("fp32", 4096, 1000, "normal", "many rows of a ragged width"),
                ("fp16", 1000, 8192, "normal", "wide rows, 8192 columns"),
                ("fp16", 64, 8193, "normal", "wide rows one column past a power of two"),
                ("fp32", 32, 50_000, "rising", "very wide rows whose maximum grows along the row"),
                ("fp16", 256, 20_000, "large", "large logits in very wide rows"),
                ("fp32", 128, 10_000, "negative", "very negative logits in very wide rows"),
                ("bf16", 777, 3000, "normal", "bfloat16, wide rows"),
                ("bf16", 8, 100_000, "large", "bfloat16, large logits, 100000 columns"),
            ]
        cases = []
        for dtype, m, n, kind, purpose in table:
            case_id = f"{dtype}-{m}x{n}" + ("" if kind == "normal" else f"-{kind}")
            cases.append(Case(id=case_id, dtype=dtype, purpose=purpose, params={"M": m, "N": n, "logits": kind}))
        return cases

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        M, N, kind = case.params["M"], case.params["N"], case.params["logits"]
        x = torch.randn(M, N, generator=generator)
        if kind in ("large", "negative"):
            # Each row sits at its own offset, from 1e3 to 1e4 in float32. Half-precision formats are coarse
            # that high (float16 steps by 8 near 1e4, bfloat16 by 64), so they stay at 1e3. exp(1000)
            # overflows even float32; the spread of 3 within a row keeps the softmax well conditioned.
            top = 1e4 if case.dtype == "fp32" else 1e3
            offsets = torch.linspace(1e3, top, M).unsqueeze(1)
            x = (offsets + 3 * x) if kind == "large" else (-offsets + 3 * x)
        elif kind == "rising":
            # The maximum climbs along the row, so every block of a blocked walk raises the running max.
            x = x + torch.linspace(0.0, 12.0, N)
        elif kind == "steep":
            # The same, far enough that exp(x - m) overflows float32 (about exp(88)) for any m short of the
            # row's true max: only a max over the whole row keeps every exponent <= 0.
            x = x + torch.linspace(0.0, 300.0, N)
        return {"x": x.to(case.torch_dtype)}

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return torch.softmax(inputs["x"].to(torch.float64), dim=-1)

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # Softmax outputs are positive, about 1/N on average, and their errors are relative: exp, the
        # division and the float32 row sum each cost a few float32 ulps; a GPU's fast exp2 adds ~1e-6
        # for exponents of 20 or so. The output dtype's rounding dominates for half precision:
        # - float32: 2e-5 relative (about 10x the arithmetic's error).
        # - float16: rounding to 2^-11 ~ 4.9e-4 relative: 2e-3. Below 6.1e-5 float16 is subnormal with a
        #   fixed spacing of 6e-8 (wide rows live there), so the absolute floor is 6e-8.
        # - bfloat16: rounding to 2^-9 ~ 2e-3 relative: 8e-3.
        # atol is the relative tolerance of an average output (rtol / N): an element far below average
        # needs no more slack than that, and a wrong normaliser cannot hide in the small values.
        # An all-zero or constant output misses by ~1/N and fails every case.
        rtol = {"fp32": 2e-5, "fp16": 2e-3, "bf16": 8e-3}[case.dtype]
        atol = rtol / case.params["N"]
        if case.dtype == "fp16":
            atol = max(atol, 6e-8)
        return Tolerance(atol=atol, rtol=rtol)

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        if failure.stores is not None:
            stored = _store_notes(failure)
            if stored:
                return stored
        x = failure.inputs["x"][:_PROBE_ROWS].to(torch.float64)
        out = failure.out[:_PROBE_ROWS]
        notes = _replayed(x, out, failure)
        if notes and failure.probe is not None and not bool(torch.isfinite(out).any()):
            notes = _kept_on_second_input(notes, failure)
        return notes

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        access = stray.stray
        grid = evidence.grid_of(stray)
        M, N = stray.inputs["x"].shape
        if not evidence.past_the_end(stray) or grid != (M, 1, 1):
            return []  # only for one program per row, the layout the level teaches
        row = access.program_id[0]
        if row < M - 1:
            # Row `row` lies inside x, yet its program reads past the end: its row start is wrong.
            return [
                f"likely: program {row} (row {row}) reaches past the end of `{access.argument}` although row {row} is "
                "inside it: a row starts at row * stride (x.stride(0), which is N for a contiguous x), not at a "
                "multiple of the block width"
            ]
        if evidence.one_lane_past_the_end(stray):
            return [evidence.off_by_one_note(stray, "cols < N")]
        return [
            evidence.unmasked_note(
                stray,
                f"likely: the {access.access} of `{access.argument}` runs without a mask of cols < N: the lanes past "
                "the end of the last row reach outside it; mask every load and store (loads with other=float('-inf'))",
                f"likely: the {access.access} of `{access.argument}` has a mask, but it does not keep cols < N: the "
                "lanes past the end of the last row get through; mask every load and store with cols < N",
            )
        ]

    # ----- benchmarks ---------------------------------------------------------------------------
    def benchmark_cases(self) -> list[Case]:
        # 2^26 float32 elements (256 MB) per shape: far past the L2, and enough rows to fill every SM.
        return [
            Case(id=f"fp32-{(1 << 26) // n}x{n}", dtype="fp32", purpose="benchmark", params={"M": (1 << 26) // n, "N": n, "logits": "normal"})
            for n in (1024, 4096, 16384)
        ]

    def baselines(self) -> dict[str, Baseline]:
        return {"torch": lambda inputs: torch.softmax(inputs["x"], dim=-1)}

    def work(self, case: Case) -> Work:
        p = case.params
        return Work(bytes=2.0 * p["M"] * p["N"] * case.torch_dtype.itemsize)

def _paddings(N: int) -> list[int]:
    """How many padding lanes a row of N gets under the block layouts a learner is likely to use."""
    found = {_next_power_of_2(N) - N}
    found.update(-(-N // block) * block - N for block in _COMMON_BLOCKS)
    return sorted(p for p in found if p > 0)


def _next_power_of_2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _zero_padded_softmax(x: "torch_types.Tensor", padding: int) -> "torch_types.Tensor":
    """The softmax of each row with `padding` extra zeros, restricted to the real columns."""
    m = torch.clamp(x.max(dim=-1, keepdim=True).values, min=0.0)
    e = torch.exp(x - m)
    return e / (e.sum(dim=-1, keepdim=True) + padding * torch.exp(-m))


def _replayed(x: "torch_types.Tensor", out: "torch_types.Tensor", failure: Failure) -> list[str]:
    """The replays that fit these rows, narrowed by probes on the same rows shifted (and raised)."""
    notes = _replay_notes(x, out, failure.tolerance)
    informative = bool((torch.isfinite(out) & (out != 0)).any())
    if failure.probe is None or (len(notes) <= 1 and informative):
        return notes
    # All NaN, all zero, or several bugs fit: run the same rows shifted so that each row's max is 0.
    # Softmax does not change under the shift, so a kernel right there fails only on large or very
    # negative logits; a kernel still wrong there shows its bug on ordinary numbers.
    shifted = (x - x.amax(dim=-1, keepdim=True)).to(failure.case.torch_dtype)
    run = failure.probe.run({"x": shifted})
    if run.out is None:
        return notes
    shifted64 = shifted.to(torch.float64)
    if evidence.close_to(run.out, torch.softmax(shifted64, dim=-1), failure.tolerance.atol, failure.tolerance.rtol):
        kept = [note for note in notes if note in _MAGNITUDE_BUGS]
        if len(kept) > 1:
            # Raw exp fails on large rows too; a running max that starts at 0 is right there.
            large = (shifted64 + 1000.0).to(failure.case.torch_dtype)
            high = failure.probe.run({"x": large})
            right = high.out is not None and evidence.close_to(
                high.out, torch.softmax(large.to(torch.float64), dim=-1), failure.tolerance.atol, failure.tolerance.rtol
            )
            kept = [_ONLINE_BUGS["max_starts_at_zero"] if right else _OVERFLOW]
        return kept
    return _replay_notes(shifted64, run.out, failure.tolerance)


def _replay_notes(
    x: "torch_types.Tensor", out: "torch_types.Tensor", tolerance: Tolerance, when_right: bool = False
) -> list[str]:
    """The known bugs whose float64 replay on these rows gives exactly this output. `when_right`: go on
    when the output is right, to learn which bugs would also give the right answer on these rows."""
    N = x.shape[1]

    def matches(candidate: "torch_types.Tensor", columns: int | None = None) -> bool:
        # The same NaNs and infinities, and finite values within five times the tolerance.
        mine = out if columns is None else out[:, :columns]
        return evidence.close_to(mine, candidate, 5 * tolerance.atol, 5 * tolerance.rtol)

    if matches(torch.softmax(x, dim=-1)) and not when_right:
        return []  # the rows the rules look at are right: nothing to name
    notes: list[str] = []
    if matches(_without_max64(x)):
        notes.append(_OVERFLOW)
    for padding in _paddings(N):
        if matches(_zero_padded_softmax(x, padding)):
            notes.append(_ZERO_PADDING)
            break
    # The columns a loop of N // BLOCK whole blocks covers: the softmax of exactly those, and nothing
    # of the partial last block, is what "the loop stops before the tail" leaves. Several block sizes
    # can give the same count, so the note names the columns, not a block size.
    wholes = sorted({(N // block) * block for block in _COMMON_BLOCKS if block < N} - {N}, reverse=True)
    for whole in wholes:
        if (
            bool(torch.isfinite(out[:, :whole]).all())
            and matches(torch.softmax(x[:, :whole], dim=-1), columns=whole)
            and _tail_left_out(x, out, whole, tolerance)
        ):
            one_block = whole in _COMMON_BLOCKS  # also what a kernel with no loop and BLOCK = whole does
            notes.append(
                f"likely: only the first {whole} columns of each row are used, a whole number of blocks: the loop over "
                "column blocks " + ("is missing, or it " if one_block else "") + "stops before the last, partial block "
                "(N // BLOCK blocks); loop triton.cdiv(N, BLOCK) times and mask the tail"
                + (" (or use one block of triton.next_power_of_2(N))" if one_block else "")
            )
            break
    # The base of the exponential: exp2 without log2(e) is the softmax of x * ln(2); log2(e) folded in
    # and then exp is that of x * log2(e). Either is a whole-row near miss, whatever the blocks.
    if N > 1 and matches(torch.softmax(x * _LN2, dim=-1)):
        notes.append(
            "likely: exp2 is used without log2(e): exp(x) = exp2(x * log2(e)), so multiply by 1.4426950408889634 "
            "inside the exp2 (or use tl.exp)"
        )
    if N > 1 and matches(torch.softmax(x / _LN2, dim=-1)):
        notes.append("likely: the logits are multiplied by log2(e) but exponentiated with exp: use exp2 with that factor, or exp without it")
    if x.shape[0] > 1 and N > 1 and matches(torch.softmax(x, dim=0)):
        notes.append("likely: the softmax runs down the columns: each program must normalise one row")
    for block in _COMMON_BLOCKS:
        if block >= N:
            break
        if N > _MAX_REPLAY_BLOCKS * block:
            continue  # a replay in Python over thousands of blocks costs seconds: a wide row has wide blocks
        if matches(torch.cat([torch.softmax(x[:, s : s + block], dim=-1) for s in range(0, N, block)], dim=-1)):
            notes.append(
                f"likely: each block of {block} columns is divided by its own sum (each block sums to 1): pass 2 "
                "must divide by the whole row's sum l from pass 1"
            )
        replays = _online_softmax64(x, block)
        for bug, note in _ONLINE_BUGS.items():
            if matches(replays[bug]):
                notes.append(note)
        for bug, replay in _lane_softmax64(x, block).items():
            if matches(replay):
                notes.append(_LANE_BUGS[bug])
    # A row in one block of the next power of two: its lanes hold one column each, and merging them
    # is all there is (the lane replays are vectorised, so this costs one block).
    single = 1 << max(N - 1, 0).bit_length()
    for bug, replay in _lane_softmax64(x, single).items():
        if matches(replay):
            notes.append(_LANE_BUGS[bug])
    return list(dict.fromkeys(notes))


def _tail_left_out(x: "torch_types.Tensor", out: "torch_types.Tensor", whole: int, tolerance: Tolerance) -> bool:
    """The columns past `whole` look like a loop that stopped there: never written (NaN from new
    memory, or 0), or written with the max and sum of the first `whole` columns only. A tail holding
    anything else (its own softmax, say) means the first columns match for another reason."""
    tail = out[:, whole:]
    if bool((torch.isnan(tail) | (tail == 0)).all()):
        return True
    head = x[:, :whole]
    top = head.amax(dim=-1, keepdim=True)
    partial = _exp32(x[:, whole:] - top) / _exp32(head - top).sum(dim=-1, keepdim=True)
    return evidence.close_to(tail, partial, 5 * tolerance.atol, 5 * tolerance.rtol)


def _kept_on_second_input(notes: list[str], failure: Failure) -> list[str]:
    """An output with no finite value matches every replay that makes NaN, whatever made it. Keep only
    the notes whose replay also reproduces what the kernel returns on rows of _SECOND_WIDTH columns."""
    assert failure.probe is not None
    generator = torch.Generator().manual_seed(3)
    second = torch.randn(4, _SECOND_WIDTH, generator=generator).to(failure.case.torch_dtype)
    run = failure.probe.run({"x": second})
    if run.out is None:
        return []  # nothing to confirm with: a NaN agreement alone names nothing
    confirmed = _replay_notes(second.to(torch.float64), run.out, failure.tolerance, when_right=True)
    return [note for note in notes if note in confirmed]


# A power of two, so no lane of any block up to it sees only padding, and wider than 1024, so that a
# kernel with a one-block path for narrow rows takes its loop over blocks here.
_SECOND_WIDTH = 2048
_LN2 = 0.6931471805599453  # ln(2) = 1 / log2(e)
_OVERFLOW = (
    "likely: exp is taken of the raw logits: it overflows on large ones (inf / inf = NaN) and underflows on very "
    "negative ones (0 / 0); subtract the row max before exp, softmax(x) = softmax(x - max(x))"
)
_ZERO_PADDING = (
    "likely: padding lanes are loaded as 0 instead of -inf: a 0 can win the max of a negative "
    "row and adds exp(0 - max) to the sum; load with other=float('-inf')"
)


def _without_max64(x: "torch_types.Tensor") -> "torch_types.Tensor":
    """softmax without subtracting the row max, in float32 as a kernel computes it: exp overflows
    above ~88, and inf / inf = NaN."""
    e = torch.exp(x.to(torch.float32))
    return (e / e.sum(dim=-1, keepdim=True)).to(torch.float64)


# Known bugs of the two-pass online softmax (pass 1: running max m and sum l; pass 2: exp(x - m) / l).
_ONLINE_BUGS = {
    "no_rescale": "likely: the running sum is not rescaled when the max grows: rescale the running sum, "
    "l = l * exp(m_old - m_new) + sum(exp(x - m_new))",
    "inverted_rescale": "likely: the running sum is rescaled by exp(m_new - m_old), the inverse factor: use "
    "alpha = exp(m_old - m_new), which is at most 1",
    "old_max_in_sum": "likely: pass 1 adds exp(x - m) with the max from before this block: compute m_new = "
    "maximum(m, max(x)) first and add exp(x - m_new)",
    "max_not_updated": "likely: the running max is never updated (m = m_new is missing), so pass 2 divides by "
    "the wrong sum; set m = m_new at the end of every block",
    "max_starts_at_zero": "likely: the running max starts at 0 instead of -inf: a row of very negative logits "
    "sums exp(x - 0) = 0; start it at float('-inf')",
    "block_max_in_pass2": "likely: pass 2 subtracts each block's own max instead of the row's final max m: "
    "store exp(x - m) / l with the final m and l of pass 1",
}
# Bugs that show only on large or very negative logits (a kernel with them is right on shifted rows).
_MAGNITUDE_BUGS = (_OVERFLOW, _ONLINE_BUGS["max_starts_at_zero"])


def _exp32(values: "torch_types.Tensor") -> "torch_types.Tensor":
    """exp in float32's range, as a kernel takes it (above ~88 it is inf), returned in float64."""
    return torch.exp(values.to(torch.float32)).to(torch.float64)


_LANE_BUGS = {
    "lane_no_rescale": "likely: each lane's running sum is not rescaled when its max grows: l = l * exp(m_old - "
    "m_new) + exp(x - m_new), lane by lane",
    "lane_merge_unscaled": "likely: the lanes' sums are added without being rescaled: each lane's l is relative to "
    "its own max, so the total is sum(l * exp(m_lane - M)), M the row's max",
    "lane_padding_nan": "likely: a lane that holds only padding keeps its max at -inf, and its rescale exp(-inf - "
    "(-inf)) is NaN, which the merge spreads over the row: rescale only where the max is finite",
}


def _lane_softmax64(x: "torch_types.Tensor", width: int) -> dict[str, "torch_types.Tensor"]:
    """The one-pass softmax that keeps a running max and sum per lane (column c of every block of
    `width`), merges the lanes at the end and writes exp(x - M) / total: for each bug of _LANE_BUGS
    (exp in float32's range, as in a kernel)."""
    rows, N = x.shape
    blocks = -(-N // width)
    padded = torch.full((rows, blocks * width), float("-inf"), dtype=torch.float64)
    padded[:, :N] = x
    lanes = padded.reshape(rows, blocks, width)

    running = torch.cummax(lanes, dim=1).values  # each lane's max after each block
    final = running[:, -1]  # (rows, width)
    seen = torch.isfinite(running)
    unscaled = torch.where(seen, _exp32(lanes - torch.where(seen, running, 0.0)), 0.0).sum(dim=1)
    lane_ok = torch.isfinite(final)
    right = torch.where(lane_ok[:, None, :], _exp32(lanes - torch.where(lane_ok, final, 0.0)[:, None, :]), 0.0).sum(dim=1)
    top = final.amax(dim=1, keepdim=True)
    weight = torch.where(lane_ok, _exp32(final - top), 0.0)
    numerator = _exp32(x - top)
    # A lane past the row's end sees only padding: unguarded, its rescale is exp(-inf - (-inf)) = NaN,
    # and the merge carries that NaN into every element of the row.
    padding_nan = torch.full_like(x, float("nan")) if width > N else numerator / (right * weight).sum(dim=1, keepdim=True)
    return {
        "lane_no_rescale": numerator / (unscaled * weight).sum(dim=1, keepdim=True),
        "lane_merge_unscaled": numerator / right.sum(dim=1, keepdim=True),
        "lane_padding_nan": padding_nan,
    }


def _online_softmax64(x: "torch_types.Tensor", block: int) -> dict[str, "torch_types.Tensor"]:
    """The two-pass online softmax over blocks of `block` columns, once for each known bug of
    _ONLINE_BUGS (float64, in float32's overflow range: exp of more than ~88 is inf, as in a kernel).
    The bugs run side by side, one row of state each, so a block costs a few tensor operations
    whatever their number: a failing check replays hundreds of blocks."""
    rows, N = x.shape
    bugs = list(_ONLINE_BUGS)

    def flag(*names: str) -> "torch_types.Tensor":
        return torch.tensor([bug in names for bug in bugs]).reshape(-1, 1, 1)

    starts_at_zero, unscaled, inverted = flag("max_starts_at_zero"), flag("no_rescale"), flag("inverted_rescale")
    old_max, frozen = flag("old_max_in_sum"), flag("max_not_updated")
    m = torch.where(starts_at_zero, 0.0, float("-inf")).expand(len(bugs), rows, 1).to(torch.float64)
    l = torch.zeros(len(bugs), rows, 1, dtype=torch.float64)
    one = torch.ones((), dtype=torch.float64)
    for start in range(0, N, block):
        part = x[:, start : start + block]
        m_new = torch.maximum(m, part.amax(dim=-1, keepdim=True))
        alpha = torch.where(unscaled, one, torch.where(inverted, _exp32(m_new - m), _exp32(m - m_new)))
        shift = torch.where(old_max, m, m_new)
        l = l * alpha + _exp32(part - shift).sum(dim=-1, keepdim=True)
        m = torch.where(frozen, m, m_new)
    out = _exp32(x - m) / l
    replays = {bug: out[index] for index, bug in enumerate(bugs)}
    pieces = [_exp32(x[:, s : s + block] - x[:, s : s + block].amax(dim=-1, keepdim=True)) for s in range(0, N, block)]
    replays["block_max_in_pass2"] = torch.cat(pieces, dim=-1) / l[bugs.index("block_max_in_pass2")]
    return replays


def _store_notes(failure: Failure) -> list[str]:
    stores = failure.stores
    assert stores is not None
    nothing = evidence.nothing_stored_note(stores, failure.launches, "launch one program per row, grid = (M,)")
    if nothing is not None:
        return [nothing]
    step = evidence.row_step_note(stores, tuple(failure.out.shape))
    if step is not None:
        return [step]
    silent = evidence.silent_programs(stores, failure.launches)
    _, gap = evidence.overlap_and_gap(stores)
    if silent and gap:
        shown = evidence.programs_text([program[0] for program in silent])
        return [
            f"likely: {shown} ran but never stored their rows: the loop that writes the output never runs (is its "
            "start reset to 0?) or its mask is all false"
        ]
    return []
