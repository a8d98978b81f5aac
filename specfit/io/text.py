"""Generic delimited text: first column x, one or more y columns.

This is the fallback reader for any text file that no specific reader claims.
The delimiter (tab, semicolon, comma or runs of whitespace) is detected from
the data rows.  ``#`` lines are comments; leading non-numeric rows are the
header, and the first of them with one name per column gives the column names.

Columns are chosen deliberately.  Column 0 is the axis.  A later column is
another axis, not a spectrum, when it is strictly monotonic and either linear
in column 0 (a shifted or converted copy of the axis) or named like an axis;
an axis column starts a group that holds the axis columns right after it and
then the intensity columns up to the next axis column.  Groups whose axes
include column 0's values are one DataArray on column 0 (their other axis
columns kept as coordinates); groups on other axes become further children of
a DataTree.  For example the Hendricks CSVs
(``BE_raw_0V, BE_shifted_0V, cps_0V, BE_raw_3p4V, BE_shifted_3p4V, cps_3p4V``)
give the two ``cps`` spectra on the shared raw axis, each shifted axis kept as
a coordinate.  ``x_column`` / ``y_columns`` choose explicitly (names or
0-based indices); a layout that cannot be told apart (an axis column with no
spectrum after it) is an error that lists the columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError, where
from specfit.io.textcodec import read_text
from specfit.io.vamas import as_tree

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
    """Accept a text file with a text suffix, or any text file with a line that starts with a number.

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
    if Path(path).suffix.lower() in EXTENSIONS:
        return True  # a text file with a text suffix: read() says what is wrong with it, if anything
    text = head.decode("utf-8", errors="replace")
    return any(_NUMBER_START.match(line) for line in text.splitlines())


def read(
    path: str | Path,
    *,
    x_column: int | str | None = None,
    y_columns: int | str | Sequence[int | str] | None = None,
) -> xr.DataArray | xr.DataTree:
    """Read a delimited text file.

    Parameters
    ----------
    path : str or Path
        The text file.
    x_column : int or str, optional
        The axis column, by header name or 0-based index (default: column 0).
    y_columns : int, str or sequence of them, optional
        The intensity columns (default: every column that is not an axis, see
        the module docstring).

    Returns
    -------
    xarray.DataArray or xarray.DataTree
        1-D (axis) for one y column, else 2-D (``spectrum``, axis) with the
        ``spectrum`` coordinate holding the column names (``y0, y1, ...``
        without a header).  The axis is named from the x header when it is
        recognisable (``raman_shift``, ``binding_energy``, ``chemical_shift``,
        ``kinetic_energy``), else ``x``; ``attrs['axis_label']`` keeps the
        header text.  Alternative axis columns that go with the spectra are
        kept as coordinates named after their header.  Spectra on different
        axes give a DataTree with one child per axis.

    Raises
    ------
    FileFormatError
        No numeric rows (a header-only file), ragged rows, text or NaN in the
        x column or text in the data, fewer than 3 points, an unknown column
        name or index, or a layout where the spectra cannot be told from the
        axes (the message lists the columns).
    """
    path = Path(path)
    text = read_text(path)  # UTF-8 (BOM ignored), else Latin-1
    rows, comments, header_comment = _split_rows(text)
    labspec = _labspec_metadata(comments)
    if labspec is not None and x_column is None and y_columns is None:
        return _read_labspec(path, rows, labspec)
    data_rows = [line for _, line in rows if _NUMBER_START.match(line)]
    if not data_rows:
        if rows:
            raise FileFormatError(where(path, f"header only: no numeric data rows below {rows[0][1].strip()[:60]!r}"))
        raise FileFormatError(where(path, "no numeric data rows (only comments)"))
    delimiter = _detect_delimiter(data_rows[:50])
    header, names, values = _parse(path, rows, delimiter)
    if names is None and header_comment is not None and delimiter and delimiter in header_comment:
        # numpy.savetxt writes its header as a comment: "# x,y" right before the data.  Only
        # trusted with an explicit delimiter: "# a comment" would pass for two whitespace names.
        candidate = _fields(header_comment, delimiter)
        if len(candidate) == values.shape[1] and _number(candidate[0]) is None:
            names = candidate
    while values.shape[1] > 2 and np.isnan(values[:, -1]).all() and (names is None or not names[-1]):
        # a trailing delimiter on every row: an empty, unnamed column, not a spectrum
        values = values[:, :-1]
        names = names[:-1] if names is not None else None
    groups = _select(path, names, values, x_column, y_columns)
    arrays = [_build(path, header, names, values, comments, group) for group in groups]
    if len(arrays) == 1:
        return arrays[0]
    labels = [(names[g.spectra[0]] if names else f"y{g.spectra[0]}") for g in groups]
    return as_tree(arrays, [re.sub(r"\W+", "_", label).strip("_") for label in labels],
                   {"source_file": str(path), "axis_columns": [names[g.axes[0]] if names else f"column {g.axes[0]}"
                                                                for g in groups]})


