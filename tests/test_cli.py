"""`triton-quest`, as a project runs it: every verb, every bad input, in a temporary project.

Each test runs the command as a subprocess (`python -m pytest_triton_quest ...`) with the working
directory in a fresh project: a pytest.ini (`testpaths = katas`), a katas/ folder holding copies of
the repository's templates or solutions, and the progress file that the quest writes there.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_triton_quest.cli import VERBS
from pytest_triton_quest.options import STATE_FILE
from pytest_triton_quest.registry import all_levels
from tests.support import ON_GPU, PACKAGE, REPO, SOLUTIONS, TEMPLATES, QuestProject

TUTOR = PACKAGE / "tutor"
LEVELS = all_levels()
NUMBERS = [level.number for level in LEVELS]
NOT_IMPLEMENTED = "level 1 is not implemented yet: open katas/level1_vector_add.py and fill in the TODOs"
VERBS_WITH_A_LEVEL = ["start", "check", "hint", "tutor", "watch", "benchmark", "solution", "reset", "profile"]


def row(output: str, number: int) -> str:
    """The overview's line of one level."""
    return next(line for line in output.splitlines() if re.match(rf"\s+{number}\s", line))


def second_level() -> int:
    return NUMBERS[1]


# ----- the acceptance walk-through -------------------------------------------------------------------
def test_acceptance_walk_through(project: QuestProject) -> None:
    kata = project.template(1)
    template = kata.read_bytes()

    first = project.quest()
    assert first.returncode == 0, first.stderr
    assert "0 of" in first.stdout and "open" in row(first.stdout, 1)
    assert "triton-quest start 1" in first.stdout

    briefing = project.quest("start", "1")
    assert briefing.returncode == 0, briefing.stderr
    assert "Level 1, Vector Add" in briefing.stdout and "vector_add(x, y)" in briefing.stdout
    assert "katas/level1_vector_add.py" in briefing.stdout and "pytest --level 1" in briefing.stdout

    failing = project.quest("check", "1")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert NOT_IMPLEMENTED in failing.stdout
    assert "Traceback" not in failing.stdout

    hint = project.quest("hint", "1")
    assert hint.returncode == 0, hint.stderr
    assert "Level 1, Vector Add: hint 1 of 6" in hint.stdout

    solved = project.solution(1).read_bytes()
    passing = project.quest("check", "1")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Level 1 passed!" in passing.stdout

    after = project.quest()
    assert after.returncode == 0, after.stderr
    assert "passed" in row(after.stdout, 1) and "hints 1/6" in row(after.stdout, 1)
    assert "open" in row(after.stdout, second_level())
    assert f"1 of {len(LEVELS)} levels passed" in after.stdout

    reset = project.quest("reset", "1", "--yes")
    assert reset.returncode == 0, reset.stderr
    assert kata.read_bytes() == template
    [backup] = project.backups()
    assert backup.read_bytes() == solved and backup.name.startswith("level1_vector_add.")
    assert "1" not in project.state()["levels"]
    assert "open" in row(project.quest().stdout, 1)


# ----- the entry points and help --------------------------------------------------------------------
def test_python_dash_m_works_like_the_console_script(project: QuestProject) -> None:
    script = Path(sys.executable).parent / "triton-quest"
    if not script.exists():
        pytest.skip("the triton-quest script is not installed in this environment")
    project.template(1)
    by_module = project.quest()
    by_script = subprocess.run([str(script)], cwd=project.root, env=project.env, capture_output=True, text=True, timeout=60)
    assert by_module.returncode == by_script.returncode == 0
    assert by_module.stdout == by_script.stdout


