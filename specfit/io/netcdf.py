"""NetCDF / HDF5 files holding one spectrum array (e.g. ``DataArray.to_netcdf``).

The file is opened with xarray (``h5netcdf`` first, then ``netcdf4`` and
``scipy`` for NetCDF-3), loaded into memory and closed, so the returned array
holds no file handle.  Dims, coords and the variable's attrs are returned
unchanged; global attributes are added only where they do not clash with the
variable's own (not for specfit result files, whose globals describe the fit).
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from ..errors import FileFormatError, where

EXTENSIONS = (".nc", ".h5", ".nc4", ".hdf5")

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CDF_MAGICS = (b"CDF\x01", b"CDF\x02", b"CDF\x05")  # NetCDF-3 classic, 64-bit offset, CDF-5
_ENGINES = ("h5netcdf", "netcdf4", "scipy")
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
    """Open with the first engine that can, load into memory and close the file."""
    errors = []
    for engine in _ENGINES:
        try:
            with xr.open_dataset(path, engine=engine) as dataset:
                return dataset.load()
        except (ValueError, OSError, TypeError, KeyError) as exc:  # not this engine's format, or broken
            errors.append(f"{engine}: {str(exc)[:120]}")
    raise FileFormatError(where(path, "cannot open as NetCDF/HDF5 (" + "; ".join(errors) + ")"))
