"""PHI MultiPak files: ``.pro`` depth profiles and ``.spe`` spectra (plus their CSV derivatives).

A MultiPak file is a text header between ``SOFH`` and ``EOFH`` lines, then a
little-endian binary section laid out as (worked out from
``SnO2_10nm_1.pro`` / ``SnO2_10nm.spe`` and checked against the exported CSV):

- four uint32: ``(1, n_records, table_bytes, table_offset)``;
- ``n_records`` records of 24 uint32 at ``table_offset``.  Used fields:
  ``[3]`` region number (0 for per-cycle bookkeeping), ``[4]`` kind,
  ``[5]`` values per curve, ``[6]`` curves, ``[14]`` y unit as 4 ASCII
  bytes (``c/s``, ``s``), ``[19]`` byte count, ``[20]`` byte offset;
- float32 data (float64 in some multiplex ``.spe`` files: the record's byte
  count over its value count says which, 4 or 8, and anything else is refused):
  a region's curves one after the other (cycle-major), and a time record (unit
  ``s``) holding each region's sputter time per cycle.

The energy axis of region ``n`` comes from the header line ``SpectralRegDef:
n ... name Z points step start end ...`` (binding energy, eV).

The module also reads the derived CSV layout ``BE_eV,cycle_00,cycle_01...``.

Integrity: MultiPak stores no checksum, but the record table fixes every
record's size and place, so the reader checks each record (regions and
bookkeeping, the last one too): its byte count equals 4 or 8 x values x curves,
it lies inside the binary section, records do not overlap, and the binary
section ends exactly where the last record ends.  A region's point count must
match its ``SpectralRegDef`` line and, in a depth profile, its curve count
``NoDPDataCyc``.  An inserted, deleted or truncated byte therefore changes a
checked size; a changed byte inside a float value cannot be detected.  An
intensity unit other than ``c/s`` is refused rather than guessed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where
from specfit.io.textcodec import decode, strip_bom
from specfit.io.vamas import as_tree, region_label

EXTENSIONS = (".pro", ".spe", ".csv", ".txt")

_RECORD_WORDS = 24
_ENERGY_ATTRS = {"units": "eV", "long_name": "Binding energy"}
_CSV_HEADER = re.compile(rb"^BE_eV,cycle_\d+", re.MULTILINE)


_ASCII_HEAD = re.compile(rb"^\s*Cycles \d+; Regions \d+;")
_ASCII_BLOCK = re.compile(r"^Element (?P<element>[^;]+); Region (?P<region>\d+) of (?P<regions>\d+); "
                          r"Depth Cycle (?P<cycle>\d+) of (?P<cycles>\d+);(?P<rest>.*)$")


def sniff(path: Path, head: bytes) -> bool:
    """A MultiPak header starts with ``SOFH``; the derived CSV with ``BE_eV,cycle_00``; the MultiPak ASCII
    multiplex export with ``Cycles N; Regions M; ...``."""
    head = strip_bom(head)
    return (head.lstrip().startswith(b"SOFH") or bool(_CSV_HEADER.search(head))
            or bool(_ASCII_HEAD.match(head)))


def _header(path: Path, raw: bytes) -> tuple[dict[str, list[str]], bytes]:
    """Text header as key -> list of values (keys repeat), and the binary section."""
    end = raw.find(b"EOFH")
    if not raw.lstrip().startswith(b"SOFH") or end < 0:
        raise FileFormatError(where(path, "PHI MultiPak header not delimited by SOFH ... EOFH"))
    binary_start = raw.find(b"\n", end)
    if binary_start < 0:
        raise FileFormatError(where(path, "PHI file ends right after EOFH: no binary data"))
    header: dict[str, list[str]] = {}
    for line in raw[:end].decode("latin-1").splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep:
            header.setdefault(key.strip(), []).append(value.strip())
    return header, raw[binary_start + 1:]


def _records(path: Path, binary: bytes) -> list[np.ndarray]:
    if len(binary) < 16:
        raise FileFormatError(where(path, "PHI binary section shorter than its 16-byte preamble"))
    _, n_records, table_bytes, table_offset = (int(v) for v in np.frombuffer(binary, "<u4", 4))
    if table_bytes != n_records * _RECORD_WORDS * 4 or table_offset + table_bytes > len(binary):
        raise FileFormatError(where(path, f"PHI record table ({n_records} records at byte {table_offset}) "
                                          f"does not fit the {len(binary)}-byte binary section"))
    table = np.frombuffer(binary, "<u4", n_records * _RECORD_WORDS, table_offset)
    records = list(table.reshape(n_records, _RECORD_WORDS))
    # Every record, bookkeeping ones and the last one included, must have a consistent size and place.
    spans = sorted([(table_offset, table_offset + table_bytes, "the record table")]
                   + [(*_record_span(path, binary, r), f"record {int(r[0])}") for r in records])
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        if start < end:
            raise FileFormatError(where(path, f"PHI {second} (byte {start}) overlaps {first} (ends at {end})"))
    if spans[-1][1] != len(binary):
        raise FileFormatError(where(path, f"PHI binary section is {len(binary)} bytes where the record table "
                                          f"accounts for {spans[-1][1]} (bytes inserted, deleted or truncated)"))
    return records


def _sample_width(path: Path, record: np.ndarray) -> int:
    """Bytes per value of a record, 4 (float32) or 8 (float64), decided by its byte count: never guessed."""
    per_curve, curves, nbytes = (int(record[i]) for i in (5, 6, 19))
    values = per_curve * curves
    if values > 0 and nbytes in (4 * values, 8 * values):
        return nbytes // values
    raise FileFormatError(where(path, f"PHI record {int(record[0])}: {nbytes} bytes for {curves} x {per_curve} "
                                      "values, neither float32 (4 bytes each) nor float64 (8 bytes each)"))


def _record_span(path: Path, binary: bytes, record: np.ndarray) -> tuple[int, int]:
    """Byte range of a record's data, checked against its value counts and the section length."""
    nbytes, offset = int(record[19]), int(record[20])
    _sample_width(path, record)
    if offset + nbytes > len(binary):
        raise FileFormatError(where(path, f"PHI record {int(record[0])} runs past the end of the file "
                                          f"(truncated?)"))
    return offset, offset + nbytes


