"""``python -m pm.cli``: the ``pm`` command."""

import sys

from pm.cli import main

sys.exit(main())
