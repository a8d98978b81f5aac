"""JCAMP-DX spectra (``##XYDATA=(X++(Y..Y))`` and ``(XY..XY)`` tables).

Own parser rather than the ``jcamp`` package, which fails on DIF/DUP lines
with an inline ``$$`` comment (the official ``BRUKDIF.DX`` test file).  The
ASDF compressions AFFN, PAC, SQZ, DIF and DUP are all decoded, with the DIF
Y-check (a DIF line repeats the last ordinate of the line before it).

Axis: NMR spectra with ``XUNITS=HZ`` are converted to ppm (dimension
``chemical_shift``) when the reference is known: from Bruker's ``##$OFFSET``
(ppm of the first point) or ``##.SHIFT REFERENCE``, dividing Hz by ``##$SF``
(Bruker's ppm reference frequency) or else ``##.OBSERVE FREQUENCY``.  Without
a reference the axis stays in Hz with dimension ``frequency``.  ``XUNITS=PPM``
gives ``chemical_shift``; ``1/CM`` gives ``raman_shift`` (``x`` with units
cm-1 for infrared data types, which are not Raman shifts); anything else ``x``.
Only the first data block of a file is read; NTUPLES files are not supported.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import FileFormatError, where

EXTENSIONS = (".dx", ".jdx", ".jcamp")

_SQZ = {c: v for v, c in enumerate("@ABCDEFGHI")} | {c: -v for v, c in enumerate("@abcdefghi") if v}
_DIF = {c: v for v, c in enumerate("%JKLMNOPQR")} | {c: -v for v, c in enumerate("%jklmnopqr") if v}
_DUP = {c: v for v, c in enumerate("_STUVWXYZs") if v}
# A plain AFFN/PAC line: numbers (exponents allowed) separated by blanks, commas or signs.
_AFFN_LINE = re.compile(r"^(?:[\s,;]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)+[\s,;]*$")
_AFFN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LABEL = re.compile(r"^##\s*([^=]*?)\s*=(.*)$")
_KEPT_ATTRS = {
    "TITLE": "title",
    "DATA TYPE": "data_type",
    "XUNITS": "xunits",
    "YUNITS": "yunits",
    ".OBSERVE FREQUENCY": "observe_frequency_MHz",
    ".OBSERVE NUCLEUS": "nucleus",
    "ORIGIN": "origin",
    "SPECTROMETER/DATA SYSTEM": "instrument",
}


def sniff(path: Path, head: bytes) -> bool:
    """Recognise JCAMP-DX by its labelled-data-record header (``##TITLE=``, ``##JCAMP-DX=``).

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
    text = head.decode("latin-1").lstrip().upper()
    return text.startswith("##") and re.search(r"##\s*JCAMP-?DX\s*=", text) is not None


def read(path: str | Path) -> xr.DataArray:
    """Read the first spectrum of a JCAMP-DX file.

    Parameters
    ----------
    path : str or Path
        The ``.dx``/``.jdx`` file.

    Returns
    -------
    xarray.DataArray
        1-D, values scaled by ``YFACTOR``, axis in file order (see the module
        docstring for its name and units); attrs keep TITLE, DATA TYPE,
        XUNITS, YUNITS, observe frequency and nucleus.

    Raises
    ------
    FileFormatError
        Missing data table, undecodable ASDF, a failed DIF Y-check or a point
        count that disagrees with ``##NPOINTS``.
    """
    path = Path(path)
    labels, table_kind, table = _records(path, path.read_text(encoding="latin-1"))
    if table_kind is None:
        raise FileFormatError(where(path, "no ##XYDATA, ##XYPOINTS or ##PEAK TABLE record"))
    if "(X++(Y..Y))" in table_kind.replace(" ", "").upper():
        x, y = _xydata(path, labels, table)
    else:
        x, y = _xy_pairs(path, labels, table)
    y = y * _float(labels, "YFACTOR", 1.0)
    dim, x, units = _axis(labels, x)
    attrs = {"source_file": str(path), "units": labels.get("YUNITS", "")}  # intensity units
    attrs |= {name: labels[key] for key, name in _KEPT_ATTRS.items() if key in labels}
    if "observe_frequency_MHz" in attrs:
        attrs["observe_frequency_MHz"] = _float(labels, ".OBSERVE FREQUENCY", np.nan)
    for key in ("$SF", "$BF1", "$OFFSET", "$SW_P", ".SHIFT REFERENCE"):
        if key in labels:
            attrs[key.strip("$.").lower().replace(" ", "_")] = labels[key]
    coord = xr.Variable(dim, x, attrs={"units": units, "long_name": dim.replace("_", " ").capitalize()})
    name = labels.get("TITLE") or None
    return xr.DataArray(y, dims=(dim,), coords={dim: coord}, name=name, attrs=attrs)


def _records(path: Path, text: str) -> tuple[dict[str, str], str | None, list[str]]:
    """Labels of the first block (upper-case keys) and the lines of its data table."""
    labels: dict[str, str] = {}
    table_kind: str | None = None
    table: list[str] = []
    current = None
    for line in text.splitlines():
        match = _LABEL.match(line.strip())
        if match:
            key = match.group(1).upper()
            value = match.group(2).split("$$", 1)[0].strip()
            if key == "END":
                break
            if key == "NTUPLES":
                raise FileFormatError(where(path, "JCAMP-DX NTUPLES blocks are not supported"))
            if table_kind is not None:
                break  # the table ends at the next label
            if key in ("XYDATA", "XYPOINTS", "PEAK TABLE"):
                table_kind = value
            else:
                labels.setdefault(key, value)
                current = key
        elif table_kind is not None:
            table.append(line.split("$$", 1)[0])
        elif current is not None and not line.lstrip().startswith("$$"):
            labels[current] += "\n" + line  # continuation of a multi-line value
    return labels, table_kind, table


def _float(labels: dict[str, str], key: str, default: float) -> float:
    try:
        return float(labels[key].split()[0]) if key in labels else default
    except (ValueError, IndexError):
        return default


def _xydata(path: Path, labels: dict[str, str], table: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Decode an ``(X++(Y..Y))`` table; x is rebuilt from FIRSTX, LASTX, NPOINTS."""
    y: list[float] = []
    previous_was_dif = False
    for offset, line in enumerate(table):
        if not line.strip():
            continue
        values, ends_in_dif = _decode_line(path, line)
        ordinates = values[1:]  # values[0] is the abscissa, x / XFACTOR
        if previous_was_dif and ordinates:
            # Y-check: a line after a DIF line starts with the previous last ordinate again.
            if abs(ordinates[0] - y[-1]) > 1e-9 * max(1.0, abs(y[-1])):
                raise FileFormatError(where(path, f"DIF Y-check failed in data line {offset + 1}"))
            ordinates = ordinates[1:]
        y.extend(ordinates)
        previous_was_dif = ends_in_dif
    npoints = int(_float(labels, "NPOINTS", len(y)))
    if len(y) != npoints or npoints < 2:
        raise FileFormatError(where(path, f"decoded {len(y)} points but ##NPOINTS= {npoints}"))
    try:
        first, last = float(labels["FIRSTX"]), float(labels["LASTX"])
    except (KeyError, ValueError) as exc:
        raise FileFormatError(where(path, "missing or invalid ##FIRSTX/##LASTX")) from exc
    return np.linspace(first, last, npoints), np.asarray(y, dtype=float)


def _decode_line(path: Path, line: str) -> tuple[list[float], bool]:
    """Decode one ASDF line into numbers; also say whether it ended in DIF form."""
    if _AFFN_LINE.match(line):
        return [float(v) for v in _AFFN_NUMBER.findall(line)], False
    values: list[float] = []
    last_dif: float | None = None  # the pending difference, for DUP after a DIF token
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in " \t,;":
            i += 1
            continue
        j = i + 1
        while j < n and (line[j].isdigit() or line[j] == "."):
            j += 1
        digits = line[i + 1 : j]
        if c.isdigit() or c in ".+-":
            try:
                values.append(float(c + digits))
            except ValueError:  # a lone sign or dot
                raise FileFormatError(where(path, f"invalid number in data line {line.strip()!r}")) from None
            last_dif = None
        elif c in _SQZ:
            values.append(float(f"{_SQZ[c]}{digits}") if _SQZ[c] >= 0 else -float(f"{-_SQZ[c]}{digits}"))
            last_dif = None
        elif c in _DIF:
            if not values:
                raise FileFormatError(where(path, f"DIF value with no ordinate before it: {line.strip()!r}"))
            last_dif = float(f"{_DIF[c]}{digits}") if _DIF[c] >= 0 else -float(f"{-_DIF[c]}{digits}")
            values.append(values[-1] + last_dif)
        elif c in _DUP:
            if not values:
                raise FileFormatError(where(path, f"DUP count without a value: {line.strip()!r}"))
            for _ in range(int(f"{_DUP[c]}{digits}") - 1):
                values.append(values[-1] + last_dif if last_dif is not None else values[-1])
        else:
            raise FileFormatError(where(path, f"invalid character {c!r} in data line {line.strip()!r}"))
        i = j
    return values, last_dif is not None


def _xy_pairs(path: Path, labels: dict[str, str], table: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Decode an ``(XY..XY)`` table of AFFN pairs, scaled by XFACTOR."""
    numbers = [float(v) for line in table for v in _AFFN_NUMBER.findall(line)]
    if len(numbers) % 2 or len(numbers) < 4:
        raise FileFormatError(where(path, f"(XY..XY) table holds {len(numbers)} numbers, not x,y pairs"))
    pairs = np.asarray(numbers, dtype=float).reshape(-1, 2)
    return pairs[:, 0] * _float(labels, "XFACTOR", 1.0), pairs[:, 1]


def _axis(labels: dict[str, str], x: np.ndarray) -> tuple[str, np.ndarray, str]:
    """Dimension name, axis values and units, converting NMR Hz to ppm when referenced."""
    xunits = labels.get("XUNITS", "").strip().upper()
    data_type = labels.get("DATA TYPE", "").upper()
    if xunits == "HZ" and "NMR" in data_type:
        freq = _float(labels, "$SF", _float(labels, ".OBSERVE FREQUENCY", np.nan))
        if np.isfinite(freq) and freq > 0:
            if "$OFFSET" in labels:  # Bruker: ppm of the first point
                return "chemical_shift", _float(labels, "$OFFSET", 0.0) + (x - x[0]) / freq, "ppm"
            reference = _shift_reference(labels.get(".SHIFT REFERENCE", ""), len(x))
            if reference is not None:
                point, shift = reference
                return "chemical_shift", shift + (x - x[point]) / freq, "ppm"
        return "frequency", x, "Hz"
    if xunits == "HZ":
        return "frequency", x, "Hz"
    if xunits == "PPM":
        return "chemical_shift", x, "ppm"
    if xunits == "1/CM":
        return ("x" if "INFRARED" in data_type else "raman_shift"), x, "cm-1"
    return "x", x, labels.get("XUNITS", "").strip()


def _shift_reference(text: str, npoints: int) -> tuple[int, float] | None:
    """Parse ``(INTERNAL, TMS, point, shift)`` into a 0-based point index and its ppm."""
    parts = [p.strip() for p in text.strip("() \n").split(",")]
    try:
        point, shift = int(float(parts[2])) - 1, float(parts[3])
    except (IndexError, ValueError):
        return None
    return (point, shift) if 0 <= point < npoints else None
