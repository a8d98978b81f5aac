"""Renishaw WiRE ``.wdf`` files through the maintained ``renishawWiRE`` package (extra ``specfit[wdf]``).

Single spectra, series (``spectrum`` dim) and maps (``map_y``, ``map_x`` dims
with stage positions in micrometres) are supported.  No public ``.wdf``
example exists (the package's own examples are LFS placeholders), so the
mapping from the reader's attributes is tested against a stand-in object.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import FileFormatError, where

EXTENSIONS = (".wdf",)


def sniff(path: Path, head: bytes) -> bool:
    return head[:4] == b"WDF1"


def check_blocks(path: Path) -> None:
    """Walk the block chain as renishawWiRE does, refusing sizes that would make it loop forever."""
    data = path.read_bytes()
    pos, names = 0, []
    while pos + 16 <= len(data):
        size = int.from_bytes(data[pos + 8:pos + 16], "little", signed=True)
        if size < 16 or pos + size > len(data):
            raise FileFormatError(where(path, f"corrupt or truncated WiRE block at byte {pos} (size {size})"))
        names.append(data[pos:pos + 4])
        pos += size
    for required in (b"WDF1", b"DATA", b"XLST"):
        if required not in names:
            raise FileFormatError(where(path, f"missing WiRE block {required.decode()}"))


def _reader(path: Path):
    try:
        from renishawWiRE import WDFReader
    except ImportError:
        raise FileFormatError(where(path, "reading .wdf needs the renishawWiRE package: "
                                          "pip install 'specfit[wdf]'")) from None
    return WDFReader(str(path))


def _unit_name(unit: object) -> str:
    return getattr(unit, "name", str(unit or ""))


def to_dataarray(reader: object, path: Path) -> xr.DataArray:
    """Map a ``renishawWiRE.WDFReader`` (or an object with the same attributes) to a DataArray."""
    x = np.asarray(reader.xdata, float)
    spectra = np.asarray(reader.spectra, float)
    unit = _unit_name(getattr(reader, "xlist_unit", ""))
    axis = "raman_shift" if unit in ("RamanShift", "") else "x"
    if spectra.shape[-1] != x.size:
        raise FileFormatError(where(path, f"{spectra.shape[-1]} points per spectrum but {x.size} axis values"))
    coords: dict = {axis: x}
    if spectra.ndim == 1:
        dims: tuple[str, ...] = (axis,)
    elif spectra.ndim == 2:
        dims = ("spectrum", axis)
        coords["spectrum"] = np.arange(spectra.shape[0])
        for name in ("xpos", "ypos"):
            pos = np.asarray(getattr(reader, name, []), float)
            if pos.size == spectra.shape[0]:
                coords[f"stage_{name[0]}"] = ("spectrum", pos)
    elif spectra.ndim == 3:
        dims = ("map_y", "map_x", axis)
        ny, nx = spectra.shape[:2]
        xpos = np.asarray(getattr(reader, "xpos", []), float)
        ypos = np.asarray(getattr(reader, "ypos", []), float)
        if xpos.size == ny * nx and ypos.size == ny * nx:
            coords["map_x"] = xpos.reshape(ny, nx)[0]
            coords["map_y"] = ypos.reshape(ny, nx)[:, 0]
    else:
        raise FileFormatError(where(path, f"unexpected spectra array of shape {spectra.shape}"))
    da = xr.DataArray(spectra, dims=dims, coords=coords, name="intensity")
    da[axis].attrs["units"] = "cm-1" if axis == "raman_shift" else unit
    da.attrs.update(source_file=str(path), title=str(getattr(reader, "title", "")),
                    laser_wavelength_nm=float(getattr(reader, "laser_length", np.nan) or np.nan),
                    measurement_type=_unit_name(getattr(reader, "measurement_type", "")), technique="raman")
    return da


def read(path: Path) -> xr.DataArray:
    """Read a Renishaw ``.wdf`` file."""
    check_blocks(path)
    try:
        reader = _reader(path)
    except FileFormatError:
        raise
    except Exception as exc:  # the package raises bare exceptions on malformed files
        raise FileFormatError(where(path, f"not a readable WiRE file: {exc}")) from None
    return to_dataarray(reader, path)
