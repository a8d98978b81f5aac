"""NetCDF / HDF5 files holding one spectrum array (e.g. ``DataArray.to_netcdf``).

The file is opened with xarray, loaded into memory and closed, so the
returned array holds no file handle.  Engines are tried in the order that
suits the file's signature: NetCDF-3 classic and 64-bit offset (``CDF`` version
bytes 1 and 2) with ``scipy`` and HDF5 with ``h5netcdf`` (both core
dependencies), CDF-5 with the optional ``netcdf4``.  The file's bytes are
handed over in memory, so a damaged file never leaves an HDF5 handle open
that a later read of the same path would reuse.  An engine that is not
installed is reported as such; any exception of an engine while
opening or loading (h5py reports checksum errors as ``RuntimeError``) means
"try the next", and when none succeeds one :class:`FileFormatError` names the
file and the reason.

Integrity: HDF5 checks its own metadata checksums and end-of-file address
(a truncated file is reported as such); NetCDF-3 has no checksum, its header
fixes the variable sizes, which the ``scipy`` engine checks against the file
length.  Dims, coords and the variable's attrs are returned
unchanged; global attributes are added only where they do not clash with the
variable's own (not for specfit result files, whose globals describe the fit).
"""

from __future__ import annotations

import gc
import io
import sys
import warnings
from pathlib import Path

import xarray as xr

from specfit.errors import FileFormatError, where

EXTENSIONS = (".nc", ".h5", ".nc4", ".hdf5")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CDF_MAGICS = (b"CDF\x01", b"CDF\x02", b"CDF\x05")  # NetCDF-3 classic, 64-bit offset, CDF-5
_ENGINES_CDF = ("scipy",)  # NetCDF-3 classic and 64-bit offset
_ENGINES_CDF5 = ("netcdf4",)  # CDF-5: only the optional netCDF4 package reads it
_ENGINES_HDF5 = ("h5netcdf",)
_PREFERRED = ("intensity", "data", "counts", "spectrum")
_UNNAMED = "__xarray_dataarray_variable__"  # what DataArray.to_netcdf calls an unnamed array


def sniff(path: Path, head: bytes) -> bool:
    """Recognise the HDF5 signature (at 0 or after a user block) or a NetCDF-3 ``CDF`` header.

    Parameters
    ----------
    path : Path
        The file (unused).
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
    """
    if head.startswith(_CDF_MAGICS):
        return True
    # HDF5 allows a user block before the superblock, at 512, 1024, 2048, ... bytes.
    return any(head[offset : offset + 8] == _HDF5_MAGIC for offset in (0, 512, 1024, 2048))


def read(path: str | Path) -> xr.DataArray:
    """Read the spectrum array of a NetCDF/HDF5 file.

    Parameters
    ----------
    path : str or Path
        ``.nc``, ``.nc4``, ``.h5`` or ``.hdf5`` file.

    Returns
    -------
    xarray.DataArray
        The only data variable; else the one named ``intensity``, ``data``,
        ``counts`` or ``spectrum``; for a specfit result file (global attr
        ``specfit_version``) its ``data`` variable.  ``attrs['source_file']``
        is set.

    Raises
    ------
    FileFormatError
        Unreadable file, no data variable, or several variables none of
        which has a recognised name.
    """
    path = Path(path)
    dataset = _open(path)
    names = [str(n) for n in dataset.data_vars]
    if "specfit_version" in dataset.attrs:
        if "data" not in dataset.data_vars:
            raise FileFormatError(where(path, f"specfit result file without a 'data' variable: {names}"))
        chosen = "data"
    elif len(names) == 1:
        chosen = names[0]
    else:
        chosen = next((n for n in _PREFERRED if n in dataset.data_vars), None)
        if chosen is None:
            listed = ", ".join(names) if names else "none"
            raise FileFormatError(
                where(
                    path,
                    f"cannot tell which variable is the spectrum (data variables: {listed}); "
                    f"name it one of {', '.join(_PREFERRED)}",
                )
            )
    array = dataset[chosen]
    if chosen == _UNNAMED:
        array = array.rename(None)
    attrs = dict(array.attrs)
    if "specfit_version" not in dataset.attrs:
        attrs = {**dataset.attrs, **attrs}
    attrs["source_file"] = str(path)
    out = array.copy()  # deep copy: nothing shared with the (closed) dataset
    out.attrs = attrs
    return out


def _open(path: Path) -> xr.Dataset:
    """Open with the first engine that can, load into memory and close the file.

    The bytes are read once and handed to ``h5netcdf``/``scipy`` as an
    in-memory file: a failed attempt then leaves no HDF5 file open behind it
    (HDF5 would hand the stale open file to the next open of the same path).
    Destructor noise of half-opened files ("Exception ignored in ...") is
    silenced while an attempt runs.
    """
    raw = path.read_bytes()
    head = raw[:4096]
    if head.startswith(b"CDF\x05"):
        engines = _ENGINES_CDF5
    else:
        engines = _ENGINES_CDF if head.startswith(_CDF_MAGICS) else _ENGINES_HDF5
    errors = []
    for engine in engines:
        hook = sys.unraisablehook
        sys.unraisablehook = lambda unraisable: None
        try:
            source = str(path) if engine == "netcdf4" else io.BytesIO(raw)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with xr.open_dataset(source, engine=engine) as dataset:
                    return dataset.load()
        except (ImportError, ModuleNotFoundError):
            errors.append(f"{engine}: not installed")
        except MemoryError:
            errors.append(f"{engine}: out of memory")
        except Exception as exc:  # not this engine's format, or a damaged file (h5py: RuntimeError, OSError...)
            text = " ".join(str(exc).split()).replace(str(path), "<file>")
            errors.append(f"{engine}: {type(exc).__name__}: {text[:120]}")
        finally:
            if errors and errors[-1].startswith(f"{engine}:"):
                gc.collect(1)  # a failed attempt: run destructors of half-opened files while silenced
            sys.unraisablehook = hook
    kind = "NetCDF-3" if head.startswith(_CDF_MAGICS) else "NetCDF-4/HDF5"
    problem = "truncated" if any("truncated" in e for e in errors) else "damaged or not readable"
    raise FileFormatError(where(path, f"{kind} file {problem} (" + "; ".join(errors) + ")"))
