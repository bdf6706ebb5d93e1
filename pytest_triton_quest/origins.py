"""Where did the wrong values come from? Provenance of a wrong output, from the outputs alone.

Many bugs leave right answers in the wrong place: a missing batch or head offset gives every batch
batch 0's answer, a swapped program id writes a tile where another belongs, a transposed store puts
(j, i) at (i, j), a function returns its outputs in another order. The error map shows where the
output is wrong; this module finds what the wrong places hold instead, by searching every reference
output (and its transpose) for the learner's values:

- an output is cut into segments: the last dimension in aligned runs of `SEGMENT` elements (a whole
  row when it is shorter), so a tile written whole to another tile's place is found as well as a row;
- each wrong segment is compared, within the level's tolerance, with every segment of the same width
  of every reference; segments that say nothing (constant values, NaN, inf) take no part;
- when the matched segments hold most of the wrong elements, the mapping from where a value is to
  where it belongs is described axis by axis, and named only when one rule fits every match.

It needs nothing from the interpreter, so it works the same on compiled kernels on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._lazy import torch
from .model import Tolerance

if TYPE_CHECKING:
    import torch as torch_types

# Width of the runs of the last dimension compared at once: tiles are at least 16 wide, and 16 random
# values matching another 16 within tolerance by chance does not happen.
SEGMENT = 16
# Fewer values than this are not distinctive enough to say where they came from.
MIN_VALUES = 4
# The matched segments must hold at least this share of the wrong elements to be reported.
MIN_EXPLAINED = 0.6
# Bound on the candidate pairs compared at once: more means values too alike to tell apart.
_CHUNK_ELEMENTS = 1 << 22
# At most this many wrong segments are searched (spread over the output): enough for any pattern.
_MAX_QUERIES = 2048


@dataclass(frozen=True)
class Move:
    """One wrong segment whose values are the reference's values somewhere else."""

    output: str  # the learner's output that holds the values
    at: tuple[int, ...]  # index of the segment's first element there
    source: str  # the reference output the values belong to
    source_at: tuple[int, ...]  # index of the first element where they belong
    transposed: bool  # the values belong to the transpose of the source (last two dims swapped)
    # The source's own place holds its right value too: the answer was copied (computed twice), not moved.
    copied: bool = False


@dataclass(frozen=True)
class Provenance:
    """What the search found: the moves (one per wrong segment with a single source), and how many of
    the wrong elements sit in segments whose values were found somewhere in the references."""

    moves: list[Move]
    explained: int
    wrong: int

    @property
    def share(self) -> float:
        return self.explained / self.wrong if self.wrong else 0.0


def axis_names(ndim: int) -> tuple[str, ...]:
    """Names of an output's axes, for the report, by its number of dimensions."""
    return {
        1: ("element",),
        2: ("row", "column"),
        3: ("batch", "head", "column"),
        4: ("batch", "head", "row", "column"),
    }.get(ndim, tuple(f"axis {index}" for index in range(ndim)))


def unravel(flat: int, shape: tuple[int, ...] | list[int]) -> list[int]:
    """The index of flat position `flat` in `shape`; the first axis is not bounded, so a position
    past the end gets a first index past its axis (where an out-of-bounds tile would start)."""
    index = []
    for size in reversed(tuple(shape)[1:]):
        index.append(flat % size)
        flat //= size
    return [flat, *reversed(index)] if shape else []


def worst_slice(bad: "torch_types.Tensor") -> tuple[int, list[int]]:
    """Of an output of three or more axes, the 2-D slice (over the last two) with the most wrong
    elements: its flat number and its index over the leading axes."""
    per_slice = bad.reshape(-1, *bad.shape[-2:]).sum(dim=(1, 2))
    worst = int(per_slice.argmax())
    return worst, unravel(worst, tuple(bad.shape[:-2]))


