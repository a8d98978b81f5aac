"""JCAMP-DX spectra (``##XYDATA=(X++(Y..Y))`` and ``(XY..XY)`` tables).

Own parser rather than the ``jcamp`` package, which fails on DIF/DUP lines
with an inline ``$$`` comment (the official ``BRUKDIF.DX`` test file).  The
ASDF compressions AFFN, PAC, SQZ, DIF and DUP are all decoded, with the DIF
Y-check (a DIF line repeats the last ordinate of the line before it).  Every
data line is decoded by a single left-to-right scan (no backtracking regular
expression), so decoding time is linear in the line length whatever the line
holds.  The missing-value token ``?`` is refused with the line number.

Labels are compared as the standard prescribes (JCAMP-DX 4.24, section 4.1):
case, blanks, ``-``, ``/`` and ``_`` are ignored, so ``##DATATYPE=``,
``##DATA TYPE=`` and ``##Data_Type=`` are one label.  A numeric label that
does not parse (``##YFACTOR= abc``) is an error, never a silent default.

Axis: NMR spectra with ``XUNITS=HZ`` are converted to ppm (dimension
``chemical_shift``) when the reference is known: from Bruker's ``##$OFFSET``
(ppm of the first point) or ``##.SHIFT REFERENCE``, dividing Hz by ``##$SF``
(Bruker's ppm reference frequency) or else ``##.OBSERVE FREQUENCY``.  Without
a reference the axis stays in Hz with dimension ``frequency``.  ``XUNITS=PPM``
gives ``chemical_shift``; ``1/CM`` gives ``raman_shift`` only for a Raman
``DATA TYPE`` (otherwise ``x`` with units cm-1: infrared wavenumbers are not
Raman shifts); any other unit gives ``x`` carrying the file's unit text.
Only the first data block of a file is read; NTUPLES files are not supported.

Integrity: the format has no checksum.  ``##NPOINTS`` (when given) must equal
the number of decoded points, and DIF lines carry the Y-check; a changed
digit inside a value cannot be detected.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where
from specfit.io.textcodec import decode

EXTENSIONS = (".dx", ".jdx", ".jcamp")

_SQZ = {c: v for v, c in enumerate("@ABCDEFGHI")} | {c: -v for v, c in enumerate("@abcdefghi") if v}
_DIF = {c: v for v, c in enumerate("%JKLMNOPQR")} | {c: -v for v, c in enumerate("%jklmnopqr") if v}
_DUP = {c: v for v, c in enumerate("_STUVWXYZs") if v}
_SEPARATORS = frozenset(" \t,;")
_DIGITS = frozenset("0123456789")
_DATA_LABELS = ("XYDATA", "XYPOINTS", "PEAKTABLE")
# Normalised label -> attribute name.
_KEPT_ATTRS = {
    "TITLE": "title",
    "DATATYPE": "data_type",
    "XUNITS": "xunits",
    "YUNITS": "yunits",
    ".OBSERVENUCLEUS": "nucleus",
    "ORIGIN": "origin",
    "SPECTROMETERDATASYSTEM": "instrument",
}
_NUMERIC_ATTRS = {".OBSERVEFREQUENCY": "observe_frequency_MHz", "$SF": "sf", "$BF1": "bf1", "$OFFSET": "offset",
                  "$SWP": "sw_p"}


def normalise_label(label: str) -> str:
    """A JCAMP-DX label in canonical form: upper case, without blanks, ``-``, ``/`` or ``_``.

    Parameters
    ----------
    label : str
        The text between ``##`` and ``=``.

    Returns
    -------
    str
        E.g. ``"DATATYPE"`` for ``"Data Type"``, ``".OBSERVEFREQUENCY"`` for
        ``".OBSERVE FREQUENCY"`` (JCAMP-DX 4.24, section 4.1).
    """
    return "".join(c for c in label.upper() if not (c.isspace() or c in "-/_"))


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
    text = head.decode("latin-1").lstrip()
    if not text.startswith("##"):
        return False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("##") and "=" in line and normalise_label(line[2:].partition("=")[0]) == "JCAMPDX":
            return True
    return False


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
        Missing data table, undecodable ASDF or ``?`` (with the line number),
        a failed DIF Y-check, a point count that disagrees with ``##NPOINTS``,
        or a numeric label that does not parse.
    """
    path = Path(path)
    labels, table_kind, table = _records(path, decode(path.read_bytes()))
    if table_kind is None:
        raise FileFormatError(where(path, "no ##XYDATA, ##XYPOINTS or ##PEAK TABLE record"))
    form = "".join(table_kind.split()).upper()
    npoints = _npoints(path, labels)
    if "(X++(Y..Y))" in form:
        x, y = _xydata(path, labels, table, npoints)
    elif "(XY..XY)" in form:
        x, y = _xy_pairs(path, labels, table, npoints)
    else:
        raise FileFormatError(where(path, f"unsupported JCAMP-DX table form {table_kind.strip()[:40]!r} "
                                          f"(only (X++(Y..Y)) and (XY..XY) are read)"))
    y = y * _float(path, labels, "YFACTOR", 1.0)
    dim, x, units = _axis(path, labels, x)
    attrs = {"source_file": str(path), "units": labels.get("YUNITS", "")}  # intensity units
    attrs |= {name: labels[key] for key, name in _KEPT_ATTRS.items() if key in labels}
    for key, name in _NUMERIC_ATTRS.items():
        if key in labels:
            attrs[name] = _float(path, labels, key, math.nan)
    if ".SHIFTREFERENCE" in labels:
        attrs["shift_reference"] = labels[".SHIFTREFERENCE"]
    coord = xr.Variable(dim, x, attrs={"units": units, "long_name": dim.replace("_", " ").capitalize()})
    name = labels.get("TITLE") or None
    return xr.DataArray(y, dims=(dim,), coords={dim: coord}, name=name, attrs=attrs)


