"""``python -m local_runtime.cli``: the ``logistics`` command."""

import sys

from local_runtime.cli import main

sys.exit(main())