_LABSPEC_KEY = re.compile(r"^([^=]{1,60})=\s*(.*)$")


def _labspec_metadata(comments: list[str]) -> dict[str, str] | None:
    """HORIBA LabSpec text export: ``#Key=<TAB>value`` header lines (``Acq. time (s)``, ``Laser``,
    ``Accumulations``, ``Range (cm-¹)``...).  The keys, or None when the comments are not LabSpec's.

    Its data rows carry no column names, so the axis cannot come from a header row (the last ``#`` line,
    ``#Title=...``, was taken for one); a LabSpec export is a Raman spectrum (axis in cm-1) unless its
    ``Spectro``/``Range`` key names another unit.
    """
    pairs = [m.groups() for m in (_LABSPEC_KEY.match(c) for c in comments) if m]
    if len(pairs) < 3 or len(pairs) < 0.8 * len(comments):
        return None
    meta = {k.strip(): v.strip() for k, v in pairs}
    if not any(k.startswith(("Acq. time", "Laser", "Accumulations")) for k in meta):
        return None
    return meta


def _read_labspec(path: Path, rows: list[tuple[int, str]], meta: dict[str, str]) -> xr.DataArray:
    """A LabSpec single spectrum (``shift<TAB>intensity`` rows) or matrix (a row of Raman shifts after an
    empty cell, then ``time-or-index<TAB>spectrum`` per row)."""
    unit_keys = [k for k in meta if k.startswith(("Range", "Spectro"))]
    units = next((m.group(1) for k in unit_keys for m in [re.search(r"\(([^)]*)\)", k)] if m), "cm-1")
    if not re.search(r"cm", units):
        raise FileFormatError(where(path, f"LabSpec export with axis unit {units!r}: only Raman shifts (cm-1) "
                                          "are understood"))
    cells = [(n, [c.strip() for c in line.split("\t")]) for n, line in rows]
    matrix = cells and cells[0][1][0] == ""
    parsed = []
    for n, row in cells:
        try:
            parsed.append([float(c) for c in (row[1:] if matrix and n == cells[0][0] else row)])
        except ValueError:
            raise FileFormatError(where(path, f"line {n}: LabSpec data row with a value that is not a number: "
                                              f"{' '.join(row)[:40]!r}")) from None
    attrs = {"source_file": str(path), "format": "HORIBA LabSpec text export", "axis_label": f"Raman shift ({units})"}
    attrs |= {"labspec_" + re.sub(r"\W+", "_", k).strip("_").lower(): v for k, v in meta.items()}
    axis_attrs = {"units": "cm-1", "long_name": "Raman shift"}
    if matrix:
        shift = np.array(parsed[0])
        body = parsed[1:]
        for (n, _), row in zip(cells[1:], body):
            if len(row) != shift.size + 1:
                raise FileFormatError(where(path, f"line {n}: LabSpec matrix row has {len(row)} values, expected "
                                                  f"{shift.size + 1} (one time or index, then {shift.size} "
                                                  "intensities)"))
        if len(body) < 1 or shift.size < 3:
            raise FileFormatError(where(path, "LabSpec matrix export without spectra"))
        data = np.array(body)
        return xr.DataArray(data[:, 1:], dims=("time", "raman_shift"),
                            coords={"time": ("time", data[:, 0]), "raman_shift": ("raman_shift", shift, axis_attrs)},
                            attrs=attrs)
    for (n, _), row in zip(cells, parsed):
        if len(row) != 2:
            raise FileFormatError(where(path, f"line {n}: LabSpec spectrum row has {len(row)} values, expected 2"))
    if len(parsed) < 3:
        raise FileFormatError(where(path, f"only {len(parsed)} data rows, need at least 3 points"))
    data = np.array(parsed)
    return xr.DataArray(data[:, 1], dims=("raman_shift",), coords={"raman_shift": ("raman_shift", data[:, 0],
                                                                                   axis_attrs)}, attrs=attrs)


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


