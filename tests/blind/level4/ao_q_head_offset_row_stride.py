"""Level 4 - Attention scores q @ k^T * scale, one output tile per program (author ao)."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def _qk_tile_kernel(
    q_base, k_base, o_base,
    seq, sm_scale, tiles_n,
    q_sh, q_ss, q_sd,
    k_sh, k_ss, k_sd,
    o_sh, o_si, o_sj,
    HEAD_DIM: tl.constexpr, TM: tl.constexpr, TN: tl.constexpr, TD: tl.constexpr,
):
    # axis 0 enumerates the output tiles of one head row-major, axis 1 is the (batch, head) pair
    tile = tl.program_id(0)
    head = tl.program_id(1)
    tm = tile // tiles_n
    tn = tile % tiles_n
    qi = tm * TM + tl.arange(0, TM)
    kj = tn * TN + tl.arange(0, TN)
    dd = tl.arange(0, TD)
    q_row = q_base + head * q_ss + qi[:, None] * q_ss
    k_row = k_base + head * k_sh + kj[:, None] * k_ss
    q_ok = qi[:, None] < seq
    k_ok = kj[:, None] < seq
    acc = tl.zeros((TM, TN), dtype=tl.float32)
    for d0 in range(0, HEAD_DIM, TD):
        qa = tl.load(q_row + (d0 + dd)[None, :] * q_sd, mask=q_ok, other=0.0)
        kb = tl.load(k_row + (d0 + dd)[None, :] * k_sd, mask=k_ok, other=0.0)
        acc += tl.dot(qa, tl.trans(kb))
    acc = acc * sm_scale
    dst = o_base + head * o_sh + qi[:, None] * o_si + kj[None, :] * o_sj
    tl.store(dst, acc, mask=(qi[:, None] < seq) & (kj[None, :] < seq))


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    qf = q.reshape(B * H, S, D)
    kf = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    TM, TN = 32, 64
    TD = min(D, 32)
    tiles_m = triton.cdiv(S, TM)
    tiles_n = triton.cdiv(S, TN)
    grid = (tiles_m * tiles_n, B * H)
    _qk_tile_kernel[grid](
        qf, kf, out, S, scale, tiles_n,
        qf.stride(0), qf.stride(1), qf.stride(2),
        kf.stride(0), kf.stride(1), kf.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        HEAD_DIM=D, TM=TM, TN=TN, TD=TD,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 64, device=device)
    k = torch.randn(2, 3, 77, 64, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(64)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("ok")