def find_provenance(
    outputs: dict[str, "torch_types.Tensor"],
    references: dict[str, "torch_types.Tensor"],
    tolerance: Tolerance,
) -> Provenance | None:
    """Search the references for the values of the wrong segments of every output (float64, CPU,
    same names in both dicts). None when there is nothing to search (no wrong segment wide enough)."""
    pool = _reference_pool(references)
    queries: list[tuple[str, "torch_types.Tensor", "torch_types.Tensor", "torch_types.Tensor"]] = []
    transposed_moves: list[Move] = []
    explained_whole = 0
    wrong_total = 0
    wrong_at: dict[str, "torch_types.Tensor"] = {}
    for name, out in outputs.items():
        ref = references[name]
        if out.shape != ref.shape or out.dim() == 0 or out.shape[-1] < MIN_VALUES:
            continue
        bad = ~_close(out, ref, tolerance)
        wrong_at[name] = bad
        wrong_total += int(bad.sum())
        if _is_transpose_of(out, ref, bad, tolerance):
            # Every element, -inf and constants included (which segments cannot place), is its mirror's.
            first = tuple(int(i) for i in bad.nonzero()[0].tolist())
            mirror = (*first[:-2], first[-1], first[-2])
            transposed_moves.append(Move(output=name, at=first, source=name, source_at=mirror, transposed=True))
            explained_whole += int(bad.sum())
            continue
        segments, starts, bad_counts = _segments(out, bad)
        for width, values in segments.items():
            chosen = bad_counts[width] > 0
            queries.append((name, values[chosen], starts[width][chosen], bad_counts[width][chosen]))
    if wrong_total == 0 or not (queries or transposed_moves):
        return None
    moves: list[Move] = transposed_moves
    explained = explained_whole
    for name, values, starts, bad_counts in queries:
        if values.shape[0] > _MAX_QUERIES:
            keep = torch.linspace(0, values.shape[0] - 1, _MAX_QUERIES).long()
            # A sample stands for the rest: scale what it explains back up.
            factor = values.shape[0] / _MAX_QUERIES
            values, starts, bad_counts = values[keep], starts[keep], bad_counts[keep]
        else:
            factor = 1.0
        width = values.shape[1]
        candidates = [entry for entry in pool if entry.values.shape[1] == width]
        if not candidates:
            continue
        pooled = torch.cat([entry.values for entry in candidates])
        owner = torch.cat([torch.full((entry.values.shape[0],), index) for index, entry in enumerate(candidates)])
        pooled_starts = torch.cat([entry.starts for entry in candidates])
        query_index, pool_index = _matching_pairs(values, pooled, tolerance)
        informative = _informative(values, tolerance)
        hits = torch.zeros(values.shape[0], dtype=torch.long).index_add_(0, query_index, torch.ones_like(query_index))
        found = (hits > 0) & informative
        explained += int(round(float(bad_counts[found].sum()) * factor))
        unique = found & (hits == 1)
        for query, source in zip(query_index.tolist(), pool_index.tolist()):
            if not bool(unique[query]):
                continue
            entry = candidates[int(owner[source])]
            source_at = tuple(int(i) for i in pooled_starts[source].tolist())
            home = wrong_at.get(entry.name)
            moves.append(
                Move(
                    output=name,
                    at=tuple(int(i) for i in starts[query].tolist()),
                    source=entry.name,
                    source_at=source_at,
                    transposed=entry.transposed,
                    copied=home is not None and not entry.transposed and not bool(home[source_at]),
                )
            )
    return Provenance(moves, min(explained, wrong_total), wrong_total)


# ----- describing the mapping -----------------------------------------------------------------------
def describe(
    provenance: Provenance, axes: dict[str, tuple[str, ...]], carriers: dict[str, str] | None = None
) -> str | None:
    """The `likely:` line for a search that explains most wrong elements by one rule, else None.
    `axes`: each output's axis names (see `axis_names`). `carriers`: for an axis name, the one input
    that has that axis as the output does (level 10's q, where k and v have fewer heads), so that a
    missing offset along it can only be that input's."""
    if provenance.share < MIN_EXPLAINED or not provenance.moves:
        return None
    moves = provenance.moves
    if any(move.source != move.output for move in moves):
        return _swapped_outputs(moves)
    if all(move.transposed for move in moves):
        return (
            # Values alone cannot tell a transposed store from a tile computed transposed: both named.
            "likely: the output is transposed: element [i, j] holds the answer of [j, i]; the store swaps the row "
            "and column offsets (or their strides), or each tile is computed transposed (the operands of tl.dot "
            "swapped)"
        )
    if any(move.transposed for move in moves):
        return None  # some transposed, some not: no one rule
    names = axes.get(moves[0].output) or axis_names(len(moves[0].at))
    return _displaced(moves, names, carriers or {})


