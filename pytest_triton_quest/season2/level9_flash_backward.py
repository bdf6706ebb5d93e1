"""Level 9: the backward pass of Flash Attention, dq, dk and dv recomputed tile by tile from lse.

The quest hands over `o` and `lse` from its own float64 forward pass, so this level never depends on
the learner's level 8. The expected gradients are autograd's, in float64, of sum(o * do).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .._lazy import torch
from ..levels.attention_bench import attention_cases
from ..levels.attention_reference import attention64, scale_of, visible
from ..levels.base import Baseline, Case, Failure, Level, Mode, Tolerance, Work
from ..levels import evidence
from .replay import tried

if TYPE_CHECKING:
    import torch as torch_types

# The "large" cases multiply q and k by 8 (a power of two: no extra rounding), so scores spread over
# +-100 and exp(s) overflows in any recomputation that does not subtract lse. They are float16: in
# float32 a GPU's TF32 would round such scores by ~0.05, and a common offset instead (levels 7 and 8's
# pattern) makes dq's sum over keys cancel to 0, leaving only rounding to compare.
LARGE_FACTOR = 8.0
# Query rows per chunk when the forward statistics of a benchmark shape are computed on the GPU.
_CHUNK_ROWS = 1024


class FlashBackward(Level):
    number = 9
    name = "Flash Backward"
    kata_file = "level9_flash_backward.py"
    function = "flash_attention_backward"
    # Legend is what the hidden solution reaches, per head dimension (issue 24): the geometric mean per D of
    # the solution against SDPA's backward (default), H200, 2026-12-01.
    legend_by_head_dim = {64: 0.90, 128: 0.79}
    positional = ("q", "k", "v", "o", "lse", "do")
    # o and lse can be recomputed from q, k and v; the gradients cannot be had without these four.
    read_inputs = ("q", "k", "v", "do")
    keywords = ("causal", "scale")
    outputs = ("dq", "dk", "dv")
    output_rows = {"dk": "key rows", "dv": "key rows"}
    max_launches = 3
    concept = (
        "The backward pass of attention finds dQ, dK and dV from dO without ever storing the S x S "
        "probabilities: it recomputes them tile by tile from q, k and lse, the log-sum-exp that the forward "
        "pass kept for each query row, as P = exp(q @ k^T * scale - lse), with no running max. The calculus "
        "gives dV = P^T @ dO, dP = dO @ V^T, dS = P * (dP - delta) with delta = rowsum(dO * O), "
        "dQ = scale * dS @ K and dK = scale * dS^T @ Q. dK and dV sum over queries while dQ sums over keys, so "
        "FlashAttention-2 uses three kernels: one computes delta, one gives each program a tile of keys that "
        "walks the query tiles accumulating dK and dV, one gives each program a tile of queries that walks the "
        "key tiles accumulating dQ. Under the causal mask, tiles that cannot see each other are skipped and "
        "only the diagonal ones are masked."
    )
    hints = (
        "Nothing of size S x S may be stored, so recompute P where you need it: P[i, j] = exp(s[i, j] - lse[i]) "
        "with s = q @ k^T * scale. lse already holds the row's max and sum, so there is no online softmax here. "
        "Write down which sums produce dV, dK and dQ: over which index does each one run?",
        "The formulas: dV = P^T @ dO; dP = dO @ V^T; dS = P * (dP - delta[:, None]) where delta = rowsum(dO * O) "
        "(one float32 per query row); dQ = scale * dS @ K; dK = scale * dS^T @ Q. delta needs the whole row of O, "
        "so compute it first, in its own small kernel.",
        "Give each program of the dK/dV kernel BLOCK_N keys of one (batch, head): it loads k and v once, keeps dk "
        "and dv in float32 registers and walks the query tiles. Give each program of the dQ kernel BLOCK_M "
        "queries: it loads q, dO, lse and delta once and walks the key tiles. Three launches in all.",
        "Causal: query i sees key j when j <= i. For the key tile starting at start_n, query tiles before "
        "start_n see none of it (skip them), the queries start_n .. start_n + BLOCK_N - 1 need the mask, and the "
        "later ones need none. For dQ: keys before start_m without mask, the diagonal tile with it, later keys "
        "skipped. Hidden and padded entries must become 0 with tl.where: a hidden score can overflow exp.",
        "In the dK/dV loop work transposed (keys along rows): pT = tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - "
        "lse2[None, :]) with qk_scale = scale * log2(e) and lse2 = lse * log2(e); dv = tl.dot(pT.to(do.dtype), do, "
        "dv); dpT = tl.dot(v, tl.trans(do)); dsT = pT * (dpT - delta[None, :]); dk = tl.dot(dsT.to(q.dtype), q, dk). "
        "Padded query rows load as 0 (q, dO, lse, delta) and then add exactly nothing.",
        "In the dQ loop: p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None]); on the masked tiles "
        "p = tl.where(visible, p, 0.0) with visible = (keys < S) & (keys <= rows) when causal; dp = tl.dot(do, "
        "tl.trans(v)); ds = p * (dp - delta[:, None]); dq = tl.dot(ds.to(k.dtype), k, dq). Store dk * scale, dv "
        "and dq * scale in q's dtype, masked to rows < S.",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        rows = [
            _row("fp32", 1, 1, 1, 16, True, "a single token: S = 1, where dq and dk are exactly 0"),
            _row("fp16", 1, 2, 1, 32, False, "a single token without the causal mask"),
            _row("fp32", 1, 2, 17, 16, True, "causal, S = 17: one full tile of queries and a ragged one"),
            _row("fp32", 2, 1, 77, 32, True, "causal, ragged S, two sequences in the batch"),
            _row("fp32", 1, 2, 77, 32, False, "non-causal, ragged S, an explicit scale", scale=0.3),
            _row("fp32", 1, 1, 130, 16, True, "causal with a negative scale: the largest score comes from the smallest q . k", scale=-0.2),
            _row("fp16", 1, 1, 130, 64, False, "non-causal in half precision, D = 64"),
            _row("fp16", 1, 2, 64, 16, True, "large scores (about 100): exp(s - lse) must subtract lse", large=True),
            _row("fp16", 1, 1, 70, 32, False, "large scores in half precision, non-causal", large=True),
            _row("fp16", 1, 1, 100, 128, True, "causal, D = 128"),
        ]
        if mode.on_gpu:
            rows += [
                _row("fp16", 2, 3, 1000, 64, True, "a long ragged causal sequence"),
                _row("bf16", 1, 2, 777, 128, False, "bfloat16, non-causal, D = 128, explicit scale", scale=0.1),
                _row("bf16", 1, 2, 513, 64, True, "bfloat16, causal, a negative scale", scale=-0.125),
                _row("fp32", 1, 2, 300, 128, True, "float32 (TF32 in tl.dot on the GPU), causal, D = 128"),
                _row("fp16", 1, 1, 1, 64, True, "a single token, compiled"),
                _row("fp16", 1, 2, 200, 64, False, "large scores on a longer sequence", large=True),
            ]
        return rows

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        p = case.params
        shape = (p["B"], p["H"], p["S"], p["D"])
        on_gpu = case.purpose == "benchmark" and torch.cuda.is_available()
        if on_gpu:  # benchmark shapes are made where they are timed: the CPU would take seconds each
            generator = _cuda_generator(generator)
        device = "cuda" if on_gpu else "cpu"
        q, k, v, do = (torch.randn(shape, generator=generator, device=device) for _ in range(4))
        if p.get("large"):
            q, k = q * LARGE_FACTOR, k * LARGE_FACTOR
        dtype = case.torch_dtype
        q, k, v, do = (t.to(dtype) for t in (q, k, v, do))
        inputs: dict[str, Any] = {"q": q, "k": k, "v": v, "do": do, "causal": p["causal"]}
        if "scale" in p:
            inputs["scale"] = p["scale"]
        o, lse = _forward_on_gpu(inputs) if on_gpu else _forward64(inputs)
        inputs["o"], inputs["lse"] = o.to(dtype), lse.to(torch.float32)
        return inputs

    def reference(self, inputs: dict[str, Any], case: Case) -> tuple["torch_types.Tensor", ...]:
        q, k, v = (inputs[name].to(torch.float64).requires_grad_() for name in ("q", "k", "v"))
        o = attention64(q, k, v, _visible(inputs), scale_of(inputs))
        dq, dk, dv = torch.autograd.grad(o, (q, k, v), inputs["do"].to(torch.float64))
        return dq.detach(), dk.detach(), dv.detach()

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # Gradients are sums over up to S terms, so errors are relative to their size, and five matmuls
        # stand between the inputs and dq or dk (s, dp, then ds @ k or ds^T @ q), with the cancellation
        # dp - delta in between. Measured worst errors of the hidden solution on the CPU: 2e-5 (fp32),
        # 1.1e-2 (fp16, large scores, where |dk| reaches ~50).
        # - float32 on the CPU: 2e-3 as levels 6 to 8; on a GPU tl.dot runs in TF32 (10-bit mantissa),
        #   five times over, and the difference dp - delta loses digits: 2e-2.
        # - float16: p and ds are rounded to float16 (2^-11) before their dots, dq/dk/dv themselves too.
        # - bfloat16: the same roundings with a 3-bit shorter mantissa.
        if case.dtype == "fp32":
            return Tolerance(atol=2e-2, rtol=2e-2) if mode.on_gpu else Tolerance(atol=2e-3, rtol=2e-3)
        if case.dtype == "fp16":
            return Tolerance(atol=2e-2, rtol=2e-2)
        return Tolerance(atol=8e-2, rtol=5e-2)

    def sxs_elements(self, inputs: dict[str, Any]) -> int | None:
        B, H, S, D = inputs["q"].shape
        return B * H * S * S if S > D else None

    # ----- benchmarks ---------------------------------------------------------------------------
    def benchmark_cases(self) -> list[Case]:
        # Levels 6 to 8's grid without S = 16k: a backward call there takes tens of milliseconds and
        # the row adds little to the picture that 1k and 4k give.
        return attention_cases((1024, 4096))

    def baselines(self) -> dict[str, Baseline]:
        return {"sdpa": _sdpa_backward(None), "sdpa-flash": _sdpa_backward("flash")}

    def work(self, case: Case) -> Work:
        p = case.params
        # FlashAttention-2's convention: the backward does 2.5 times the forward's matmul FLOPs.
        forward = 4.0 * p["B"] * p["H"] * p["S"] * p["S"] * p["D"] * (0.5 if p["causal"] else 1.0)
        element = 2 if case.dtype in ("fp16", "bf16") else 4
        # Read q, k, v, o, do and the float32 lse; write dq, dk, dv.
        rows = p["B"] * p["H"] * p["S"]
        return Work(flops=2.5 * forward, bytes=8.0 * rows * p["D"] * element + 4.0 * rows)

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        return diagnose_backward(failure)


def _row(dtype: str, B: int, H: int, S: int, D: int, causal: bool, purpose: str, scale: float | None = None, large: bool = False) -> Case:
    params: dict[str, Any] = {"B": B, "H": H, "S": S, "D": D, "causal": causal}
    case_id = f"{dtype}-{B}x{H}x{S}x{D}-{'causal' if causal else 'full'}"
    if scale is not None:
        params["scale"] = scale
        case_id += f"-scale{scale:g}"
    if large:
        params["large"] = True
        case_id += "-large"
    return Case(id=case_id, dtype=dtype, purpose=purpose, params=params)


def _visible(inputs: dict[str, Any]) -> "torch_types.Tensor":
    return visible(inputs["q"].shape[-2], "causal" if inputs["causal"] else "all")


def _scores64(inputs: dict[str, Any]) -> "torch_types.Tensor":
    q, k = (inputs[name].to(torch.float64) for name in ("q", "k"))
    scores = (q @ k.transpose(-1, -2)) * scale_of(inputs)
    return scores.masked_fill(~_visible(inputs), float("-inf"))


def _forward64(inputs: dict[str, Any]) -> tuple["torch_types.Tensor", "torch_types.Tensor"]:
    scores = _scores64(inputs)
    lse = torch.logsumexp(scores, dim=-1)
    return torch.exp(scores - lse[..., None]) @ inputs["v"].to(torch.float64), lse


def _forward_on_gpu(inputs: dict[str, Any]) -> tuple["torch_types.Tensor", "torch_types.Tensor"]:
    """o and lse of a benchmark shape, in float32 on the GPU a chunk of query rows at a time (the
    float64 scores of S = 16k would not fit in memory): realistic inputs, not a reference. They stay
    on the GPU, where the benchmark uses them."""
    q, k, v = (inputs[name].to("cuda", torch.float32) for name in ("q", "k", "v"))
    S = q.shape[-2]
    scale = scale_of(inputs)
    outs, lses = [], []
    keys = torch.arange(S, device="cuda")
    for start in range(0, S, _CHUNK_ROWS):
        rows = torch.arange(start, min(start + _CHUNK_ROWS, S), device="cuda")
        scores = (q[..., rows, :] @ k.transpose(-1, -2)) * scale
        if inputs["causal"]:
            scores = scores.masked_fill(keys[None, :] > rows[:, None], float("-inf"))
        lse = torch.logsumexp(scores, dim=-1)
        outs.append(torch.exp(scores - lse[..., None]) @ v)
        lses.append(lse)
    return torch.cat(outs, dim=-2), torch.cat(lses, dim=-1)


def _cuda_generator(generator: "torch_types.Generator") -> "torch_types.Generator":
    """A CUDA generator seeded from the case's CPU one: the same inputs run after run."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device="cuda").manual_seed(seed)