def _record_data(path: Path, binary: bytes, record: np.ndarray) -> np.ndarray:
    """The record's float32 or float64 values (:func:`_sample_width`) as (curves, values per curve)."""
    per_curve, curves = int(record[5]), int(record[6])
    offset, _ = _record_span(path, binary, record)
    dtype = "<f4" if _sample_width(path, record) == 4 else "<f8"
    return np.frombuffer(binary, dtype, per_curve * curves, offset).reshape(curves, per_curve).astype(float)


def _unit(record: np.ndarray) -> str:
    return record[14:16].tobytes().rstrip(b"\0").decode("latin-1").strip()


def _region_defs(path: Path, header: dict[str, list[str]]) -> dict[int, list[str]]:
    # "SpectralRegDef" (without "Full") describes the regions actually acquired.
    defs = {}
    for line in header.get("SpectralRegDef", []):
        fields = line.split()
        try:
            number = int(fields[0])
            int(fields[4]), *(float(fields[i]) for i in (5, 6, 10, 11))
        except (ValueError, IndexError):
            raise FileFormatError(where(path, f"PHI header line 'SpectralRegDef: {line[:60]}' is malformed")) from None
        defs[number] = fields
    return defs


def _first_number(values: list[str] | None, index: int = 0) -> float | None:
    try:
        return float(values[0].split()[index]) if values else None
    except (ValueError, IndexError):
        return None


