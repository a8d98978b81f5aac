"""File readers, as plugins behind one entry point, :func:`read`.

Each reader module in this package exposes

``EXTENSIONS``
    tuple of lower-case file suffixes it claims (``(".vms", ".npl")``),
``sniff(path, head) -> bool``
    whether it recognises the file from its first bytes ``head`` (used when
    the suffix is ambiguous, e.g. ``.csv`` or ``.txt``),
``read(path) -> xarray.DataArray | xarray.DataTree``
    the spectra.

Conventions every reader follows: the spectral axis is the **last** dimension
and is named after what it is (``binding_energy`` in eV, ``kinetic_energy``
in eV only when no photon energy is known, ``raman_shift`` in cm-1,
``chemical_shift`` in ppm, otherwise ``x``); its values are kept in file
order; ``attrs`` hold ``source_file``, ``units`` of the axis coordinate and
whatever metadata the file gives.  Several spectra on one axis become a
leading batch dimension (``spectrum`` unless the file names it); regions with
different axes become an ``xarray.DataTree`` with one child per region.
Malformed input raises :class:`specfit.errors.FileFormatError` whose one-line
message names the file.
"""

from __future__ import annotations

import importlib
import inspect
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import xarray as xr

from specfit.atomicio import record_read
from specfit.errors import FileFormatError, SpecfitError, where
from specfit.io.textcodec import looks_utf16, strip_bom

# Order matters: the first module whose sniff() accepts a file reads it.
# Specific formats come before the generic delimited-text reader.
_READER_MODULES = (
    "netcdf",
    "vamas",
    "phi",
    "prodigy_xy",
    "scienta_txt",
    "casaxps_csv",
    "jcamp",
    "wdf",
    "nmrpipe",
    "bruker",
    "text",
)


def _modules() -> list[ModuleType]:
    found = []
    for name in _READER_MODULES:
        try:
            found.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:  # a reader not written yet, or optional dep
            if exc.name and exc.name.startswith(__name__):
                continue
            raise
    return found


def _columns_supported(module: ModuleType) -> bool:
    try:
        return "x_column" in inspect.signature(module.read).parameters
    except (TypeError, ValueError):
        return False


def _kind(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def _check_path(path: Path) -> os.stat_result:
    """Stat ``path`` without opening it: refuse what cannot be read without blocking."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileFormatError(where(path, "no such file")) from None
    except PermissionError:
        raise FileFormatError(where(path, "permission denied")) from None
    except OSError as exc:
        raise FileFormatError(where(path, f"cannot access the file ({exc.strerror or exc})")) from None
    mode = info.st_mode
    if stat.S_ISFIFO(mode):
        # Opening a FIFO for reading blocks until a writer appears: never open it.
        raise FileFormatError(where(path, "is a named pipe (FIFO), not a regular file; save the data to a file"))
    if stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise FileFormatError(where(path, "is a socket or device, not a regular file"))
    return info


def _head(path: Path, info: os.stat_result) -> bytes:
    if stat.S_ISDIR(info.st_mode):
        return b""
    try:
        with open(path, "rb") as fh:
            return fh.read(4096)
    except PermissionError:
        raise FileFormatError(where(path, "permission denied")) from None
    except OSError as exc:
        raise FileFormatError(where(path, f"cannot open the file ({exc.strerror or exc})")) from None


def _sniffs(module: ModuleType, path: Path, head: bytes) -> bool:
    try:
        return bool(module.sniff(path, head))
    except Exception:  # a sniffer must never turn a file check into a traceback
        return False


def read(
    path: str | Path,
    *,
    x_column: int | str | None = None,
    y_columns: int | str | Sequence[int | str] | None = None,
) -> xr.DataArray | xr.DataTree:
    """Read any supported spectrum file.

    Parameters
    ----------
    path : str or Path
        A file (or, for Bruker data, a processed-data directory ``pdata/1``).
    x_column : int or str, optional
        Delimited-text files only: the column holding the spectral axis, by
        header name or 0-based index.  Default: chosen by the reader.
    y_columns : int, str or sequence of them, optional
        Delimited-text files only: the intensity columns, by header name or
        0-based index.  Default: every column that is not an axis.

    Returns
    -------
    xarray.DataArray or xarray.DataTree
        One DataArray whose last dimension is the spectral axis, or a
        DataTree with one DataArray per region when regions have different axes.

    Raises
    ------
    FileFormatError
        Missing, unreadable, unrecognised, damaged or ambiguous input (one
        line naming the file), or column arguments given for a format without
        columns.  Any unexpected exception of a reader is turned into this
        error too, so only :class:`~specfit.errors.SpecfitError` escapes.
    """
    path = Path(path)
    info = _check_path(path)
    head = _head(path, info)
    is_dir = stat.S_ISDIR(info.st_mode)
    if not is_dir and not head.strip():
        raise FileFormatError(where(path, "file is empty" if info.st_size == 0 else "file holds only blank space"))
    head = strip_bom(head)
    suffix = path.suffix.lower()
    modules = _modules()
    candidates = [m for m in modules if suffix in m.EXTENSIONS and _sniffs(m, path, head)]
    if not candidates:
        candidates = [m for m in modules if _sniffs(m, path, head)]
    if not candidates:
        if is_dir:
            raise FileFormatError(where(path, "is a directory, not a spectrum file (a Bruker folder needs "
                                              "pdata/<n> with 1r and procs)"))
        if looks_utf16(head):
            raise FileFormatError(where(path, "is UTF-16 encoded text; save it as UTF-8 (or ASCII) and read it "
                                              "again"))
        if b"\x00" in head:
            raise FileFormatError(where(path, f"unrecognised binary file format (suffix {suffix or 'none'!r})"))
        raise FileFormatError(where(path, f"unrecognised file format (suffix {suffix or 'none'!r}): text without "
                                          f"numeric data rows or a known header"))
    module = candidates[0]
    kwargs = {}
    if x_column is not None or y_columns is not None:
        if not _columns_supported(module):
            raise FileFormatError(where(path, f"x_column/y_columns apply to delimited text files; this file is "
                                              f"read as {_kind(module)}, which has no columns to choose"))
        kwargs = {"x_column": x_column, "y_columns": y_columns}
    record_read(path)  # no specfit writer may replace a file read in this session
    try:
        return module.read(path, **kwargs)
    except FileFormatError:
        raise
    except SpecfitError:
        raise
    except MemoryError:
        raise FileFormatError(where(path, f"too large to read as {_kind(module)} (out of memory)")) from None
    except Exception as exc:  # safety net: a reader bug or library error must not become a traceback
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise FileFormatError(where(path, f"cannot read as {_kind(module)}: {detail[:200]}")) from exc


__all__ = ["read"]