def _select(path: Path, names: list[str] | None, values: np.ndarray, x_column, y_columns) -> list[_Group]:
    """Choose the axis and intensity columns: the user's choice, else the file's layout.

    Returns the groups of spectra to build, the first on the chosen axis.
    """
    n_cols = values.shape[1]
    labels = list(names) if names else [f"column {i}" for i in range(n_cols)]
    x_index = 0 if x_column is None else _resolve(path, labels, names, x_column, "x_column")
    if y_columns is not None:
        wanted = y_columns
        if isinstance(wanted, str) and (names is None or wanted not in names) and "," in wanted:
            wanted = [part.strip() for part in wanted.split(",")]
        if isinstance(wanted, (str, int, np.integer)):
            wanted = [wanted]
        y_index = [_resolve(path, labels, names, item, "y_columns") for item in wanted]
        if not y_index or x_index in y_index or len(set(y_index)) != len(y_index):
            raise FileFormatError(where(path, f"y_columns {list(wanted)!r} must name distinct columns other than "
                                              f"the x column {labels[x_index]!r}; columns: {_listing(labels)}"))
        return [_Group(x_index, [], y_index)]
    groups = _layout(values, labels)
    x = values[:, x_index]
    chosen = [g for g in groups if any(np.array_equal(values[:, c], x) for c in g.axes)]
    # Secondary axes of the chosen groups travel as coordinates (not those equal to the chosen axis).
    secondary = [c for g in chosen for c in g.axes if c != x_index and not np.array_equal(values[:, c], x)]
    spectra = [c for g in chosen for c in g.spectra if c != x_index]
    if not chosen or not spectra:
        if n_cols == 2:  # x and one column: nothing to be ambiguous about
            return [_Group(x_index, [], [1 - x_index])]
        raise _ambiguous(path, labels, groups, f"no intensity column goes with the axis {labels[x_index]!r}")
    for group in groups:
        if not group.spectra:
            raise _ambiguous(path, labels, groups, f"axis column {labels[group.axes[0]]!r} has no intensity column")
    result = [_Group(x_index, secondary, spectra)]
    if x_column is None:
        result += [g for g in groups if g not in chosen]
    return result


class _Group:
    """Axis columns (the first is the axis; others are alternative axes) and the spectra on them."""

    def __init__(self, x: int, others: list[int], spectra: list[int]) -> None:
        self.axes = [x, *others]
        self.spectra = spectra


def _layout(values: np.ndarray, labels: list[str]) -> list[_Group]:
    """Split columns into groups: an axis column, the axis columns right after it, then its spectra.

    Column 0 is always an axis.  A later column is an axis when it is strictly
    monotonic and either linear in column 0 (a shifted or converted copy of the
    axis) or named like an axis (``BE``, ``Raman shift``, ``ppm``...).
    """
    x = values[:, 0]
    groups = [_Group(0, [], [])]
    for column in range(1, values.shape[1]):
        if _is_axis(values[:, column], x, labels[column]):
            if groups[-1].spectra:
                groups.append(_Group(column, [], []))
            else:
                groups[-1].axes.append(column)
        else:
            groups[-1].spectra.append(column)
    return groups


