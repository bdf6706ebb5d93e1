"""Level 5 - Causal Mask: no peeking at the future.

THE IDEA
    A language model writes text left to right, so when it computes attention for token i it must not
    peek at tokens that come later. In the S x S score matrix of one head, row i is query i and column
    j is key j: every score with j > i (above the diagonal) is the future and must be hidden. Setting it
    to -inf hides it completely, because the softmax that follows turns exp(-inf) into a weight of 0.
    The diagonal (j == i) stays: a token may look at itself.

    Flash Attention applies this exact rule inside its tiles. It also notices that a tile lying wholly
    above the diagonal would be all -inf, and skips it: that halves the work of causal attention.

THE ALGORITHM
    1. View the scores as (B*H, S, S) and allocate a NEW output of the same shape (never change the input).
    2. Launch a 3-D grid of tiles: (cdiv(S, BLOCK_M), cdiv(S, BLOCK_N), B*H).
    3. Program (pid_m, pid_n, bh) computes the GLOBAL indices of its tile:
           rows = pid_m*BLOCK_M + arange(BLOCK_M)       cols = pid_n*BLOCK_N + arange(BLOCK_N)
    4. Load the tile (masked: rows < S and cols < S).
    5. Where cols > rows, replace the value with -inf; store the tile (same mask).

SHAPES AND DTYPES
    scores : float32 (B, H, S, S), S >= 1 any length
    returns a new float32 (B, H, S, S): scores with every j > i set to -inf

CHECK YOUR WORK
    pytest --level 5          the quest's checks (S = 1, ragged S, several heads)
    pytest --hint 5           the next hint, if you are stuck
    python katas/level5_causal_mask.py    a quick local self-check
"""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_mask_kernel(
    x_ptr, out_ptr,
    S,
    stride_xh, stride_xi, stride_xj,
    stride_oh, stride_oi, stride_oj,
    BLOCK: tl.constexpr,
):
    # one program per score row: row i of head bh, walked left to right in chunks
    i = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    x_row = x_ptr + bh * stride_xh + i * stride_xi
    o_row = out_ptr + bh * stride_oh + i * stride_oi
    for j0 in range(0, i + 1, BLOCK):
        j = j0 + tl.arange(0, BLOCK)
        inside = j < S
        vals = tl.load(x_row + j * stride_xj, mask=inside, other=0.0)
        vals = tl.where(j > i, float("-inf"), vals)
        tl.store(o_row + j * stride_oj, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H, S, S)
    out = torch.empty_like(x)  # a new tensor: the caller's scores must stay as they were
    BLOCK = 32
    grid = (S, B * H)
    causal_mask_kernel[grid](
        x, out, S,
        x.stride(0), x.stride(1), x.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        BLOCK=BLOCK,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    scores = torch.randn(2, 3, 77, 77, device=device)
    future = torch.ones(77, 77, dtype=torch.bool, device=device).triu(diagonal=1)
    expected = scores.masked_fill(future, float("-inf"))
    torch.testing.assert_close(causal_mask(scores), expected)
    print("level 5 self-check passed: now run `pytest --level 5`")
