"""CasaXPS CSV export of a fitted region: data, components, background and envelope.

Layout: blank rows, a ``Characteristic Energy eV,<hv>,Acquisition Time s,<t>``
row, a header row ``BE_<region>,CPS_<region>,<component>...,Background_...,
Envelope_...`` and then one row per energy.  The spectrum is the CPS column;
CasaXPS's own curves are kept as coordinates along the axis so a fit can be
compared with CasaXPS's.

Integrity: the export has no point count or checksum; every data row must
fill exactly the header's columns (a shorter row is a truncation, a longer
one a misaligned or edited file, both refused).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where
from specfit.io.textcodec import strip_bom

EXTENSIONS = (".csv",)

_MARKER = "Characteristic Energy"


def sniff(path: Path, head: bytes) -> bool:
    """Only a CasaXPS export has a ``Characteristic Energy`` row before its header."""
    for line in strip_bom(head).splitlines()[:10]:
        if line.strip(b", \t\r"):
            return line.lstrip().startswith(_MARKER.encode())
    return False


def _region_from_name(path: Path) -> str:
    """``..._F_1s.csv`` -> ``F1s``: CasaXPS names exports after the region."""
    match = re.search(r"_([A-Z][a-z]?)_(\d[spdf](?:\d/\d|\d)?)$", path.stem)
    return f"{match.group(1)}{match.group(2)}" if match else path.stem


def _float(path: Path, number: int, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FileFormatError(where(path, f"line {number}: non-numeric value {text[:30]!r}")) from None


def read(path: str | Path) -> xr.DataArray:
    """Read a CasaXPS CSV export.

    Parameters
    ----------
    path : str or Path
        The ``.csv`` file.

    Returns
    -------
    xarray.DataArray
        CPS on ``binding_energy`` (eV, file order) with coordinates
        ``casaxps_background``, ``casaxps_envelope`` and
        ``casaxps_component_<i>`` (``i`` from 0, in column order); the attr
        ``casaxps_components`` lists the component column names.

    Raises
    ------
    FileFormatError
        If the marker row or header is missing, or a row is malformed.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        try:
            rows = [(n, row) for n, row in enumerate(csv.reader(fh), start=1) if any(c.strip() for c in row)]
        except csv.Error as exc:
            raise FileFormatError(where(path, f"not a readable CSV file ({exc})")) from None
    if not rows or not rows[0][1][0].startswith(_MARKER):
        raise FileFormatError(where(path, f"no '{_MARKER}' row: not a CasaXPS CSV export"))
    marker = [c.strip() for c in rows[0][1]]
    settings = dict(zip(marker[0::2], marker[1::2]))
    if len(rows) < 3:
        raise FileFormatError(where(path, "CasaXPS CSV has no data rows (file truncated?)"))
    header = [c.strip() for c in rows[1][1]]
    while header and not header[-1]:
        header.pop()
    if len(header) < 2 or not header[0].startswith("BE") or not header[1].startswith("CPS"):
        raise FileFormatError(where(path, f"line {rows[1][0]}: expected header 'BE_...,CPS_...', "
                                          f"found {','.join(header)[:60]!r}"))
    table = []
    for number, row in rows[2:]:
        cells = [c.strip() for c in row]
        while len(cells) > len(header) and not cells[-1]:
            cells.pop()  # trailing empty cells (spreadsheet padding) are harmless
        if len(cells) > len(header):
            raise FileFormatError(where(path, f"line {number}: ragged row with {len(cells)} values, the header "
                                              f"has {len(header)} columns"))
        if len(cells) < len(header) or not all(cells):
            filled = sum(1 for c in cells if c)
            raise FileFormatError(where(path, f"line {number}: {filled} of {len(header)} columns "
                                              f"filled (file truncated?)"))
        table.append([_float(path, number, c) for c in cells])
    data = np.array(table)
    if not np.isfinite(data[:, 0]).all():
        raise FileFormatError(where(path, "binding-energy column holds a non-finite value"))

    region = _region_from_name(path)
    x, cps = data[:, 0], data[:, 1]
    coords: dict = {"binding_energy": ("binding_energy", x, {"units": "eV", "long_name": "Binding energy"})}
    components = []
    for name, column in zip(header[2:], data[:, 2:].T):
        if name.startswith("Background"):
            coords["casaxps_background"] = ("binding_energy", column)
        elif name.startswith("Envelope"):
            coords["casaxps_envelope"] = ("binding_energy", column)
        else:
            # Component columns already include the background (CasaXPS convention).
            coords[f"casaxps_component_{len(components)}"] = ("binding_energy", column)
            components.append(name)
    attrs = {"source_file": str(path), "units": "counts/s", "long_name": "Intensity", "region": region,
             "casaxps_components": components, "technique": "XPS"}
    photon = settings.get("Characteristic Energy eV")
    if photon:
        attrs["photon_energy"] = _float(path, rows[0][0], photon)
    if settings.get("Acquisition Time s"):
        attrs["acquisition_time"] = _float(path, rows[0][0], settings["Acquisition Time s"])
    return xr.DataArray(cps, dims=("binding_energy",), coords=coords, name=region, attrs=attrs)
