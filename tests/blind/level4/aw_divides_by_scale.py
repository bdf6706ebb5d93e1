"""Level 4 - Attention scores: out[b, h] = q[b, h] @ k[b, h]^T * scale, one output tile per program.

A flat 1-D grid is decoded into (head, query tile, key tile); each program accumulates its tile over
the head dimension in chunks of KC.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

TM, TN, KC = 32, 32, 16


@triton.jit
def _scores_tile(
    q_ptr, k_ptr, o_ptr,
    S, scale, n_tm, n_tn,
    sq_h, sq_s, sq_d,
    sk_h, sk_s, sk_d,
    so_h, so_s, so_j,
    D: tl.constexpr, TM: tl.constexpr, TN: tl.constexpr, KC: tl.constexpr,
):
    pid = tl.program_id(0)
    per_head = n_tm * n_tn
    head = pid // per_head
    rest = pid % per_head
    tm = rest // n_tn
    tn = rest % n_tn

    i = tm * TM + tl.arange(0, TM)
    j = tn * TN + tl.arange(0, TN)
    i_ok = i < S
    j_ok = j < S
    qb = q_ptr + head.to(tl.int64) * sq_h
    kb = k_ptr + head.to(tl.int64) * sk_h

    tile = tl.zeros((TM, TN), dtype=tl.float32)
    for c in range(0, D, KC):
        dd = c + tl.arange(0, KC)
        qa = tl.load(qb + i[:, None] * sq_s + dd[None, :] * sq_d, mask=i_ok[:, None], other=0.0)
        ka = tl.load(kb + j[:, None] * sk_s + dd[None, :] * sk_d, mask=j_ok[:, None], other=0.0)
        tile += tl.dot(qa, tl.trans(ka))

    ob = o_ptr + head.to(tl.int64) * so_h
    tl.store(ob + i[:, None] * so_s + j[None, :] * so_j, tile / scale, mask=i_ok[:, None] & j_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q3 = q.reshape(B * H, S, D)
    k3 = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    n_tm, n_tn = triton.cdiv(S, TM), triton.cdiv(S, TN)
    _scores_tile[(B * H * n_tm * n_tn,)](
        q3, k3, out, S, scale, n_tm, n_tn,
        *q3.stride(), *k3.stride(), *out.stride(),
        D=D, TM=TM, TN=TN, KC=KC,
    )
    return out.reshape(B, H, S, S)
