"""``specfit report``: a result's figure (PNG/SVG/PDF) or its peak table (CSV), written atomically.

The peak table has one row per spectrum and component: the batch coordinates
(and the region of a depth profile), the component, its center, FWHM, area
and fraction, each with its standard error ("n/a" where it cannot be
estimated), the spectrum's ``success`` and ``flags``; a Raman speciation adds
the baseline and shape-model spreads, ⁷Li NMR shifts the shift relative to
the reference sample.
"""

from __future__ import annotations

import io
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
METHODS_FORMATS = (".md", ".txt")
PNG_DPI = 150

_UNITS = {"xps": "eV", "raman": "cm-1", "nmr": "ppm"}


def _units(ds: xr.Dataset) -> str:
    if "center" in ds and ds["center"].attrs.get("units"):
        return str(ds["center"].attrs["units"])
    return _UNITS.get(str(ds.attrs.get("technique", "")), "")


def _component_rows(ds: xr.Dataset, extra: dict[str, str] | None = None):
    """Rows (dicts) of one result Dataset: batch coords, component, values ± combined uncertainty (when the
    result has it: statistical and model spread) and ± stderr (statistical), success, flags."""
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
                combined = f"{var}_uncertainty"
                if combined in ds:  # the combined standard uncertainty first: the value a table quotes
                    u = one[combined].values[k] if has_component else one[combined].values
                    row[f"{var} uncertainty{suffix}"] = float(u) * factor
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


def write_table(table, out: Path, inputs: tuple = ()) -> None:
    """A pandas table as .csv / .tsv / .xlsx (openpyxl: ``pip install 'specfit[xlsx]'``), written atomically."""
    _write_table(table, Path(out), inputs)


def _write_table(table, out: Path, inputs: tuple) -> None:
    ext = out.suffix.lower()
    if ext == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise SpecfitError(f"{out}: writing .xlsx needs the openpyxl package (pip install 'specfit[xlsx]'); "
                               "or use a .csv table") from None
        buffer = io.BytesIO()  # openpyxl refuses the temporary file's suffix: serialise in memory, then write
        table.to_excel(buffer, index=False, engine="openpyxl")
        atomic_write(out, lambda tmp: Path(tmp).write_bytes(buffer.getvalue()), inputs=inputs)
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
    if ext not in FIGURE_FORMATS + TABLE_FORMATS + METHODS_FORMATS:
        raise SpecfitError(f"{out}: unknown report format {ext or '(none)'!r}; use one of "
                           f"{', '.join(FIGURE_FORMATS + TABLE_FORMATS + METHODS_FORMATS)}")
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
        if ext in METHODS_FORMATS:
            text = methods_text(result)
            atomic_write(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), inputs=inputs)
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


def curves_table(ds: xr.Dataset):
    """x, data, fit, background and every component of each spectrum of a result, one column each (wide).

    One spectrum: columns ``binding_energy (eV)``, ``data``, ``fit``,
    ``background``, ``<component>``...; a batch prefixes each column with the
    spectrum's label (``etch_time 30 s: data``).  Components dropped by
    component selection are left out; points outside the fitted window are empty.
    """
    import pandas as pd

    from specfit.plotting.panels import axis_label, spectrum_title

    if "best_fit" not in ds:
        raise DataError("the result stores no curves (a large map); rebuild chosen ones with specfit.curves(...)")
    axis = ds["best_fit"].dims[-1]
    columns = {axis_label(ds, axis).replace("$^{-1}$", "-1"): np.asarray(ds[axis].values, float)}
    dims = tuple(ds["success"].dims)
    for idx in np.ndindex(*(ds.sizes[d] for d in dims)) if dims else [()]:
        one = ds.isel(dict(zip(dims, idx))) if dims else ds
        prefix = f"{spectrum_title(ds, one, dims)}: " if dims else ""
        fit = np.asarray(one["best_fit"].values, float)
        inside = np.isfinite(fit)
        columns[f"{prefix}data"] = np.asarray(one["data"].values, float)
        columns[f"{prefix}fit"] = fit
        bg = np.asarray(one["background"].values, float) if "background" in one else np.zeros_like(fit)
        columns[f"{prefix}background"] = np.where(inside, bg, np.nan)
        if "component_curve" in one:
            kept = np.asarray(one["selected"].values, bool) if "selected" in one and \
                one["selected"].dims == ("component",) else np.ones(one.sizes["component"], bool)
            curves = np.asarray(one["component_curve"].transpose("component", axis).values, float)
            for k, name in enumerate(one["component"].values):
                if kept[k]:
                    columns[f"{prefix}{name}"] = np.where(inside, curves[k], np.nan)
    return pd.DataFrame(columns)


