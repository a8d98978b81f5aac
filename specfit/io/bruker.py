"""Bruker TopSpin processed 1-D spectra (``<expno>/pdata/<procno>/1r``) through ``nmrglue``.

The path may be the ``pdata/<procno>`` directory, the ``1r`` file in it, or
the experiment directory (then ``pdata/1`` is read).  The ppm axis is built
from ``procs``: the first point is at ``OFFSET`` ppm and points are
``SW_p / SF / SI`` ppm apart (the FFT spacing, as in nmrglue's unit
conversion), so the axis runs from high to low ppm in file order.

Integrity: TopSpin stores no checksum, but ``procs`` fixes the size of
``1r``: ``SI`` values of 4 bytes (``DTYPP=0``, int32) or 8 bytes
(``DTYPP=2``, float64), so the file length must be exactly ``SI`` times that;
``SF``, ``SW_p`` and ``OFFSET`` must be finite numbers (``SF``, ``SW_p`` > 0).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import nmrglue as ng
import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where

EXTENSIONS: tuple[str, ...] = ()  # Bruker files and folders have no suffix; sniff() decides


def _pdata_dir(path: Path) -> Path | None:
    """The processed-data directory that ``path`` designates, or None."""
    if path.is_file():
        path = path.parent if path.name == "1r" else Path("/nonexistent")
    for candidate in (path, path / "pdata" / "1"):
        if (candidate / "1r").is_file() and (candidate / "procs").is_file():
            return candidate
    return None


def sniff(path: Path, head: bytes) -> bool:
    """Recognise the directory layout (``head`` is empty for directories).

    Parameters
    ----------
    path : Path
        A ``pdata/<n>`` directory, its ``1r`` file or the experiment directory.
    head : bytes
        The first bytes of the file (unused).

    Returns
    -------
    bool
    """
    return _pdata_dir(Path(path)) is not None


def read(path: str | Path) -> xr.DataArray:
    """Read the real part (``1r``) of a processed 1-D Bruker spectrum.

    Parameters
    ----------
    path : str or Path
        ``pdata/<n>`` directory, the ``1r`` file, or the experiment directory.

    Returns
    -------
    xarray.DataArray
        Intensities scaled by ``2**NC_proc`` on ``chemical_shift`` (ppm).
        attrs: ``SF`` (MHz, ppm reference frequency), ``SR`` (Hz, ``SF - BF1``,
        only when ``acqus`` is present), ``BF1``, ``observe_frequency_MHz``
        (``SFO1``, else ``SF``), ``nucleus`` (acqus ``NUC1``, else procs
        ``AXNUC``), ``offset_ppm``, ``spectral_width_Hz`` and ``title``.

    Raises
    ------
    FileFormatError
        Not a processed-data directory, missing procs parameters, or a
        data file that does not match ``SI``.
    """
    path = Path(path)
    pdata = _pdata_dir(path)
    if pdata is None:
        raise FileFormatError(where(path, "no Bruker processed data (pdata/<n> with 1r and procs)"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nmrglue warns about every line it cannot parse
            procs = ng.bruker.read_jcamp(str(pdata / "procs"))
        offset, sw_p, sf = float(procs["OFFSET"]), float(procs["SW_p"]), float(procs["SF"])
        si, dtypp = int(procs["SI"]), int(procs.get("DTYPP", 0))
    except KeyError as exc:
        raise FileFormatError(where(path, f"procs lacks parameter {exc}")) from exc
    except (ValueError, TypeError, OSError, IndexError) as exc:
        raise FileFormatError(where(path, f"cannot read Bruker procs: {exc}")) from exc
    if not (math.isfinite(offset) and math.isfinite(sw_p) and math.isfinite(sf) and sw_p > 0 and sf > 0):
        raise FileFormatError(where(path, f"procs values SF={sf}, SW_p={sw_p}, OFFSET={offset} are not valid"))
    if dtypp not in (0, 2) or si < 2:
        raise FileFormatError(where(path, f"procs SI={si}, DTYPP={dtypp} not supported (DTYPP 0 or 2, SI >= 2)"))
    size, expected = (pdata / "1r").stat().st_size, si * (4 if dtypp == 0 else 8)
    if size != expected:
        raise FileFormatError(where(path, f"1r is {size} bytes, procs promises {expected} (SI={si}, DTYPP={dtypp}); "
                                          f"truncated or damaged"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dic, data = ng.bruker.read_pdata(str(pdata), scale_data=True)
    except (ValueError, OSError, KeyError, IndexError) as exc:
        raise FileFormatError(where(path, f"cannot read Bruker pdata: {exc}")) from exc
    if data.ndim != 1 or data.size != si:
        raise FileFormatError(where(path, f"expected 1-D data of SI={si} points, got shape {data.shape}"))
    ppm = offset - np.arange(si) * (sw_p / sf / si)
    coord = xr.Variable("chemical_shift", ppm, attrs={"units": "ppm", "long_name": "Chemical shift"})
    return xr.DataArray(
        np.asarray(data, dtype=float),
        dims=("chemical_shift",),
        coords={"chemical_shift": coord},
        attrs=_attrs(path, pdata, dic),
    )


def _attrs(path: Path, pdata: Path, dic: dict) -> dict:
    """Referencing and acquisition metadata from procs and (when present) acqus."""
    procs, acqus = dic["procs"], dic.get("acqus", {})
    sf = float(procs["SF"])
    attrs = {
        "source_file": str(path),
        "SF": sf,
        "offset_ppm": float(procs["OFFSET"]),
        "spectral_width_Hz": float(procs["SW_p"]),
        "observe_frequency_MHz": float(acqus.get("SFO1", sf)),
        "nucleus": str(acqus.get("NUC1", procs.get("AXNUC", ""))).strip("<>"),
    }
    if "BF1" in acqus:
        # SR is not stored in procs: TopSpin defines it as SF - BF1, in Hz.
        attrs["BF1"] = float(acqus["BF1"])
        attrs["SR"] = (sf - attrs["BF1"]) * 1e6
    title = pdata / "title"
    if title.is_file():
        attrs["title"] = title.read_text(encoding="latin-1").strip()
    return attrs
