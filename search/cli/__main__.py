"""``python -m search.cli``: the same as the ``resweep`` command."""

import sys

from .app import main

sys.exit(main())