def _sdpa_backward(backend: str | None) -> Baseline:
    """SDPA's backward alone: the forward graph is built once per input set, outside the timing."""
    graph: dict[str, Any] = {}

    def backward(inputs: dict[str, Any]) -> Any:
        if graph.get("inputs") is not inputs:
            import contextlib

            from torch.nn.attention import SDPBackend, sdpa_kernel

            leaves = tuple(inputs[name].detach().requires_grad_() for name in ("q", "k", "v"))
            chosen = sdpa_kernel(SDPBackend.FLASH_ATTENTION) if backend == "flash" else contextlib.nullcontext()
            with chosen:
                o = torch.nn.functional.scaled_dot_product_attention(
                    *leaves, is_causal=inputs["causal"], scale=inputs.get("scale")
                )
            graph.update(inputs=inputs, o=o, leaves=leaves)
        return torch.autograd.grad(graph["o"], graph["leaves"], inputs["do"], retain_graph=True)

    return backward


# ----- diagnosis -----------------------------------------------------------------------------------
_LN2 = math.log(2.0)


def _backward64(
    inputs: dict[str, Any], *, lse_units: float = 1.0, normalise: bool = True, subtract_delta: bool = True,
    delta_of: str = "do*o", dv_from_ds: bool = False, seen: "torch_types.Tensor | None" = None,
    score_units: float = 1.0, mask_multiplied: "torch_types.Tensor | None" = None, delta_by_key: bool = False,
    lse_of: str = "", times: "torch_types.Tensor | None" = None, delta_tile: int = 0, delta_key_tile: int = 0,
    p_in_ds: bool = True,
) -> dict[str, "torch_types.Tensor"]:
    """The backward pass written out in float64, with switches that replay known bugs. `seen`: the
    (query, key) pairs the gradient kernels visit, where not the right mask (lse stays the forward's).
    `mask_multiplied`: the pairs a kernel visits; P of each taken in float32's exp range, then
    multiplied by the causal mask, so a hidden pair whose exp overflowed gives inf * 0 = NaN.
    `lse_of`: "head 0" or "slice 0", every head (of each batch, or of all) reads that one's lse.
    `times`: how many times the kernels visit each (query, key) pair, mask or not (0: never).
    `delta_of`: the product delta sums over d per query row: "do*o" (right), "do", "o*o" or "do*do".
    `delta_tile`: square tiles of that width whose delta vector (of the tile's queries) is broadcast
    along the other axis: pair (i, j) subtracts the delta of the query at j's place in the tile,
    delta[(i // w) * w + j % w] (0 past the last query, as a masked load gives). `delta_key_tile`: delta
    loaded once at the key tile's rows, pair (i, j) subtracting delta[(j // w) * w + i % w]. `p_in_ds`:
    False leaves P out of dS (dS = dP - delta)."""
    scores = _scores64(inputs)
    lse = torch.logsumexp(scores, dim=-1)
    if lse_of:
        lse = (lse[:, :1] if lse_of == "head 0" else lse[:1, :1]).expand_as(lse)
    if seen is not None or mask_multiplied is not None or times is not None:
        q64, k64 = (inputs[name].to(torch.float64) for name in ("q", "k"))
        scores = (q64 @ k64.transpose(-1, -2)) * scale_of(inputs)
        if seen is not None:
            scores = scores.masked_fill(~seen, float("-inf"))
    if mask_multiplied is not None:
        multiplied = torch.exp((scores - lse[..., None]).float()).double() * _visible(inputs)
        p = torch.where(mask_multiplied, multiplied, torch.zeros_like(multiplied))
    elif normalise:
        p = torch.exp(scores * score_units - lse[..., None] * lse_units)
    else:
        p = torch.exp(scores)
    if times is not None:
        p = p * times
    q, k, v, do = (inputs[name].to(torch.float64) for name in ("q", "k", "v", "do"))
    scale = scale_of(inputs)
    o = torch.softmax(_scores64(inputs), dim=-1) @ v  # o comes from the forward pass, whatever the walk
    factors = {"do*o": (do, o), "do": (do, torch.ones_like(do)), "o*o": (o, o), "do*do": (do, do)}[delta_of]
    delta = (factors[0] * factors[1]).sum(-1)
    dp = do @ v.transpose(-1, -2)
    if not p_in_ds:  # on the visible pairs only: which hidden pairs a kernel visits depends on its tiles
        ds = (dp - delta[..., None]) * _visible(inputs)
    elif not subtract_delta:
        ds = p * dp
    elif delta_by_key:  # delta[j] of key j where delta[i] of query i belongs (as many keys as queries)
        ds = p * (dp - delta[..., None, :])
    elif delta_tile or delta_key_tile:
        S, width = delta.shape[-1], delta_tile or delta_key_tile
        rows, cols = torch.arange(S)[:, None], torch.arange(S)[None, :]
        if delta_tile:
            index = (rows // width) * width + cols % width
        else:
            index = (cols // width) * width + rows % width
        padded = torch.cat([delta, delta.new_zeros(*delta.shape[:-1], width)], dim=-1)
        ds = p * (dp - padded[..., index])
    else:
        ds = p * (dp - delta[..., None])
    dv = (ds if dv_from_ds else p).transpose(-1, -2) @ do
    return {"dq": scale * ds @ k, "dk": scale * ds.transpose(-1, -2) @ q, "dv": dv}


def diagnose_backward(failure: Failure) -> list[str]:
    inputs, name, wrong = failure.inputs, failure.output, failure.wrong_outputs
    scale = scale_of(inputs)
    replays = [
        (dict(delta_of="do"), "likely: delta is not rowsum(dO * O): it needs O (delta = sum over d of do * o, per query row)"),
        (dict(delta_of="o*o"), "likely: delta is rowsum(O * O): the load meant for dO reads O (delta = sum over d of do * o, per query row)"),
        (dict(delta_of="do*do"), "likely: delta is rowsum(dO * dO): the load meant for O reads dO (delta = sum over d of do * o, per query row)"),
        (dict(subtract_delta=False), "likely: dS = P * (dP - delta): delta is not subtracted"),
        (dict(normalise=False), "likely: P is recomputed without lse: P = exp(s - lse[i]), the softmax's own normaliser"),
        (dict(lse_units=_LN2), "likely: lse is used in natural-log units beside exp2: with exp2, use lse * log2(e) too"),
        (dict(dv_from_ds=True), "likely: dv is accumulated from dS^T; dV = P^T @ dO"),
        (dict(p_in_ds=False), "likely: dS leaves out its factor P: the softmax's backward is dS = P * (dP - delta), "
         "not dP - delta"),
        (dict(lse_of="head 0"), "likely: lse is read without its head offset: every head uses head 0's lse (of its "
         "batch); lse is (B, H, S), so head bh's rows start at bh * S"),
        (dict(lse_of="slice 0"), "likely: lse is read without its (batch, head) offset: every head uses the lse of "
         "batch 0, head 0; lse is (B, H, S), so head bh's rows start at bh * S"),
        (dict(delta_by_key=True), "likely: delta is taken at the key's index, not the query's: dS[i, j] = P[i, j] * "
         "(dP[i, j] - delta[i]), with delta of query row i (in a tile with keys along the rows, load delta at the "
         "query columns)"),
    ]
    for width in _BLOCK_WIDTHS:
        if width < inputs["q"].shape[-2]:  # one tile holds every query: the key-index replay above covers it
            replays.append((
                dict(delta_tile=width),
                "likely: delta is broadcast along the wrong axis of the tile: dS[i, j] = P[i, j] * (dP[i, j] - delta[i]) "
                "needs the delta of query row i, but each pair subtracts the delta of the query at the key's place "
                "in the tile (delta[None, :] where delta[:, None] belongs, or the reverse in a tile with keys along "
                "the rows)",
            ))
            replays.append((
                dict(delta_key_tile=width),
                "likely: delta is loaded at the key tile's rows (once, before the walk over query tiles): each query "
                "tile subtracts delta[start_n + i % BLOCK] instead of its own queries' delta[i]; load delta at the "
                "query tile's rows inside the walk",
            ))
    if inputs["causal"]:
        # The pairs a causal walk of tiles `width` wide visits: its own tile on the diagonal
        # included, hidden pairs and all (queries along the rows of dq, keys along those of dk, dv).
        S = inputs["q"].shape[-2]
        rows, cols = torch.arange(S)[:, None], torch.arange(S)[None, :]
        for width in _BLOCK_WIDTHS:
            walked = cols < (rows // width + 1) * width if name == "dq" else rows >= (cols // width) * width
            replays.append((
                dict(mask_multiplied=walked),
                "likely: the causal mask is applied by multiplying P by it: a hidden pair whose score lies far above "
                "lse overflows exp to inf, and inf * 0 is NaN; hide those pairs with tl.where (or give their scores "
                "-inf before the exp)",
            ))
    # P recomputed in mixed units: exp against exp2, log2(e) folded into the scores or the lse or not.
    units = {1.0: "natural", _LOG2E: "log2(e) times", _LN2: "ln(2) times"}
    for score_units in units:
        for lse_units in units:
            if (score_units, lse_units) in ((1.0, 1.0), (1.0, _LN2)):
                continue  # the right P, and the lse replay above
            replays.append((dict(score_units=score_units, lse_units=lse_units), _units_note(score_units, lse_units)))
    for switches, note in replays:
        # Masks multiplied in and delta tiles are replayed per tile width, which the lines do not claim;
        # dS without P is replayed on the visible pairs, where a kernel's tiles add hidden ones.
        per_tile = {"mask_multiplied", "delta_tile", "delta_key_tile", "p_in_ds"} & set(switches)
        if tried(failure, _backward64(inputs, **switches)[name], note, exact=not per_tile):
            return [note]
    for factor, text in ((1.0 / scale if scale else 0.0, "not multiplied by the scale"), (scale, "multiplied by the scale twice"), (_LOG2E, "multiplied by log2(e) (the exp2 scale, qk_scale, instead of the scale)")):
        note = f"likely: {name} is {text}: {name} = scale * (dS @ {'k' if name == 'dq' else 'q'})"
        if name in ("dq", "dk") and factor not in (0.0, 1.0) and tried(failure, failure.ref * factor, note):
            return [note]
    dv_scaled = "likely: dv is multiplied by the scale: only dq and dk carry it (dV = P^T @ dO)"
    if name == "dv" and scale != 1.0 and tried(failure, failure.ref * scale, dv_scaled):
        return [dv_scaled]
    if inputs["q"].shape[-2] == 1:
        return []  # one token: dq and dk vanish whatever the kernel does, so which are wrong says little
    return _walk_notes(failure)


_LOG2E = 1.4426950408889634


def _units_text(units: float) -> str:
    return "" if units == 1.0 else ("log2(e) * " if units == _LOG2E else "ln(2) * ")


def _units_note(score_units: float, lse_units: float) -> str:
    """What P = exp(a * s - b * lse) says, for the (a, b) a replay found: which of the two factors,
    log2(e) for exp2 or none for exp, is off."""
    found = f"P is recomputed as exp({_units_text(score_units)}s - {_units_text(lse_units)}lse), not exp(s - lse)"
    if score_units == _LN2:
        return f"likely: {found}: the scores reach exp2 without log2(e); with exp2, qk_scale must be scale * log2(e)"
    if score_units == _LOG2E and lse_units == _LOG2E:
        return f"likely: {found}: s and lse are in log2 units but exponentiated with exp; use exp2 there"
    return f"likely: {found}: with exp use s - lse; with exp2 multiply both s and lse by log2(e)"


# Tile sizes a gradient kernel may use; a walk that skips or leaves unmasked the diagonal tile is
# replayed with each.
_BLOCK_WIDTHS = (16, 32, 64, 128)


def _walk_notes(failure: Failure) -> list[str]:
    """Which (query, key) pairs the kernel that wrote this output visited, replayed: the causal mask
    left out, the diagonal tile skipped, or the diagonal tile visited without the mask."""
    inputs, name = failure.inputs, failure.output
    S = inputs["q"].shape[-2]
    kernel = "the dq kernel" if name == "dq" else "the dk/dv kernel"
    walks: list[tuple["torch_types.Tensor", str]] = []
    if inputs["causal"]:
        walks.append((visible(S, "all"), f"likely: {kernel} applies no causal mask: future keys (j > i) get weight"))
        walks.append((visible(S, "strict"), f"likely: in {kernel} the diagonal is masked too (j >= i hidden): query i sees keys 0..i, so hide only j > i"))
        for width in (w for w in _BLOCK_WIDTHS if w < S):
            walks.append((
                visible(S, "below_tile", width),
                f"likely: {kernel} skips the diagonal tile: the (query, key) tile on the diagonal must be visited, "
                "with the causal mask j <= i inside it",
            ))
            walks.append((
                visible(S, "whole_tile", width),
                f"likely: {kernel} visits the diagonal tile without the causal mask: inside it, keys j > i must get P = 0",
            ))
        # The causal test inside the diagonal tile written the wrong way round (j >= i kept), for each
        # tile width up to one tile that holds the whole sequence.
        # The same test flipped in every tile the walk visits (the walk starting at the diagonal tile):
        # the tiles past the diagonal, where every key is before every query, then lose all weight.
        rows, cols = torch.arange(S)[:, None], torch.arange(S)[None, :]
        flipped = (
            f"likely: in {kernel} the causal test inside the diagonal tile is flipped: it keeps keys j >= i and "
            "hides j < i; keep j <= i (in a tile with keys along the rows: key <= query)"
        )
        for width in [w for w in _BLOCK_WIDTHS if w < S] + [w for w in _BLOCK_WIDTHS if w >= S][:1]:
            below, same = cols // width < rows // width, cols // width == rows // width
            walks.append((below | (same & (cols >= rows)), flipped))
            if width < S:
                walks.append((same & (cols >= rows), flipped))
    # Walks of tiles (skipped, unmasked or flipped diagonal tiles) are replayed per tile width, which
    # their lines do not claim: only the two that need no tile can be ruled out.
    exact = {walks[0][1], walks[1][1]} if inputs["causal"] else set()
    notes = [note for seen, note in walks if tried(failure, _backward64(inputs, seen=seen)[name], note, exact=note in exact)]
    if inputs["causal"]:
        for width in (w for w in _BLOCK_WIDTHS if w < S):
            twice = (
                f"likely: {kernel} visits the diagonal tile twice, the second time without the causal mask: "
                + ("its unmasked walk over query tiles starts at start_n, on the diagonal; start it at "
                   "start_n + BLOCK_N" if name != "dq" else "its unmasked walk over key tiles runs into the "
                   "diagonal tile; stop it at start_m, where the masked walk begins")
            )
            if tried(failure, _backward64(inputs, times=_diagonal_twice(S, width, name))[name], twice, exact=False):
                notes.append(twice)
    return list(dict.fromkeys(notes)) or _walk_ranges(failure)


def _diagonal_twice(S: int, width: int, name: str) -> "torch_types.Tensor":
    """(S, S) visits of each (query i, key j) pair when the tile of `width` on the diagonal is walked
    twice, once with the causal mask and once without, and every pair below it once. The tile is
    the key's (dk, dv: a key tile walks its queries) or the query's (dq)."""
    rows, cols = torch.arange(S)[:, None], torch.arange(S)[None, :]
    own = (cols // width) * width if name != "dq" else (rows // width) * width
    same = (rows >= own) & (rows < own + width) & (cols >= own) & (cols < own + width)
    return (rows >= cols).double() + same.double()


_MOST_WALK_S = 256  # the per-pair contributions of a longer sequence take too much memory to replay
_WALK_STEP = 16  # walk bounds are tried at multiples of this (every tile width a kernel uses is one)


def _walk_ranges(failure: Failure) -> list[str]:
    """Which range of the other axis each wrong row of this gradient sums, found row by row: a row of
    dk or dv (a key) is a sum over queries, a row of dq (a query) a sum over keys, so a walk that
    starts or stops elsewhere, or drops the causal mask, gives a row that the sum over another range
    reproduces exactly. Named only when every wrong row examined has such a range."""
    inputs, name = failure.inputs, failure.output
    B, H, S, D = inputs["q"].shape
    if S < 2 or S > _MOST_WALK_S:
        return []
    per_slice = failure.bad.reshape(B * H, S, -1).any(dim=2)
    worst = int(per_slice.sum(dim=1).argmax())
    b, h = divmod(worst, H)
    q, k, v, do = (inputs[key][b, h].to(torch.float64) for key in ("q", "k", "v", "do"))
    scale = scale_of(inputs)
    causal = bool(inputs["causal"])
    allowed = visible(S, "causal" if causal else "all")
    scores = (q @ k.T) * scale
    lse = torch.logsumexp(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    p = torch.exp(scores - lse[:, None])  # P of every pair, visible or not, against the forward's lse
    o = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1) @ v
    ds = p * (do @ v.T - (do * o).sum(-1)[:, None])
    # contributions[r, x]: what pair (row r of this output, index x of the summed axis) adds to row r.
    if name == "dq":
        contributions, pairs = scale * ds[:, :, None] * k[None, :, :], allowed
    else:
        weights = p if name == "dv" else scale * ds
        other = do if name == "dv" else q
        contributions, pairs = weights.T[:, :, None] * other[None, :, :], allowed.T
    zero = torch.zeros(S, 1, D, dtype=torch.float64)
    sums = {
        "masked": torch.cat([zero, (contributions * pairs[:, :, None]).cumsum(dim=1)], dim=1),
        "unmasked": torch.cat([zero, contributions.cumsum(dim=1)], dim=1),
    }
    out = failure.out[b, h]
    wrong_rows = per_slice[worst].nonzero().flatten().tolist()[:64]
    tolerance = failure.tolerance
    found: list[tuple[int, int, int, str]] = []
    def counted(r: int, a: int, c: int, mode: str) -> tuple[int, int, str]:
        """The range of pairs that add to row r: those the mask hides add nothing when it is on, and
        a range that holds no hidden pair is the same with the mask or without."""
        if causal and mode == "unmasked" and (c <= r + 1 if name == "dq" else a >= r):
            mode = "masked"
        if mode == "masked" and causal:
            a, c = (a, min(c, r + 1)) if name == "dq" else (max(a, r), c)
        return a, c, mode

    for r in wrong_rows:
        bounds = sorted({0, S, r, r + 1, *range(0, S, _WALK_STEP)} & set(range(S + 1)))
        matches: dict[tuple[int, int, str], tuple[int, int, int, str]] = {}
        for mode in (("masked", "unmasked") if causal else ("masked",)):
            table = sums[mode]
            for a in bounds:
                for c in reversed(bounds):
                    if c <= a:
                        break
                    if evidence.close_to(out[r], table[r, c] - table[r, a], 2 * tolerance.atol, 2 * tolerance.rtol):
                        matches.setdefault(counted(r, a, c, mode), (r, a, c, mode))
        right = (0, S, "masked") if not causal else (0, r + 1, "masked") if name == "dq" else (r, S, "masked")
        if not matches or _far_apart(list(matches)) or right in matches:
            # None, or ranges far apart that give the same row (a softmax nearly one-hot, on large
            # scores), or the right range itself (the row is off for another reason): the row does
            # not say which range the walk took. Neighbours that differ by a pair or two of tiny
            # weight do not count as different walks.
            return []
        found.append(next(iter(matches.values())))
    if not found or len({mode for _, _, _, mode in found}) > 1:
        return []  # one walk has one mask: rows that need both are explained by something else
    summed = "keys" if name == "dq" else "queries"
    row_kind = "query" if name == "dq" else "key"
    kernel = "the dq kernel" if name == "dq" else "the dk/dv kernel"

    def right_range(r: int) -> str:
        if not causal:
            return f"0..{S - 1}"
        return f"0..{r}" if name == "dq" else f"{r}..{S - 1}"

    def shown(match: tuple[int, int, int, str]) -> str:
        r, a, c, mode = match
        if mode == "masked" and causal:  # pairs the mask hides add nothing: show the range that counts
            a, c = (a, min(c, r + 1)) if name == "dq" else (max(a, r), c)
        unmasked = " without the causal mask" if mode == "unmasked" else ""
        return f"{row_kind} {r} sums {summed} {a}..{c - 1}{unmasked}, not {right_range(r)}"

    examples = "; ".join(shown(match) for match in found[:2])
    return [f"likely: {kernel} walks the wrong {summed} (in batch {b}, head {h}): {examples}{_walk_meaning(found[0], name, S, causal)}"]


def _far_apart(ranges: list[tuple[int, int, str]]) -> bool:
    """Two of the ranges (first, end, mask) have other masks, or starts or ends more than a tile apart."""
    starts, ends = [a for a, _, _ in ranges], [c for _, c, _ in ranges]
    return len({mode for _, _, mode in ranges}) > 1 or max(starts) - min(starts) > _WALK_STEP or max(ends) - min(ends) > _WALK_STEP


def _walk_meaning(match: tuple[int, int, int, str], name: str, S: int, causal: bool) -> str:
    """What the first wrong row's range says about the walk, in the kernel's terms: where it starts
    or stops against where it must, and whether the causal mask was applied."""
    r, a, c, mode = match
    if name == "dq":
        right_first, right_last = 0, (r if causal else S - 1)
        what, row = "keys", f"query {r}"
    else:
        right_first, right_last = (r if causal else 0), S - 1
        what, row = "queries", f"key {r}"
    if mode == "masked" and causal:
        a, c = (a, min(c, r + 1)) if name == "dq" else (max(a, r), c)
    if mode == "unmasked":
        if name == "dq":
            return (
                f" ({what} {a}..{c - 1} include keys after query {r}, walked without the causal mask: the unmasked "
                "part of the key walk must end where the query tile starts, start_m, and the diagonal tile take the mask)"
            )
        return (
            f" ({what} {a}..{c - 1} include queries before key {r}, walked without the causal mask: the masked part "
            "of the query walk must cover the whole key tile, up to start_n + BLOCK_N, and the unmasked part start there)"
        )
    if a > right_first:
        start = "the key tile's start" if name != "dq" and a <= r else f"{what[:-1]} {a}"
        why = " as in the causal case, but with causal=False every query from 0 is summed" if not causal else ""
        return f" (the walk starts at {start}{why}: {what} {right_first}..{a - 1} never reach {row})"
    if c - 1 < right_last:
        missed = f"{what[:-1]} {c}" if c == right_last else f"{what} {c}..{right_last}"
        return f" (the walk stops too early: {missed} never reach{'es' if c == right_last else ''} {row}; the last tile, the diagonal one when causal, is cut short or never visited)"
    return ""
