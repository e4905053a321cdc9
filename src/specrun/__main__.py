"""``python -m specrun …`` runs the command line, for environments without the script on PATH."""

import sys

from specrun.cli import main

sys.exit(main())
