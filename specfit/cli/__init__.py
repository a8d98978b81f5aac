"""The ``specfit`` command line (top of the data flow): one module per subcommand family.

``app`` builds the parser and runs ``fit``, ``libraries``, ``report``,
``demo`` and ``compare``; ``xps``, ``raman`` and ``nmr`` add the workflow
subcommands; ``common`` holds what every subcommand shares (argument types,
flag summary, exit codes); ``inputs`` reads several files into one batch.
"""

from __future__ import annotations

from specfit.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