def _read_multipak(path: Path) -> xr.DataArray | xr.DataTree:
    raw = strip_bom(path.read_bytes())
    header, binary = _header(path, raw)
    records = _records(path, binary)
    defs = _region_defs(path, header)
    cycles = _first_number(header.get("NoDPDataCyc"))
    photon = _first_number(header.get("XraySource"), 1)  # "Al 1486.6 mono"
    profile = header.get("FileType", [""])[0].upper() == "DEPTHPRO"
    times = [r for r in records if int(r[3]) == 0 and _unit(r) == "s"]
    etch = _record_data(path, binary, times[0]) if times else None  # (regions, cycles)

    arrays = []
    for record in (r for r in records if int(r[3]) > 0):
        number = int(record[3])
        fields = defs.get(number)
        if fields is None or len(fields) < 12:
            raise FileFormatError(where(path, f"PHI region {number}: no valid SpectralRegDef header line"))
        data = _record_data(path, binary, record)
        points, step, start = int(fields[4]), float(fields[5]), float(fields[6])
        if points != data.shape[1]:
            raise FileFormatError(where(path, f"PHI region {number}: header says {points} points, "
                                              f"binary has {data.shape[1]}"))
        if profile and cycles is not None and data.shape[0] != cycles:
            raise FileFormatError(where(path, f"PHI region {number}: header says NoDPDataCyc {cycles:g} cycles, "
                                              f"binary has {data.shape[0]}"))
        if _unit(record) != "c/s":
            raise FileFormatError(where(path, f"PHI region {number}: unknown intensity unit {_unit(record)!r} "
                                              f"(only c/s is understood)"))
        x = np.round(start + step * np.arange(points), 9) + 0.0
        name = fields[2]
        label = "survey" if name.lower().startswith("su") else region_label(name, "", name, x)
        attrs = {"source_file": str(path), "units": "counts/s",
                 "long_name": "Intensity", "region": label, "region_name": name,
                 "technique": header.get("Technique", ["XPS"])[0], "photon_energy": photon,
                 "pass_energy": float(fields[11]), "dwell_time": float(fields[10]),
                 "instrument": header.get("InstrumentModel", [""])[0],
                 "acquired": header.get("AcqFileDate", [""])[0],
                 "work_function": _first_number(header.get("AnalyserWorkFcn"))}
        attrs = {k: v for k, v in attrs.items() if v not in (None, "")}
        coords: dict = {"binding_energy": ("binding_energy", x, _ENERGY_ATTRS)}
        if not profile and data.shape[0] == 1:
            arrays.append(xr.DataArray(data[0], dims=("binding_energy",), coords=coords, name=label,
                                       attrs=attrs))
            continue
        coords["cycle"] = ("cycle", np.arange(data.shape[0]))
        if etch is not None and number <= etch.shape[0] and etch.shape[1] == data.shape[0]:
            # MultiPak stores -0.0 for the first cycle; + 0.0 normalises it.
            coords["etch_time"] = ("cycle", etch[number - 1] + 0.0,
                                   {"units": "s", "long_name": "Sputter time"})
        arrays.append(xr.DataArray(data, dims=("cycle", "binding_energy"), coords=coords, name=label,
                                   attrs=attrs))
    if not arrays:
        raise FileFormatError(where(path, "PHI file holds no spectral region"))
    if len(arrays) == 1:
        return arrays[0]
    root = {"source_file": str(path), "instrument": header.get("InstrumentModel", [""])[0],
            "file_type": header.get("FileType", [""])[0]}
    return as_tree(arrays, [a.attrs["region"] for a in arrays], root)


