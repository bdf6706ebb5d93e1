"""Level 6: naive attention, softmax(q @ k^T * scale) @ v with the S x S matrices in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from .attention_bench import attention_cases, attention_work, sdpa_baselines
from .attention_traffic import attention_traffic_case, attention_traffic_remark
from .attention_inputs import AttentionRow, attention_check_cases, attention_expected, attention_inputs
from .base import Baseline, CallTraffic, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work
from .fused_attention_rules import diagnose_attention, diagnose_attention_out_of_bounds

if TYPE_CHECKING:
    import torch as torch_types


class NaiveAttention(Level):
    number = 6
    name = "Naive Attention"
    kata_file = "level6_naive_attention.py"
    function = "naive_attention"
    positional = ("q", "k", "v")
    keywords = ("causal", "scale")
    concept = (
        "Attention is three steps you already know: scores = q @ k^T * scale (level 4), the causal mask "
        "(level 5), a row-wise softmax that turns each query's scores into weights summing to 1 (level 3), "
        "and out = P @ v, a batched matrix product (level 2). Done naively, each step is its own kernel and "
        "the S x S scores and probabilities go through memory in between. That is correct but moves S*S "
        "numbers per head several times; Flash Attention (levels 7 and 8) computes the same result without "
        "ever storing them."
    )
    hints = (
        "Split the work into kernels, one per step: (1) scores = q @ k^T * scale, with the causal mask "
        "applied when causal is True; (2) a row-wise softmax of the scores; (3) out = P @ v. Two float32 "
        "buffers of shape (B*H, S, S) carry the scores and the probabilities between them.",
        "Kernel 1 is your level 4 kernel plus one line from level 5: when causal, "
        "tl.where(cols[None, :] > rows[:, None], float('-inf'), s). Pass `causal` as a tl.constexpr so the "
        "non-causal version contains no mask at all.",
        "Kernel 2 is your level 3 softmax on the (B*H*S, S) matrix of scores: subtract each row's maximum "
        "before tl.exp, so large scores cannot overflow, and load padded lanes as -inf so they get weight 0.",
        "A row is never entirely -inf: query i always sees key i, so the row maximum is finite. Watch out "
        "for `j >= i`: it would hide the diagonal and leave row 0 with no key at all (0 / 0 = NaN).",
        "Kernel 3: one program per (block of BLOCK_M queries, bh). Loop over the keys in steps of BLOCK_N: "
        "load a (BLOCK_M, BLOCK_N) tile of P and a (BLOCK_N, D) tile of v (masked, other=0) and accumulate "
        "acc += tl.dot(p, v) in float32.",
        "In kernel 3 convert p to v's dtype before tl.dot (tl.dot wants both operands in the same dtype), "
        "store acc.to(out's dtype) with the mask rows < S, and in the wrapper use scale = 1 / sqrt(D) only "
        "when scale is None; return out = torch.empty_like(q) reshaped to (B, H, S, D).",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        table: list[AttentionRow] = [
            AttentionRow("fp32", B=1, H=1, S=1, D=16, causal=True, purpose="a single token: S = 1, query 0 sees only key 0"),
            AttentionRow("fp16", B=1, H=2, S=1, D=32, causal=False, purpose="a single token without the causal mask"),
            AttentionRow("fp32", B=2, H=2, S=77, D=32, causal=True, purpose="causal, ragged S (77 is not a multiple of any block), 4 heads"),
            AttentionRow("fp32", B=1, H=3, S=77, D=32, causal=False, purpose="non-causal: every query sees every key"),
            AttentionRow("fp16", B=2, H=1, S=150, D=64, causal=True, scale=0.3, purpose="causal, a longer ragged S, D = 64, explicit scale"),
            AttentionRow("fp16", B=1, H=2, S=100, D=16, causal=False, scale=0.5, purpose="non-causal in half precision with an explicit scale"),
            AttentionRow("fp32", B=1, H=2, S=64, D=16, causal=True, special="large", purpose="large logits (about 1000): exp overflows unless the row max is subtracted"),
            AttentionRow("fp16", B=1, H=2, S=70, D=16, causal=False, special="large", purpose="large logits, non-causal, half precision"),
            AttentionRow("fp32", B=1, H=1, S=500, D=16, causal=False, special="growing",
                         purpose="rows of 500 scores that grow along the keys: a softmax taken in chunks must rescale its running sum as the max grows"),
        ]
        if mode.on_gpu:
            table += [
                AttentionRow("fp32", B=2, H=4, S=1000, D=64, causal=True, purpose="a long ragged causal sequence in float32 (TF32 on the GPU)"),
                AttentionRow("fp16", B=2, H=8, S=2048, D=128, causal=True, purpose="a long causal sequence with D = 128"),
                AttentionRow("fp16", B=3, H=5, S=1537, D=64, causal=False, scale=0.1, purpose="a long ragged non-causal sequence, explicit scale"),
                AttentionRow("bf16", B=2, H=4, S=999, D=64, causal=True, purpose="bfloat16, long ragged causal sequence"),
                AttentionRow("bf16", B=1, H=2, S=513, D=128, causal=False, scale=0.2, purpose="bfloat16, non-causal, D = 128, explicit scale"),
                AttentionRow("fp16", B=2, H=2, S=1024, D=64, causal=True, special="large", purpose="large logits on a long causal sequence"),
            ]
        return attention_check_cases(table)

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        return attention_inputs(case, generator)

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return attention_expected(inputs)

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # Each output is a weighted average of v rows (|v| ~ 1), so the errors are absolute, of order
        # (error of the scores) * (spread of v), and an all-zero answer misses by ~1 / sqrt(keys seen),
        # at least 0.02 in every case.
        # - float32: on a GPU both tl.dot calls use TF32 (operands rounded to a 10-bit mantissa, ~5e-4
        #   relative each), so a score is off by ~1e-3 and an output by up to ~3e-3 where a few keys
        #   with very different v dominate (measured on an H100: 3.2e-3 at worst); 6e-3 leaves headroom.
        # - float16: the output itself is rounded (2^-11 relative, ~5e-4) and P is rounded to float16
        #   before P @ v (another ~5e-4 per weight); measured worst 1.6e-3, within 2e-3 + 2e-3 * |ref|
        #   with a factor of four to spare.
        # - bfloat16: the same two roundings with a 3-bit shorter mantissa (2^-8, ~4e-3 each).
        return {
            "fp32": Tolerance(atol=6e-3, rtol=6e-3),
            "fp16": Tolerance(atol=2e-3, rtol=2e-3),
            "bf16": Tolerance(atol=1.6e-2, rtol=1.6e-2),
        }[case.dtype]

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        return diagnose_attention(failure)

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        return diagnose_attention_out_of_bounds(stray, self.tolerance(stray.case, Mode("cpu", True)))

    def benchmark_cases(self) -> list[Case]:
        # The naive version stores S x S scores and probabilities: 16k tokens at S = 16k would need 68 GB.
        return attention_cases((1024, 4096))

    def baselines(self) -> dict[str, Baseline]:
        return sdpa_baselines()

    def work(self, case: Case) -> Work:
        return attention_work(case)

    def traffic_case(self, mode: Mode) -> Case | None:
        cases = self.cases(mode)
        return attention_traffic_case(cases, {case.id: self.work(case).bytes for case in cases})

    def traffic_remark(self, call: CallTraffic) -> str | None:
        return attention_traffic_remark(call)