def _records(path: Path, text: str) -> tuple[dict[str, str], str | None, list[tuple[int, str]]]:
    """Labels of the first block (normalised keys), the table form and its (line number, text) lines."""
    parts: dict[str, list[str]] = {}
    table_kind: str | None = None
    table: list[tuple[int, str]] = []
    current: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("##") and "=" in stripped:
            label, _, value = stripped[2:].partition("=")
            key = normalise_label(label)
            value = value.split("$$", 1)[0].strip()
            if key == "END":
                break
            if key == "NTUPLES":
                raise FileFormatError(where(path, "JCAMP-DX NTUPLES blocks are not supported"))
            if table_kind is not None:
                break  # the table ends at the next label
            if key in _DATA_LABELS:
                table_kind = value
            elif key not in parts:
                current = parts[key] = [value]
            else:
                current = None  # a repeated label: the first one counts
        elif table_kind is not None:
            table.append((number, line.split("$$", 1)[0]))
        elif current is not None and not stripped.startswith("$$"):
            current.append(line)  # continuation of a multi-line value
    return {key: "\n".join(value) for key, value in parts.items()}, table_kind, table


def _float(path: Path, labels: dict[str, str], key: str, default: float) -> float:
    """The number of label ``key``; ``default`` only when the label is absent."""
    if key not in labels:
        return default
    text = labels[key].split()
    try:
        value = float(text[0])
    except (ValueError, IndexError):
        raise FileFormatError(where(path, f"label ##{key}= {labels[key][:30]!r} is not a number")) from None
    if not math.isfinite(value):
        raise FileFormatError(where(path, f"label ##{key}= {labels[key][:30]!r} is not a finite number"))
    return value


def _npoints(path: Path, labels: dict[str, str]) -> int | None:
    if "NPOINTS" not in labels:
        return None
    value = _float(path, labels, "NPOINTS", 0.0)
    if value != int(value) or value < 2:
        raise FileFormatError(where(path, f"##NPOINTS= {labels['NPOINTS'][:20]!r} is not a point count >= 2"))
    return int(value)


