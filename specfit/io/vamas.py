"""VAMAS (ISO 14976) surface-analysis transfer format: ``.vms`` and PHI ``.npl``.

Written from the standard (Dench et al., Surf. Interface Anal. 13 (1988) 63):
a header, then ``number of blocks`` blocks, then ``end of experiment``.  Every
value sits on its own line, so the parser is a cursor over lines whose
optional fields depend on the experiment mode (NORM, SDP, MAP...), the scan
mode (REGULAR, IRREGULAR) and the technique (``AES diff`` adds a field).

Each block becomes one spectrum on ``binding_energy`` (eV) when the photon
energy is known, else on ``kinetic_energy``.  Counts are turned into counts
per second so that every exporter's flavour of the same measurement agrees.

A file that ends without ``end of experiment`` is read, with a one-line
:class:`~specfit.errors.SpecfitWarning` (and ``attrs['warning']``), only when every
declared count is satisfied and its last line is complete (ends with a line
break); when data are missing it is refused.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, SpecfitWarning, where
from specfit.io.textcodec import read_text

EXTENSIONS = (".vms", ".npl")

_MAGIC = "VAMAS Surface Chemical Analysis Standard Data Transfer Format"

# Writers use 1e37 for "not given" (the standard's convention for missing reals).
_MISSING = 1e36

# Techniques whose analysis source is an ion beam: the block then names it.
_ION_TECHNIQUES = {"FABMS", "FABMS energy spec", "ISS", "SIMS", "SIMS energy spec", "SNMS",
                   "SNMS energy spec"}
_DEPTH_PROFILE_MODES = {"MAPDP", "MAPSVDP", "SDP", "SDPSV"}
_MAP_MODES = {"MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM"}
_PHOTON_TECHNIQUES = {"XPS", "UPS", "XRF"}
# The standard's closed lists: the fields a block holds depend on them, so an unknown value is refused.
_EXPERIMENT_MODES = {"MAP", "MAPDP", "MAPSV", "MAPSVDP", "NORM", "SDP", "SDPSV", "SEM"}
_TECHNIQUES = {"AES diff", "AES dir", "EDX", "ELS", "FABMS", "FABMS energy spec", "ISS", "SIMS",
               "SIMS energy spec", "SNMS", "SNMS energy spec", "UPS", "XPS", "XRF"}

# Block parameters that the header's inclusion/exclusion list can omit from
# blocks after the first, in the standard's numbering (block and sample
# identifiers are always present).  Numbers above 40 are future-upgrade entries.
_N_BLOCK_PARAMETERS = 40


def sniff(path: Path, head: bytes) -> bool:
    """Recognise the VAMAS format identifier, after any leading blank lines."""
    return head.lstrip().startswith(_MAGIC.encode())


class _Cursor:
    """Walk the lines of a VAMAS file; any missing or malformed field is a FileFormatError."""

    def __init__(self, path: Path, lines: list[str], start: int) -> None:
        self.path = path
        self.lines = lines
        self.pos = start

    def fail(self, problem: str) -> FileFormatError:
        return FileFormatError(where(self.path, f"VAMAS line {self.pos + 1}: {problem}"))

    def text(self, field: str) -> str:
        if self.pos >= len(self.lines):
            raise FileFormatError(where(self.path, f"VAMAS file truncated: ends before {field}"))
        self.pos += 1
        return self.lines[self.pos - 1]

    def integer(self, field: str) -> int:
        raw = self.text(field)
        try:
            return int(float(raw))  # some writers put "5.0" or "5 " for counts
        except ValueError:
            self.pos -= 1
            raise self.fail(f"expected an integer for {field}, found {raw[:40]!r}") from None

    def real(self, field: str) -> float | None:
        """A real value, or None for the 1e37 'not given' placeholder."""
        raw = self.text(field)
        try:
            value = float(raw)
        except ValueError:
            self.pos -= 1
            raise self.fail(f"expected a number for {field}, found {raw[:40]!r}") from None
        return None if abs(value) >= _MISSING else value

    def count(self, field: str) -> int:
        value = self.integer(field)
        if value < 0:
            self.pos -= 1
            raise self.fail(f"negative {field} ({value})")
        return value

    def values(self, n: int, field: str) -> np.ndarray:
        if self.pos + n > len(self.lines):
            raise FileFormatError(where(self.path, f"VAMAS file truncated: {field} needs {n} values, "
                                                   f"only {len(self.lines) - self.pos} lines left"))
        chunk = self.lines[self.pos:self.pos + n]
        try:
            data = np.array(chunk, dtype=float)
        except ValueError:
            bad = next(i for i, item in enumerate(chunk) if not _is_number(item))
            self.pos += bad
            raise self.fail(f"expected a number in {field}, found {chunk[bad][:40]!r}") from None
        self.pos += n
        return data


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_lines(path: Path) -> tuple[list[str], int]:
    text = read_text(path)  # BOM ignored; Windows instrument software writes cp1252 comments
    # PHI MultiPak pads some labels with NUL bytes ("1s\x00").
    lines = [line.replace("\x00", "").strip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if line), len(lines))
    if start == len(lines) or not lines[start].startswith(_MAGIC):
        raise FileFormatError(where(path, "not a VAMAS file (format identifier missing)"))
    return lines, start


def _parse_header(cur: _Cursor) -> dict:
    h: dict = {"format": cur.text("format identifier")}
    for key in ("institution", "instrument", "operator", "experiment"):
        h[key] = cur.text(f"{key} identifier")
    h["comment"] = [cur.text("header comment") for _ in range(cur.count("number of header comment lines"))]
    h["experiment_mode"] = cur.text("experiment mode")
    if h["experiment_mode"] not in _EXPERIMENT_MODES:
        cur.pos -= 1
        raise cur.fail(f"unknown experiment mode {h['experiment_mode'][:20]!r} (expected one of "
                       f"{', '.join(sorted(_EXPERIMENT_MODES))})")
    h["scan_mode"] = cur.text("scan mode").upper()
    if h["scan_mode"] not in ("REGULAR", "IRREGULAR"):
        cur.pos -= 1
        raise cur.fail(f"unsupported scan mode {h['scan_mode']!r} (REGULAR or IRREGULAR expected)")
    mode = h["experiment_mode"]
    if mode in ("MAP", "MAPDP", "NORM", "SDP"):
        h["n_regions"] = cur.count("number of spectral regions")
    if mode in ("MAP", "MAPDP"):
        for key in ("n_positions", "n_x_coordinates", "n_y_coordinates"):
            h[key] = cur.count(key.replace("_", " "))
    h["exp_variables"] = [(cur.text("experimental variable label"), cur.text("experimental variable units"))
                          for _ in range(cur.count("number of experimental variables"))]
    # Signed count: > 0 lists the parameters kept in later blocks, < 0 those dropped.
    n_listed = cur.integer("number of entries in the parameter inclusion/exclusion list")
    listed = {cur.integer("parameter inclusion/exclusion entry") for _ in range(abs(n_listed))}
    for _ in range(cur.count("number of manually entered items")):
        cur.integer("manually entered item number")
    n_future_experiment = cur.count("number of future upgrade experiment entries")
    h["n_future_block"] = cur.count("number of future upgrade block entries")
    h["future_experiment"] = [cur.text("future upgrade experiment entry") for _ in range(n_future_experiment)]
    h["n_blocks"] = cur.count("number of blocks")
    numbers = range(1, _N_BLOCK_PARAMETERS + h["n_future_block"] + 1)
    h["included"] = {n: (n in listed) if n_listed > 0 else (n not in listed) for n in numbers}
    return h


def _parse_block(cur: _Cursor, h: dict, first: dict | None) -> dict:
    """One block; parameters excluded by the header's list are copied from the first block."""
    b: dict = {"block_identifier": cur.text("block identifier"),
               "sample_identifier": cur.text("sample identifier")}
    mode = h["experiment_mode"]

    def take(number: int, keys: tuple[str, ...], read) -> None:
        if first is None or h["included"][number]:
            for key in keys:
                b[key] = read(key)
        else:
            for key in keys:
                b[key] = first.get(key)

    def real(key: str) -> float | None:
        return cur.real(key.replace("_", " "))

    def text(key: str) -> str:
        return cur.text(key.replace("_", " "))

    for number, key in enumerate(("year", "month", "day", "hours", "minutes", "seconds"), start=1):
        take(number, (key,), lambda k: cur.integer(k))
    take(7, ("gmt_offset",), real)
    take(8, ("block_comment",),
         lambda k: [cur.text(k) for _ in range(cur.count("number of block comment lines"))])
    take(9, ("technique",), text)
    if b["technique"] not in _TECHNIQUES:
        raise FileFormatError(where(cur.path, f"VAMAS block {b['block_identifier'][:30]!r}: unknown technique "
                                              f"{str(b['technique'])[:20]!r}"))
    if mode in ("MAP", "MAPDP"):
        take(10, ("x_coordinate", "y_coordinate"), real)
    take(11, ("exp_values",), lambda k: [cur.real("experimental variable value") for _ in h["exp_variables"]])
    take(12, ("source_label",), text)
    if mode in _DEPTH_PROFILE_MODES or b["technique"] in _ION_TECHNIQUES:
        take(13, ("source_atomic_number", "source_n_atoms", "source_charge"), real)
    take(14, ("photon_energy",), real)  # "analysis source characteristic energy"
    take(15, ("source_strength",), real)
    take(16, ("source_width_x", "source_width_y"), real)
    if mode in _MAP_MODES:
        take(17, ("field_of_view_x", "field_of_view_y"), real)
    if mode in ("MAPSV", "MAPSVDP", "SEM"):
        take(18, ("linescan_1_start_x", "linescan_1_start_y", "linescan_1_end_x", "linescan_1_end_y",
                  "linescan_last_end_x", "linescan_last_end_y"), real)
    take(19, ("source_polar_angle",), real)
    take(20, ("source_azimuth",), real)
    take(21, ("analyser_mode",), text)
    take(22, ("pass_energy",), real)
    if b["technique"] == "AES diff":
        take(23, ("differential_width",), real)
    take(24, ("magnification",), real)
    take(25, ("work_function",), real)
    take(26, ("target_bias",), real)
    take(27, ("analysis_width_x", "analysis_width_y"), real)
    take(28, ("takeoff_polar_angle", "takeoff_azimuth"), real)
    take(29, ("species",), text)
    take(30, ("transition", "particle_charge"), text)
    if h["scan_mode"] == "REGULAR":
        take(31, ("abscissa_label", "abscissa_units", "abscissa_start", "abscissa_step"), text)
    take(32, ("variables",), lambda k: [(cur.text("corresponding variable label"),
                                         cur.text("corresponding variable units"))
                                        for _ in range(cur.count("number of corresponding variables"))])
    take(33, ("signal_mode",), text)
    take(34, ("dwell_time",), real)  # "signal collection time" per point and scan
    take(35, ("scans",), lambda k: cur.integer("number of scans"))
    take(36, ("signal_time_correction",), real)
    if mode in _DEPTH_PROFILE_MODES and b["technique"] not in _ION_TECHNIQUES:
        take(37, ("sputter_energy", "sputter_current", "sputter_width_x", "sputter_width_y",
                  "sputter_polar_angle", "sputter_azimuth"), real)
        take(37, ("sputter_mode",), text)
    take(38, ("sample_tilt_polar_angle", "sample_tilt_azimuth"), real)
    take(39, ("sample_rotation",), real)
    take(40, ("parameters",),
         lambda k: [(cur.text("parameter label"), cur.text("parameter units"), cur.real("parameter value"))
                    for _ in range(cur.count("number of additional numerical parameters"))])
    for number in range(_N_BLOCK_PARAMETERS + 1, _N_BLOCK_PARAMETERS + h["n_future_block"] + 1):
        take(number, (f"future_{number}",), text)

    n_values = cur.count("number of ordinate values")
    n_vars = len(b["variables"])
    if n_vars == 0 or n_values % n_vars:
        raise cur.fail(f"{n_values} ordinate values cannot be shared by {n_vars} corresponding variables")
    for _ in range(2 * n_vars):
        cur.real("ordinate minimum/maximum")
    b["ordinates"] = cur.values(n_values, f"block {b['block_identifier']!r} ordinates").reshape(-1, n_vars).T
    return b