def _is_axis(column: np.ndarray, x: np.ndarray, label: str) -> bool:
    if not np.isfinite(column).all():
        return False
    steps = np.diff(column)
    if not ((steps > 0).all() or (steps < 0).all()):
        return False
    if any(pattern.search(label) for pattern, _, _ in _AXIS_NAMES):
        return True
    if np.ptp(x) == 0:
        return False
    slope, intercept = np.polyfit(x, column, 1)
    return bool(np.max(np.abs(column - (slope * x + intercept))) <= 1e-6 * np.ptp(column))


def _resolve(path: Path, labels: list[str], names: list[str] | None, item, argument: str) -> int:
    """Index of a column given by header name or 0-based index."""
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        index = int(item)
    elif isinstance(item, str) and names is not None and item in names:
        return names.index(item)
    elif isinstance(item, str) and names is not None and item.strip().lower() in [n.lower() for n in names]:
        return [n.lower() for n in names].index(item.strip().lower())
    elif isinstance(item, str) and item.strip().isdigit():
        index = int(item.strip())
    else:
        raise FileFormatError(where(path, f"{argument}={item!r} is not a column; columns: {_listing(labels)}"))
    if not 0 <= index < len(labels):
        raise FileFormatError(where(path, f"{argument}={item!r} is out of range; columns: {_listing(labels)}"))
    return index


def _listing(labels: list[str]) -> str:
    return ", ".join(f"{i}={label!r}" for i, label in enumerate(labels))


def _ambiguous(path: Path, labels: list[str], groups: list[_Group], problem: str) -> FileFormatError:
    axes = [labels[c] for g in groups for c in g.axes]
    return FileFormatError(where(path, f"cannot tell which columns are spectra ({problem}); columns: "
                                       f"{_listing(labels)}; axis-like: {', '.join(map(repr, axes))}; choose with "
                                       f"x_column= and y_columns= (CLI --x-column/--y-columns)"))


def _build(
    path: Path,
    header: list[list[str]],
    names: list[str] | None,
    values: np.ndarray,
    comments: list[str],
    group: _Group,
) -> xr.DataArray:
    x_index, others = group.axes[0], group.axes[1:]
    x = values[:, x_index]
    if not np.isfinite(x).all():
        raise FileFormatError(where(path, f"the x column {x_index} holds a value that is not finite"))
    y = values[:, group.spectra]
    label = names[x_index] if names else ""
    dim, units = _axis(label)
    y_names = [names[c] for c in group.spectra] if names else [f"y{i}" for i in range(y.shape[1])]
    # Axis units go on the coordinate (as in the other readers); the intensity units are unknown.
    attrs = {"source_file": str(path), "axis_label": label}
    if comments:
        attrs["comment"] = "\n".join(comments)
    extra = [h for h in header if h is not names]
    if extra:
        attrs["header"] = "\n".join(" | ".join(h) for h in extra)
    coords: dict = {
        dim: xr.Variable(dim, x, attrs={"units": units, "long_name": label or dim.replace("_", " ").capitalize()})
    }
    for column in others:
        name = names[column] if names else f"x{column}"
        while name in coords or name in (dim, "spectrum"):
            name += "_"
        coords[name] = xr.Variable(dim, values[:, column], attrs={"units": _axis(name)[1], "long_name": name})
    if others:
        attrs["axis_columns"] = [names[c] if names else f"column {c}" for c in (x_index, *others)]
    if y.shape[1] == 1:
        return xr.DataArray(y[:, 0], dims=(dim,), coords=coords, name=y_names[0] if names else None, attrs=attrs)
    coords["spectrum"] = y_names
    return xr.DataArray(y.T, dims=("spectrum", dim), coords=coords, attrs=attrs)
