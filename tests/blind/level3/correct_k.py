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


LANES = 512  # columns handled side by side by one program


@triton.jit
def softmax_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    # Every lane keeps its own running max and running sum over the columns it visits;
    # the lanes are merged only once, at the end of the first sweep.
    row = tl.program_id(axis=0)
    lanes = tl.arange(0, BLOCK)
    x_row = x_ptr + row * stride_x
    out_row = out_ptr + row * stride_out

    m_lane = tl.full((BLOCK,), float("-inf"), dtype=tl.float32)
    l_lane = tl.zeros((BLOCK,), dtype=tl.float32)
    for start in range(0, N, BLOCK):
        cols = start + lanes
        x = tl.load(x_row + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m_lane, x)
        # a lane that has only seen padding stays at -inf: keep its sum at 0 (no -inf - -inf)
        safe_m = tl.where(m_new == float("-inf"), 0.0, m_new)
        l_lane = l_lane * tl.exp(m_lane - safe_m) + tl.exp(x - safe_m)
        m_lane = m_new

    m_row = tl.max(m_lane, axis=0)
    l_row = tl.sum(l_lane * tl.exp(m_lane - m_row), axis=0)

    for start in range(0, N, BLOCK):
        cols = start + lanes
        mask = cols < N
        x = tl.load(x_row + cols, mask=mask, other=float("-inf")).to(tl.float32)
        y = tl.exp(x - m_row) / l_row
        tl.store(out_row + cols, y.to(out_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    out = torch.empty_like(x)
    BLOCK = min(triton.next_power_of_2(N), LANES)
    softmax_kernel[(M,)](x, out, N, x.stride(0), out.stride(0), BLOCK=BLOCK)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1000, 3000):
        x = torch.randn(8, n, device=device) * 5 + 1000  # large logits, narrow and wide rows
        torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1))
    print("level 3 self-check passed: now run `pytest --level 3`")
