"""Level 3 - Softmax: stable for any logits, and for rows of any width.

THE IDEA
    softmax(x)_j = exp(x_j) / sum_k exp(x_k) turns a row of scores into weights that are positive and
    sum to 1. Attention applies it to every row of q @ k^T. Two facts make it a kernel worth writing:
    - exp overflows float32 for inputs above ~88 (exp(89) = inf, and inf / inf = NaN). But
      softmax(x) = softmax(x - c) for any constant c, so subtract the row maximum first: every exponent
      is then <= 0, nothing overflows, and the answer is exactly the same.
    - A row can be wider than one block (tens of thousands of columns do not fit in registers). Then
      you walk it in blocks, keeping a running maximum m and a running sum l of exp(x - m). When a new
      block raises the maximum, the terms already in l were computed against a smaller m and are too
      large by exp(m_new - m); multiplying l by exp(m - m_new) fixes them all at once.
    That running rescale, the *online softmax*, is the heart of Flash Attention (levels 7 and 8).

THE ALGORITHM
    One program per row: grid = (M,).
    Narrow rows, N <= MAX_SINGLE_BLOCK: the row fits one block of BLOCK = next_power_of_2(N) lanes.
        x = the row, lanes past N loaded as -inf (they never win the max and add exp(-inf) = 0)
        e = exp(x - max(x)); store e / sum(e)
    Wide rows: blocks of WIDE_BLOCK lanes, two passes over the row.
        pass 1: m = -inf, l = 0
                for each block: m_new = max(m, max(block))
                                l = l * exp(m - m_new) + sum(exp(block - m_new))
                                m = m_new
        pass 2: for each block: store exp(block - m) / l
    Do the arithmetic in float32 (load, then .to(tl.float32)) and store in the output's dtype.

SHAPES AND DTYPES
    x : (M, N), any M, N >= 1 (N may be far wider than 1024), float32 or float16 (bfloat16 on a GPU)
    returns a new (M, N) tensor in x's dtype: the softmax of each row

CHECK YOUR WORK
    pytest --level 3          the quest's checks (wide rows, large and very negative logits, both dtypes)
    pytest --hint 3           the next hint, if you are stuck
    python katas/level3_softmax.py    a quick local self-check
"""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

# Rows up to this width are done in one block; wider rows are walked WIDE_BLOCK columns at a time.
MAX_SINGLE_BLOCK = 1024
WIDE_BLOCK = 1024


@triton.jit
def softmax_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    # one program per row; the row is walked BLOCK columns at a time (one step when it fits)
    row = tl.program_id(axis=0).to(tl.int64)
    x_row = x_ptr + row * stride_x
    out_row = out_ptr + row * stride_out
    offs = tl.arange(0, BLOCK)

    # pass 1: running max and running sum of exp(x - max)
    m = tl.full((), float("-inf"), dtype=tl.float32)
    l = tl.zeros((), dtype=tl.float32)
    for start in range(0, N, BLOCK):
        cols = start + offs
        x = tl.load(x_row + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m, tl.max(x, axis=0))
        l = l + tl.sum(tl.exp(x - m_new), axis=0)
        m = m_new

    # pass 2: normalise and write
    for start in range(0, N, BLOCK):
        cols = start + offs
        x = tl.load(x_row + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
        y = tl.exp(x - m) / l
        tl.store(out_row + cols, y.to(out_ptr.dtype.element_ty), mask=cols < N)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    out = torch.empty_like(x)
    grid = (M,)
    if N <= MAX_SINGLE_BLOCK:
        block = triton.next_power_of_2(N)
    else:
        block = WIDE_BLOCK
    softmax_kernel[grid](x, out, N, x.stride(0), out.stride(0), BLOCK=block)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1000, 3000):
        x = torch.randn(8, n, device=device) * 5 + 1000  # large logits, narrow and wide rows
        torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1))
    print("level 3 self-check passed: now run `pytest --level 3`")
