"""Runs the admin command line: `python -m chalicelib.admin --help`."""

import sys

from chalicelib.admin.cli import main

sys.exit(main())
