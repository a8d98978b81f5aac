"""Generic delimited text: first column x, one or more y columns.

This is the fallback reader for any text file that no specific reader claims.
The delimiter (tab, semicolon, comma or runs of whitespace) is detected from
the data rows.  ``#`` lines are comments; leading non-numeric rows are the
header, and the first of them with one name per column gives the column names.

Files with several x columns (e.g. the Hendricks CSVs, which hold a raw and a
shifted binding-energy column per spectrum) are not split into regions: the
first column is the axis and **every** other column becomes a spectrum, the
other x columns included.  Pick the wanted rows of ``spectrum`` afterwards.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import FileFormatError, where
from .textcodec import read_text

EXTENSIONS = (".csv", ".txt", ".dat", ".tsv", ".xy", ".asc")

# Tokens read as a missing value (NaN) rather than as text.
_NAN_TOKENS = frozenset({"", "nan", "-nan", "+nan", "na", "n/a", "null", "none"})
_NUMBER_START = re.compile(r"^\s*[+-]?(\d|\.\d|nan\b|inf)", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")

# (pattern on the header text, dimension name, axis units); first match wins.
_AXIS_NAMES = (
    (re.compile(r"raman|cm-1|cm\^-1|cm⁻¹|1/cm", re.IGNORECASE), "raman_shift", "cm-1"),
    (re.compile(r"(?i:binding)|(?<![A-Za-z])BE(?![a-z])"), "binding_energy", "eV"),
    (re.compile(r"ppm|chemical.?shift", re.IGNORECASE), "chemical_shift", "ppm"),
    (re.compile(r"(?i:kinetic)|(?<![A-Za-z])(KE|E_?kin)(?![a-z])"), "kinetic_energy", "eV"),
)
_UNITS_IN_NAME = re.compile(r"[\[(]\s*([^\])]+?)\s*[\])]\s*$|/\s*([A-Za-z0-9^\-⁻¹]+)\s*$")


def sniff(path: Path, head: bytes) -> bool:
    """Accept any text file with at least one line that starts with a number.

    Parameters
    ----------
    path : Path
        The file (unused: any suffix is accepted, this is the fallback reader).
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
    """
    if not head or b"\x00" in head:  # binary files, and directories (empty head)
        return False
    text = head.decode("utf-8", errors="replace")
    return any(_NUMBER_START.match(line) for line in text.splitlines())


def read(path: str | Path) -> xr.DataArray:
    """Read a delimited text file.

    Parameters
    ----------
    path : str or Path
        The text file.

    Returns
    -------
    xarray.DataArray
        1-D (axis) for one y column, else 2-D (``spectrum``, axis) with the
        ``spectrum`` coordinate holding the column names (``y0, y1, ...``
        without a header).  The axis is named from the x header when it is
        recognisable (``raman_shift``, ``binding_energy``, ``chemical_shift``,
        ``kinetic_energy``), else ``x``; ``attrs['axis_label']`` keeps the
        header text.

    Raises
    ------
    FileFormatError
        No numeric rows, ragged rows, text or NaN in the x column or text in
        the data, or fewer than 3 points.
    """
    path = Path(path)
    text = read_text(path)  # UTF-8 (BOM ignored), else Latin-1
    rows, comments, header_comment = _split_rows(text)
    data_rows = [line for _, line in rows if _NUMBER_START.match(line)]
    if not data_rows:
        raise FileFormatError(where(path, "no numeric data rows"))
    delimiter = _detect_delimiter(data_rows[:50])
    header, names, values = _parse(path, rows, delimiter)
    if names is None and header_comment is not None and delimiter and delimiter in header_comment:
        # numpy.savetxt writes its header as a comment: "# x,y" right before the data.  Only
        # trusted with an explicit delimiter: "# a comment" would pass for two whitespace names.
        candidate = _fields(header_comment, delimiter)
        if len(candidate) == values.shape[1] and _number(candidate[0]) is None:
            names = candidate
    return _build(path, header, names, values, comments)


def _split_rows(text: str) -> tuple[list[tuple[int, str]], list[str], str | None]:
    """Split into (1-based line number, line) rows, comment texts, and the comment just before the rows."""
    rows: list[tuple[int, str]] = []
    comments: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append((number, stripped.lstrip("#").strip()))
        else:
            rows.append((number, line))
    first = rows[0][0] if rows else -1
    before = next((c for n, c in comments if n == first - 1), None)
    return rows, [c for _, c in comments], before


def _detect_delimiter(lines: list[str]) -> str | None:
    """Tab, semicolon or comma if every sampled data line has it, else None (whitespace)."""
    for delimiter in ("\t", ";", ","):
        if all(delimiter in line for line in lines):
            return delimiter
    return None


def _fields(line: str, delimiter: str | None) -> list[str]:
    fields = [f.strip() for f in line.split(delimiter)] if delimiter else line.split()
    if delimiter not in (None, ","):  # decimal comma is only unambiguous when "," is not the delimiter
        fields = [f.replace(",", ".") if _DECIMAL_COMMA.match(f) else f for f in fields]
    return fields


def _number(field: str) -> float | None:
    """The value of a field, NaN for a missing-value token, None for text."""
    if field.lower() in _NAN_TOKENS:
        return math.nan
    try:
        return float(field)
    except ValueError:
        return None


def _parse(
    path: Path, rows: list[tuple[int, str]], delimiter: str | None
) -> tuple[list[list[str]], list[str] | None, np.ndarray]:
    """Split rows into header rows, column names and an (n_rows, n_cols) float array."""
    header: list[list[str]] = []
    values: list[list[float]] = []
    n_cols = 0
    for number, line in rows:
        fields = _fields(line, delimiter)
        parsed = [_number(f) for f in fields]
        if not values:
            # Text before the first data row is header: a text x field, or an empty x field
            # beside text (",a,b" as written by spreadsheet/pandas exports).
            if parsed[0] is None or (math.isnan(parsed[0]) and None in parsed):
                header.append(fields)
                continue
            n_cols = len(fields)
            if n_cols < 2:
                raise FileFormatError(where(path, f"line {number}: need at least 2 columns (x and y)"))
        if len(fields) != n_cols:
            raise FileFormatError(
                where(path, f"line {number}: ragged row with {len(fields)} columns, expected {n_cols}")
            )
        if None in parsed:
            bad = fields[parsed.index(None)]
            raise FileFormatError(where(path, f"line {number}: non-numeric value {bad!r} in the data"))
        if math.isnan(parsed[0]) or math.isinf(parsed[0]):
            raise FileFormatError(where(path, f"line {number}: x value {fields[0]!r} is not finite"))
        values.append(parsed)
    if len(values) < 3:
        raise FileFormatError(where(path, f"only {len(values)} data rows, need at least 3 points"))
    names = next((h for h in header if len(h) == n_cols), None)
    return header, names, np.asarray(values, dtype=float)


def _axis(label: str) -> tuple[str, str]:
    """Dimension name and units recognised from the x header text."""
    for pattern, dim, units in _AXIS_NAMES:
        if pattern.search(label):
            return dim, units
    match = _UNITS_IN_NAME.search(label)
    return "x", (next(g for g in match.groups() if g) if match else "")


def _build(
    path: Path, header: list[list[str]], names: list[str] | None, values: np.ndarray, comments: list[str]
) -> xr.DataArray:
    x, y = values[:, 0], values[:, 1:]
    label = names[0] if names else ""
    dim, units = _axis(label)
    y_names = list(names[1:]) if names else [f"y{i}" for i in range(y.shape[1])]
    # Axis units go on the coordinate (as in the other readers); the intensity units are unknown.
    attrs = {"source_file": str(path), "axis_label": label}
    if comments:
        attrs["comment"] = "\n".join(comments)
    extra = [h for h in header if h is not names]
    if extra:
        attrs["header"] = "\n".join(" | ".join(h) for h in extra)
    coord = xr.Variable(
        dim, x, attrs={"units": units, "long_name": label or dim.replace("_", " ").capitalize()}
    )
    if y.shape[1] == 1:
        return xr.DataArray(
            y[:, 0], dims=(dim,), coords={dim: coord}, name=names[1] if names else None, attrs=attrs
        )
    return xr.DataArray(y.T, dims=("spectrum", dim), coords={"spectrum": y_names, dim: coord}, attrs=attrs)
