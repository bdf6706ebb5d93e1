"""Level 9 (Flash Attention backward): mutants of solutions_hidden/level9_flash_backward.py."""

from . import Mutant

_LSE_DKDV = "        lse2 = tl.load(lse_ptr + stat + rows, mask=row_ok, other=0.0) * 1.4426950408889634"
_LSE_DQ = "\n    lse2 = tl.load(lse_ptr + stat + rows, mask=row_ok, other=0.0) * 1.4426950408889634"

MUTANTS = [
    Mutant(
        name="delta_without_o",
        bug="delta is computed as rowsum(dO) instead of rowsum(dO * O).",
        expect="delta",
        edits=(("tl.sum(o * do, axis=1)", "tl.sum(do, axis=1)"),),
    ),
    Mutant(
        name="ds_without_delta",
        bug="dS = P * dP: the softmax backward forgets to subtract delta.",
        expect="delta",
        edits=(
            ("\n        dsT = pT * (dpT - delta[None, :])", "\n        dsT = pT * dpT"),
            ("ds = p * (dp - delta[:, None])\n", "ds = p * dp\n"),
        ),
    ),
    Mutant(
        name="dk_missing_scale",
        bug="dK is stored without the factor scale.",
        expect="dk is not multiplied by the scale",
        edits=(("(dk * scale).to(dk_ptr.dtype.element_ty)", "dk.to(dk_ptr.dtype.element_ty)"),),
    ),
    Mutant(
        name="dq_missing_scale",
        bug="dQ is stored without the factor scale.",
        expect="dq is not multiplied by the scale",
        edits=(("(dq * scale).to(dq_ptr.dtype.element_ty)", "dq.to(dq_ptr.dtype.element_ty)"),),
    ),
    Mutant(
        name="dq_causal_mask_missing",
        bug="The dQ walk masks padded keys but not future keys on the diagonal tile.",
        expect="causal mask",
        edits=(("            if CAUSAL:\n                visible = visible & (keys[None, :] <= rows[:, None])\n", ""),),
    ),
    Mutant(
        name="p_not_normalised",
        bug="The probabilities are recomputed as exp(s), without subtracting lse.",
        expect="lse",
        edits=(
            ("tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - lse2[None, :])", "tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale)"),
            ("tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None])", "tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale)"),
        ),
    ),
    Mutant(
        name="lse_not_in_log2",
        bug="The scores are in log2 units (exp2) but lse is used in natural-log units.",
        expect="log2(e)",
        edits=(
            (_LSE_DKDV, "        lse2 = tl.load(lse_ptr + stat + rows, mask=row_ok, other=0.0)"),
            (_LSE_DQ, "\n    lse2 = tl.load(lse_ptr + stat + rows, mask=row_ok, other=0.0)"),
        ),
    ),
    Mutant(
        name="dv_before_mask",
        bug="dV is accumulated from the probabilities before the causal mask zeroes the future ones.",
        expect="dv",
        edits=(
            ("        dv = tl.dot(pT.to(do.dtype), do, dv)\n", ""),
            ("        if MASKED:\n            # Query i sees key j", "        dv = tl.dot(pT.to(do.dtype), do, dv)\n        if MASKED:\n            # Query i sees key j"),
        ),
    ),
    Mutant(
        name="dv_with_ds",
        bug="dV is accumulated from dS^T instead of P^T.",
        expect="dv",
        edits=(
            ("        dv = tl.dot(pT.to(do.dtype), do, dv)\n", ""),
            ("        dk = tl.dot(dsT.to(q.dtype), q, dk)\n", "        dk = tl.dot(dsT.to(q.dtype), q, dk)\n        dv = tl.dot(dsT.to(do.dtype), do, dv)\n"),
        ),
    ),
    Mutant(
        name="dkdv_diagonal_skipped",
        bug="Causal dK/dV: the query tiles on the diagonal are skipped, only the later ones are visited.",
        expect="diagonal",
        edits=(("start_n, start_n, diagonal_end, S, qk_scale,", "start_n, start_n, start_n, S, qk_scale,"),),
    ),
    Mutant(
        name="dq_diagonal_skipped",
        bug="Causal dQ: the diagonal key tile is skipped.",
        expect="diagonal",
        edits=(("hi_end = tl.minimum(start_m + BLOCK_M, S)  # keys after the tile's last query: skipped", "hi_end = lo_end"),),
    ),
]