def observation(provenance: Provenance, axes: dict[str, tuple[str, ...]]) -> str | None:
    """What the search saw, as a report line, when it explains most wrong elements but no one rule
    covers the mapping: a fact for the learner to read, not a diagnosis."""
    if provenance.share < MIN_EXPLAINED or not provenance.moves:
        return None
    move = provenance.moves[0]
    names = axes.get(move.output) or axis_names(len(move.at))
    where = f"`{move.output}` " if move.output != move.source else ""
    source = f"`{move.source}` " if move.output != move.source else ""
    flipped = " (transposed)" if move.transposed else ""
    more = f" (and {len(provenance.moves) - 1} more like it)" if len(provenance.moves) > 1 else ""
    return (
        f"{100 * provenance.share:.0f}% of the wrong elements hold right values of other places: "
        f"{where}{_index_text(names, move.at)} holds the answer of {source}{_index_text(names, move.source_at)}{flipped}{more}"
    )


def _swapped_outputs(moves: list[Move]) -> str | None:
    pairs = sorted({(move.output, move.source) for move in moves})
    holders = [output for output, _ in pairs]
    if len(set(holders)) != len(holders) or any(move.transposed for move in moves):
        return None  # one output holding parts of several others: no one rule
    held = ", ".join(f"`{output}` holds the answer of `{source}`" for output, source in pairs)
    return f"likely: the outputs are in the wrong order: {held}; return them in the order the contract gives"


def _displaced(moves: list[Move], names: tuple[str, ...], carriers: dict[str, str]) -> str | None:
    """Right values at the wrong index: say which axes moved, and how, when one rule covers every move."""
    ndim = len(names)
    relations = [relation([move.at[axis] for move in moves], [move.source_at[axis] for move in moves]) for axis in range(ndim)]
    moved = [axis for axis in range(ndim) if relations[axis] != "same"]
    if not moved or any(relations[axis] is None for axis in moved):
        return None
    example = max(moves, key=lambda move: sum(a != b for a, b in zip(move.at, move.source_at)))
    where = _index_text(names, example.at)
    source = _index_text(names, example.source_at)
    shown = f"{where} holds the answer of {source}"
    if len(moves) > 1:
        shown += f" (and {len(moves) - 1} more like it)"
    pair = {names[axis] for axis in moved} >= {"batch", "head"}
    both_first = all(relations[axis] == "first:0" for axis in moved if names[axis] in ("batch", "head"))
    if pair and not both_first:
        # Batch and head moved together: one flat index over (batch, head) with the wrong head count
        # explains that, where axis-by-axis rules would mislead.
        flat = _flat_count(moves, names)
        if flat is None:
            return None  # the fact without a rule: see `observation`
        return (
            f"likely: right values in the wrong place: {shown}; results whose b * {flat} + h is the same land on "
            f"each other: an index over (batch, head) is computed with {flat} heads per batch, not the output's head count"
        )
    copied = sum(move.copied for move in moves) + len(moves) - len({(move.source, move.source_at) for move in moves})
    if 2 * copied > len(moves) and not {names[axis] for axis in moved} & {"batch", "head"}:
        # Most answers also sit at their own place (or at several): they were computed more than once,
        # so some program loaded the inputs of another place. A store to the wrong place moves each
        # answer once and leaves its own place wrong; it cannot copy it.
        axes = " and ".join(f"{names[axis]}s" for axis in moved)
        offsets = " and ".join(names[axis] for axis in moved)
        return (
            f"likely: right values in the wrong place: {shown}; those answers also sit at their own place, so they "
            f"were computed twice, from inputs loaded for other {axes}: check the {offsets} offsets of the loads; "
            "the store is not what moved them"
        )
    if any(relations[axis] == "swap" for axis in moved) and any(move.copied for move in moves):
        return None  # an exchange leaves neither place right: these moves are not one
    return f"likely: right values in the wrong place: {shown}; {_cause(names, moved, relations, carriers)}"


def _flat_count(moves: list[Move], names: tuple[str, ...]) -> int | None:
    """X when every move takes (b, h) to a (b', h') with b * X + h == b' * X + h': a flat (batch, head)
    index built with X heads per batch (never the true count, which would make every move the identity)."""
    batch, head = names.index("batch"), names.index("head")
    heads = 1 + max(max(move.at[head], move.source_at[head]) for move in moves)
    for count in range(1, 4 * heads + 1):
        if all(move.at[batch] * count + move.at[head] == move.source_at[batch] * count + move.source_at[head] for move in moves):
            return count
    return None


def relation(at: list[int], source: list[int]) -> str | None:
    """How the index the values belong to follows from the index where they are, on one axis:
    'same', 'first:N' (always N while the place varies), 'shift:D' (place + D), 'swap' (an exchange
    of two values), or None when no simple rule covers every move."""
    if all(a == s for a, s in zip(at, source)):
        return "same"
    if len(set(source)) == 1 and (len(set(at)) > 1 or source[0] == 0):
        return f"first:{source[0]}"
    shifts = {s - a for a, s in zip(at, source)}
    if len(shifts) == 1:
        return f"shift:{shifts.pop()}"
    pairs = {(a, s) for a, s in zip(at, source) if a != s}
    if pairs and all((s, a) in pairs for a, s in pairs):
        return "swap"
    return None


