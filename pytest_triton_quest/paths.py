"""Files as the learner sees them: paths shown the way they would type them, the kata line an error
came from, and whole-or-nothing writes for the files the quest must never leave half written."""

from __future__ import annotations

import linecache
import os
import tempfile
import traceback
from pathlib import Path
from types import TracebackType
from typing import Iterable


def shown(path: Path | str) -> str:
    """A path as the learner would type it: relative to where they stand, when it is below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def same_file(a: Path | str, b: Path | str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def kata_line(frames: Iterable[tuple[str, int | None]], kata: Path) -> str | None:
    """`file:line` of the deepest frame in the kata file, from (filename, line) pairs listed from the
    outermost call to the innermost (as `traceback.extract_tb` gives them); None when none is in it."""
    line = None
    for filename, number in frames:
        if number is not None and same_file(filename, kata):
            line = number
    return f"{shown(kata)}:{line}" if line is not None else None


def traceback_kata_line(tb: TracebackType | None, kata: Path) -> str | None:
    """`file:line` of the deepest frame of an exception's traceback that is in the kata file."""
    return kata_line(((frame.filename, frame.lineno) for frame in traceback.extract_tb(tb)), kata)


def source_line(path: Path, number: int) -> str | None:
    """Line `number` of a file as it is now (the learner may have saved it since it was last read),
    stripped; None when there is no such line."""
    linecache.checkcache(str(path))
    return linecache.getline(str(path), number).strip() or None


class FolderNotWritable(OSError):
    """No file can be created in the folder at all (read-only, missing, full of the wrong things)."""

    def __init__(self, folder: Path, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error))
        self.folder = folder


def write_atomically(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: write a temporary file beside it, flush it to disk, rename it
    over the target. A reader sees the old file or the new one, never half of one, whatever crashes
    in between. An existing file keeps its permissions; a new one gets 0666 less the umask."""
    folder = path.parent
    mode = _mode_for(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise FolderNotWritable(folder, error) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
