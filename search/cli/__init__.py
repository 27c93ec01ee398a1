"""The ``resweep`` command line: argument parsing and printing over the Python API.

User mistakes (bad data, unknown names, bad arguments) print one located line on stderr and exit
with status 1; usage errors exit with 2 (argparse). One module per group of commands; the parser
and the entry point are in :mod:`search.cli.app`.
"""

from .app import build_parser, main

__all__ = ["build_parser", "main"]