def _read_profile_csv(path: Path) -> xr.DataArray:
    """The derived ``BE_eV,cycle_00,...`` CSV: one column per depth-profile cycle."""
    lines = decode(path.read_bytes()).splitlines()
    comments = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    body = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.startswith("#")]
    if not body or not body[0][1].startswith("BE_eV,cycle_"):
        raise FileFormatError(where(path, "expected a 'BE_eV,cycle_00,...' header row"))
    names = body[0][1].split(",")
    rows = []
    for number, line in body[1:]:
        cells = line.split(",")
        try:
            if len(cells) != len(names):
                raise ValueError
            rows.append([float(c) for c in cells])
        except ValueError:
            raise FileFormatError(where(path, f"line {number}: expected {len(names)} numbers, "
                                              f"found {line[:40]!r}")) from None
    if not rows:
        raise FileFormatError(where(path, "no data rows after the header"))
    data = np.array(rows)
    region = path.stem.rsplit("_", 1)[-1]
    try:
        cycles = [int(name.split("_")[1]) for name in names[1:]]
    except (ValueError, IndexError):
        raise FileFormatError(where(path, f"header {body[0][1][:60]!r}: columns must be named cycle_<n>")) from None
    attrs = {"source_file": str(path), "units": "counts/s", "long_name": "Intensity", "region": region,
             "technique": "XPS", "comment": "\n".join(comments)}
    coords = {"cycle": ("cycle", cycles),
              "binding_energy": ("binding_energy", data[:, 0], _ENERGY_ATTRS)}
    return xr.DataArray(data[:, 1:].T, dims=("cycle", "binding_energy"), coords=coords, name=region,
                        attrs=attrs)


def _fields(text: str) -> dict[str, str]:
    """``"Time Per Step 50; Sweeps 8; XPS;"`` -> {"Time Per Step": "50", "Sweeps": "8", "XPS": ""}."""
    out = {}
    for part in text.split(";"):
        words = part.split()
        if not words:
            continue
        try:
            float(words[-1])
            out[" ".join(words[:-1])] = words[-1]
        except ValueError:
            out[" ".join(words)] = ""
    return out


