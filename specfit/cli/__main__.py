"""``python -m specfit.cli ...``: the ``specfit`` command."""

import sys

from specfit.cli.app import main

sys.exit(main())