def _regular_axis(cur: _Cursor, b: dict, n: int) -> np.ndarray:
    start, step = b["abscissa_start"], b["abscissa_step"]
    try:
        axis = float(start) + float(step) * np.arange(n)
    except ValueError:
        raise FileFormatError(where(cur.path, f"block {b['block_identifier']!r}: abscissa start/step "
                                              f"{start!r}/{step!r} are not numbers")) from None
    return axis


def _count_rate_divisor(label: str, units: str, signal_mode: str, dwell: float | None,
                        scans: int | None) -> float | None:
    """Factor turning this variable into counts per second, or None to keep it as stored.

    Units ``c/s`` (or a label saying "rate"/"per second") are already a rate.
    Units ``d`` or a label "counts"/"intensity" are counts summed over ``scans``
    scans of ``dwell`` seconds each, unless the detector was analogue (then
    there are no counts to speak of).
    """
    label, units = label.lower(), units.lower().replace(" ", "")
    if "/s" in units or units == "cps" or "rate" in label or "per second" in label:
        return None
    if "analog" in signal_mode.lower():
        return None
    if units == "d" or "count" in label or "intensity" in label:
        if dwell and scans and dwell > 0 and scans > 0:
            return dwell * scans
    return None


def _coordinate_name(label: str) -> str:
    return re.sub(r"\W+", "_", label.strip().lower()).strip("_") or "variable"


