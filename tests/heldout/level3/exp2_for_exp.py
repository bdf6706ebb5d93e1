"""Level 3 - Softmax: one kernel, one program per row, online max/sum then a normalising pass."""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

CHUNK = 512


@triton.jit
def row_softmax_kernel(x_ptr, y_ptr, N, x_row_stride, y_row_stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    x_row = x_ptr + row * x_row_stride
    y_row = y_ptr + row * y_row_stride
    offs = tl.arange(0, BLOCK)

    # pass 1: running max and running sum of exp(x - max)
    m = float("-inf")
    s = 0.0
    for start in range(0, N, BLOCK):
        cols = start + offs
        x = tl.load(x_row + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m, tl.max(x, axis=0))
        s = s * tl.exp2(m - m_new) + tl.sum(tl.exp2(x - m_new), axis=0)
        m = m_new

    # pass 2: normalise and write
    for start in range(0, N, BLOCK):
        cols = start + offs
        x = tl.load(x_row + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
        p = tl.exp2(x - m) / s
        tl.store(y_row + cols, p.to(y_ptr.dtype.element_ty), mask=cols < N)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    y = torch.empty_like(x)
    BLOCK = min(triton.next_power_of_2(N), CHUNK)
    row_softmax_kernel[(M,)](x, y, N, x.stride(0), y.stride(0), BLOCK=BLOCK)
    return y


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1, 7, 1000, 3000):
        x = torch.randn(8, n, device=device) * 5 + 1000
        torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1))
    print("ok")
