"""`python -m pytest_triton_quest` works like `triton-quest`."""

import sys

from .cli import main

sys.exit(main())
