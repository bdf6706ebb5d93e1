"""The engine as a learner meets it: options, collection, gating, hints, progress, CPU mode."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.support import SOLUTIONS, QuestProject


def state(project: QuestProject) -> dict:
    return json.loads(project.state_path.read_text())


def test_untouched_template_fails_with_one_not_implemented_message(project: QuestProject) -> None:
    project.template(1)
    result = project.pytester.runpytest("--level", "1")
    result.assert_outcomes(failed=1, skipped=7)
    result.stdout.fnmatch_lines(["*level 1 is not implemented yet: open *level1_vector_add.py and fill in the TODOs*"])
    result.stdout.no_fnmatch_line("*Traceback*")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_solution_passes_records_the_level_and_unlocks_the_next(project: QuestProject) -> None:
    project.solution(1)
    result = project.pytester.runpytest("--level", "1")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*Level 1 passed! Level 2, Matmul, is unlocked: pytest --level 2*"])
    entry = state(project)["levels"]["1"]
    assert entry["passed_at"] and entry["attempts"] == 1


def test_benchmarks_on_the_cpu_are_skipped_with_the_reason_and_the_checks_still_run(project: QuestProject) -> None:
    """Issue 7: never time the interpreter. Level 1 has two benchmark shapes, each a PyTorch row and yours."""
    project.solution(1)
    result = project.pytester.runpytest("--level", "1", "--benchmark", "-rs")
    result.assert_outcomes(passed=8, skipped=4)
    result.stdout.fnmatch_lines(["*benchmarks need a CUDA GPU; correctness checks run on the CPU interpreter*"])
    assert not list(project.root.glob(".benchmarks/**/*.json")), "nothing is timed, so no run is saved"
    assert state(project)["levels"]["1"]["passed_at"]


def test_items_have_readable_ids(project: QuestProject) -> None:
    project.template(1)
    result = project.pytester.runpytest("--collect-only", "-q", "--level", "1")
    result.stdout.fnmatch_lines(["katas/level1_vector_add.py::vector_add[fp32-1000]", "katas/level1_vector_add.py::vector_add[fp16-1]"])


def test_a_locked_level_asked_for_by_name_says_so_and_what_unlocks_it(project: QuestProject) -> None:
    """Issue 13: `pytest --level 2` before level 1 is passed was "11 skipped", exit 0."""
    project.template(2)
    result = project.pytester.runpytest("--level", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: Level 2, Matmul is locked: pass level 1 first (pytest --level 1), or try it anyway with --unlock-all"])
    result.stdout.no_fnmatch_line("*skipped*")


def test_unlock_all_runs_a_locked_level(project: QuestProject) -> None:
    project.solution(2)
    result = project.pytester.runpytest("--level", "2", "--unlock-all")
    assert result.parseoutcomes()["passed"] > 0 and "failed" not in result.parseoutcomes()


def test_plain_pytest_runs_unlocked_levels_and_skips_locked_ones(project: QuestProject) -> None:
    project.solution(1)
    project.template(2)
    result = project.pytester.runpytest("-rs")
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 8 and outcomes["skipped"] > 0
    result.stdout.fnmatch_lines(["*locked: pass level 1 first (pytest --level 1)*"])
    assert result.ret == pytest.ExitCode.OK


def test_bare_folder_without_config_works(pytester: pytest.Pytester) -> None:

    (pytester.path / "katas").mkdir()
    (pytester.path / "katas" / "level1_vector_add.py").write_text((SOLUTIONS / "level1_vector_add.py").read_text())
    result = pytester.runpytest()
    result.assert_outcomes(passed=8)


def test_katas_option_points_anywhere(project: QuestProject, tmp_path_factory: pytest.TempPathFactory) -> None:

    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "level1_vector_add.py").write_text((SOLUTIONS / "level1_vector_add.py").read_text())
    project.template(1)  # the default folder holds the unsolved template; --katas must win
    result = project.pytester.runpytest("--level", "1", "--katas", str(elsewhere))
    result.assert_outcomes(passed=8)


def test_hint_reveals_one_more_each_time_and_records_it(project: QuestProject) -> None:
    project.template(2)
    for expected in (1, 2, 3):
        result = project.pytester.runpytest("--hint", "2")
        result.stdout.fnmatch_lines([f"Level 2, Matmul: hint {expected} of 6*", f"  {expected}/6 *"])
        assert result.ret == 0
    assert state(project)["levels"]["2"]["hints_revealed"] == 3


def test_each_hint_comes_after_the_ones_already_revealed(project: QuestProject) -> None:
    """Issue 13: revealed hints could not be re-read until all six were out."""
    for _ in range(3):
        result = project.pytester.runpytest("--hint", "1")
    result.stdout.fnmatch_lines(["Level 1, Vector Add: hint 3 of 6 (after the 2 you have seen)", "  1/6 *", "  2/6 *", "  3/6 *"])
    result.stdout.no_fnmatch_line("  4/6 *")


def test_hint_after_the_sixth_repeats_them_all(project: QuestProject) -> None:
    for _ in range(7):
        result = project.pytester.runpytest("--hint", "1")
    result.stdout.fnmatch_lines(["*all 6 hints are out*", "  1/6 *", "  6/6 *"])
    assert state(project)["levels"]["1"]["hints_revealed"] == 6


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("--level", "0"), "ERROR: level 0 does not exist: the levels are 1 to *"),
        (("--level", "abc"), "ERROR: --level abc: 'abc' is not a level number*"),
        (("--hint", "x"), "ERROR: --hint x: 'x' is not a level number*"),
        (("--quest-timeout", "soon"), "ERROR: --quest-timeout soon: 'soon' is not a number of seconds"),
        (("--quest-sanitize", "yes"), "ERROR: --quest-sanitize yes: 'yes': choose one of auto, on, off"),
    ],
)
def test_bad_option_values_are_one_clean_line(project: QuestProject, arguments: tuple[str, str], said: str) -> None:
    """Issue 13: `--level 0` and `--hint x` printed pytest's usage dump; `--level 9` one line."""
    project.template(1)
    result = project.pytester.runpytest(*arguments)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([said])
    assert "usage:" not in result.stderr.str() + result.stdout.str()


