"""NMRPipe 1-D spectra (``.ft``, ``.ft1``, ``.fid``) through ``nmrglue``.

The ppm axis comes from nmrglue's universal dictionary (``pipe.guess_udic``
and ``fileiobase.uc_from_udic``), i.e. exactly the axis NMRPipe itself uses,
so point sums over ppm ranges reproduce NMRPipe integrals.  Time-domain data
(an unprocessed ``.fid``) have no ppm axis and are refused.
"""

from __future__ import annotations

from pathlib import Path

import nmrglue as ng
import numpy as np
import xarray as xr

from ..errors import FileFormatError, where

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
        ``spectral_width_Hz``, ``carrier_Hz`` (carrier offset from the
        reference, as nmrglue defines it), ``carrier_ppm``, ``nucleus``.

    Raises
    ------
    FileFormatError
        Truncated file, multi-dimensional or time-domain data.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(_HEADER_BYTES)
    if len(head) < _HEADER_BYTES or not sniff(path, head):
        raise FileFormatError(where(path, "not an NMRPipe file (header missing or truncated)"))
    # Check shape and size from the header first: nmrglue only warns on short data.
    fdata = np.frombuffer(head, dtype="<f4")
    if abs(fdata[2] - _FDFLTORDER) > 1e-5:  # big-endian file
        fdata = np.frombuffer(head, dtype=">f4")
    header = ng.pipe.fdata2dic(fdata)
    ndim = int(header["FDDIMCOUNT"])
    if ndim != 1:
        raise FileFormatError(where(path, f"{ndim}-D NMRPipe data; only 1-D is supported"))
    expected = _HEADER_BYTES + 4 * int(header["FDSIZE"]) * (1 if header["FDQUADFLAG"] == 1 else 2)
    if size < expected:
        raise FileFormatError(where(path, f"truncated: {size} bytes, expected {expected}"))
    try:
        dic, data = ng.pipe.read(str(path))
    except (ValueError, OSError, EOFError) as exc:
        raise FileFormatError(where(path, f"cannot read NMRPipe data: {exc}")) from exc
    udic = ng.pipe.guess_udic(dic, data)[0]
    if udic["time"] or not udic["freq"]:
        raise FileFormatError(where(path, "time-domain NMRPipe data (no ppm axis); process it first"))
    uc = ng.fileiobase.uc_from_udic({"ndim": 1, 0: udic})
    ppm = np.asarray(uc.ppm_scale(), dtype=float)
    obs = float(udic["obs"])
    attrs = {
        "source_file": str(path),
        "observe_frequency_MHz": obs,
        "spectral_width_Hz": float(udic["sw"]),
        "carrier_Hz": float(udic["car"]),
        "carrier_ppm": float(udic["car"]) / obs if obs else float("nan"),
        "nucleus": str(udic["label"]),
    }
    coord = xr.Variable("chemical_shift", ppm, attrs={"units": "ppm", "long_name": "Chemical shift"})
    return xr.DataArray(
        np.real(data).astype(float), dims=("chemical_shift",), coords={"chemical_shift": coord}, attrs=attrs
    )
