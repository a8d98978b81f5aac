"""Scienta SES text export: INI-like ``[Region n]``, ``[Info n]`` and ``[Data n]`` sections.

``[Region n]`` gives the dimensions (``Dimension 1 name=Binding Energy [eV]``,
``size``, ``scale``), ``[Info n]`` the acquisition settings (excitation
energy, pass energy, sweeps, step time) and ``[Data n]`` rows of the energy
followed by one intensity column per slice of dimension 2 (one column for a
plain spectrum).  Several regions with their own axes give a DataTree.

The energy scale (``Energy Scale=Binding|Kinetic``, or the dimension-1 name)
must be one of the two; any other value is refused rather than guessed.
Integrity: no checksum; each ``[Data n]`` section must hold ``Dimension 1
size`` rows of the same width.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where
from specfit.io.textcodec import read_text
from specfit.io.vamas import as_tree, region_label

EXTENSIONS = (".txt",)

_SECTION = re.compile(r"^\[(\w[\w ]*?)(?:\s+(\d+))?\]$")


def sniff(path: Path, head: bytes) -> bool:
    """SES files open with ``[Info]`` and a ``Number of Regions=`` line."""
    return head.lstrip().startswith(b"[Info]") and b"Number of Regions" in head


def _sections(path: Path) -> dict[tuple[str, int], list[tuple[int, str]]]:
    """Map (section name, region number) to its numbered non-empty lines."""
    text = read_text(path)
    sections: dict[tuple[str, int], list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        match = _SECTION.match(line)
        if match:
            current = sections.setdefault((match.group(1), int(match.group(2) or 0)), [])
        elif line and current is not None:
            current.append((number, line))
    return sections


def _keys(lines: list[tuple[int, str]]) -> dict[str, str]:
    return {key.strip(): value.strip() for _, line in lines if "=" in line
            for key, value in [line.split("=", 1)]}


def _number(text: str | None) -> float | None:
    """A finite number, or None for an absent or unparseable value."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is None or np.isfinite(value) else None


def _region_array(path: Path, n: int, sections: dict) -> xr.DataArray:
    region = _keys(sections.get(("Region", n), []))
    info = _keys(sections.get(("Info", n), []))
    rows = sections.get(("Data", n))
    if not rows:
        raise FileFormatError(where(path, f"region {n}: no [Data {n}] section (file truncated?)"))
    width = len(rows[0][1].split())
    for number, line in rows:
        fields = line.split()
        if len(fields) != width or width < 2 or any(_number(v) is None for v in fields):
            raise FileFormatError(where(path, f"line {number}: malformed data row {line[:40]!r} "
                                              f"(expected {max(width, 2)} numbers)"))
    data = np.array([line.split() for _, line in rows], dtype=float)
    size = _number(region.get("Dimension 1 size"))
    if "Dimension 1 size" in region and (size is None or size != int(size)):
        raise FileFormatError(where(path, f"region {n}: Dimension 1 size={region['Dimension 1 size'][:20]!r} "
                                          f"is not a point count"))
    if size is not None and len(data) != int(size):
        raise FileFormatError(where(path, f"region {n}: {len(data)} data rows, header says "
                                          f"Dimension 1 size={int(size)} (file truncated?)"))
    x = data[:, 0]
    photon = _number(info.get("Excitation Energy"))
    axis_name = region.get("Dimension 1 name", "").lower()
    scale = info.get("Energy Scale", "").strip().lower()
    if scale not in ("", "binding", "kinetic"):
        raise FileFormatError(where(path, f"region {n}: unknown Energy Scale={scale[:20]!r} (Binding or Kinetic)"))
    if not scale and "binding" not in axis_name and "kinetic" not in axis_name:
        raise FileFormatError(where(path, f"region {n}: cannot tell binding from kinetic energy (Dimension 1 "
                                          f"name={axis_name[:30]!r}, no Energy Scale)"))
    if "binding" in axis_name or scale == "binding":
        dim = "binding_energy"
    elif photon:
        x, dim = np.round(photon - x, 9) + 0.0, "binding_energy"
    else:
        dim = "kinetic_energy"
    name = info.get("Region Name") or region.get("Region Name") or f"region_{n}"
    label = region_label(name, "", name, x) or f"region_{n}"
    attrs = {"source_file": str(path), "units": "counts", "long_name": "Intensity", "region": label,
             "region_name": name, "photon_energy": photon, "pass_energy": _number(info.get("Pass Energy")),
             "scans": int(_number(info.get("Number of Sweeps")) or 0) or None,
             # SES gives the step time in ms.
             "dwell_time": (_number(info.get("Step Time")) or 0) / 1000 or None,
             "lens_mode": info.get("Lens Mode"), "acquisition_mode": info.get("Acquisition Mode"),
             "sample": info.get("Sample"), "instrument": info.get("Instrument"),
             "acquired": " ".join(filter(None, (info.get("Date"), info.get("Time")))),
             "comment": info.get("Comments"), "technique": "XPS" if photon else None}
    attrs = {k: v for k, v in attrs.items() if v not in (None, "")}
    coords: dict = {dim: (dim, x, {"units": "eV", "long_name": dim.replace("_", " ").capitalize()})}
    if data.shape[1] == 2:
        return xr.DataArray(data[:, 1], dims=(dim,), coords=coords, name=label, attrs=attrs)
    # Extra columns are slices along dimension 2 (angle, position...): a leading batch dimension.
    batch_name = region.get("Dimension 2 name", "spectrum")
    batch = re.sub(r"\W+", "_", batch_name.split("[")[0].strip().lower()).strip("_") or "spectrum"
    scale = region.get("Dimension 2 scale", "").split()
    values = [float(v) for v in scale] if len(scale) == data.shape[1] - 1 else np.arange(data.shape[1] - 1)
    coords[batch] = (batch, values)
    return xr.DataArray(data[:, 1:].T, dims=(batch, dim), coords=coords, name=label, attrs=attrs)


def read(path: str | Path) -> xr.DataArray | xr.DataTree:
    """Read a Scienta SES ``.txt`` export.

    Parameters
    ----------
    path : str or Path
        The text file.

    Returns
    -------
    xarray.DataArray or xarray.DataTree
        One region: its spectrum on ``binding_energy`` (eV).  Several regions:
        a DataTree with one child per region holding the variable ``intensity``.

    Raises
    ------
    FileFormatError
        If a region's data section is missing, truncated or non-numeric.
    """
    path = Path(path)
    sections = _sections(path)
    numbers = sorted(n for name, n in sections if name == "Region" and n > 0)
    if not numbers:
        raise FileFormatError(where(path, "no [Region n] section in Scienta SES text file"))
    arrays = [_region_array(path, n, sections) for n in numbers]
    if len(arrays) == 1:
        return arrays[0]
    return as_tree(arrays, [a.attrs["region"] for a in arrays], {"source_file": str(path)})