def write_curves(result, out: str | os.PathLike) -> list[Path]:
    """Write :func:`curves_table` of a result to ``out`` (.csv/.tsv/.xlsx); a depth profile: one file per region
    (``<stem>_<region><ext>``).  Returns the files written."""
    out = Path(out)
    if out.suffix.lower() not in TABLE_FORMATS:
        raise SpecfitError(f"{out}: curves are a table; use one of {', '.join(TABLE_FORMATS)}")
    if isinstance(result, xr.DataTree):
        written = []
        for name in result.children:
            ds = result[name].to_dataset()
            if "best_fit" in ds:
                path = out.with_name(f"{out.stem}_{name}{out.suffix}")
                _write_table(curves_table(ds), path, ())
                written.append(path)
        return written
    _write_table(curves_table(result), out, ())
    return [out]


__all__ = ["FIGURE_FORMATS", "METHODS_FORMATS", "TABLE_FORMATS", "curves_table", "methods_text", "peak_table",
           "report_files", "write_curves", "write_report", "write_table"]


# ------------------------------------------------------------------ methods paragraph
_SOFTWARE_URL = "https://github.com/specfit/specfit"
_LINESHAPE_WORDS = {"voigt": "Voigt",
                    "gl": "Gaussian-Lorentzian product GL(p)", "sgl": "Gaussian-Lorentzian sum SGL(p)",
                    "pvoigt": "pseudo-Voigt", "gaussian": "Gaussian", "lorentzian": "Lorentzian",
                    "doniach": "Doniach-Sunjic"}


def _json(attrs: dict, key: str, default):
    import json

    value = attrs.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        value = _json({"v": value}, "v", value)
        return [value] if isinstance(value, str) and value else list(value) if not isinstance(value, str) else []
    return [str(v) for v in np.atleast_1d(value)]


def _batch_words(ds: xr.Dataset) -> str:
    dims = tuple(ds["success"].dims) if "success" in ds else ()
    if not dims:
        return "one spectrum"
    parts = []
    for d in dims:
        values = np.atleast_1d(ds[d].values) if d in ds.coords else np.arange(ds.sizes[d])
        units = ds[d].attrs.get("units", "") if d in ds.coords else ""
        shown = ", ".join(str(v) if not isinstance(v, float) else f"{v:g}" for v in values[:12])
        more = f", ... ({len(values)} in all)" if len(values) > 12 else ""
        parts.append(f"{ds.sizes[d]} spectra along {d} ({shown}{more}{' ' + units if units else ''})")
    return "; ".join(parts)


