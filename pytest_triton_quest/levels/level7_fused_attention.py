"""Level 7: fused attention, one kernel with an online softmax and no S x S matrix in memory.

Level 8 (Flash Attention) has the same contract, so it reuses this level's cases, reference and
tolerance. The diagnosis rules of both levels are in fused_attention_rules.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from .attention_bench import attention_cases, attention_work, sdpa_baselines
from .attention_traffic import attention_traffic_case, attention_traffic_remark
from .attention_inputs import AttentionRow, attention_check_cases, attention_expected, attention_inputs
from .fused_attention_rules import diagnose_attention, diagnose_attention_out_of_bounds
from .base import Baseline, CallTraffic, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work

if TYPE_CHECKING:
    import torch as torch_types


class FusedAttention(Level):
    number = 7
    name = "Fused Attention"
    kata_file = "level7_fused_attention.py"
    function = "fused_attention"
    positional = ("q", "k", "v")
    keywords = ("causal", "scale")
    picture_keys = "k"  # --quest-picture: which key tiles each query program read
    max_launches = 1
    concept = (
        "Fused attention computes softmax(q @ k^T * scale) @ v in ONE kernel that never stores the S x S "
        "scores: each program owns a block of queries and streams over the keys a block at a time, keeping "
        "the scores in registers. The softmax needs the whole row's maximum and sum, which no single block "
        "knows, so each row keeps a running max m, a running normaliser l = sum(exp(s - m)) and a running "
        "accumulator acc = sum(exp(s - m) * v). When a block raises the max from m_old to m_new, "
        "multiplying l and acc by alpha = exp(m_old - m_new) puts what was summed so far on the new max; "
        "at the end out = acc / l. This online softmax is the core of Flash Attention."
    )
    hints = (
        "Give each program one block of BLOCK_M queries of one (batch, head): grid = (cdiv(S, BLOCK_M), B*H). "
        "Load its q block once, then walk the keys BLOCK_N at a time. Scores live only in registers, for one "
        "key block at a time. Ask yourself: what must a program remember about the keys it has already seen?",
        "Three running values per query row, all float32: m (the largest score so far, starting at -inf), "
        "l (the sum of exp(s - m) so far, starting at 0) and acc (the sum of exp(s - m) * v so far, a "
        "(BLOCK_M, D) block of zeros). After the last key block, out = acc / l.",
        "When a block's scores raise the row max from m_old to m_new, everything already in l and acc was "
        "computed with exp(s - m_old). Multiply both by alpha = exp(m_old - m_new) (<= 1) before adding the "
        "new block: exp(s - m_old) * alpha = exp(s - m_new). Forget it for either one and long rows go wrong.",
        "Masks: a key j >= S is padding (load k and v with other=0.0, then set its score to -inf, since 0 is "
        "not 'no weight'); when causal, a key j > i is the future and gets -inf too. Key 0 is visible to every "
        "row, so m is finite after the first block. Store only the rows i < S.",
        "Loop body: s = tl.dot(q, tl.trans(k)) * scale; s = tl.where(visible, s, float('-inf')); "
        "m_new = tl.maximum(m_i, tl.max(s, axis=1)); alpha = tl.exp(m_i - m_new); "
        "p = tl.exp(s - m_new[:, None]); l_i = l_i * alpha + tl.sum(p, axis=1); "
        "acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v); m_i = m_new.",
        "Walk the keys with `start = 0; while start < S: ...; start += BLOCK_N` (triton 3.6's interpreter "
        "cannot loop `range` over a runtime S). After the loop store (acc / l_i[:, None]).to(out_ptr.dtype."
        "element_ty) with mask rows[:, None] < S. Wrapper: scale = 1 / sqrt(D) only when scale is None, "
        "out = torch.empty_like(q), ONE launch with strides q.stride(1) (a head) and q.stride(2) (a row).",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        table: list[AttentionRow] = [
            AttentionRow("fp32", B=1, H=1, S=1, D=16, causal=True, purpose="a single token: S = 1, query 0 attends only to itself"),
            AttentionRow("fp16", B=1, H=2, S=1, D=32, causal=False, purpose="a single token without the causal mask"),
            AttentionRow("fp32", B=2, H=2, S=77, D=32, causal=True, purpose="causal, ragged S (77 is not a multiple of any block), 4 heads"),
            AttentionRow("fp32", B=1, H=3, S=77, D=32, causal=False, purpose="non-causal, ragged S: padded keys of the last block must get weight 0"),
            AttentionRow("fp16", B=2, H=1, S=150, D=64, causal=True, scale=0.3, purpose="causal, a longer ragged S, D = 64, explicit scale"),
            AttentionRow("fp16", B=1, H=2, S=100, D=16, causal=False, scale=0.5, purpose="non-causal in half precision with an explicit scale"),
            AttentionRow("fp32", B=1, H=2, S=64, D=16, causal=True, special="large", purpose="large logits (about 1000): exp overflows unless the running max is subtracted"),
            AttentionRow("fp16", B=1, H=2, S=70, D=16, causal=False, special="large", purpose="large logits, non-causal, half precision"),
            AttentionRow("fp32", B=1, H=2, S=160, D=32, causal=True, special="growing", purpose="scores grow along the keys: every key block raises the running max, so acc and l must be rescaled"),
            AttentionRow("fp32", B=1, H=2, S=48, D=16, causal=True, special="negative", purpose="very negative scores (about -1000): the running max must start at -inf, not 0, or exp(s - 0) = 0 gives 0 / 0"),
            AttentionRow("fp16", B=1, H=1, S=160, D=32, causal=False, special="growing", purpose="growing scores, non-causal, half precision: the online rescaling over many key blocks"),
        ]
        if mode.on_gpu:
            table += [
                AttentionRow("fp32", B=2, H=4, S=1000, D=64, causal=True, purpose="a long ragged causal sequence in float32 (TF32 on the GPU)"),
                AttentionRow("fp16", B=2, H=8, S=2048, D=128, causal=True, purpose="a long causal sequence with D = 128"),
                AttentionRow("fp16", B=3, H=5, S=1537, D=64, causal=False, scale=0.1, purpose="a long ragged non-causal sequence, explicit scale"),
                AttentionRow("bf16", B=2, H=4, S=999, D=64, causal=True, purpose="bfloat16, long ragged causal sequence"),
                AttentionRow("bf16", B=1, H=2, S=513, D=128, causal=False, scale=0.2, purpose="bfloat16, non-causal, D = 128, explicit scale"),
                AttentionRow("fp16", B=2, H=2, S=1024, D=64, causal=True, special="large", purpose="large logits on a long causal sequence"),
                AttentionRow("fp16", B=1, H=4, S=2048, D=64, causal=True, special="growing", purpose="growing scores over a long causal sequence (many key blocks)"),
                AttentionRow("fp16", B=1, H=2, S=1999, D=128, causal=False, special="growing", purpose="growing scores, non-causal, ragged, D = 128"),
            ]
        return attention_check_cases(table)

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        return attention_inputs(case, generator)

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return attention_expected(inputs)

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # Each output is a weighted average of v rows (|v| ~ 1), so the errors are absolute, of order
        # (error of the weights) * |v|, and an all-zero answer misses by ~1 / sqrt(keys seen) >= 0.02.
        # The online softmax adds only float32 rescalings (relative error ~1e-7 each) to level 6's error.
        # - float32: on a GPU both tl.dot calls use TF32 (inputs rounded to a 10-bit mantissa, relative
        #   error ~5e-4 per operand), which moves the weights by ~1e-3 relative at worst over many rows.
        #   The large and growing inputs use values exact in TF32, so their big scores add no rounding.
        # - float16: the output itself is rounded (2^-11 relative, ~5e-4) and p = exp(s - m) in [0, 1] is
        #   rounded to float16 before p @ v (another ~5e-4 per weight); 2e-3 leaves headroom for both.
        # - bfloat16: the same two roundings with a 3-bit shorter mantissa (2^-8, ~4e-3 each).
        return {
            "fp32": Tolerance(atol=2e-3, rtol=2e-3),
            "fp16": Tolerance(atol=2e-3, rtol=2e-3),
            "bf16": Tolerance(atol=1.6e-2, rtol=1.6e-2),
        }[case.dtype]

    def benchmark_cases(self) -> list[Case]:
        # The FlashAttention benchmark grid: a fused kernel keeps no S x S buffer, so S = 16k fits.
        return attention_cases((1024, 4096, 16384))

    def baselines(self) -> dict[str, Baseline]:
        return sdpa_baselines()

    def work(self, case: Case) -> Work:
        return attention_work(case)

    def traffic_case(self, mode: Mode) -> Case | None:
        cases = self.cases(mode)
        return attention_traffic_case(cases, {case.id: self.work(case).bytes for case in cases})

    def traffic_remark(self, call: CallTraffic) -> str | None:
        return attention_traffic_remark(call)

    def sxs_elements(self, inputs: dict[str, Any]) -> int | None:
        B, H, S, D = inputs["q"].shape
        # Only when S > D is a tensor of B*H*S*S elements bigger than q itself, and so a tell-tale.
        return B * H * S * S if S > D else None

    def diagnose(self, failure: Failure) -> list[str]:
        return diagnose_attention(failure)

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        return diagnose_attention_out_of_bounds(stray, self.tolerance(stray.case, Mode("cpu", True)))
