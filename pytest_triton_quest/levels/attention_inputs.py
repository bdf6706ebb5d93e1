"""The check cases and inputs of the attention levels (6 to 8): one table row becomes one Case, and
one Case becomes q, k, v (with the special patterns some cases need), the causal flag and the scale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._lazy import torch
from .attention_reference import attention64, float64, scale_of, visible
from .base import Case

if TYPE_CHECKING:
    import torch as torch_types


# The large-logit cases put this value in column 0 of both q and k, so every score carries an offset of
# 64 * 64 * scale (1024 for D = 16): exp of it overflows even in float32 (whose limit is about exp(88)),
# while the differences between scores stay ordinary and the answer stays well conditioned.
LARGE_OFFSET = 64.0
# The growing-score cases put GROWTH_Q in column 0 of q and j * step in column 0 of key j, so the
# scores of every row rise steadily along the keys and each new block of keys raises the running max:
# an online softmax that forgets to rescale its accumulator or normaliser is then far off. 4 and
# j * 2^-3 (j * 2^-6 for long S) are exact in float16, bfloat16 up to j = 255, and TF32, so the
# growth adds no rounding of its own.
GROWTH_Q = 4.0


@dataclass(frozen=True)
class AttentionRow:
    """One row of an attention level's case table, by name; `case()` turns it into a Case."""

    dtype: str
    B: int
    H: int
    S: int
    D: int
    causal: bool
    purpose: str
    scale: float | None = None  # None: the call leaves `scale` out, so the default 1 / sqrt(D) is checked
    special: str = ""  # "", "large", "negative" or "growing": the input patterns below; "skipping" marks level 8's load check

    def case(self) -> Case:
        params: dict[str, Any] = {"B": self.B, "H": self.H, "S": self.S, "D": self.D, "causal": self.causal}
        case_id = f"{self.dtype}-{self.B}x{self.H}x{self.S}x{self.D}-{'causal' if self.causal else 'full'}"
        if self.scale is not None:
            params["scale"] = self.scale
            case_id += f"-scale{self.scale:g}"
        if self.special:
            params[self.special] = True
            case_id += f"-{self.special}"
        return Case(id=case_id, dtype=self.dtype, purpose=self.purpose, params=params)


def attention_check_cases(table: list[AttentionRow]) -> list[Case]:
    return [row.case() for row in table]


def attention_inputs(case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
    p = case.params
    S = p["S"]
    shape = (p["B"], p["H"], S, p["D"])
    q = torch.randn(shape, generator=generator)
    k = torch.randn(shape, generator=generator)
    v = torch.randn(shape, generator=generator)
    if p.get("large"):
        # 64 is exact in every dtype and 64 * 64 is exact in float32, so the offset adds no rounding.
        q[..., 0] = LARGE_OFFSET
        k[..., 0] = LARGE_OFFSET
    if p.get("negative"):
        # The mirror image: every score near -1000, so exp(s - 0) underflows to 0 in float32; only a
        # running max that starts at -inf (and so becomes a real score) keeps exp(s - m) near 1.
        q[..., 0] = -LARGE_OFFSET
        k[..., 0] = LARGE_OFFSET
    if p.get("growing"):
        step = 2.0**-3 if S <= 256 else 2.0**-6
        q[..., 0] = GROWTH_Q
        k[..., 0] = torch.arange(S, dtype=torch.float32) * step
    dtype = case.torch_dtype
    inputs: dict[str, Any] = {"q": q.to(dtype), "k": k.to(dtype), "v": v.to(dtype), "causal": p["causal"]}
    if "scale" in p:  # a case without "scale" checks the default, 1 / sqrt(D)
        inputs["scale"] = p["scale"]
    return inputs


def attention_expected(inputs: dict[str, Any]) -> "torch_types.Tensor":
    """The right answer in float64, from the inputs `attention_inputs` made."""
    q, k, v = float64(inputs)
    return attention64(q, k, v, visible(q.shape[-2], "causal" if inputs["causal"] else "all"), scale_of(inputs))