@pytest.mark.parametrize("verb", [None, *VERBS])
def test_every_verb_has_help(project: QuestProject, verb: str | None) -> None:
    result = project.quest(*([verb] if verb else []), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: triton-quest{' ' + verb if verb else ''}")
    if verb is None:
        assert all(name in result.stdout for name in VERBS)
    assert not project.state_path.exists()


def test_version(project: QuestProject) -> None:
    result = project.quest("--version")
    assert result.returncode == 0 and result.stdout.startswith("triton-quest ")


# ----- bad input: one line on stderr, exit code 2, nothing changed --------------------------------------
BAD_INPUTS = [
    *[((verb, "0"), "level 0 does not exist: the levels are") for verb in VERBS_WITH_A_LEVEL],
    *[((verb, "12"), "level 12 does not exist: the levels are") for verb in VERBS_WITH_A_LEVEL],
    *[((verb, "abc"), "'abc' is not a level number: the levels are") for verb in VERBS_WITH_A_LEVEL],
    (("frobnicate",), "unknown verb 'frobnicate': choose one of overview, start"),
    (("strat", "1"), "unknown verb 'strat'"),
    (("start",), "the following arguments are required: N"),
    (("solution",), "the following arguments are required: N"),
    (("start", "1", "2"), "unrecognized arguments: 2"),
    (("reset", "1", "--force"), "unrecognized arguments: --force"),
    (("--bogus",), "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUTS, ids=["-".join(argv) for argv, _ in BAD_INPUTS])
def test_bad_input_is_one_clear_line_and_exit_code_2(project: QuestProject, argv: tuple[str, ...], message: str) -> None:
    kata = project.template(1)
    result = project.quest(*argv)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("triton-quest") and message in lines[0]
    assert kata.read_bytes() == (TEMPLATES / kata.name).read_bytes()
    assert not project.state_path.exists() and not project.backups()


# ----- start, check, hint, benchmark --------------------------------------------------------------------
def test_start_says_when_a_level_is_locked_and_when_its_file_is_missing(project: QuestProject) -> None:
    number = second_level()
    result = project.quest("start", str(number))
    assert result.returncode == 0, result.stderr
    assert "still locked: pass level 1 first" in result.stdout
    assert f"(missing: `triton-quest reset {number}` restores it)" in result.stdout


def test_check_passes_pytest_options_on(project: QuestProject) -> None:
    project.template(1)
    result = project.quest("check", "1", "--collect-only", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "katas/level1_vector_add.py::vector_add[fp32-1000]" in result.stdout
    assert not project.state().get("levels")  # collecting is not an attempt


@pytest.mark.skipif(ON_GPU, reason="pictures are drawn from the interpreter's records")
def test_show_draws_a_failing_case_and_names_the_picture(project: QuestProject) -> None:
    pytest.importorskip("matplotlib")
    kata = project.solution(1)
    kata.write_text(kata.read_text().replace("mask = offsets < n  #", "mask = offsets < n - 1  #"))
    result = project.quest("show", "1", "--case", "fp32-1000", "--dir", "pics")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "picture: " in result.stdout and "1 picture:" in result.stdout
    assert (project.root / "pics" / "level1-fp32-1000.png").exists()


def test_benchmark_runs_pytest_with_benchmarks(project: QuestProject) -> None:
    project.template(1)
    result = project.quest("benchmark", "1", "--collect-only", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "katas/level1_vector_add.py::vector_add[fp32-1000]" in result.stdout


def test_benchmark_compare_wraps_pytest_benchmark_compare(project: QuestProject) -> None:
    result = project.quest("benchmark", "--compare")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Legend:" in result.stdout  # pytest-benchmark's table footer, printed even with no saved run


def test_hint_counts_in_the_progress_file(project: QuestProject) -> None:
    for expected in (1, 2):
        result = project.quest("hint", "1")
        assert result.returncode == 0 and f"hint {expected} of 6" in result.stdout
    assert project.state()["levels"]["1"]["hints_revealed"] == 2


def test_hint_again_rereads_the_revealed_hints_without_revealing_one(project: QuestProject) -> None:
    none_yet = project.quest("hint", "1", "--again")
    assert none_yet.returncode == 0 and "no hint is out yet" in none_yet.stdout
    for _ in range(2):
        assert project.quest("hint", "1").returncode == 0
    again = project.quest("hint", "1", "--again")
    assert again.returncode == 0, again.stderr
    assert "  1/6  " in again.stdout and "  2/6  " in again.stdout and "  3/6  " not in again.stdout
    assert "pytest --hint 1 (hint 3 of 6)" in again.stdout
    assert project.state()["levels"]["1"]["hints_revealed"] == 2


# ----- solution ----------------------------------------------------------------------------------------
def test_solution_only_after_the_level_is_passed(project: QuestProject) -> None:
    project.template(1)
    refused = project.quest("solution", "1")
    assert refused.returncode == 1
    assert refused.stdout == "" and "opens once you pass it (pytest --level 1" in refused.stderr

    project.mark_passed(1)
    shown = project.quest("solution", "1")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == (SOLUTIONS / "level1_vector_add.py").read_text().strip()


def test_overview_and_solution_ignore_a_pass_from_another_folder(project: QuestProject) -> None:
    """Issue 23: after one run of solutions_hidden the overview said 6 of 11 passed, listed locked
    levels above passed ones, and `solution 9` printed the reference."""
    for number in (1, 2):
        project.template(number)
    project.mark_passed(1, 2)
    data = project.state()
    for entry in data["levels"].values():
        entry["katas"] = None  # written before the kata folder was kept
    project.state_path.write_text(json.dumps(data))
    overview = project.quest()
    assert overview.returncode == 0, overview.stderr
    assert "0 of" in overview.stdout.splitlines()[0]
    assert "counted as passed, but your kata files are still the template" in overview.stdout
    assert row(overview.stdout, 1).split()[-1] == "open" and row(overview.stdout, 2).split()[-1] == "locked"
    refused = project.quest("solution", "1")
    assert refused.returncode == 1 and "opens once you pass it" in refused.stderr


# ----- reset -------------------------------------------------------------------------------------------
def test_reset_asks_first_and_a_no_changes_nothing(project: QuestProject) -> None:
    kata = project.solution(1)
    project.mark_passed(1, hints=2)
    before = project.state_path.read_text()
    for answer in ("n\n", "\n", ""):  # no, just Enter, and no terminal at all
        result = project.quest("reset", "1", stdin=answer)
        assert result.returncode == 1
        assert "Go ahead? [y/N]" in result.stdout and "Nothing changed" in result.stdout
        assert kata.read_bytes() == (SOLUTIONS / kata.name).read_bytes()
        assert project.state_path.read_text() == before and not project.backups()

    result = project.quest("reset", "1", stdin="y\n")
    assert result.returncode == 0, result.stderr
    assert kata.read_bytes() == (TEMPLATES / kata.name).read_bytes()
    [backup] = project.backups()
    assert backup.read_bytes() == (SOLUTIONS / kata.name).read_bytes()
    assert project.state()["levels"] == {}


def test_reset_of_every_level_backs_up_each_changed_file_and_forgets_all_progress(project: QuestProject) -> None:
    other = next((level for level in LEVELS[1:] if (TEMPLATES / level.kata_file).exists()), None)
    if other is None:
        pytest.skip("only level 1 ships a template so far")
    project.solution(1)
    mine = project.katas / other.kata_file
    mine.write_text("# my own attempt\n")
    project.mark_passed(1, other.number)
    result = project.quest("reset", "--yes")
    assert result.returncode == 0, result.stderr
    for level in LEVELS:  # every shipped template is back, missing files included
        template = TEMPLATES / level.kata_file
        if template.exists():
            assert (project.katas / level.kata_file).read_bytes() == template.read_bytes()
    saved = {path.read_text() for path in project.backups()}
    assert saved == {(SOLUTIONS / "level1_vector_add.py").read_text(), "# my own attempt\n"}
    assert project.state()["levels"] == {}
    assert "Progress of every level is reset." in result.stdout


def test_reset_never_overwrites_an_earlier_backup_and_skips_untouched_templates(project: QuestProject) -> None:
    kata = project.template(1)
    untouched = project.quest("reset", "1", "--yes")
    assert untouched.returncode == 0 and "already the template" in untouched.stdout
    assert not project.backups()
    for attempt in ("# attempt one\n", "# attempt two\n"):  # the same second: names must still differ
        kata.write_text(attempt)
        assert project.quest("reset", "1", "--yes").returncode == 0
    assert {path.read_text() for path in project.backups()} == {"# attempt one\n", "# attempt two\n"}


# ----- init ------------------------------------------------------------------------------------------
def test_init_writes_the_katas_and_a_config_so_pytest_level_1_works(project: QuestProject) -> None:
    target = project.root / "my-quest"
    result = project.quest("init", "my-quest")
    assert result.returncode == 0, result.stderr
    assert "Start with: cd my-quest && triton-quest start 1" in result.stdout
    written = sorted(path.name for path in (target / "katas").iterdir())
    assert written == sorted(path.name for path in TEMPLATES.glob("level*.py"))
    for name in written:
        assert (target / "katas" / name).read_bytes() == (TEMPLATES / name).read_bytes()
    assert "testpaths = katas" in (target / "pytest.ini").read_text()

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--level", "1"], cwd=target, env=project.env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert NOT_IMPLEMENTED in run.stdout
    assert (target / STATE_FILE).exists()


def test_init_keeps_the_learners_files_and_an_existing_pytest_config(project: QuestProject) -> None:
    (project.katas / "level1_vector_add.py").write_text("# mine\n")
    (project.root / "pytest.ini").unlink()
    (project.root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    result = project.quest("init")
    assert result.returncode == 0, result.stderr
    assert "Kept your existing level1_vector_add.py" in result.stdout
    assert "pyproject.toml already configures pytest" in result.stdout
    assert (project.katas / "level1_vector_add.py").read_text() == "# mine\n"
    assert not (project.root / "pytest.ini").exists()
    assert "Start with: triton-quest start 1" in result.stdout


def test_init_into_a_file_is_bad_input(project: QuestProject) -> None:
    (project.root / "a-file").write_text("")
    result = project.quest("init", "a-file")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "is a file" in result.stderr


# ----- watch -----------------------------------------------------------------------------------------
def _ctrl_c_interrupts() -> None:
    # A suite started in the background inherits SIGINT ignored, and so would the command under test.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """A command run on a pseudo-terminal, as a project's shell runs it; its output is read as it comes."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, preexec_fn=_ctrl_c_interrupts
        )
        os.close(slave)
        self.output = ""

    def read_until(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} did not appear within {timeout} s; the output so far:\n{self.output}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other side is closed: the process ended
                    chunk = b""
                if not chunk and self.process.poll() is not None:
                    raise AssertionError(f"the process ended before {text!r} appeared:\n{self.output}")
                self.output += chunk.decode(errors="replace")
        return self.output

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


def test_watch_reruns_on_save_clears_the_screen_announces_the_next_level_and_stops_on_ctrl_c(project: QuestProject) -> None:
    kata = project.template(1)
    terminal = Terminal([sys.executable, "-m", "pytest_triton_quest", "watch"], project.root, project.env)
    try:
        terminal.read_until("Watching katas/level1_vector_add.py", 60)
        terminal.read_until(NOT_IMPLEMENTED, 120)  # the first run, on start
        terminal.read_until("failed", 60)
        kata.write_text((SOLUTIONS / kata.name).read_text().replace("x + y, mask=mask", "x - y, mask=mask"))
        wrong = terminal.read_until("save the file to check again", 120)  # the summary of a wrong kernel
        assert "pytest --level 1 again" not in wrong  # nothing to run: watch runs it on the next save
        shutil.copyfile(SOLUTIONS / kata.name, kata)  # the project saves a solution
        following = LEVELS[1]
        output = terminal.read_until(f"Now watching katas/{following.kata_file}", 180)
        assert output.count("\033[2J\033[H") == 3  # one clean screen per run
        assert f"Level 1 is passed! Level {following.number}, {following.name}, is open: triton-quest start {following.number}" in output
        terminal.process.send_signal(signal.SIGINT)
        terminal.read_until("Stopped watching.", 30)
        assert terminal.process.wait(timeout=30) == 0
        assert "Traceback" not in terminal.output
    finally:
        terminal.close()
    assert project.state()["levels"]["1"]["passed_at"]


# ----- tutor -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("number", NUMBERS)
def test_tutor_shows_the_learner_the_concepts_and_questions_but_not_the_fixes(project: QuestProject, number: int) -> None:
    """Issue 13: billed "never the kernel", so the learner's view leaves out the sections that list
    the bugs and their exact fixes; `--full` prints the whole notes for a tutor."""
    result = project.quest("tutor", str(number))
    assert result.returncode == 0, result.stderr
    notes = (TUTOR / f"level{number}.md").read_text().strip()
    assert result.stdout.startswith(notes.splitlines()[0])
    assert "## Concepts" in result.stdout and "## Questions to think about" in result.stdout
    for tutor_only in ("## Common mistakes", "## Never say", "Quest says"):
        assert tutor_only in notes and tutor_only not in result.stdout
    assert f"pytest --level {number}" in result.stdout and f"triton-quest tutor {number} --full" in result.stdout

    full = project.quest("tutor", str(number), "--full")
    assert full.returncode == 0, full.stderr
    assert full.stdout.startswith(notes)


def test_a_passing_check_reports_its_memory_traffic_and_the_tutor_reads_it(project: QuestProject) -> None:
    """Issue 16: the summary of a passing level says what its kernel moved, and the tutor gets the numbers."""
    project.solution(1)
    checked = project.quest("check", "1")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    traffic = [line for line in checked.stdout.splitlines() if "memory traffic:" in line]
    assert len(traffic) == 1 and "1.0x the minimum" in traffic[0], checked.stdout
    saved = project.state()["levels"]["1"]["traffic"]
    assert saved[0] == traffic[0].strip() and "H200" in saved[-1]
    tutor = project.quest("tutor", "1")
    assert "## Your last run's numbers" in tutor.stdout and traffic[0].strip() in tutor.stdout


def test_profile_on_the_cpu_prints_each_launch_and_the_traffic_against_the_minimum(project: QuestProject) -> None:
    project.solution(3)
    result = project.quest("profile", "3", "--ncu")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "on the CPU through Triton's interpreter" in out
    assert any(line.startswith("softmax_") for line in out.splitlines()), out  # the launch table
    assert "minimum (read inputs, write outputs once)" in out and "memory traffic: read" in out
    assert "arithmetic intensity" in out and "H200" in out
    assert "--ncu: Nsight needs a CUDA GPU, and this run is on the CPU" in out
    saved = project.state()["levels"]["3"]["profile"]
    assert any("memory traffic: read" in line for line in saved)
    assert "From `triton-quest profile 3`:" in project.quest("tutor", "3").stdout


def test_profile_of_a_kernel_that_fails_says_so_and_measures_nothing(project: QuestProject) -> None:
    project.template(1)
    result = project.quest("profile", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the case did not pass, so there is nothing to measure yet" in result.stdout
    assert "memory traffic" not in result.stdout


def test_profile_reads_another_kata_folder_and_says_when_the_file_is_missing(project: QuestProject) -> None:
    result = project.quest("profile", "1", "--katas", str(SOLUTIONS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "memory traffic: read" in result.stdout
    missing = project.quest("profile", "2")
    assert missing.returncode == 1 and "there is no katas/level2_matmul.py to profile" in missing.stderr


def test_the_tutor_verb_is_billed_for_what_it_prints(project: QuestProject) -> None:
    briefing = project.quest("start", "1")
    assert "never the answer" not in briefing.stdout and "never the kernel" in briefing.stdout
    assert "never the answer" not in project.quest("--help").stdout


def test_tutor_without_a_level_follows_the_progress(project: QuestProject) -> None:
    project.mark_passed(1)
    result = project.quest("tutor")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith((TUTOR / f"level{second_level()}.md").read_text().splitlines()[0])


def test_tutor_of_a_passed_level_points_past_it(project: QuestProject) -> None:
    assert "Your next step: pytest --level 1," in project.quest("tutor", "1").stdout
    project.mark_passed(1)
    said = project.quest("tutor", "1").stdout
    assert "Your next step" not in said
    assert f"Level 1 is passed. Next: triton-quest start {second_level()} (or triton-quest profile 1" in said


@pytest.mark.parametrize("verb", [[], ["tutor", "2", "--full"], ["start", "1"]])
def test_output_cut_short_by_a_closed_pipe_ends_quietly(project: QuestProject, verb: list[str]) -> None:
    """`triton-quest | head -4`: the reader goes away early; no BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_triton_quest", *verb],
        cwd=project.root,
        env=project.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the command writes anything: every write meets a closed pipe
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


SECTIONS = ("## Concepts to explain", "## Common mistakes", "## Questions to ask", "## Never say")


def _diagnosis_texts() -> str:
    """Every string the quest can print as a diagnosis, with adjacent literals joined."""
    folders = (PACKAGE, PACKAGE / "levels", PACKAGE / "season2")
    sources = [path for folder in folders for path in folder.glob("*.py") if path.name != "cli.py"]
    text = "\n".join(path.read_text() for path in sources)
    return re.sub(r"\"\s*\n\s*f?\"", "", text)  # "part one " "part two" -> one literal


@pytest.mark.parametrize("number", range(1, 12))
def test_tutor_notes_have_every_section_and_quote_only_real_diagnoses(number: int) -> None:
    path = TUTOR / f"level{number}.md"
    text = path.read_text()
    assert text.startswith(f"# Level {number}")
    positions = [text.find(section) for section in SECTIONS]
    assert all(position >= 0 for position in positions) and positions == sorted(positions), f"{path}: sections {SECTIONS}"
    diagnoses = _diagnosis_texts()
    # "**Quest says:** `...`": every code span up to the end of that paragraph or bullet is a diagnosis.
    said = re.findall(r"Quest says:\*\*(.*?)(?=\n\s*\n|\n- |\n#|\Z)", text, flags=re.S)
    quoted = [double or single for part in said for double, single in re.findall(r"``(.+?)``|`([^`]+)`", part)]
    assert quoted, f"{path.name} quotes no diagnosis of the quest"
    for quote in quoted:
        assert " ".join(quote.split()) in diagnoses, f"{path.name} quotes a diagnosis the quest never prints: {quote!r}"


def test_the_assistant_files_point_at_the_packaged_notes() -> None:
    skill = (REPO / ".claude" / "skills" / "triton-quest-tutor" / "SKILL.md").read_text()
    command = (REPO / ".claude" / "commands" / "tutor.md").read_text()
    assert skill.startswith("---\nname: triton-quest-tutor\ndescription: ")
    assert "pytest_triton_quest/tutor/level" in skill and "pytest --level" in skill
    assert "triton-quest-tutor" in command and "$ARGUMENTS" in command


# ----- the packaged templates mirror katas/ ---------------------------------------------------------------
def test_each_template_is_tracked_once_and_the_learners_katas_are_not() -> None:
    """The package's templates are the one pristine copy; katas/ holds the learner's working copies,
    written by `triton-quest init`, so git must never track them (a pull would fight their work)."""
    listed = subprocess.run(["git", "ls-files", "katas", "pytest_triton_quest/templates"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    tracked = listed.stdout.split()
    assert [path for path in tracked if path.startswith("katas/")] == ["katas/README.md"]
    shipped = {path.name for path in TEMPLATES.glob("level*.py")}
    assert {f"pytest_triton_quest/templates/{name}" for name in shipped} <= set(tracked)
    assert shipped == {level.kata_file for level in LEVELS}, "every level has a template, and every template a level"
    ignored = subprocess.run(["git", "check-ignore", "-q", "katas/level1_vector_add.py"], cwd=REPO)
    assert ignored.returncode == 0, ".gitignore must ignore the learner's katas/level*.py"


def test_pyproject_ships_the_templates_and_the_tutor_notes() -> None:
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    data = config.get("tool", {}).get("setuptools", {}).get("package-data", {}).get("pytest_triton_quest", [])
    assert "templates/*.py" in data and "tutor/*.md" in data, (
        'pyproject.toml needs [tool.setuptools.package-data] pytest_triton_quest = ["templates/*.py", "tutor/*.md"]'
    )