def _block_to_dataarray(cur: _Cursor, h: dict, b: dict, index: int) -> xr.DataArray:
    ordinates = b["ordinates"]
    variables = list(b["variables"])
    if h["scan_mode"] == "IRREGULAR":
        # The abscissa travels as the first corresponding variable.
        (x_label, x_units), x = variables.pop(0), ordinates[0]
        ordinates = ordinates[1:]
        if not variables:
            raise FileFormatError(where(cur.path, f"block {index}: IRREGULAR block has no ordinate variable"))
    else:
        x_label, x_units = b["abscissa_label"], b["abscissa_units"]
        x = _regular_axis(cur, b, ordinates.shape[1])
    photon = b.get("photon_energy")
    photon = photon if b["technique"] in _PHOTON_TECHNIQUES and photon and photon > 0 else None
    lowered = x_label.lower()
    if photon is not None and "kinetic" in lowered:
        x, dim = photon - x, "binding_energy"
    elif "binding" in lowered:
        dim = "binding_energy"
    elif "energy" in lowered:
        dim = "kinetic_energy"
    else:
        dim = "x"
    if dim != "x":
        # start + i*step and hv - KE leave float noise far below any energy resolution.
        x = np.round(x, 9) + 0.0  # + 0.0 turns -0.0 into 0.0

    (y_label, y_units), y = variables[0], ordinates[0]
    divisor = _count_rate_divisor(y_label, y_units, b["signal_mode"], b["dwell_time"], b["scans"])
    if divisor is not None:
        y = y / divisor
    is_rate = divisor is not None or "/s" in y_units.lower() or "rate" in y_label.lower()

    if dim == "x":
        coords: dict = {dim: (dim, x, {"units": x_units, "long_name": x_label})}
    else:
        coords = {dim: (dim, x, {"units": x_units or "eV", "long_name": dim.replace("_", " ").capitalize()})}
    for (label, units), values in zip(variables[1:], ordinates[1:]):
        name = _coordinate_name(label)
        while name in coords:
            name += "_"
        coords[name] = (dim, values, {"units": units, "long_name": label})

    region = region_label(b["species"], b["transition"], b["block_identifier"], x) or f"block_{index}"
    attrs = {
        "source_file": str(cur.path),
        "units": "counts/s" if is_rate else (y_units or ""),
        "long_name": "Intensity",
        "region": region,
        "species": b["species"],
        "transition": b["transition"],
        "technique": b["technique"],
        "block_identifier": b["block_identifier"],
        "block_index": index,
        "sample_identifier": b["sample_identifier"],
        "photon_energy": photon,
        "analysis_source": b["source_label"],
        "source_energy": b.get("photon_energy"),
        "pass_energy": b["pass_energy"],
        "analyser_mode": b["analyser_mode"],
        "work_function": b["work_function"],
        "dwell_time": b["dwell_time"],
        "scans": b["scans"],
        "signal_mode": b["signal_mode"],
        "abscissa_label": x_label,
        "ordinate_label": y_label,
        "ordinate_units": y_units,
        "differential_width": b.get("differential_width"),
        "acquired": _timestamp(b),
        "institution": h["institution"],
        "instrument": h["instrument"],
        "operator": h["operator"],
        "experiment": h["experiment"],
        "experiment_mode": h["experiment_mode"],
        "scan_mode": h["scan_mode"],
        "file_comment": "\n".join(h["comment"]),
        "block_comment": "\n".join(b["block_comment"]),
    }
    if any(line.startswith("Casa Info Follows") for line in b["block_comment"]):
        attrs["casaxps_comment"] = attrs["block_comment"]
    for (label, _units), value in zip(h["exp_variables"], b["exp_values"]):
        attrs[f"exp_{_coordinate_name(label)}"] = value
    for label, _units, value in b["parameters"]:
        attrs[f"param_{_coordinate_name(label)}"] = value
    # None cannot be stored in netCDF attributes: drop what the file did not give.
    attrs = {key: value for key, value in attrs.items() if value is not None and value != ""}
    attrs["source_file"] = str(cur.path)
    return xr.DataArray(y, dims=(dim,), coords=coords, name=region, attrs=attrs)