def _index_text(names: tuple[str, ...], index: tuple[int, ...]) -> str:
    return "(" + ", ".join(f"{name} {value}" for name, value in zip(names, index)) + ")"


def _cause(names: tuple[str, ...], moved: list[int], relations: list[str | None], carriers: dict[str, str]) -> str:
    """A short reason, in the terms of the moved axes. Every word rests on the relation found."""
    parts = []
    if {names[axis] for axis in moved if relations[axis] == "first:0"} >= {"batch", "head"}:
        # Both at 0: one offset, of the (batch, head) pair, is missing.
        parts.append("every (batch, head) holds the answer of (batch 0, head 0): the (batch, head) offset, bh * stride, is missing")
        moved = [axis for axis in moved if names[axis] not in ("batch", "head")]
    for axis in moved:
        name, relation = names[axis], relations[axis] or ""
        if relation.startswith("first:0") and name in ("batch", "head"):
            # Slice 0's answer everywhere needs slice 0 of every input that has the axis: where only
            # one has it, that one's offset is missing (the others' may be too).
            whose = f" of `{carriers[name]}`" if name in carriers else ""
            parts.append(f"every {name} holds {name} 0's answer: the {name} offset{whose} is missing")
        elif relation.startswith("first:"):
            parts.append(f"every {name} holds the answer of {name} {relation.split(':')[1]}")
        elif relation.startswith("shift:"):
            parts.append(f"the {name} index is off by {relation.split(':')[1]}")
        else:
            parts.append(f"{name}s are exchanged in pairs")
    ends = {names[axis] for axis in moved}
    if ends & {"row", "column", "element", "query", "key"} and not ends & {"batch", "head"}:
        parts.append("check the offsets computed from the program id and the strides of the store")
    return "; ".join(parts)


# ----- the search ---------------------------------------------------------------------------------------
@dataclass
class _PoolEntry:
    name: str
    transposed: bool
    values: "torch_types.Tensor"  # (segments, width)
    starts: "torch_types.Tensor"  # (segments, ndim): index of each segment's first element


def _reference_pool(references: dict[str, "torch_types.Tensor"]) -> list[_PoolEntry]:
    pool = []
    for name, ref in references.items():
        if ref.dim() == 0 or ref.shape[-1] < MIN_VALUES:
            continue
        views = [(False, ref)]
        if ref.dim() >= 2 and ref.shape[-2] >= MIN_VALUES:
            views.append((True, ref.transpose(-1, -2)))
        for transposed, view in views:
            segments, starts, _ = _segments(view, None)
            for width, values in segments.items():
                keep = _distinct(values)
                index = starts[width][keep]
                if transposed:  # name the element in the source's own layout
                    index = torch.cat([index[:, :-2], index[:, -1:], index[:, -2:-1]], dim=1)
                pool.append(_PoolEntry(name, transposed, values[keep], index))
    return pool


