"""The end-of-run summary: what changed, what is wrong, and the next step."""

from __future__ import annotations

from .bench import NO_GPU, geometric_mean, legend_mark, legend_words, tier
from .plots import plot
from .model import BROKEN_KATA, NOT_IMPLEMENTED, PASSED, SEEN, borne_out, bug_key
from .session import LevelRun, QuestSession


def summary_lines(quest: QuestSession) -> list[str]:
    lines: list[str] = []
    # Under pytest-xdist the workers ran the levels: their lines come in here, in level order.
    blocks = {**quest.worker_blocks, **level_blocks(quest)}
    for number in sorted(blocks):
        lines.extend(blocks[number])
    for line in [*quest.worker_rest, *other_lines(quest)]:
        if line not in lines:
            lines.append(line)
    return lines


def level_blocks(quest: QuestSession) -> dict[int, list[str]]:
    """The summary lines of each level that ran in this process."""
    return {number: _level_lines(quest, number, run) for number, run in sorted(quest.runs.items())}


def other_lines(quest: QuestSession) -> list[str]:
    """Benchmark results and warnings: the lines that are not about one level's checks."""
    return [*_benchmark_lines(quest), *(f"warning: {warning}" for warning in quest.store.warnings)]


def _level_lines(quest: QuestSession, number: int, run: LevelRun) -> list[str]:
    notes = list(dict.fromkeys(note for result in run.results.values() for note in result.notes))
    return _verdict_lines(quest, number, run) + [f"  note: {note}" for note in notes]


def _verdict_lines(quest: QuestSession, number: int, run: LevelRun) -> list[str]:
    level = quest.level(number)
    assert level is not None
    total = len(run.expected)
    passed = sum(result.outcome == PASSED for result in run.results.values())
    stopped = run.stopped_by
    if run.passed:
        lines = [f"{level.title}: all {total} checks passed."]
        lines += [f"  {line}" for line in run.traffic_lines()]
        if number in quest.newly_passed:
            lines.append(_unlock_line(quest, number))
        return lines
    hints_used = quest.progress.level(number).hints_revealed
    total_hints = len(level.hints)
    hint = f"pytest --hint {number}" + (
        f" (hint {hints_used + 1} of {total_hints})" if hints_used < total_hints else f" (all {total_hints} are out)"
    )
    if stopped is not None and stopped.outcome in (NOT_IMPLEMENTED, BROKEN_KATA):
        return [f"{level.title}: {stopped.message.splitlines()[0]}", f"  Stuck? {hint}"]
    failed = [result for result in run.results.values() if result.outcome != PASSED]
    lines = [f"{level.title}: {passed} of {total} checks passed, {len(failed)} failed."]
    if not failed and len(run.results) < total:
        lines.append(f"  Only {len(run.results)} of {total} checks ran: run them all (pytest --level {number}) to pass the level.")
    if stopped is not None:
        lines.append(f"  {stopped.message.splitlines()[0]}; the rest of the level was not run.")
    diagnoses = [line for result in failed for line in result.diagnoses]
    ruled_out = {note for result in failed for note in result.ruled_out}
    lines += _grouped_diagnoses(diagnoses, ruled_out)
    if any(borne_out(line, ruled_out) != line for line in diagnoses):
        lines.append(
            "  Left out: a `likely:` line of one case whose slip, replayed on another failing case, does not give "
            "that case's output."
        )
    if failed:
        again = "save the file to check again" if quest.settings.watch else f"run pytest --level {number} again"
        lines.append(f"  Next: read the first failure above, fix it, and {again}. Stuck? {hint}")
    return lines


def ranked_bugs(diagnoses: list[str], ruled_out: set[str] | frozenset[str] = frozenset()) -> list[list[str]]:
    """The diagnosis lines of a level's failures grouped by bug: causes (`likely:`) before facts that
    name no single cause (`seen:`), each most common first (ties in the order the cases ran). Lines
    that differ only in their numbers (the same bug at offset 1, 1000 and 98765) are one bug. Near
    misses that some failing case rules out are left out of every line (model.borne_out)."""
    groups: dict[str, list[str]] = {}
    ruled = set(ruled_out)
    for line in diagnoses:
        kept = borne_out(line, ruled)
        if kept is not None:
            groups.setdefault(bug_key(kept), []).append(kept)
    return sorted(groups.values(), key=lambda group: (group[0].startswith(SEEN), -len(group)))


def _grouped_diagnoses(diagnoses: list[str], ruled_out: set[str] | frozenset[str] = frozenset(), most: int = 4) -> list[str]:
    """The bugs of ranked_bugs, each shown once with the first case's numbers and the count of all."""
    ranked = ranked_bugs(diagnoses, ruled_out)[:most]
    shown = []
    for group in ranked:
        count = len(group)
        which = f"{count} {'case' if count == 1 else 'cases'}"
        if len(set(group)) > 1:
            which += "; the numbers are the first case's"
        shown.append(f"  {group[0]} ({which})")
    return shown


def _unlock_line(quest: QuestSession, number: int) -> str:
    later = [level for level in quest.levels if level.number > number]
    if not later:
        return f"Level {number} passed! That was the last level: the quest is complete, well done."
    following = later[0]
    if quest.progress.is_passed(following.number):
        return f"Level {number} passed!"
    return f"Level {number} passed! {following.title}, is unlocked: pytest --level {following.number}"


def _benchmark_lines(quest: QuestSession) -> list[str]:
    if not quest.settings.benchmark:
        return []
    if not quest.mode.on_gpu:
        return [f"Benchmarks skipped: {NO_GPU}."]
    lines = []
    for level in quest.levels:
        speedups = quest.bench.speedups(level)
        if not speedups:
            continue
        mean = geometric_mean(list(speedups.values()))
        baseline = next(iter(level.baselines()))
        best = quest.progress.level(level.number).best_speedup
        medal = tier(mean, legend_mark(level, speedups))
        own_legend = legend_words(level)
        lines.append(
            f"{level.title}: {mean:.2f}x the speed of PyTorch ({baseline}), geometric mean of {len(speedups)} shapes"
            + (f" - {medal}" if medal else "")
            + (f"; your best is {best:.2f}x" if best else "")
            + (f" ({own_legend}: what our solution reaches)" if own_legend else "")
        )
    if quest.settings.plot:
        lines.append(plot(quest.bench.rows, quest.settings.plot, quest.progress.cards))
    return lines
