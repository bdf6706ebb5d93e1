"""Level 5 - Causal Mask: copy the scores, hiding every key j > query i behind -inf."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def _mask_future(
    src, dst,
    S,
    s_h, s_i, s_j,
    d_h, d_i, d_j,
    TI: tl.constexpr, TJ: tl.constexpr,
):
    ti = tl.program_id(0)
    tj = tl.program_id(1)
    head = tl.program_id(2).to(tl.int64)

    qi = ti * TI + tl.arange(0, TI)
    kj = tj * TJ + tl.arange(0, TJ)
    qi2 = qi[:, None]
    kj2 = kj[None, :]
    inside = (qi2 < S) & (kj2 < S)

    vals = tl.load(src + head * s_h + qi2 * s_i + kj2 * s_j, mask=inside, other=0.0)
    hidden = tl.arange(0, TJ)[None, :] > tl.arange(0, TI)[:, None]
    vals = tl.where(hidden, float("-inf"), vals)
    tl.store(dst + head * d_h + qi2 * d_i + kj2 * d_j, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H, S, S)
    out = torch.empty_like(x)
    TI, TJ = 32, 32
    grid = (triton.cdiv(S, TI), triton.cdiv(S, TJ), B * H)
    _mask_future[grid](
        x, out, S,
        x.stride(0), x.stride(1), x.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        TI=TI, TJ=TJ,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    scores = torch.randn(2, 3, 77, 77, device=device)
    future = torch.ones(77, 77, dtype=torch.bool, device=device).triu(diagonal=1)
    expected = scores.masked_fill(future, float("-inf"))
    torch.testing.assert_close(causal_mask(scores), expected)
    print("level 5 self-check passed")
