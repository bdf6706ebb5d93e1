"""Turn a failed comparison into a report a learner can read at a glance.

The report says how much is wrong, where (index ranges for 1-D outputs, a downsampled map for 2-D and
attention outputs, so a leaking upper triangle or a bad last column of tiles shows at once), and which
bug is likely, from rules that never claim more certainty than they have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import torch
from .model import index_ranges
from .levels.evidence import masked_off_note, slice_collision_note, unreached_columns_note, unstored_slices_note
from .origins import Provenance, axis_names, find_provenance, unravel, worst_slice
from .origins import describe as describe_provenance
from .origins import observation as provenance_observation
from .store_strides import stride_slip_note
from .reads import headline as reads_headline
from .reads import message as reads_message

if TYPE_CHECKING:
    import torch as torch_types

    from .levels.base import Level
    from .model import Failure, Mode

MAP_ROWS = 16
MAP_COLS = 48
# Compiled, the largest cases hold tens of millions of elements, and each replay or value search is
# a float64 pass over all of them on the CPU: a failing level took 2.8x its passing time on an H100.
# Cases up to this size are diagnosed; a larger one shows what it observed and leaves the naming to
# the smaller cases, which fail too where the bug does not need a large size to show.
DIAGNOSED_ELEMENTS = 1 << 21


def diagnosed(failure: "Failure", mode: "Mode") -> bool:
    """Whether this failure gets replays, value searches and reruns (every case on the CPU)."""
    return mode.interpreted or failure.out.numel() <= DIAGNOSED_ELEMENTS


def explain_mismatch(level: "Level", failure: "Failure", mode: "Mode") -> tuple[str, list[str]]:
    lines = [_case_line(failure, mode), _error_line(failure), *_special_values(failure), *failure.nan_lines]
    if failure.unread:
        lines.append(reads_message(failure.unread, answer_right=False))
    lines.extend(unloaded.line() for unloaded in failure.unloaded)
    lines.extend(_where(failure, level.output_rows.get(failure.output, "query rows")))
    if not failure.handed_to_kernel:
        lines.append(
            f"`{failure.output}` was never handed to a kernel: PyTorch wrote its values after your kernels ran "
            "(a copy or a cast of a buffer they wrote)"
        )
    lines.extend(_writers(failure))
    lines.extend(_constant_factor(failure))
    if not diagnosed(failure, mode):
        lines.append(
            f"not diagnosed: on a GPU only cases of at most {DIAGNOSED_ELEMENTS:,} output elements are (this one has "
            f"{failure.out.numel():,}); see the reports of the smaller failing cases"
        )
        read = reads_headline(failure.unread, answer_right=False) if failure.unread else None
        return "\n".join(lines), [read] if read else []
    provenance = _provenance(failure)
    # Facts read off the outputs outrank every rule: right answers in the wrong place, then NaN that
    # change with what new memory holds.
    axes = {name: level.output_axes.get(name) or axis_names(out.dim()) for name, out in failure.outputs.items()}
    traced = describe_provenance(provenance, axes, _sole_carriers(failure, axes.get(failure.output))) if provenance is not None else None
    if provenance is not None and traced is None:
        seen = provenance_observation(provenance, axes)
        if seen:
            lines.append(seen)
    headline = (
        traced
        or stride_slip_note(failure.out, failure.ref, failure.inputs, failure.tolerance, axes.get(failure.output) or ())
        or failure.nan_headline
        or failure.precision_headline
        or unstored_slices_note(failure)
        or next((line for line in (unloaded.headline() for unloaded in failure.unloaded) if line), None)
        or one_headline(level.diagnose(failure))
        or failure.scratch_headline
        or slice_collision_note(failure.stores, tuple(failure.out.shape))
        or masked_off_note(failure.stores, failure.bad)
        or unreached_columns_note(failure.stores, failure.bad, tuple(failure.out.shape), failure.launches)
        or (reads_headline(failure.unread, answer_right=False) if failure.unread else None)
    )
    if headline is None and failure.stores is None and failure.handed_to_kernel:
        headline = one_headline(_nothing_stored(failure))
    return "\n".join(lines), [headline] if headline else []


def _provenance(failure: "Failure") -> "Provenance | None":
    """Where the wrong values came from (origins.py), when the outputs are known."""
    if not failure.outputs:
        return None
    return find_provenance(failure.outputs, failure.references, failure.tolerance)


def _sole_carriers(failure: "Failure", names: tuple[str, ...] | None) -> dict[str, str]:
    """For the batch and head axes of the output, the one input of the output's rank that has that
    axis at the output's size, where another input of that rank has it at another size (level 10's
    q, beside k and v with fewer heads)."""
    out = failure.out
    same_rank = {name: value for name, value in failure.inputs.items() if hasattr(value, "dim") and value.dim() == out.dim()}
    found: dict[str, str] = {}
    for axis, name in enumerate(names or ()):
        if name not in ("batch", "head"):
            continue
        having = [input_name for input_name, value in same_rank.items() if value.shape[axis] == out.shape[axis]]
        if len(having) == 1 and len(same_rank) > 1:
            found[name] = having[0]
    return found


def one_headline(notes: list[str]) -> str | None:
    """The one `likely:` line of a failure: the rules' finding when they agree on one bug, else None.
    Two rules that each see their own bug are conflicting evidence: the report then shows only what
    was observed, rather than a guess that misleads half the time."""
    distinct = list(dict.fromkeys(notes))
    return distinct[0] if len(distinct) == 1 else None


def _case_line(failure: "Failure", mode: "Mode") -> str:
    case = failure.case
    shape = ", ".join(f"{key}={value}" for key, value in case.params.items())
    return f"case {case.id}: {case.dtype}, {shape} on {mode.device} ({case.purpose})"


def _error_line(failure: "Failure") -> str:
    bad = failure.bad
    total = bad.numel()
    count = int(bad.sum())
    line = f"{count} of {total} elements are wrong ({100.0 * count / max(total, 1):.3g}%)"
    # The worst element among the wrong ones whose error is a finite number; mismatched infinities and
    # NaNs are counted on the next line instead.
    diff = (failure.out - failure.ref).abs()
    candidates = bad & torch.isfinite(diff)
    if bool(candidates.any()):
        masked = torch.where(candidates, diff, torch.full_like(diff, -1.0))
        flat = int(masked.flatten().argmax())
        index = tuple(unravel(flat, tuple(diff.shape)))
        worst_ref = float(failure.ref.flatten()[flat])
        worst_out = float(failure.out.flatten()[flat])
        line += f"; worst at {list(index)}: got {worst_out:.6g}, expected {worst_ref:.6g}"
    else:
        first = tuple(unravel(int(bad.flatten().nonzero()[0]), tuple(bad.shape)))
        line += f"; first at {list(first)}: got {float(failure.out[first]):.6g}, expected {float(failure.ref[first]):.6g}"
    tol = failure.tolerance
    return line + f" (tolerance atol={tol.atol:g}, rtol={tol.rtol:g})"


def _special_values(failure: "Failure") -> list[str]:
    out, ref = failure.out, failure.ref
    counts = {
        "NaN": (int(torch.isnan(out).sum()), int(torch.isnan(ref).sum())),
        "inf": (int(torch.isinf(out).sum()), int(torch.isinf(ref).sum())),
    }
    parts = [f"{name}: {mine} in yours, {theirs} expected" for name, (mine, theirs) in counts.items() if mine != theirs]
    return ["; ".join(parts)] if parts else []


def _where(failure: "Failure", row_name: str) -> list[str]:
    bad = failure.bad
    if bad.dim() == 1:
        indices = bad.nonzero().flatten().tolist()
        return [f"wrong indices: {index_ranges(indices)} (of 0..{bad.numel() - 1})"]
    if bad.dim() == 2:
        return _map(bad, "rows", "cols")
    # (B, H, rows, cols): show the worst (batch, head) slice and say which others are wrong.
    per_slice = bad.reshape(-1, *bad.shape[-2:]).sum(dim=(1, 2))
    worst, index = worst_slice(bad)
    wrong_slices = int((per_slice > 0).sum())
    lines = [f"{wrong_slices} of {per_slice.numel()} (batch, head) slices have wrong values; map of slice {index}:"]
    lines.extend(_map(bad.reshape(-1, *bad.shape[-2:])[worst], row_name, "cols"))
    return lines


def _writers(failure: "Failure") -> list[str]:
    """Tie the wrong elements to the programs (tiles) of the launch grid that stored them."""
    if failure.writers is None:
        return []
    owner, table = failure.writers
    bad_owner = owner[failure.bad.flatten().numpy()]
    lines = []
    never = int((bad_owner < 0).sum())
    if never:
        what = "1 wrong element was" if never == 1 else f"{never} wrong elements were"
        lines.append(f"{what} never stored by any program (the grid, a loop's bounds or a store mask stops short of them)")
    stored = sorted({table[index] for index in set(bad_owner[bad_owner >= 0].tolist())}, key=lambda entry: entry[1])
    if stored:
        kernels = sorted({kernel for kernel, _ in stored})
        names = ", ".join(f"`{name}`" for name in kernels)
        shown = ", ".join(str(program) for _, program in stored[:6])
        more = f" and {len(stored) - 6} more" if len(stored) > 6 else ""
        lines.append(f"wrong elements were stored by {len(stored)} program(s) of {names}: program ids {shown}{more}")
        launched = sorted({launch.kernel for launch in failure.launches})
        if len(launched) > 1:
            # Only the last writer of an element is known: a wrong value it stored may come from an earlier kernel.
            lines.append(
                f"(the last kernel to write them; the error may start in an earlier one: {', '.join(f'`{k}`' for k in launched)})"
            )
    return lines


def _map(bad: "torch_types.Tensor", row_name: str, col_name: str) -> list[str]:
    """A downsampled picture of a 2-D error mask: '#' where a cell holds a wrong element."""
    rows, cols = bad.shape
    cell_rows = -(-rows // MAP_ROWS)
    cell_cols = -(-cols // MAP_COLS)
    grid_rows = -(-rows // cell_rows)
    grid_cols = -(-cols // cell_cols)
    padded = torch.zeros(grid_rows * cell_rows, grid_cols * cell_cols, dtype=torch.bool)
    padded[:rows, :cols] = bad
    cells = padded.reshape(grid_rows, cell_rows, grid_cols, cell_cols).any(dim=3).any(dim=1)
    if bool(cells.all()) and cell_rows * cell_cols > 1:
        return _zoomed_map(bad, row_name, col_name)
    header = f"error map, {rows} {row_name} x {cols} {col_name}, one character = {cell_rows}x{cell_cols} elements ('#' wrong):"
    body = ["  " + "".join("#" if flag else "." for flag in row) for row in cells.tolist()]
    return [header, *body]


def _zoomed_map(bad: "torch_types.Tensor", row_name: str, col_name: str) -> list[str]:
    """A downsampled map that is all '#' says nothing: show the window around the first wrong element
    at full resolution instead, where a pattern (a diagonal, a tile edge) can show."""
    rows, cols = bad.shape
    first_row, first_col = (int(index) for index in bad.nonzero()[0])
    top = min((first_row // 16) * 16, max(rows - MAP_ROWS, 0))
    left = min((first_col // 16) * 16, max(cols - MAP_COLS, 0))
    window = bad[top : top + MAP_ROWS, left : left + MAP_COLS]
    header = (
        f"error map, {rows} {row_name} x {cols} {col_name}: wrong everywhere at a coarse scale; {row_name} "
        f"{top}..{top + window.shape[0] - 1}, {col_name} {left}..{left + window.shape[1] - 1} at one element per character:"
    )
    body = ["  " + "".join("#" if flag else "." for flag in row) for row in window.tolist()]
    return [header, *body]


def _constant_factor(failure: "Failure") -> list[str]:
    """An observation, not a diagnosis: several different bugs (a scale missing, applied twice, or
    divided by) give the same picture, and the level's rules tell them apart."""
    out, ref = failure.out, failure.ref
    finite = torch.isfinite(ref) & torch.isfinite(out)
    nonzero = finite & (ref.abs() > 1e-6)
    if int(nonzero.sum()) <= 8:
        return []
    ratio = out[nonzero] / ref[nonzero]
    median = float(ratio.median())
    spread = float((ratio - median).abs().median())
    if abs(median - 1.0) > 0.05 and spread < 0.01 * abs(median):
        return [f"every value is off by a constant factor of about {median:.4g}"]
    return []


def _nothing_stored(failure: "Failure") -> list[str]:
    """Compiled runs only (no store map): an all-zero output where the answer is not."""
    out, ref = failure.out, failure.ref
    # New memory holds NaN during a check (scratch.py): a NaN counts as unwritten only where the call
    # with zeroed memory left a 0 there; a NaN the arithmetic made does not.
    untouched = out == 0
    if failure.unwritten is not None:
        untouched = untouched | failure.unwritten
    if bool(untouched[torch.isfinite(ref)].all()) and bool((ref != 0).any()):
        return ["likely: the output is never written (the kernel stores nothing, or stores to the wrong tensor)"]
    return []