def _bad_line(path: Path, number: int, text: str, problem: str) -> FileFormatError:
    return FileFormatError(where(path, f"line {number}: {problem} in data line {text.strip()[:60]!r}"))


def _affn(line: str) -> list[float] | None:
    """Numbers of a plain AFFN line (exponents allowed), or None if it holds anything else.

    One left-to-right scan: linear in the line length.
    """
    values: list[float] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] in _SEPARATORS:
            i += 1
            continue
        start = i
        if line[i] in "+-":
            i += 1
        digits = 0
        while i < n and line[i] in _DIGITS:
            i, digits = i + 1, digits + 1
        if i < n and line[i] == ".":
            i += 1
            while i < n and line[i] in _DIGITS:
                i, digits = i + 1, digits + 1
        if not digits:
            return None
        if i < n and line[i] in "eE":
            i += 1
            if i < n and line[i] in "+-":
                i += 1
            exponent = 0
            while i < n and line[i] in _DIGITS:
                i, exponent = i + 1, exponent + 1
            if not exponent:
                return None
        if i < n and line[i] not in _SEPARATORS and line[i] not in "+-":
            return None
        values.append(float(line[start:i]))
    return values


def _asdf(path: Path, number: int, line: str, budget: int) -> tuple[list[float], bool]:
    """Decode one ASDF line (PAC, SQZ, DIF, DUP); also say whether it ended in DIF form.

    ``budget`` bounds the number of values (a DUP count cannot expand past it).
    """
    values: list[float] = []
    last_dif: float | None = None  # the pending difference, for DUP after a DIF token
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in _SEPARATORS:
            i += 1
            continue
        j = i + 1
        while j < n and (line[j] in _DIGITS or line[j] == "."):
            j += 1
        digits = line[i + 1 : j]
        try:
            if c in _DIGITS or c in ".+-":
                values.append(float(c + digits))
                last_dif = None
            elif c in _SQZ:
                values.append(float(f"{_SQZ[c]}{digits}") if _SQZ[c] >= 0 else -float(f"{-_SQZ[c]}{digits}"))
                last_dif = None
            elif c in _DIF:
                if not values:
                    raise _bad_line(path, number, line, "DIF value with no ordinate before it")
                last_dif = float(f"{_DIF[c]}{digits}") if _DIF[c] >= 0 else -float(f"{-_DIF[c]}{digits}")
                values.append(values[-1] + last_dif)
            elif c in _DUP:
                if not values:
                    raise _bad_line(path, number, line, "DUP count without a value")
                count = int(f"{_DUP[c]}{digits}")
                if len(values) + count - 1 > budget:
                    raise _bad_line(path, number, line, f"DUP count {count} exceeds the points left")
                step = last_dif if last_dif is not None else 0.0
                base = values[-1]  # read once: the list grows while it is extended (issue 22, case 30)
                values.extend([base + step * k for k in range(1, count)])
            else:
                raise _bad_line(path, number, line, f"invalid character {c!r}")
        except FileFormatError:
            raise
        except ValueError:  # a lone sign or dot, or two dots in one number
            raise _bad_line(path, number, line, f"invalid number {line[i:j][:20]!r}") from None
        if len(values) > budget:
            raise _bad_line(path, number, line, "more values than ##NPOINTS allows")
        i = j
    return values, last_dif is not None


