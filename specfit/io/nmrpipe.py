"""NMRPipe 1-D spectra (``.ft``, ``.ft1``, ``.fid``); the header is decoded with ``nmrglue``.

The ppm axis is built from the header exactly as NMRPipe defines it: ``ORIG``
is the frequency (Hz) of the last stored point and ``SW`` the sweep width of
the stored points, so for ``N`` points

    ppm(i) = (ORIG + SW * (N - 1 - i) / N) / OBS,   i = 0 ... N - 1

(nmrglue's ``pipe.make_uc`` gives the same).  This stays right after an
``EXT`` (region extraction), where the carrier ``CAR`` no longer sits in the
middle of the stored points.  Time-domain data (an unprocessed ``.fid``) have
no ppm axis and are refused.

Integrity: NMRPipe stores no checksum, but the header fixes the data size
(``FDSIZE`` values, times 2 for complex data), so the file length must be
exactly 2048 header bytes plus 4 bytes per value; any other length (a
truncated, padded or byte-inserted file) is refused.
"""

from __future__ import annotations

import math
from pathlib import Path

import nmrglue as ng
import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where

EXTENSIONS = (".ft", ".ft1", ".fid")

_HEADER_BYTES = 2048  # 512 float32 values
_FDFLTORDER = 2.345  # header word 2: byte-order check value written by NMRPipe


def sniff(path: Path, head: bytes) -> bool:
    """Recognise the NMRPipe header: word 0 is 0.0 and word 2 the byte-order constant 2.345.

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
    if len(head) < 12:
        return False
    for order in ("<f4", ">f4"):
        words = np.frombuffer(head[:12], dtype=order)
        if words[0] == 0.0 and abs(words[2] - _FDFLTORDER) < 1e-5:
            return True
    return False


def _header_number(path: Path, header: dict, key: str, positive: bool = True) -> float:
    value = float(header[key])
    if not math.isfinite(value) or (positive and value <= 0):
        raise FileFormatError(where(path, f"NMRPipe header {key} = {value!r} is not a valid value"))
    return value


def read(path: str | Path) -> xr.DataArray:
    """Read a 1-D frequency-domain NMRPipe file.

    Parameters
    ----------
    path : str or Path
        The NMRPipe file.

    Returns
    -------
    xarray.DataArray
        Real part of the spectrum on ``chemical_shift`` (ppm, file order:
        high to low ppm).  attrs: ``observe_frequency_MHz``,
        ``spectral_width_Hz``, ``origin_Hz`` (frequency of the last point),
        ``carrier_Hz`` (carrier offset from the reference, ``CAR * OBS``),
        ``carrier_ppm``, ``nucleus``.

    Raises
    ------
    FileFormatError
        File length different from what the header promises, invalid header
        values, multi-dimensional or time-domain data.
    """
    path = Path(path)
    raw = path.read_bytes()
    head = raw[:_HEADER_BYTES]
    if len(head) < _HEADER_BYTES or not sniff(path, head):
        raise FileFormatError(where(path, "not an NMRPipe file (2048-byte header missing or truncated)"))
    order = "<f4"
    fdata = np.frombuffer(head, dtype=order)
    if abs(fdata[2] - _FDFLTORDER) > 1e-5:  # big-endian file
        order = ">f4"
        fdata = np.frombuffer(head, dtype=order)
    header = ng.pipe.fdata2dic(fdata)
    ndim = header["FDDIMCOUNT"]
    if ndim != 1:
        raise FileFormatError(where(path, f"{ndim:g}-D NMRPipe data; only 1-D is supported"))
    size = header["FDSIZE"]
    if not (math.isfinite(size) and size == int(size) and 2 <= size <= 1 << 28):
        raise FileFormatError(where(path, f"NMRPipe header FDSIZE = {size!r} is not a valid point count"))
    n = int(size)
    quad = header["FDQUADFLAG"]
    if quad not in (0.0, 1.0):
        raise FileFormatError(where(path, f"NMRPipe header FDQUADFLAG = {quad!r} (0 complex or 1 real expected)"))
    n_values = n if quad == 1.0 else 2 * n
    expected = _HEADER_BYTES + 4 * n_values
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "longer than its header says (damaged?)"
        raise FileFormatError(where(path, f"{problem}: {len(raw)} bytes, header promises {expected} "
                                          f"(2048 + 4 x {n_values} values)"))
    dim = {1.0: "FDF1", 2.0: "FDF2", 3.0: "FDF3", 4.0: "FDF4"}.get(header["FDDIMORDER1"])
    if dim is None:
        raise FileFormatError(where(path, f"NMRPipe header FDDIMORDER1 = {header['FDDIMORDER1']!r} is invalid"))
    if header[f"{dim}FTFLAG"] != 1.0:
        raise FileFormatError(where(path, "time-domain NMRPipe data (no ppm axis); process it first"))
    obs = _header_number(path, header, f"{dim}OBS")
    sw = _header_number(path, header, f"{dim}SW")
    orig = _header_number(path, header, f"{dim}ORIG", positive=False)
    car = _header_number(path, header, f"{dim}CAR", positive=False)  # ppm
    values = np.frombuffer(raw, dtype=order, count=n, offset=_HEADER_BYTES).astype(float)
    ppm = (orig + sw * (n - 1 - np.arange(n)) / n) / obs
    attrs = {
        "source_file": str(path),
        "observe_frequency_MHz": obs,
        "spectral_width_Hz": sw,
        "origin_Hz": orig,
        "carrier_Hz": car * obs,
        "carrier_ppm": car,
        "nucleus": str(header.get(f"{dim}LABEL", "")).strip(),
    }
    coord = xr.Variable("chemical_shift", ppm, attrs={"units": "ppm", "long_name": "Chemical shift"})
    return xr.DataArray(values, dims=("chemical_shift",), coords={"chemical_shift": coord}, attrs=attrs)
