"""Renishaw WiRE ``.wdf`` files through the maintained ``renishawWiRE`` package (extra ``specfit[wdf]``).

Single spectra, series (``spectrum`` dim) and maps (``map_y``, ``map_x`` dims
with stage positions in micrometres) are supported.  No public ``.wdf``
example exists (the package's own examples are LFS placeholders), so the
mapping from the reader's attributes is tested against a stand-in object and
a generated file.

Integrity: WiRE stores no checksum.  Before the package sees the file, the
block chain is walked: every block size must be at least its 16-byte header
and stay inside the file, the chain must end exactly at the end of the file,
``WDF1`` must be 512 bytes, ``DATA`` must hold the ``count x points`` float32
values the header promises and ``XLST`` the axis values.  An x-axis unit other
than a Raman shift is kept under its own name (dimension ``x``); an unknown or
missing unit is refused rather than read as a Raman shift.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where

EXTENSIONS = (".wdf",)


_KNOWN_X_UNITS = {"RamanShift": ("raman_shift", "cm-1"), "Wavenumber": ("x", "cm-1"), "Nanometre": ("x", "nm"),
                  "ElectronVolt": ("x", "eV"), "Micron": ("x", "um")}


def sniff(path: Path, head: bytes) -> bool:
    """A WiRE file starts with its ``WDF1`` block name."""
    return head[:4] == b"WDF1"


def _u(data: bytes, offset: int, size: int) -> int:
    return int.from_bytes(data[offset:offset + size], "little", signed=True)


def check_blocks(path: Path) -> None:
    """Walk the block chain as renishawWiRE does and check the sizes the header promises.

    Refuses sizes that would make the package loop forever, a chain that does
    not end exactly at the end of the file, and DATA/XLST blocks too small for
    the header's point and spectrum counts.
    """
    data = path.read_bytes()
    pos, blocks = 0, {}
    while pos + 16 <= len(data):
        size = _u(data, pos + 8, 8)
        if size < 16 or pos + size > len(data):
            raise FileFormatError(where(path, f"corrupt or truncated WiRE block at byte {pos} (size {size})"))
        blocks.setdefault(data[pos:pos + 4], (pos, size))
        pos += size
    if pos != len(data):
        raise FileFormatError(where(path, f"WiRE block chain ends at byte {pos}, the file has {len(data)} bytes "
                                          f"(truncated or damaged)"))
    for required in (b"WDF1", b"DATA", b"XLST"):
        if required not in blocks:
            raise FileFormatError(where(path, f"missing WiRE block {required.decode()}"))
    if blocks[b"WDF1"] != (0, 512):
        raise FileFormatError(where(path, f"WiRE header block is {blocks[b'WDF1'][1]} bytes, expected 512"))
    points, capacity, count = _u(data, 0x3C, 4), _u(data, 0x40, 8), _u(data, 0x48, 8)
    x_length = _u(data, 0x58, 4)
    if not (1 <= points <= 1 << 24 and 1 <= count <= capacity and x_length == points):
        raise FileFormatError(where(path, f"WiRE header counts are inconsistent ({points} points per spectrum, "
                                          f"{count} of {capacity} spectra, {x_length} x values)"))
    if blocks[b"DATA"][1] < 16 + 4 * points * count:
        raise FileFormatError(where(path, f"WiRE DATA block is {blocks[b'DATA'][1]} bytes, too small for "
                                          f"{count} x {points} values"))
    if blocks[b"XLST"][1] < 24 + 4 * points:
        raise FileFormatError(where(path, f"WiRE XLST block is {blocks[b'XLST'][1]} bytes, too small for "
                                          f"{points} axis values"))


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
    if unit not in _KNOWN_X_UNITS:
        raise FileFormatError(where(path, f"unknown x-axis unit {unit[:30]!r} in the WiRE file"))
    axis, axis_units = _KNOWN_X_UNITS[unit]
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
    da[axis].attrs["units"] = axis_units
    da.attrs.update(source_file=str(path), title=str(getattr(reader, "title", "")),
                    laser_wavelength_nm=float(getattr(reader, "laser_length", np.nan) or np.nan),
                    measurement_type=_unit_name(getattr(reader, "measurement_type", "")), technique="raman")
    return da


def read(path: Path) -> xr.DataArray:
    """Read a Renishaw ``.wdf`` file.

    Parameters
    ----------
    path : Path
        The ``.wdf`` file.

    Returns
    -------
    xarray.DataArray
        One spectrum, a series (``spectrum``, axis) or a map (``map_y``,
        ``map_x``, axis).

    Raises
    ------
    FileFormatError
        A damaged block chain or header (see the module docstring), an
        unknown axis unit, or anything the WiRE package cannot read.
    """
    path = Path(path)
    check_blocks(path)
    try:
        reader = _reader(path)
    except FileFormatError:
        raise
    except Exception as exc:  # the package raises bare exceptions on malformed files
        raise FileFormatError(where(path, f"not a readable WiRE file: {type(exc).__name__}: {exc}")) from None
    try:
        return to_dataarray(reader, path)
    finally:
        close = getattr(reader, "close", None)
        if callable(close):
            close()