def _xydata(
    path: Path, labels: dict[str, str], table: list[tuple[int, str]], npoints: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode an ``(X++(Y..Y))`` table; x is rebuilt from FIRSTX, LASTX, NPOINTS."""
    y: list[float] = []
    previous_was_dif = False
    total = sum(len(text) for _, text in table)
    limit = npoints if npoints is not None else 10 * total + 10  # DUP may expand, within reason
    for number, line in table:
        if not line.strip():
            continue
        affn = _affn(line)
        if affn is not None:
            values, ends_in_dif = affn, False
        else:
            values, ends_in_dif = _asdf(path, number, line, limit - len(y) + 2)
        ordinates = values[1:]  # values[0] is the abscissa, x / XFACTOR
        if previous_was_dif and ordinates:
            # Y-check: a line after a DIF line starts with the previous last ordinate again.
            if abs(ordinates[0] - y[-1]) > 1e-9 * max(1.0, abs(y[-1])):
                raise FileFormatError(where(path, f"line {number}: DIF Y-check failed"))
            ordinates = ordinates[1:]
        y.extend(ordinates)
        if len(y) > limit:
            raise FileFormatError(where(path, f"line {number}: more points than ##NPOINTS= {npoints}"))
        previous_was_dif = ends_in_dif
    if npoints is None:
        npoints = len(y)
    if len(y) != npoints or npoints < 2:
        raise FileFormatError(where(path, f"decoded {len(y)} points but ##NPOINTS= {npoints}"))
    if "FIRSTX" not in labels or "LASTX" not in labels:
        raise FileFormatError(where(path, "missing ##FIRSTX/##LASTX"))
    first, last = _float(path, labels, "FIRSTX", 0.0), _float(path, labels, "LASTX", 0.0)
    return np.linspace(first, last, npoints), np.asarray(y, dtype=float)


def _xy_pairs(
    path: Path, labels: dict[str, str], table: list[tuple[int, str]], npoints: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode an ``(XY..XY)`` table of AFFN pairs, scaled by XFACTOR."""
    numbers: list[float] = []
    for number, line in table:
        values = _affn(line)
        if values is None:
            bad = next((c for c in line if c not in _SEPARATORS and c not in "+-.eE" and c not in _DIGITS), "?")
            raise _bad_line(path, number, line, f"invalid character {bad!r}")
        numbers.extend(values)
    if len(numbers) % 2 or len(numbers) < 4:
        raise FileFormatError(where(path, f"(XY..XY) table holds {len(numbers)} numbers, not x,y pairs"))
    pairs = np.asarray(numbers, dtype=float).reshape(-1, 2)
    if npoints is not None and len(pairs) != npoints:
        raise FileFormatError(where(path, f"decoded {len(pairs)} points but ##NPOINTS= {npoints}"))
    return pairs[:, 0] * _float(path, labels, "XFACTOR", 1.0), pairs[:, 1]


def _axis(path: Path, labels: dict[str, str], x: np.ndarray) -> tuple[str, np.ndarray, str]:
    """Dimension name, axis values and units, converting NMR Hz to ppm when referenced."""
    xunits = "".join(labels.get("XUNITS", "").split()).upper()
    data_type = labels.get("DATATYPE", "").upper()
    if xunits == "HZ" and "NMR" in data_type:
        freq = _float(path, labels, "$SF", _float(path, labels, ".OBSERVEFREQUENCY", math.nan))
        if math.isfinite(freq) and freq > 0:
            if "$OFFSET" in labels:  # Bruker: ppm of the first point
                return "chemical_shift", _float(path, labels, "$OFFSET", 0.0) + (x - x[0]) / freq, "ppm"
            reference = _shift_reference(labels.get(".SHIFTREFERENCE", ""), len(x))
            if reference is not None:
                point, shift = reference
                return "chemical_shift", shift + (x - x[point]) / freq, "ppm"
        return "frequency", x, "Hz"
    if xunits == "HZ":
        return "frequency", x, "Hz"
    if xunits == "PPM":
        return "chemical_shift", x, "ppm"
    if xunits == "1/CM":
        return ("raman_shift" if "RAMAN" in data_type else "x"), x, "cm-1"
    return "x", x, labels.get("XUNITS", "").strip()


def _shift_reference(text: str, npoints: int) -> tuple[int, float] | None:
    """Parse ``(INTERNAL, TMS, point, shift)`` into a 0-based point index and its ppm."""
    parts = [p.strip() for p in text.strip("() \n").split(",")]
    try:
        point, shift = int(float(parts[2])) - 1, float(parts[3])
    except (IndexError, ValueError, OverflowError):
        return None
    return (point, shift) if 0 <= point < npoints and math.isfinite(shift) else None
