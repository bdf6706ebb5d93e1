#!/usr/bin/env bash
# Set up Triton Quest in ./.venv and then either start the quest or run the project's own tests.
#   bash bootstrap.sh play    install, write your katas/ (never overwriting one), show your progress and the first step
#   bash bootstrap.sh test    install, then run the project's test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"
what="${1:-play}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
venv_python="$PWD/.venv/bin/python"

if ! "$venv_python" -c "import torch" 2>/dev/null; then
    # Pin torch first: an open `torch` requirement pulls a multi-GB CUDA build where a CPU one will do.
    "$venv_python" -m pip install -q "torch==${TORCH_VERSION:-2.13.0}"
fi
"$venv_python" -m pip install -q -e .

case "$what" in
    play)
        # Your working copies of the katas: written once from the package's templates, never overwritten.
        .venv/bin/triton-quest init . >/dev/null
        .venv/bin/triton-quest
        echo
        echo "Activate the environment with: source .venv/bin/activate"
        ;;
    test)
        "$venv_python" -m pip install -q -e ".[test]"
        # The suite also proves the interpreter guard on the oldest supported Triton (3.6).
        if [ "${QUEST_SKIP_OLD_TRITON:-0}" != "1" ]; then
            if [ ! -x .venv-triton36/bin/python ]; then
                "$python" -m venv .venv-triton36
            fi
            .venv-triton36/bin/python -m pip install -q "torch==${TORCH_VERSION:-2.13.0}"
            .venv-triton36/bin/python -m pip install -q "triton==3.6.0" numpy "pytest>=8" pytest-benchmark pluggy filelock
            .venv-triton36/bin/python -m pip install -q --no-deps -e .
        fi
        .venv/bin/python -m pytest tests -n auto
        ;;
    *)
        echo "usage: bash bootstrap.sh [play|test]" >&2
        exit 2
        ;;
esac
