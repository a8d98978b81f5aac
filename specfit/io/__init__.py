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
from pathlib import Path
from types import ModuleType

import xarray as xr

from ..errors import FileFormatError, where

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


def available_formats() -> dict[str, tuple[str, ...]]:
    """Map reader name to the file suffixes it claims."""
    return {m.__name__.rsplit(".", 1)[-1]: tuple(m.EXTENSIONS) for m in _modules()}


def read(path: str | Path) -> xr.DataArray | xr.DataTree:
    """Read any supported spectrum file.

    Parameters
    ----------
    path : str or Path
        A file (or, for Bruker data, a processed-data directory ``pdata/1``).

    Returns
    -------
    xarray.DataArray or xarray.DataTree
        One DataArray whose last dimension is the spectral axis, or a
        DataTree with one DataArray per region when regions have different axes.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(where(path, "no such file"))
    head = b""
    if path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(4096)
        if not head.strip():
            raise FileFormatError(where(path, "file is empty"))
    suffix = path.suffix.lower()
    modules = _modules()
    candidates = [m for m in modules if suffix in m.EXTENSIONS and m.sniff(path, head)]
    if not candidates:
        candidates = [m for m in modules if m.sniff(path, head)]
    if not candidates:
        raise FileFormatError(where(path, f"unrecognised file format (suffix {suffix or 'none'!r})"))
    try:
        return candidates[0].read(path)
    except FileFormatError:
        raise
    except (ValueError, IndexError, KeyError, UnicodeDecodeError, OSError, EOFError) as exc:
        kind = candidates[0].__name__.rsplit(".", 1)[-1]
        raise FileFormatError(where(path, f"cannot read as {kind}: {exc}")) from exc
