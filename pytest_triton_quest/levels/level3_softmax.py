"""Level 3: row-wise softmax, stable for any logits and any row width."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from .base import Baseline, Case, Failure, Level, Mode, Tolerance, Work

if TYPE_CHECKING:
    import torch as torch_types


# Block widths a learner is likely to use, for the rules that guess how a row was cut into blocks.
_COMMON_BLOCKS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
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
        out, ref = failure.out, failure.ref
        N = ref.shape[1]
        x = failure.inputs["x"][:_PROBE_ROWS].to(torch.float64)
        probe = out[:_PROBE_ROWS]
        tolerance = failure.tolerance
        notes: list[str] = []

        def resembles(candidate: "torch_types.Tensor", columns: int | None = None) -> bool:
            # Close to a wrong-but-plausible answer (on the first `columns` columns), with five times
            # the slack of the tolerance.
            mine = probe if columns is None else probe[:, :columns]
            if not bool(torch.isfinite(mine).all()):
                return False
            slack = 5 * (tolerance.atol + tolerance.rtol * candidate.abs())
            return bool(((mine - candidate).abs() <= slack).all())

        broken = ~torch.isfinite(out) & torch.isfinite(ref)
        if bool(broken.any()):
            if failure.case.params["logits"] == "large":
                notes.append(
                    "likely: exp overflows on large logits (inf / inf = NaN): subtract the row max before exp, "
                    "softmax(x) = softmax(x - max(x))"
                )
            else:
                notes.append(
                    "likely: NaN or inf from exp overflowing, exp(-inf - (-inf)) or 0 / 0: subtract a finite row "
                    "max, and make sure the max and the sum come from real columns"
                )

        # The rules below compare with wrong answers; they say nothing when the answer is nearly right.
        if resembles(ref[:_PROBE_ROWS]):
            return notes

        padded = False
        for padding in _paddings(N):
            if resembles(_zero_padded_softmax(x, padding)):
                notes.append(
                    "likely: padding lanes are loaded as 0 instead of -inf: a 0 can win the max of a negative "
                    "row and adds exp(0 - max) to the sum; load with other=float('-inf')"
                )
                padded = True
                break

        for block in _COMMON_BLOCKS:
            if block >= N:
                break
            if resembles(torch.softmax(x[:, :block], dim=-1), columns=block):
                notes.append(
                    f"likely: only the first {block} columns of each row are used: a row wider than one block "
                    "needs a loop over its column blocks (or a block of triton.next_power_of_2(N))"
                )
                break

        if x.shape[0] > 1 and N > 1 and resembles(torch.softmax(x, dim=0)):
            notes.append("likely: the softmax runs down the columns: each program must normalise one row")

        if not padded and _per_row_factors(probe, ref[:_PROBE_ROWS]):
            notes.append(
                "likely: each row is off by its own constant factor, so the row sum is wrong: if you walk a "
                "row in blocks, rescale the running sum by exp(m_old - m_new) whenever the max grows"
            )
        return notes


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


def _per_row_factors(out: "torch_types.Tensor", ref: "torch_types.Tensor") -> bool:
    """True when every row of out is ref times its own factor, and some factor is not 1. Only values
    above a tenth of the average (1/N) count: tiny ones carry the output dtype's coarse rounding."""
    floor = 0.1 / ref.shape[-1]
    factors = []
    for mine, theirs in zip(out, ref):
        usable = theirs >= floor
        if not bool(torch.isfinite(mine).all()) or not bool(usable.any()):
            return False
        ratio = mine[usable] / theirs[usable]
        median = float(ratio.median())
        if float((ratio - median).abs().max()) > 1e-2 * abs(median):
            return False
        factors.append(median)
    return any(abs(factor - 1.0) > 1e-2 for factor in factors)