def _segments(
    tensor: "torch_types.Tensor", bad: "torch_types.Tensor | None"
) -> tuple[dict[int, "torch_types.Tensor"], dict[int, "torch_types.Tensor"], dict[int, "torch_types.Tensor"]]:
    """The tensor cut into aligned runs of the last dimension, grouped by width (the last run of a row
    may be shorter): values (n, width), the index of each run's first element (n, ndim), and how many
    wrong elements each holds (zeros when `bad` is None)."""
    last = tensor.shape[-1]
    width = last if last <= SEGMENT else SEGMENT
    rows = tensor.reshape(-1, last)
    bad_rows = bad.reshape(-1, last) if bad is not None else torch.zeros(rows.shape, dtype=torch.bool)
    row_index = _indices_of(torch.arange(rows.shape[0]), tuple(tensor.shape[:-1]))
    values: dict[int, torch_types.Tensor] = {}
    starts: dict[int, torch_types.Tensor] = {}
    counts: dict[int, torch_types.Tensor] = {}
    full = (last // width) * width
    pieces = [(0, full, width)] + ([(full, last, last - full)] if last > full else [])
    for begin, end, size in pieces:
        if size < MIN_VALUES or end <= begin:
            continue
        per_row = (end - begin) // size
        # (rows, per_row, size) -> (rows * per_row, size): row-major, so each row's runs stay in order.
        block = rows[:, begin:end].reshape(rows.shape[0] * per_row, size)
        wrong = bad_rows[:, begin:end].reshape(rows.shape[0] * per_row, size).sum(dim=1)
        columns = (begin + size * torch.arange(per_row)).repeat(rows.shape[0])[:, None]
        index = torch.cat([row_index.repeat_interleave(per_row, dim=0), columns], dim=1)
        values[size] = block if size not in values else torch.cat([values[size], block])
        starts[size] = index if size not in starts else torch.cat([starts[size], index])
        counts[size] = wrong if size not in counts else torch.cat([counts[size], wrong])
    return values, starts, counts


def _indices_of(flat: "torch_types.Tensor", shape: tuple[int, ...]) -> "torch_types.Tensor":
    """(n, len(shape)) indices of flat positions in `shape` (a (n, 0) tensor for a 1-D output's rows)."""
    columns = []
    rest = flat.clone()
    for size in reversed(shape):
        columns.append(rest % size)
        rest = rest // size
    if not columns:
        return torch.zeros(flat.shape[0], 0, dtype=torch.long)
    return torch.stack(list(reversed(columns)), dim=1)


def _distinct(values: "torch_types.Tensor") -> "torch_types.Tensor":
    """Segments that can tell where they came from: finite and not constant."""
    finite = torch.isfinite(values).all(dim=1)
    spread = (values.amax(dim=1) - values.amin(dim=1)) > 0
    # A segment repeated elsewhere matches a wrong segment twice, and a move needs exactly one match:
    # repeats need no search of their own.
    return finite & spread


def _informative(values: "torch_types.Tensor", tolerance: Tolerance) -> "torch_types.Tensor":
    """Learner segments whose values can be traced: finite and not (nearly) constant."""
    finite = torch.isfinite(values).all(dim=1)
    spread = (values.amax(dim=1) - values.amin(dim=1)) > 4 * (tolerance.atol + tolerance.rtol * values.abs().amax(dim=1))
    return finite & spread


def _matching_pairs(
    queries: "torch_types.Tensor", pool: "torch_types.Tensor", tolerance: Tolerance
) -> tuple["torch_types.Tensor", "torch_types.Tensor"]:
    """Every (query, pool) pair of segments that agree element by element within tolerance. The pool
    is sorted by its first value, so each query is compared only with the few segments whose first
    value is close to its own: linear in the sizes, not their product."""
    empty = torch.zeros(0, dtype=torch.long)
    if queries.numel() == 0 or pool.numel() == 0:
        return empty, empty
    firsts, order = pool[:, 0].sort()
    head = queries[:, 0]
    # Generous on the first value (the exact rule, measured against the pool's value, follows).
    slack = 1.05 * (tolerance.atol + tolerance.rtol * head.abs()) + 1e-300
    low = torch.searchsorted(firsts, head - slack)
    high = torch.searchsorted(firsts, head + slack, right=True)
    spans = (high - low).clamp(min=0)
    finite = torch.isfinite(head)
    spans = torch.where(finite, spans, torch.zeros_like(spans))
    total = int(spans.sum())
    if total == 0 or total > _CHUNK_ELEMENTS:
        return empty, empty
    query_index = torch.repeat_interleave(torch.arange(queries.shape[0]), spans)
    offsets = torch.arange(total) - torch.repeat_interleave(spans.cumsum(0) - spans, spans)
    pool_index = order[low[query_index] + offsets]
    a, b = queries[query_index], pool[pool_index]
    agree = ((a - b).abs() <= tolerance.atol + tolerance.rtol * b.abs()).all(dim=1)
    return query_index[agree], pool_index[agree]


def _is_transpose_of(out: "torch_types.Tensor", ref: "torch_types.Tensor", bad: "torch_types.Tensor", tolerance: Tolerance) -> bool:
    """The output is its reference with the last two axes swapped, everywhere: a wrong output that a
    transpose makes right, and not one whose only wrong values are symmetric noise."""
    if out.dim() < 2 or out.shape[-1] != out.shape[-2] or out.shape[-1] < 2 or not bool(bad.any()):
        return False
    return bool(_close(out, ref.transpose(-1, -2), tolerance).all())


def _close(out: "torch_types.Tensor", ref: "torch_types.Tensor", tolerance: Tolerance) -> "torch_types.Tensor":
    return torch.isclose(out, ref, rtol=tolerance.rtol, atol=tolerance.atol) | (torch.isnan(out) & torch.isnan(ref))
