"""Exception classes: every user-facing error is a ``SpecfitError``.

Each class also subclasses the matching built-in exception, so callers that
catch ``ValueError`` or ``OSError`` keep working (the scikit-learn / pint
convention).  Messages are one line and name the file and the problem.
"""

from __future__ import annotations


class SpecfitError(Exception):
    """Base class of every error raised deliberately by specfit."""


class DataError(SpecfitError, ValueError):
    """Spectral data that cannot be fitted (NaN axis, non-monotonic axis, ...)."""


class LibraryError(SpecfitError, ValueError):
    """A peak-library file or name that is invalid (names file, component, key)."""


class FileFormatError(SpecfitError, ValueError):
    """A spectrum or result file that is malformed, truncated or unsupported."""


class OutputError(SpecfitError, OSError):
    """An output that cannot be written: a special file (device, FIFO) as target, a full disk, no permission."""


class FitError(SpecfitError, RuntimeError):
    """A fit that cannot be set up (not a failed convergence: that is flagged)."""


class OptionError(FitError, ValueError):
    """An option value outside its choices (engine, share word, baseline, ...), named with the choices."""


class SpecfitWarning(UserWarning):
    """Something specfit did on the user's behalf that they should know (one line, names the file)."""


def where(path: object | None, message: str) -> str:
    """Prefix ``message`` with the file it concerns, keeping it on one line."""
    text = " ".join(str(message).split())
    return f"{path}: {text}" if path is not None else text
