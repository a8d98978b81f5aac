"""SPECS Prodigy ``.xy`` export: ``# key: value`` comment headers around two-column data.

The export is a sequence of regions (``# Region: Fe2p``), each with metadata
lines, then one data block per cycle / curve / scan (``# Cycle: 0, Curve: 0,
Scan: 0``) followed by ``energy value`` rows.  One region with one data block
is a single spectrum; several data blocks of a region on the same axis are
stacked along a leading dimension; several regions give a DataTree.

The export settings ``Energy Axis`` (binding / kinetic energy), ``Count
Rate`` (counts per second / counts) and ``Separate Scan Data`` (yes / no)
decide how values are converted; any other value is refused, not guessed.
Integrity: no checksum; each data block must hold ``Values/Curve`` rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where
from specfit.io.textcodec import read_text
from specfit.io.vamas import as_tree, region_label

EXTENSIONS = (".xy",)

_KEY_VALUE = re.compile(r"^#\s*([^:]+?):\s*(.*?)\s*$")
_BLOCK = re.compile(r"^#\s*Cycle:\s*(\d+)(?:,\s*Curve:\s*(\d+))?(?:,\s*Scan:\s*(\d+))?", re.IGNORECASE)


def sniff(path: Path, head: bytes) -> bool:
    """Prodigy writes ``# Created by: SpecsLab Prodigy`` on its first line."""
    first = head.lstrip().split(b"\n", 1)[0]
    return first.startswith(b"#") and b"Prodigy" in first


def _number(text: str | None) -> float | None:
    """A finite number, or None for an absent or unparseable value."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is None or np.isfinite(value) else None


class _Region:
    """Metadata and data blocks of one ``# Region:`` section."""

    def __init__(self, name: str, settings: dict[str, str]) -> None:
        self.name = name
        self.meta: dict[str, str] = {}
        self.settings = settings
        self.blocks: list[tuple[tuple[int, int, int], list[list[float]]]] = []


def _parse(path: Path) -> tuple[dict[str, str], list[_Region]]:
    settings: dict[str, str] = {}
    regions: list[_Region] = []
    text = read_text(path)
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            block = _BLOCK.match(line)
            if block:
                if not regions:
                    raise FileFormatError(where(path, f"line {number}: data block before any '# Region:'"))
                key = tuple(int(g) if g is not None else 0 for g in block.groups())
                blocks = regions[-1].blocks
                if blocks and not blocks[-1][1]:
                    blocks.pop()  # "# Cycle: 0" heading its "# Cycle: 0, Curve: 0, Scan: 0" data block
                blocks.append((key, []))
                continue
            match = _KEY_VALUE.match(line)
            if not match:
                continue
            key, value = match.groups()
            if key == "Region":
                regions.append(_Region(value, settings))
            elif regions:
                regions[-1].meta[key] = value
            else:
                settings[key] = value
            continue
        if not regions or not regions[-1].blocks:
            raise FileFormatError(where(path, f"line {number}: data row outside a '# Cycle:' block"))
        fields = line.split()
        try:
            row = [float(f) for f in fields]
        except ValueError:
            raise FileFormatError(where(path, f"line {number}: non-numeric data row {line[:40]!r}")) from None
        rows = regions[-1].blocks[-1][1]
        if len(row) < 2 or (rows and len(row) != len(rows[0])):
            raise FileFormatError(where(path, f"line {number}: expected {len(rows[0]) if rows else 2} "
                                              f"columns, found {len(row)}"))
        rows.append(row)
    return settings, regions


def _setting(path: Path, settings: dict[str, str], key: str, default: str, known: tuple[str, ...]) -> str:
    """An export setting, lower-cased; an unknown value is refused rather than guessed."""
    value = " ".join(settings.get(key, default).split()).lower()
    if value not in known:
        raise FileFormatError(where(path, f"unknown '{key}: {value[:30]}' in the export settings "
                                          f"(expected {' or '.join(known)})"))
    return value