def _fit_methods(ds: xr.Dataset, title: str = "") -> tuple[list[str], list[tuple[str, str]]]:
    """Prose sentences and (item, value) table rows of one fitted result Dataset."""
    a = ds.attrs
    unit = _units(ds)
    rows: list[tuple[str, str]] = []
    prose: list[str] = []
    where = f"{title}: " if title else ""
    lib = a.get("library", "?")
    digest = str(a.get("library_hash", ""))
    lib_text = f"{lib} (sha256 {digest[:16]}…)" if digest else str(lib)
    base = [n for n in _as_list(a.get("library_notes")) if n.startswith("constraints (library file sha256")]
    if base:  # a constrained library: the file's own hash, then the hash with the constraints
        lib_text = f"{lib} (file sha256 {base[0].split('sha256 ')[1].split(')')[0]}…; with the constraints below: " \
                   f"sha256 {digest[:16]}…)"
    rows.append((f"{where}library", lib_text))
    lineshapes = _json(a, "lineshapes", {})
    comps = [str(c) for c in np.atleast_1d(ds["component"].values)] if "component" in ds.coords else []
    shapes = []
    for name in comps:
        entry = lineshapes.get(name) if isinstance(lineshapes, dict) else None
        if entry:
            kind, shape, limits = entry[0], entry[1], entry[2]
            words = _LINESHAPE_WORDS.get(str(kind).lower(), str(kind))
            free = f"shape {float(shape):g}" + (f", free in [{limits[0]:g}, {limits[1]:g}]" if limits and
                                                 float(limits[1]) > float(limits[0]) else " (fixed)")
            shapes.append(f"{name}: {words}, {free}")
        else:
            shapes.append(f"{name}: {a.get('lineshape', '?')}")
    doublets = _doublets(a, comps)
    shapes = [f"{s}{doublets.get(name, '')}" for s, name in zip(shapes, comps)]
    if comps:
        rows.append((f"{where}components", "; ".join(shapes)))
    options = _json(a, "options", {})
    bg_opts = options.get("background_options") if isinstance(options, dict) else None
    bg = str(a.get("background", "?"))
    bg_text = bg
    if bg.startswith("shirley"):
        bg_text = ("iterative Shirley, refined in the fit (active)" if bg == "shirley"
                   else "iterative Shirley, fixed before the fit")
        if bg_opts:
            bg_text += f"; options {', '.join(f'{k}={v}' for k, v in bg_opts.items())}"
        bg_text += "; end points: the data at the window limits" + (
            f" averaged over {bg_opts['n_average']} points" if bg_opts and "n_average" in bg_opts else "")
    elif bg_opts:
        bg_text += f" ({', '.join(f'{k}={v}' for k, v in bg_opts.items())})"
    rows.append((f"{where}background", bg_text))
    window = _as_list(a.get("window"))
    if len(window) == 2:
        rows.append((f"{where}window", f"{float(window[0]):g} to {float(window[1]):g} {unit}".strip()))
    elif "window" in a:
        rows.append((f"{where}window", str(a["window"])))
    share = str(a.get("share", "") or "")
    rows.append((f"{where}fit", f"engine {a.get('engine', '?')}, weights {a.get('weights', 'none')}"
                 + (f"; one global fit sharing {share} across the series" if share else
                    "; each spectrum fitted on its own")))
    constraints = _as_list(a.get("constraints"))
    constraints += [n for n in _as_list(a.get("library_notes")) if n.startswith("constraints") and not constraints]
    rows.append((f"{where}constraints", "; ".join(constraints) if constraints
                 else "none beyond the library's (ranges, doublets, links)"))
    selection = a.get("components_selected")
    if selection:
        rule = _json(a, "selection_rule", {})
        rule_text = rule.get("rule", "") if isinstance(rule, dict) else str(rule)
        dropped = _json(a, "components_dropped", {})
        if isinstance(dropped, dict) and dropped:
            words = sorted({f"{comp} ({why})" if len(dropped) == 1 else comp
                            for per in dropped.values() for comp, why in per.items()})
            drop_text = (f"dropped in {len(dropped)} spectra: {', '.join(words)}" if len(dropped) > 1
                         else f"dropped in {next(iter(dropped))}: {', '.join(words)}")
        else:
            drop_text = "nothing dropped"
        rows.append((f"{where}component selection", f"{selection}: {rule_text}; {drop_text}"))
    if "charge_shift" in ds and ds.attrs.get("technique") == "xps":
        shifts = np.atleast_1d(np.asarray(ds["charge_shift"].values, float))
        source = a.get("charge_shift_source", "")
        rows.append((f"{where}charge shift", f"{source + ': ' if source else ''}"
                     + ", ".join(f"{v:+.2f}" for v in shifts) + " eV"))
    rows.append((f"{where}uncertainty", _uncertainty_words(ds)))
    flags = spectrum_flags(ds)
    flagged = [str(v) for v in np.atleast_1d(flags.values).ravel() if str(v)]
    codes = sorted({c for v in flagged for c in v.split(",") if c})
    n = int(np.asarray(flags.values).size) or 1
    rows.append((f"{where}flags", f"{len(flagged)} of {n} spectra flagged ({', '.join(codes)})" if flagged
                 else f"none of {n} spectra flagged"))
    window_text = dict(rows).get(f"{where}window", "the whole axis")
    prose.append(f"{where}{_batch_words(ds)} fitted with library {lib} ({len(comps)} components: "
                 f"{', '.join(comps)}), background {bg_text.split(';')[0]}, window {window_text}"
                 f"{'; ' + '; '.join(constraints) if constraints else ''}.")
    return prose, rows


def _doublets(attrs: dict, comps: list[str]) -> dict[str, str]:
    """``", doublet +1.18 eV, area ratio 0.5"`` per doublet component, from the library when it is unchanged."""
    try:
        from specfit.library.loader import load_library

        lib = load_library(attrs.get("library_path") or attrs["library"])
    except Exception:  # the library may not be installed where the result is read
        return {}
    if attrs.get("library_hash") and lib.content_hash != attrs.get("library_hash"):
        return {}
    out = {}
    for comp in lib.components:
        if comp.name in comps and comp.doublet:
            out[comp.name] = (f", spin-orbit doublet (partner at {comp.doublet.splitting:+g}, area ratio "
                              f"{comp.doublet.ratio:g}, {'shared' if comp.doublet.shared_width else 'own'} width)")
    return out


