"""A child process that runs cases, so a crashing or hanging kernel takes down only itself.

Protocol: one JSON request per line on stdin, one JSON result per line on the file descriptor given
as the first argument. The learner's prints go to stdout/stderr, which the parent captures to a file.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from .checking import check_case
from .results import FAILED, CaseResult
from .levels.base import Mode
from .registry import LevelRef


def handle(request: dict[str, Any]) -> CaseResult:
    mode = Mode(**request["mode"])
    level = LevelRef(**request["level"]).load()
    case = level.case_by_id(request["case"], mode)
    return check_case(level, case, Path(request["kata"]), mode)


def main() -> int:
    results = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8", buffering=1)
    results.write(json.dumps({"ready": True}) + "\n")  # imports done: time limits start counting now
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            result = handle(json.loads(line))
        except Exception:  # noqa: BLE001 - a fault in a level definition, not in the learner's code
            result = CaseResult(FAILED, "internal error in the quest while checking this case:\n" + traceback.format_exc(limit=4))
        results.write(json.dumps(result.to_dict()) + "\n")
        results.flush()
        if result.process_poisoned:
            return 0  # a CUDA error poisons this process's context: the parent starts a fresh worker
    return 0


if __name__ == "__main__":
    sys.exit(main())
