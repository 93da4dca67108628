"""`python -m durable_runtime.cli`: the `durable` command without its console script."""

import sys

from . import main

sys.exit(main())