def _region_array(path: Path, region: _Region) -> xr.DataArray:
    meta, settings = region.meta, region.settings
    if not region.blocks:
        raise FileFormatError(where(path, f"region {region.name!r} holds no data"))
    for key, rows in region.blocks:
        if not rows:
            raise FileFormatError(where(path, f"region {region.name!r} cycle/curve/scan {key}: no data rows "
                                              f"(file truncated?)"))
    blocks = [(key, np.array(rows)) for key, rows in region.blocks]
    expected = _number(meta.get("Values/Curve"))
    if "Values/Curve" in meta and (expected is None or expected != int(expected) or expected < 1):
        raise FileFormatError(where(path, f"region {region.name!r}: Values/Curve {meta['Values/Curve'][:20]!r} "
                                          f"is not a point count"))
    x = blocks[0][1][:, 0]
    for key, data in blocks:
        if expected is not None and len(data) != int(expected):
            raise FileFormatError(where(path, f"region {region.name!r} cycle/curve/scan {key}: "
                                              f"{len(data)} rows, header says Values/Curve {int(expected)} "
                                              f"(file truncated?)"))
        if data.shape != blocks[0][1].shape or not np.array_equal(data[:, 0], x):
            raise FileFormatError(where(path, f"region {region.name!r}: data blocks do not share "
                                              f"one energy axis"))
    photon = _number(meta.get("Excitation Energy"))
    axis_kind = _setting(path, settings, "Energy Axis", "Binding Energy", ("binding energy", "kinetic energy"))
    if "kinetic" in axis_kind and photon:
        x, dim = np.round(photon - x, 9) + 0.0, "binding_energy"
    elif "kinetic" in axis_kind:
        dim = "kinetic_energy"
    else:
        dim = "binding_energy"

    y = np.stack([data[:, 1] for _, data in blocks])
    dwell, scans = _number(meta.get("Dwell Time")), _number(meta.get("Number of Scans"))
    counts = _setting(path, settings, "Count Rate", "Counts per Second", ("counts per second", "counts")) == "counts"
    separate = _setting(path, settings, "Separate Scan Data", "no", ("yes", "no")) == "yes"
    if counts and not dwell:
        raise FileFormatError(where(path, f"region {region.name!r}: raw counts without a valid Dwell Time "
                                          f"cannot be turned into counts per second"))
    if counts:
        # "Count Rate: Counts" exports raw counts; scan data are separate unless the export summed them.
        y = y / (dwell * (1 if separate or not scans else scans))
    coords: dict = {dim: (dim, x, {"units": "eV", "long_name": dim.replace("_", " ").capitalize()})}
    extra = [(f"column_{i}", np.stack([d[:, i] for _, d in blocks])) for i in range(2, blocks[0][1].shape[1])]

    label = region_label(region.name, "", region.name, x) or region.name
    attrs = {"source_file": str(path), "units": "counts/s", "long_name": "Intensity", "region": label,
             "region_name": region.name, "photon_energy": photon,
             "pass_energy": _number(meta.get("Pass Energy")), "dwell_time": dwell,
             "scans": int(scans) if scans else None, "technique": meta.get("Analysis Method"),
             "work_function": _number(meta.get("Eff. Workfunction")), "analyser_mode": meta.get("Scan Mode"),
             "spectrum_id": meta.get("Spectrum ID"), "acquired": meta.get("Acquisition Date"),
             "source": meta.get("Source"), "comment": meta.get("Comment"), "lens": meta.get("Analyzer Lens")}
    attrs = {k: v for k, v in attrs.items() if v not in (None, "")}
    if len(blocks) == 1:
        for name, values in extra:
            coords[name] = (dim, values[0])
        return xr.DataArray(y[0], dims=(dim,), coords=coords, name=label, attrs=attrs)
    keys = np.array([key for key, _ in blocks])
    # Cycles only (a depth profile or repeated acquisition) get their own dimension name.
    batch = "cycle" if len(set(keys[:, 0])) == len(keys) else "spectrum"
    coords.update({name: (batch, keys[:, i]) for i, name in enumerate(("cycle", "curve", "scan"))
                   if name != batch})
    coords[batch] = (batch, keys[:, 0] if batch == "cycle" else np.arange(len(keys)))
    for name, values in extra:
        coords[name] = ((batch, dim), values)
    return xr.DataArray(y, dims=(batch, dim), coords=coords, name=label, attrs=attrs)


def read(path: str | Path) -> xr.DataArray | xr.DataTree:
    """Read a SPECS Prodigy ``.xy`` export.

    Parameters
    ----------
    path : str or Path
        The ``.xy`` file.

    Returns
    -------
    xarray.DataArray or xarray.DataTree
        One region: its spectrum (with a leading ``cycle``/``spectrum``
        dimension when it holds several curves).  Several regions: a DataTree,
        one child per region holding the variable ``intensity``.

    Raises
    ------
    FileFormatError
        If no region is found or a region's data are malformed or truncated.
    """
    path = Path(path)
    settings, regions = _parse(path)
    if not regions:
        raise FileFormatError(where(path, "no '# Region:' section found in Prodigy .xy file"))
    arrays = [_region_array(path, region) for region in regions]
    if len(arrays) == 1:
        return arrays[0]
    root = {"source_file": str(path), "created_by": settings.get("Created by", "")}
    return as_tree(arrays, [a.attrs["region"] for a in arrays], root)
