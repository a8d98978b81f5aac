"""``specfit report``: a result's figure (PNG/SVG/PDF) or its peak table (CSV), written atomically.

The peak table has one row per spectrum and component: the batch coordinates
(and the region of a depth profile), the component, its center, FWHM, area
and fraction, each with its standard error ("n/a" where it cannot be
estimated), the spectrum's ``success`` and ``flags``; a Raman speciation adds
the baseline and shape-model spreads, ⁷Li NMR shifts the shift relative to
the reference sample.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.atomicio import atomic_write
from specfit.errors import DataError, SpecfitError
from specfit.plotting.by_kind import figures
from specfit.plotting.panels import spectrum_flags
from specfit.results.kinds import result_kind

FIGURE_FORMATS = (".png", ".svg", ".pdf")
TABLE_FORMATS = (".csv", ".tsv", ".xlsx")
PNG_DPI = 150

_UNITS = {"xps": "eV", "raman": "cm-1", "nmr": "ppm"}


def _units(ds: xr.Dataset) -> str:
    if "center" in ds and ds["center"].attrs.get("units"):
        return str(ds["center"].attrs["units"])
    return _UNITS.get(str(ds.attrs.get("technique", "")), "")


def _component_rows(ds: xr.Dataset, extra: dict[str, str] | None = None):
    """Rows (dicts) of one result Dataset: batch coords, component, values ± stderr, success, flags."""
    import pandas as pd

    dims = tuple(ds["success"].dims)
    unit = _units(ds)
    flags = spectrum_flags(ds)
    has_component = "component" in ds["center"].dims
    names = [str(c) for c in ds["component"].values] if has_component else [_single_component_name(ds)]
    columns = [("center", unit, 1.0), ("fwhm", unit, 1.0), ("area", "", 1.0), ("fraction", "%", 100.0)]
    # a multi-component result has every column; one edited or damaged is refused, never dropped silently
    required = [var for var, _, _ in columns] if has_component else ["center"]
    missing = [v for v in required if v not in ds]
    missing += [f"{var}_stderr" for var, _, _ in columns if var in ds and f"{var}_stderr" not in ds]
    if missing:
        raise ValueError(f"the result has no {', '.join(map(repr, missing))} variable (edited or damaged?); "
                         "the peak table needs center, fwhm, area and fraction with their stderr")
    spreads = [(v, f"{v.replace('fraction_', '').replace('_', ' ')} (%)", 100.0)
               for v in ("fraction_baseline_spread", "fraction_shape_spread") if v in ds]
    rows = []
    for idx in np.ndindex(*(ds.sizes[d] for d in dims)):
        sel = dict(zip(dims, idx))
        one = ds.isel(sel)
        base = dict(extra or {})
        for d in dims:
            base[_coord_column(ds, d)] = one[d].values.item() if d in one.coords else idx[dims.index(d)]
        for k, name in enumerate(names):
            row = dict(base)
            row["component"] = name
            if "component_label" in ds.coords and has_component:
                row["label"] = str(ds["component_label"].values[k])
            for var, var_unit, factor in columns:
                if var not in ds:
                    continue
                value = one[var].values[k] if has_component else one[var].values
                err = one[f"{var}_stderr"].values[k] if has_component else one[f"{var}_stderr"].values
                suffix = f" ({var_unit})" if var_unit else ""
                row[f"{var}{suffix}"] = float(value) * factor
                row[f"{var} stderr{suffix}"] = float(err) * factor
            for var, title, factor in spreads:
                row[title] = float(one[var].values[k]) * factor
            if "shift_delta" in ds:
                row[f"shift vs reference ({unit})"] = float(one["shift_delta"].values)
                row[f"shift vs reference stderr ({unit})"] = float(one["shift_delta_stderr"].values)
            if "selected" in ds:  # component selection: a dropped component keeps its row, selected False
                row["selected"] = bool(one["selected"].values[k]) if has_component else bool(one["selected"].values)
            row["success"] = bool(one["success"].values)
            row["flags"] = str(flags.isel(sel).values.item()) if dims else str(flags.values.item())
            rows.append(row)
    return pd.DataFrame(rows)


def _single_component_name(ds: xr.Dataset) -> str:
    """Name of the one line of a result without a component dimension (NMR shifts)."""
    if "component" in ds.coords and ds["component"].ndim == 0:
        return str(ds["component"].values)
    try:
        from specfit.library.loader import load_library

        return load_library(ds.attrs["library"]).components[0].name
    except Exception:  # the library may not be installed where the result is read: the name is cosmetic
        return "line"


def _coord_column(ds: xr.Dataset, dim: str) -> str:
    units = ds[dim].attrs.get("units", "") if dim in ds.coords else ""
    return f"{dim} ({units})" if units else dim


def peak_table(result: xr.Dataset | xr.DataTree):
    """Peak table of a result: one row per spectrum and component.

    Parameters
    ----------
    result : xarray.Dataset or xarray.DataTree
        Any specfit result (fit, series, Raman speciation, NMR shifts, or a
        depth-profile DataTree: one block of rows per region).

    Returns
    -------
    pandas.DataFrame
        Columns: batch coordinates (``etch_time (s)``...), ``component``,
        ``label``, ``center (eV)``, ``center stderr (eV)``, ``fwhm``..., ``area``,
        ``area stderr``, ``fraction (%)``, ``fraction stderr (%)``, workflow
        extras, ``selected`` (after ``components="auto"``: False for a component
        the selection dropped; it is left out of the figures' legends),
        ``success``, ``flags``.  NaN marks a value that cannot be estimated.
    """
    import pandas as pd

    if isinstance(result, xr.DataTree):
        parts = [_component_rows(result[name].to_dataset(), {"region": name}) for name in result.children
                 if "success" in result[name].to_dataset()]
        if not parts:
            raise DataError("the DataTree holds no fitted region")
        return pd.concat(parts, ignore_index=True)
    result_kind(result)  # raises DataError for anything that is not a result
    return _component_rows(result)


def _write_table(table, out: Path, inputs: tuple) -> None:
    ext = out.suffix.lower()
    if ext == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise SpecfitError(f"{out}: writing .xlsx needs the openpyxl package; use a .csv table") from None
        atomic_write(out, lambda tmp: table.to_excel(tmp, index=False), inputs=inputs)
        return
    sep = "\t" if ext == ".tsv" else ","
    atomic_write(out, lambda tmp: table.to_csv(tmp, sep=sep, index=False, na_rep="n/a", float_format="%.6g"),
                 inputs=inputs)


def _page_path(out: Path, page: int) -> Path:
    return out if page == 0 else out.with_name(f"{out.stem}_p{page + 1}{out.suffix}")


def _write_figures(result, out: Path, inputs: tuple) -> list[Path]:
    import matplotlib.pyplot as plt

    pages = figures(result)
    try:
        if out.suffix.lower() == ".pdf":
            from matplotlib.backends.backend_pdf import PdfPages

            def write_pdf(tmp: str) -> None:
                with PdfPages(tmp) as pdf:
                    for fig in pages:
                        pdf.savefig(fig)

            atomic_write(out, write_pdf, inputs=inputs)
            return [out]
        written = []
        for i, fig in enumerate(pages):
            path = _page_path(out, i)
            atomic_write(path, lambda tmp, fig=fig: fig.savefig(tmp, dpi=PNG_DPI, format=out.suffix[1:].lower()),
                         inputs=inputs)
            written.append(path)
        return written
    finally:
        for fig in pages:
            plt.close(fig)


def report_files(result: xr.Dataset | xr.DataTree | str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """Write the report of ``result`` to ``out`` and return every file written.

    A figure of several pages goes into one PDF, or into ``out`` plus
    ``<stem>_p2<ext>``... for PNG/SVG.  See :func:`write_report`.
    """
    out = Path(out)
    ext = out.suffix.lower()
    if ext not in FIGURE_FORMATS + TABLE_FORMATS:
        raise SpecfitError(f"{out}: unknown report format {ext or '(none)'!r}; use one of "
                           f"{', '.join(FIGURE_FORMATS + TABLE_FORMATS)}")
    source = None
    if isinstance(result, (str, os.PathLike)):
        from specfit.results.store import open_results

        source = Path(result)
        result = open_results(source)
    inputs = (source,) if source is not None else ()
    name = str(source) if source is not None else "result"
    try:
        if ext in TABLE_FORMATS:
            _write_table(peak_table(result), out, inputs)
            return [out]
        return _write_figures(result, out, inputs)
    except (ValueError, KeyError) as exc:
        raise SpecfitError(f"{name}: cannot report it: {exc}") from None


def write_report(result: xr.Dataset | xr.DataTree | str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write the right figure or the peak table of a result, chosen by the extension of ``out``.

    Parameters
    ----------
    result : xarray.Dataset, xarray.DataTree or path
        A specfit result or the NetCDF file holding one.
    out : path
        ``.png`` / ``.svg`` / ``.pdf``: the figure of :func:`specfit.plot`
        (every page: one PDF, or ``<stem>_p2.png``... beside ``out``);
        ``.csv`` / ``.tsv``: the peak table of :func:`peak_table`; ``.xlsx``
        when openpyxl is installed.  Written atomically (temp file + rename
        in the target folder, :func:`specfit.atomicio.atomic_write`).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    SpecfitError
        Unknown extension, ``out`` being the result file read, or an object
        that is not a specfit result.
    """
    return report_files(result, out)[0]


__all__ = ["FIGURE_FORMATS", "TABLE_FORMATS", "peak_table", "report_files", "write_report"]