def _read_multipak_ascii(path: Path) -> xr.DataArray | xr.DataTree:
    """MultiPak's ASCII multiplex export: a ``Cycles N; Regions M; ...`` line, then per region and depth cycle
    an ``Element X; Region i of M; Depth Cycle j of N; Time Per Step T; Sweeps S; ...`` line and rows
    ``binding energy <tab> counts``.

    The export holds counts summed over the sweeps; they are divided by the time per step (ms) x sweeps so
    that the result is in counts/s like the ``.spe`` it was exported from (checked on case 29: the ``.spe``
    values are the export's / (0.05 s x sweeps)).  Every region and cycle the first line and the block lines
    declare must be present, each row must hold two numbers.
    """
    lines = decode(path.read_bytes()).splitlines()
    top = _fields(lines[0].lstrip("\ufeff"))
    try:
        n_regions, n_cycles = int(top["Regions"]), int(top["Cycles"])
    except (KeyError, ValueError):
        raise FileFormatError(where(path, "MultiPak ASCII export: first line lacks 'Cycles N; Regions M;'")) from None
    photon = float(top["Photon Energy"]) if top.get("Photon Energy") else None
    blocks: list[tuple[int, dict, list[tuple[float, float]]]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        match = _ASCII_BLOCK.match(line.strip())
        if match:
            blocks.append((number, match.groupdict() | {"fields": _fields(match["rest"])}, []))
            continue
        if not blocks:
            continue  # the region-name and summary rows above the first block
        cells = line.split()
        try:
            if len(cells) != 2:
                raise ValueError
            blocks[-1][2].append((float(cells[0]), float(cells[1])))
        except ValueError:
            raise FileFormatError(where(path, f"line {number}: expected 'energy<TAB>counts', found "
                                              f"{line.strip()[:40]!r}")) from None
    regions: dict[int, list] = {}
    for number, info, rows in blocks:
        if int(info["regions"]) != n_regions:
            raise FileFormatError(where(path, f"line {number}: 'Region {info['region']} of {info['regions']}' "
                                              f"but the first line says Regions {n_regions}"))
        if len(rows) < 3:
            raise FileFormatError(where(path, f"line {number}: region {info['element'].strip()!r} has "
                                              f"{len(rows)} data rows (truncated?)"))
        regions.setdefault(int(info["region"]), []).append((number, info, np.array(rows)))
    if sorted(regions) != list(range(1, n_regions + 1)):
        raise FileFormatError(where(path, f"MultiPak ASCII export declares {n_regions} regions, holds blocks for "
                                          f"{sorted(regions)} (truncated?)"))
    arrays = []
    for index in sorted(regions):
        parts = regions[index]
        number, info, first = parts[0]
        declared = int(info["cycles"])
        if len(parts) != declared or any(not np.array_equal(p[2][:, 0], first[:, 0]) for p in parts):
            raise FileFormatError(where(path, f"line {number}: region {info['element'].strip()!r} declares "
                                              f"{declared} depth cycles, found {len(parts)} on one axis"))
        counts_per_s = []
        for _, block, rows in parts:
            try:
                dwell, sweeps = float(block["fields"]["Time Per Step"]) / 1000.0, float(block["fields"]["Sweeps"])
            except (KeyError, ValueError):
                raise FileFormatError(where(path, f"line {number}: block line lacks 'Time Per Step' and "
                                                  "'Sweeps' (needed to turn counts into counts/s)")) from None
            if not dwell > 0 or not sweeps > 0:
                raise FileFormatError(where(path, f"line {number}: Time Per Step {dwell * 1000:g} ms and Sweeps "
                                                  f"{sweeps:g} must be positive"))
            counts_per_s.append(rows[:, 1] / (dwell * sweeps))
        x = first[:, 0]
        name = info["element"].strip()
        label = region_label("".join(name.split()), "", name, x)
        attrs = {"source_file": str(path), "units": "counts/s", "long_name": "Intensity", "region": label,
                 "region_name": name, "technique": "XPS", "photon_energy": photon,
                 "dwell_time": dwell, "sweeps": sweeps,
                 "intensity_conversion": f"export counts / ({dwell:g} s per step x {sweeps:g} sweeps)"}
        attrs = {k: v for k, v in attrs.items() if v is not None}
        coords: dict = {"binding_energy": ("binding_energy", x, _ENERGY_ATTRS)}
        if declared == 1:
            arrays.append(xr.DataArray(counts_per_s[0], dims=("binding_energy",), coords=coords, name=label,
                                       attrs=attrs))
        else:
            coords["cycle"] = ("cycle", np.arange(declared))
            arrays.append(xr.DataArray(np.stack(counts_per_s), dims=("cycle", "binding_energy"), coords=coords,
                                       name=label, attrs=attrs))
    if len(arrays) == 1:
        return arrays[0]
    return as_tree(arrays, [a.attrs["region"] for a in arrays],
                   {"source_file": str(path), "file_type": "MultiPak ASCII multiplex export",
                    "cycles": n_cycles})


def read(path: str | Path) -> xr.DataArray | xr.DataTree:
    """Read a PHI MultiPak ``.pro``/``.spe`` file, a derived ``BE_eV,cycle_..`` CSV, or a MultiPak ASCII export.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    xarray.DataArray or xarray.DataTree
        ``.spe`` with one region: a spectrum on ``binding_energy``.  ``.pro``:
        a DataTree with one child per region (``survey``, ``C1s``...), each
        with dims (``cycle``, ``binding_energy``) and an ``etch_time``
        coordinate (s) along ``cycle``.  Derived CSV: dims (``cycle``,
        ``binding_energy``).

    Raises
    ------
    FileFormatError
        If the header or the binary record table is inconsistent or truncated.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = strip_bom(fh.read(16))
    if head.lstrip().startswith(b"SOFH"):
        return _read_multipak(path)
    if _ASCII_HEAD.match(head) or head.lstrip().startswith(b"Cycles"):
        return _read_multipak_ascii(path)
    return _read_profile_csv(path)
