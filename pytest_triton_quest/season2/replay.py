"""Diagnosis by replay, for the season 2 levels: a known bug is recomputed in float64 from the case's
inputs, and named only when the learner's output matches the replay and the replay is not the right
answer. A rule that cannot be replayed (it depends on the learner's tile sizes) is stated from which
outputs, sequences or batches are wrong, and says no more than that shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import torch
from ..levels import evidence
from ..model import Failure

if TYPE_CHECKING:
    import torch as torch_types


def matches(failure: Failure, replay: "torch_types.Tensor", nan_only: bool = False) -> bool:
    """The output agrees with `replay` everywhere (to a few tolerances), and the replay is not the
    right answer. NaN and inf must sit at the same places in both. A replay wrong only by NaN counts
    where the inputs hold none, or with `nan_only` (the caller then checks it another way)."""
    out, ref, tolerance = failure.out, failure.ref, failure.tolerance
    if replay.shape != out.shape:
        return False
    if evidence.unwritten_among(failure, failure.bad):
        return False  # NaN that memory holds would match any replay that predicts NaN there
    slack = 5 * (tolerance.atol + tolerance.rtol * replay.abs())
    finite = torch.isfinite(replay)
    if not bool((replay[finite].abs() > slack[finite]).any()):
        return False  # indistinguishable from zeros, so from an output never written or all weight lost
    both_finite = torch.isfinite(out) & torch.isfinite(replay)
    same_special = (torch.isnan(out) == torch.isnan(replay)) & (torch.isinf(out) == torch.isinf(replay))
    if not bool(same_special.all()):
        return False
    agrees = torch.where(both_finite, (out - replay).abs() <= slack, torch.ones_like(out, dtype=torch.bool))
    if not bool(agrees.all()):
        return False
    right = torch.isclose(replay, ref, rtol=tolerance.rtol, atol=tolerance.atol) | (torch.isnan(replay) & torch.isnan(ref))
    if bool((~right & torch.isfinite(replay)).any()):
        return True
    # Wrong only by NaN: evidence where NaN can only come from arithmetic, too weak where the inputs
    # hold NaN (level 11's unused cache slots), which any replay reading them turns into NaN as well.
    return not bool(right.all()) and (nan_only or not _inputs_hold_nan(failure))


def tried(failure: Failure, replay: "torch_types.Tensor", note: str, nan_only: bool = False, exact: bool = True) -> bool:
    """`matches`, and where the output rules the replay out, `note` is recorded as ruled out by this
    case: a near miss is named for a level only where it reproduces every failing case it was tried on.
    Not `exact`: the note stands for several replays (tile widths the learner's kernel may not use),
    so one replay that misses rules nothing out."""
    if matches(failure, replay, nan_only):
        failure.reproduced.add(note)
        return True
    if exact and evidence.rules_out(failure.out, replay, failure.tolerance.atol, failure.tolerance.rtol):
        failure.ruled_out.add(note)
    return False


def _inputs_hold_nan(failure: Failure) -> bool:
    return any(
        isinstance(value, torch.Tensor) and value.is_floating_point() and bool(torch.isnan(value).any())
        for value in failure.inputs.values()
    )


def wrong_along(failure: Failure, dim: int) -> list[int]:
    """The indices along `dim` of the output that hold at least one wrong element."""
    bad = failure.bad.movedim(dim, 0).reshape(failure.bad.shape[dim], -1)
    return bad.any(dim=1).nonzero().flatten().tolist()