def test_a_level_that_does_not_exist_is_a_usage_error(project: QuestProject) -> None:
    project.template(1)
    result = project.pytester.runpytest("--level", "99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*level 99 does not exist: the levels are 1 to *"])


def test_a_run_of_another_folder_is_not_recorded_and_says_so(project: QuestProject, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Issue 23: `--katas solutions_hidden` once, to see passing, unlocked every level. Only checks of
    the learner's own kata folder count; the header of any other run says it is not recorded. The
    progress file (and its lock) never goes among the kata files either (issue 13)."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "level1_vector_add.py").write_text((SOLUTIONS / "level1_vector_add.py").read_text())
    result = project.pytester.runpytest("--level", "1", "--katas", str(elsewhere))
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines([f"triton-quest: {elsewhere} is not your kata folder (*katas): this run is not recorded and unlocks nothing"])
    result.stdout.no_fnmatch_line("*is open*")
    assert not project.state_path.exists() or "1" not in state(project)["levels"]
    assert sorted(path.name for path in elsewhere.iterdir()) == ["level1_vector_add.py"]


def test_a_run_with_its_own_progress_file_is_recorded_there(project: QuestProject, tmp_path_factory: pytest.TempPathFactory) -> None:
    """--quest-state names where a run of any folder records: the learner chose that file."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "level1_vector_add.py").write_text((SOLUTIONS / "level1_vector_add.py").read_text())
    apart = elsewhere.parent / "apart.json"
    project.pytester.runpytest("--level", "1", "--katas", str(elsewhere), "--quest-state", str(apart)).assert_outcomes(passed=8)
    assert json.loads(apart.read_text())["levels"]["1"]["passed_at"]
    assert not project.state_path.exists()


def test_a_pass_recorded_from_another_folder_is_set_apart(project: QuestProject) -> None:
    """A progress file polluted before the rule: level 1 counted as passed while the learner's own
    level 1 is still the template. That pass is set apart (kept, with its date) and counts for nothing;
    a pass whose file the learner changed stays theirs."""
    project.template(1)
    project.solution(2)
    project.mark_passed(1, 2)
    data = state(project)
    for number in ("1", "2"):
        data["levels"][number]["katas"] = "/somewhere/else/solutions_hidden"
    project.state_path.write_text(json.dumps(data))
    result = project.pytester.runpytest("--level", "1")
    result.stdout.fnmatch_lines(["*progress: level 1 counted as passed, but your kata file is still the template in *katas: that pass came from another folder. It is kept apart and no longer counts*"])
    levels = state(project)["levels"]
    assert levels["1"]["passed_at"] is None and levels["1"]["foreign_passed_at"]
    assert levels["2"]["passed_at"] and levels["2"]["katas"] == str(project.katas.resolve())


def test_run_inside_a_kata_folder_without_an_ini_file_keeps_progress_above_it(project: QuestProject) -> None:
    (project.root / "pytest.ini").unlink()
    project.solution(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project.katas)
        result = project.pytester.runpytest("--katas", ".", "--quest-isolation", "none", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    assert state(project)["levels"]["1"]["passed_at"]
    assert sorted(path.name for path in project.katas.iterdir() if not path.name.startswith("__")) == ["level1_vector_add.py"]


def test_a_cpu_run_leaves_no_empty_benchmark_folder(project: QuestProject) -> None:
    """pytest-benchmark makes `.benchmarks/` at the start of every run; a run that saves nothing
    takes it away again, and a folder that was there before stays."""
    project.solution(1)
    project.pytester.runpytest("--level", "1").assert_outcomes(passed=8)
    assert not (project.root / ".benchmarks").exists()
    (project.root / ".benchmarks").mkdir()
    project.pytester.runpytest("--level", "1").assert_outcomes(passed=8)
    assert (project.root / ".benchmarks").is_dir()


def test_the_report_inside_watch_says_to_save_not_to_run_pytest(project: QuestProject) -> None:
    kata = project.solution(1)
    kata.write_text(kata.read_text().replace("x + y, mask=mask", "x - y, mask=mask"))
    result = project.pytester.runpytest("--level", "1", "--quest-watch")
    result.stdout.fnmatch_lines(["*Next: read the first failure above, fix it, and save the file to check again.*"])
    result.stdout.no_fnmatch_line("*pytest --level 1 again*")


def test_a_kernel_with_several_autotune_configs_passes_on_the_cpu_and_says_so_once(project: QuestProject) -> None:
    """Issue 13: a correct kernel with several autotune configs failed on the CPU with the raw
    "0 active drivers ([]). There should only be one."."""
    kata = project.solution(1)
    text = kata.read_text()
    text = text.replace(
        "@triton.jit\ndef add_kernel(",
        "@triton.autotune(configs=[triton.Config({'BLOCK_SIZE': 256}), triton.Config({'BLOCK_SIZE': 128}, num_warps=2)], key=['n'])\n"
        "@triton.jit\ndef add_kernel(",
    )
    text = text.replace("add_kernel[grid](x, y, out, n, BLOCK_SIZE=BLOCK_SIZE)", "add_kernel[lambda meta: (triton.cdiv(n, meta['BLOCK_SIZE']),)](x, y, out, n)")
    kata.write_text(text)
    result = project.pytester.runpytest("--level", "1")
    result.assert_outcomes(passed=8)
    note = (
        "  note: `add_kernel` has 2 @triton.autotune configs: the CPU interpreter cannot time them, so the checks "
        "run the first one (BLOCK_SIZE=256); on a GPU Triton times them all and keeps the fastest"
    )
    assert result.stdout.lines.count(note) == 1
    result.stdout.no_fnmatch_line("*active drivers*")


def test_a_correct_kernel_with_and_or_not_on_masks_passes_on_the_cpu(project: QuestProject) -> None:
    """Issue 13: Python `and`/`not` on blocks used Python truthiness in the interpreter, so a
    correct masked_fill-style kernel got wrong values on the CPU only."""
    kata = project.solution(5)
    text = kata.read_text()
    for old, new in [
        ("in_bounds = (rows[:, None] < S) & (cols[None, :] < S)", "in_bounds = (rows[:, None] < S) and (cols[None, :] < S)"),
        ('x = tl.where(future, float("-inf"), x)', 'x = tl.where(not future, x, float("-inf"))'),
    ]:
        assert old in text, "the level 5 solution changed: update this test"
        text = text.replace(old, new)
    kata.write_text(text)
    result = project.pytester.runpytest("--level", "5", "--unlock-all")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]


def test_a_missing_kata_file_is_named(project: QuestProject) -> None:
    project.template(1)
    result = project.pytester.runpytest("--level", "3", "--unlock-all")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*level 3 has no kata file: expected *level3_softmax.py*"])


def test_header_says_which_mode_runs_and_why(project: QuestProject) -> None:
    project.template(1)
    result = project.pytester.runpytest("--level", "1", "--quest-device", "cpu")
    result.stdout.fnmatch_lines(["triton-quest: CPU (Triton interpreter, TRITON_INTERPRET=1): asked for with --quest-device cpu"])


def test_explicit_paths_outside_the_katas_are_left_alone(project: QuestProject) -> None:
    project.template(1)
    project.pytester.makepyfile(test_other="def test_ok():\n    pass\n")
    result = project.pytester.runpytest("test_other.py")
    result.assert_outcomes(passed=1)


def test_corrupt_state_is_backed_up_and_the_run_records_progress(project: QuestProject) -> None:
    project.solution(1)
    project.state_path.write_text("{ this is not json")
    result = project.pytester.runpytest("--level", "1")
    result.stdout.fnmatch_lines(["*warning: .triton-quest.json was unreadable*kept as .triton-quest.json.bad-*"])
    assert state(project)["levels"]["1"]["passed_at"]
    assert list(project.root.glob(".triton-quest.json.bad-*"))


def test_a_level_pack_adds_a_level_through_the_hook(project: QuestProject, monkeypatch: pytest.MonkeyPatch) -> None:
    project.pytester.makepyfile(
        extra_pack=textwrap.dedent(
            """
            from pytest_triton_quest.hookspecs import hookimpl
            from pytest_triton_quest.levels.level1_vector_add import VectorAdd

            class Doubled(VectorAdd):
                number = 42
                name = "Vector Add Again"
                kata_file = "level42_again.py"

            @hookimpl
            def triton_quest_levels():
                return [Doubled()]
            """
        )
    )
    project.add(SOLUTIONS / "level1_vector_add.py", "level42_again.py")
    monkeypatch.setenv("PYTHONPATH", str(project.root))
    monkeypatch.setenv("TRITON_QUEST_PACKS", "extra_pack")
    result = project.pytester.runpytest_subprocess("--level", "42", "--unlock-all")
    result.assert_outcomes(passed=8)


def test_the_plugin_imports_neither_torch_nor_triton_until_quest_items_run() -> None:
    code = (
        "import sys, pytest_triton_quest.plugin, pytest_triton_quest.registry as r; r.all_levels(); "
        "print(sorted(m for m in ('torch', 'triton') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# ----- another plugin that owns the short spellings --------------------------------------------------
OTHER_PLUGIN = '''
def pytest_addoption(parser):
    group = parser.getgroup("other", "a plugin that also says --level")
    group.addoption("--level", dest="other_level", help="another plugin's --level")
    group.addoption("--hint", dest="other_hint", action="store_true", help="another plugin's --hint")
'''


@pytest.mark.parametrize("how", ["plugin", "conftest"])
def test_another_plugin_owning_level_never_breaks_a_run_and_the_quest_forms_work(project: QuestProject, how: str) -> None:
    """Issue 12: with a plugin (or a conftest) that defines --level too, pytest still runs, the other
    plugin keeps its options, --quest-level runs the quest, and the header says so once."""
    project.solution(1)
    if how == "plugin":
        project.pytester.makepyfile(other_level_plugin=OTHER_PLUGIN)
        project.pytester.syspathinsert()
        extra = ["-p", "other_level_plugin"]
    else:
        project.pytester.makeconftest(OTHER_PLUGIN)
        extra = []
    result = project.pytester.runpytest(*extra, "--quest-level", "1")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["triton-quest: another plugin defines --level, --hint: use the quest's own spellings here*--level -> --quest-level*"])
    assert result.stdout.str().count("another plugin defines") == 1
    # The other plugin's --level still means what it means there: a value, not a quest level.
    other = project.pytester.runpytest(*extra, "--level", "whatever", "--quest-level", "1")
    other.assert_outcomes(passed=8)


def test_the_short_spellings_are_rewritten_only_when_free(project: QuestProject) -> None:
    project.solution(1)
    for spelling in (["--level", "1"], ["--level=1"], ["--quest-level", "1"]):
        result = project.pytester.runpytest(*spelling)
        result.assert_outcomes(passed=8)
        result.stdout.no_fnmatch_line("*another plugin defines*")
    help_text = project.pytester.runpytest("--help").stdout.str()
    assert "--quest-level=N" in help_text and "(also --level, unless another plugin defines it)" in " ".join(help_text.split())


def test_a_broken_guard_is_announced_in_the_header(project: QuestProject, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14: a Triton that renamed a hooked name must never leave out-of-bounds checks silently off."""
    from pytest_triton_quest import guard_selftest

    line = guard_selftest.guard_status_line("9.9.9", "the launch hook did not fire")
    monkeypatch.setattr(guard_selftest, "guard_warning", lambda: line)
    project.solution(1)
    result = project.pytester.runpytest("--quest-level", "1")
    result.stdout.fnmatch_lines(["triton-quest: WARNING: out-of-bounds checks are OFF for triton 9.9.9: the launch hook did not fire*"])


def test_a_working_guard_adds_no_warning(project: QuestProject) -> None:
    project.solution(1)
    result = project.pytester.runpytest("--quest-level", "1")
    result.stdout.no_fnmatch_line("*WARNING*")


def test_a_saved_benchmark_run_is_named_by_level_and_time() -> None:
    """Issue 14: pytest-benchmark names an autosaved run by its git commit; a learner's folder has none,
    and `0001_True.json` said nothing. The quest passes a name where --benchmark-autosave puts its tag."""
    import time

    from pytest_triton_quest.bench import saved_run_name

    when = time.mktime((2026, 12, 1, 19, 30, 12, 0, 0, -1))
    assert saved_run_name(8, when) == "level8_20261201-193012"
    assert saved_run_name(None, when) == "all-levels_20261201-193012"


def test_a_benchmark_row_skips_with_the_reason_when_pytest_benchmark_is_off() -> None:
    """Seen on the H200: `pytest --level 1 --benchmark -n 2` failed every row with an AttributeError,
    because pytest-benchmark turns its fixture off under pytest-xdist and keeps no timing."""
    from types import SimpleNamespace

    from pytest_triton_quest.bench import BENCHMARK_OFF, YOURS
    from pytest_triton_quest.items import _benchmark_row
    from pytest_triton_quest.registry import level_by_number

    level = level_by_number(1)
    assert level is not None
    on_gpu = SimpleNamespace(mode=SimpleNamespace(on_gpu=True), runs={})
    row = _benchmark_row(on_gpu, level, level.benchmark_cases()[0], YOURS, None)  # type: ignore[arg-type]
    with pytest.raises(pytest.skip.Exception, match="pytest-benchmark is off in this run"):
        row(SimpleNamespace(disabled=True))
    assert "-n" in BENCHMARK_OFF and "--benchmark-disable" in BENCHMARK_OFF


def test_the_summary_names_one_bug_once_whatever_its_numbers() -> None:
    """Level 1 with `offsets <= n` gave three `likely:` lines that differed only in the offset."""
    from pytest_triton_quest.summary import _grouped_diagnoses

    line = "likely: a mask is off by one: it lets through the lane at element offset {}, just past the end of `x_ptr`"
    other = "likely: the grid rounds down"
    shown = _grouped_diagnoses([line.format(1), line.format(1), line.format(1000), other, line.format(98765)])
    assert shown == [f"  {line.format(1)} (4 cases; the numbers are the first case's)", f"  {other} (1 case)"]
    assert _grouped_diagnoses([other, other]) == [f"  {other} (2 cases)"]


# ----- CPU threads --------------------------------------------------------------------------------
_THREADS_SEEN = '''
import os as _os
import torch as _torch

_seen = vector_add


def vector_add(x, y):
    with open(_os.environ["THREADS_SEEN"], "a") as _file:
        _file.write(f"{_torch.get_num_threads()}\\n")
    return _seen(x, y)
'''


def test_a_cpu_run_checks_on_one_thread_unless_the_learner_chose_a_count(project: QuestProject, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a busy 2-core machine torch's thread pool made a failing level's replays ten times slower
    (TESTING.md); the checks' tensors are small, so one thread is the default on the CPU."""
    kata = project.solution(1)
    kata.write_text(kata.read_text() + _THREADS_SEEN)
    seen = project.root / "threads.txt"
    monkeypatch.setenv("THREADS_SEEN", str(seen))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert project.pytester.runpytest_subprocess("--level", "1").ret == 0
    assert set(seen.read_text().split()) == {"1"}
    seen.unlink()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert project.pytester.runpytest_subprocess("--level", "1", "--unlock-all").ret == 0
    assert set(seen.read_text().split()) == {"2"}, "the learner's own setting stands"
