"""Level 8 - Flash Attention (author an): one launch, online softmax in base 2, causal tiles skipped.

Grid: (batch*heads, query tiles). Each program keeps a (BLOCK_M, D) query tile in registers and streams
key/value tiles in two sweeps: the full tiles every row sees entirely (no mask), then the diagonal or
ragged tiles (masked). Key tiles wholly in the future of a causal query tile are never visited.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634


@triton.jit
def _online_step(
    o_acc, row_sum, row_max, q_tile,
    k_head, v_head, stride_s, n0, q_pos, S, qk_scale,
    EDGE: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
):
    k_pos = n0 + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    offs = k_pos[:, None] * stride_s + dims[None, :]
    if EDGE:
        k_tile = tl.load(k_head + offs, mask=k_pos[:, None] < S, other=0.0)
        v_tile = tl.load(v_head + offs, mask=k_pos[:, None] < S, other=0.0)
    else:
        k_tile = tl.load(k_head + offs)
        v_tile = tl.load(v_head + offs)
    logits = tl.dot(q_tile, tl.trans(k_tile)) * qk_scale  # log2 units
    if EDGE:
        hide = k_pos[None, :] >= S
        if CAUSAL:
            hide = hide | (k_pos[None, :] > q_pos[:, None])
        logits = tl.where(hide, float("-inf"), logits)
    new_max = tl.maximum(row_max, tl.max(logits, axis=1))
    shrink = tl.exp2(row_max - new_max)
    weights = tl.exp2(logits - new_max[:, None])
    row_sum = row_sum * shrink + tl.sum(weights, axis=1)
    o_acc = o_acc * shrink[:, None]
    o_acc = tl.dot(weights.to(v_tile.dtype), v_tile, o_acc)
    return o_acc, row_sum, new_max


@triton.jit
def flash_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    bh = tl.program_id(0)
    q_blk = tl.program_id(1)
    head_off = bh.to(tl.int64) * stride_bh
    q_head = q_ptr + head_off
    k_head = k_ptr + head_off
    v_head = v_ptr + head_off

    q_pos = q_blk * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    q_tile = tl.load(q_head + q_pos[:, None] * stride_s + dims[None, :], mask=q_pos[:, None] < S, other=0.0)

    row_max = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    row_sum = tl.zeros((BLOCK_M,), tl.float32)
    o_acc = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32)

    if CAUSAL:
        clean_end = q_blk * BLOCK_M
        edge_end = tl.minimum((q_blk + 1) * BLOCK_M, S)
    else:
        clean_end = (S // BLOCK_N) * BLOCK_N
        edge_end = S

    for n0 in range(0, clean_end, BLOCK_N):
        o_acc, row_sum, row_max = _online_step(
            o_acc, row_sum, row_max, q_tile, k_head, v_head, stride_s, n0, q_pos, S, qk_scale,
            False, CAUSAL, BLOCK_N, HEAD_DIM,
        )
    for n0 in range(clean_end, edge_end, BLOCK_N):
        o_acc, row_sum, row_max = _online_step(
            o_acc, row_sum, row_max, q_tile, k_head, v_head, stride_s, n0, q_pos, S, qk_scale,
            True, CAUSAL, BLOCK_N, HEAD_DIM,
        )

    result = o_acc / row_sum[:, None]
    tl.store(out_ptr + head_off + q_pos[:, None] * stride_s + dims[None, :],
             result.to(out_ptr.dtype.element_ty), mask=q_pos[:, None] < S)


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    if INTERPRETED:
        BLOCK_M, BLOCK_N, warps = 32, 16, 4
    else:
        BLOCK_M, BLOCK_N, warps = 64, 32, 4
    grid = (B * H, triton.cdiv(S, BLOCK_M))
    flash_attention_kernel[grid](
        q, k, v, out, S, scale * LOG2E,
        q.stride(1), q.stride(2),
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=warps,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(flash_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 8 self-check passed")