def _timestamp(b: dict) -> str | None:
    parts = [b.get(key) for key in ("year", "month", "day", "hours", "minutes", "seconds")]
    if any(p is None for p in parts) or not (1 <= parts[1] <= 12 and 1 <= parts[2] <= 31 and parts[0] > 0):
        return None
    year, month, day, hours, minutes, seconds = parts
    if min(hours, minutes, seconds) < 0:  # PHI writes -1 for an unknown time of day
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}"


def region_label(species: str, transition: str, fallback: str, axis: np.ndarray) -> str:
    """Region label such as ``"C1s"``: species + transition without spaces, ``"survey"`` for wide scans.

    Parameters
    ----------
    species, transition : str
        The file's labels (``"C"``, ``"1s"``); either may be empty.
    fallback : str
        Another label to try (block identifier, region name) when they are empty.
    axis : numpy.ndarray
        Energies, used to recognise an unlabelled survey by its span (> 400 eV).

    Returns
    -------
    str
        A label safe as an ``xarray.DataTree`` child name (may be empty).
    """
    words = f"{species} {transition}".lower()
    if any(tag in words or tag in fallback.lower() for tag in ("survey", "wide")):
        return "survey"
    label = "".join(f"{species}{transition}".split()) or "".join(fallback.split())
    if not label and axis.size > 1 and np.ptp(axis) > 400:
        return "survey"
    return label.replace("/", "_").replace(".", "_")