def _uncertainty_words(ds: xr.Dataset) -> str:
    method = str(ds.attrs.get("uncertainty", "covariance"))
    words = ("standard errors from the covariance matrix s²(JᵀJ)⁻¹ of the final Jacobian, propagated to areas and "
             "fractions" if method.startswith("covariance") else f"{method}")
    if "fraction_uncertainty" in ds:
        words += "; tables quote the combined standard uncertainty (statistical and model spread)"
    if "fraction_baseline_spread" in ds:
        words += f"; baseline spread over {', '.join(map(str, _as_list(ds.attrs.get('baselines'))))} " \
                 f"({ds.attrs.get('baseline_spread', 'range')})"
    return words


def methods_text(result: xr.Dataset | xr.DataTree) -> str:
    """The methods paragraph of a result (Markdown): what a reviewer needs to repeat the fit.

    Software and version, each library with its content hash, every
    component's lineshape, the background and its end points, the window,
    constraints, the charge reference and the shift of each step, the
    component-selection rule and what it dropped, and the uncertainty method;
    as prose and as a table.  Works for every result kind (fit, series, Raman
    speciation, ⁷Li NMR shifts, XPS depth profile).
    """
    from specfit._version import __version__

    if isinstance(result, xr.DataTree):
        root = result.to_dataset()
        parts = [(name, result[name].to_dataset()) for name in result.children
                 if "success" in result[name].to_dataset()]
        if not parts:
            raise DataError("the DataTree holds no fitted region")
        attrs = dict(result.attrs) or dict(root.attrs)
        kind = "XPS depth profile"
    else:
        result_kind(result)
        root, parts, attrs = None, [("", result)], dict(result.attrs)
        kind = {"raman_speciation": "Raman ion-pair speciation", "nmr_shifts": "NMR shift tracking"}.get(
            str(attrs.get("result_kind", "")), "peak fit")
    version = attrs.get("specfit_version", __version__)
    prose = [f"Spectra were fitted with specfit {version} ({_SOFTWARE_URL}; {kind}), "
             "by least squares (Levenberg-Marquardt) on the raw counts."]
    rows: list[tuple[str, str]] = [("software", f"specfit {version}"), ("analysis", kind)]
    if root is not None:
        ref = attrs.get("charge_reference") or "none"
        rows.append(("charge reference", str(ref)))
        dims = [d for d in root["charge_shift"].dims] if "charge_shift" in root else []
        if dims:
            shifts = np.atleast_1d(np.asarray(root["charge_shift"].values, float))
            labels = [str(v) for v in np.atleast_1d(root[dims[0]].values)] if dims[0] in root.coords else \
                [str(i) for i in range(shifts.size)]
            units = root[dims[0]].attrs.get("units", "") if dims[0] in root.coords else ""
            per_step = ", ".join(f"{lab}{' ' + units if units else ''}: {v:+.2f} eV" for lab, v in zip(labels, shifts))
            rows.append(("charge shift per step", per_step))
            prose.append(f"Binding energies were charge-referenced to {ref}, one shift per etch step shared by "
                         f"all regions ({per_step}).")
        elif "charge_shift" in root:
            rows.append(("charge shift", f"{float(root['charge_shift']):+.2f} eV"))
        rows.append(("quantification", f"atomic % from areas / RSF ({attrs.get('rsf', 'library RSFs')})"
                     + ("; uncertainties: atomic_percent_uncertainty" if "atomic_percent_uncertainty" in root
                        else "; uncertainties: propagated standard errors")))
    for name, ds in parts:
        p, r = _fit_methods(ds, name)
        prose.extend(p)
        rows.extend(r)
    nucleus = attrs.get("nucleus")
    if nucleus and attrs.get("reference_compound"):
        prose.append(f"{nucleus} shifts are given relative to sample {attrs.get('reference_sample', '?')}; "
                     f"0 ppm is {attrs['reference_compound']}.")
        rows.append(("shift reference", f"sample {attrs.get('reference_sample', '?')}; 0 ppm = "
                                         f"{attrs['reference_compound']}"))
    uncertainty = {r[1] for r in rows if r[0].endswith("uncertainty")}
    if len(uncertainty) == 1:
        prose.append(f"Uncertainties: {next(iter(uncertainty))}.")
    prose.append("Fits were inspected for flags (parameters at a range limit, standard errors that cannot be "
                 "estimated, poor fits); see the table.")
    inputs = _as_list(attrs.get("inputs"))
    if inputs:
        rows.append(("inputs", ", ".join(inputs)))
    rows.append(("created", str(attrs.get("created", ""))))
    table = ["| item | value |", "| --- | --- |"]
    table += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows]
    return ("# Methods\n\n" + " ".join(prose) + "\n\n" + "\n".join(table) + "\n\n"
            f"Cite: specfit {version} (see CITATION.cff).\n")