def unique_names(names: list[str], default: str = "block") -> list[str]:
    """Make child names unique: empty names become ``block_<n>``, repeats get ``_2``, ``_3``..."""
    out: list[str] = []
    for index, name in enumerate(names, start=1):
        name = name or f"{default}_{index}"
        candidate, n = name, 1
        while candidate in out:
            n += 1
            candidate = f"{name}_{n}"
        out.append(candidate)
    return out


def as_tree(arrays: list[xr.DataArray], names: list[str], attrs: dict) -> xr.DataTree:
    """DataTree with one child per spectrum, each holding it as the variable ``intensity``."""
    children = {}
    for name, array in zip(unique_names(names), arrays):
        dataset = array.rename(None).to_dataset(name="intensity")
        dataset.attrs = dict(array.attrs)
        children[name] = dataset
    tree = xr.DataTree.from_dict(children)
    tree.attrs = dict(attrs)
    return tree


def read(path: str | Path) -> xr.DataArray | xr.DataTree:
    """Read a VAMAS file.

    Parameters
    ----------
    path : str or Path
        A ``.vms`` or ``.npl`` file.

    Returns
    -------
    xarray.DataArray or xarray.DataTree
        One block: its spectrum.  Several blocks: a DataTree with one child
        per block named after the region (``"C1s"``, ``"survey"``), whose
        dataset holds the spectrum as ``intensity``.

    Raises
    ------
    FileFormatError
        If the file is not VAMAS, is truncated or holds a malformed value.
    """
    path = Path(path)
    lines, start = _split_lines(path)
    cur = _Cursor(path, lines, start)
    header = _parse_header(cur)
    blocks: list[dict] = []
    for _ in range(header["n_blocks"]):
        blocks.append(_parse_block(cur, header, blocks[0] if blocks else None))
    if not blocks:
        raise FileFormatError(where(path, "VAMAS file holds no blocks"))
    rest = [line for line in lines[cur.pos:] if line]
    unterminated = None
    if not rest and read_text(path).endswith(("\n", "\r")):
        # every declared count is satisfied and the last value line is complete: only the terminator is
        # missing (some writers omit it; LG4X-V2 reads such files with a warning).  Read, and say so.
        unterminated = (f"{path}: VAMAS file ends without 'end of experiment' after its {len(blocks)} declared "
                        "block(s); every declared count is satisfied, so it was read as complete")
        warnings.warn(unterminated, SpecfitWarning, stacklevel=2)
    elif not rest or rest[0].lower() != "end of experiment":
        raise cur.fail("expected 'end of experiment' after the last block (file truncated or counts wrong)")
    arrays = [_block_to_dataarray(cur, header, block, i) for i, block in enumerate(blocks, start=1)]
    if unterminated:
        for array in arrays:
            array.attrs["warning"] = unterminated
    if len(arrays) == 1:
        return arrays[0]
    root = {"source_file": str(path), "institution": header["institution"],
            "instrument": header["instrument"], "file_comment": "\n".join(header["comment"])}
    return as_tree(arrays, [a.attrs["region"] for a in arrays], root)
