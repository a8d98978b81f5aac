"""``specfit.fit``: the public boundary — a library and a batch of spectra in, a result Dataset out.

Options are validated here, once, into a :class:`~specfit.options.FitOptions`;
the library is resolved (restricted to components, lineshape override, a
CasaXPS model read from the data) and checked against the data (technique,
nucleus); then the data flow one way: :mod:`specfit.fitting.prepare` ->
:mod:`specfit.fitting.pipeline` -> :mod:`specfit.results`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import xarray as xr

from specfit.errors import DataError
from specfit.fitting.model_spread import QUANTITIES, refine
from specfit.fitting.pipeline import fit_prepared
from specfit.fitting.prepare import as_dataarray, prepare, shift_axis
from specfit.library.loader import DEFAULT_AXIS, Library
from specfit.library.sources import data_source, resolve_library
from specfit.options import FitOptions

#: Calibrations a file may carry, by technique: ``data -> (shifted data, shift, description)``.
_CALIBRATIONS: dict[str, Callable[[xr.DataArray], tuple[xr.DataArray, object, str]]] = {}


def register_calibration(technique: str, apply: Callable[[xr.DataArray], tuple[xr.DataArray, object, str]]) -> None:
    """Have :func:`fit` apply ``apply(data)`` to every ``technique`` DataArray fitted without ``charge_shift``.

    ``apply`` returns the data unchanged (the same object) when the file
    carries no calibration; the XPS workflow registers the CasaXPS calibration
    of VAMAS block comments (:func:`specfit.xps.charge.apply_casa_calibration`).
    """
    _CALIBRATIONS[technique] = apply


_NUCLEUS = re.compile(r"(\d+)\s*([A-Za-z]{1,2})|([A-Za-z]{1,2})\s*(\d+)")


def _nucleus(text: str) -> str | None:
    """``"7Li"``, ``"^7Li"``, ``"<7Li>"``, ``"Li7"`` -> ``"7li"``; None when not a nucleus label."""
    match = _NUCLEUS.search(str(text))
    if not match:
        return None
    mass, symbol = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
    return f"{int(mass)}{symbol.lower()}"


def check_data_matches(da: xr.DataArray, lib: Library) -> None:
    """Refuse a library whose technique or nucleus contradicts the data's own metadata.

    Raises
    ------
    DataError
        The spectral axis is named for another technique (``binding_energy``
        with a Raman library), or the file's nucleus (e.g. ``13C``) is not the
        library's (``7Li``).
    """
    source = da.attrs.get("source_file", "data")
    axis = da.dims[-1] if da.dims else ""
    owners = {v: k for k, v in DEFAULT_AXIS.items()}
    if axis in owners and owners[axis] != lib.technique:
        raise DataError(f"{source}: the spectral axis is {axis!r} ({owners[axis]}) but library {lib.name!r} is "
                        f"for {lib.technique}")
    wanted = _nucleus(lib.nucleus) if lib.nucleus else None
    found = _nucleus(da.attrs.get("nucleus", "")) if da.attrs.get("nucleus") else None
    if wanted and found and wanted != found:
        raise DataError(f"{source}: the file's nucleus is {da.attrs['nucleus']!r} but library {lib.name!r} is for "
                        f"{lib.nucleus}")


def fit(data: object, library: object, *, components: object = None, background: str | None = None,
        share: object = None, window: tuple[float, float] | None = None, engine: str = "batch",
        weights: str | None = None, degree: int = 2, background_options: dict | None = None,
        max_nfev: int | None = None, lineshape: str | None = None, uncertainty: str = "combined",
        n_draws: int | None = None, seed: int | None = 0, shape_tie: str | None = None, select: str | None = None,
        charge_shift: float | None = None, progress: bool | None = None, start: str = "auto") -> xr.Dataset:
    """Fit every spectrum of ``data`` with the components of ``library``.

    Parameters
    ----------
    data : xarray.DataArray or (x, y)
        Spectra; the last dimension is the spectral axis (eV, cm-1 or ppm),
        any other dimensions are batch dimensions carried to the result.
    library : str, path or Library
        Library name (``"raman/fsi_tfsi"``), a TOML path, a loaded library, or
        ``"casa"``: the CasaXPS model stored in a VAMAS file's block comment.
    components : sequence of str or str, optional
        Restrict the library to these components (``"LiF,C-F"`` works too), or
        ``"auto"``: keep only the components the data support
        (:mod:`specfit.fitting.selection`; the XPS libraries' default).
    background : str, optional
        ``none``, ``linear``, ``polynomial`` or ``shirley`` (refined in the fit,
        Shirley "active"), or ``shirley_fixed``, ``tougaard``, ``als``,
        ``arpls`` (subtracted before); default: the library's.
    share : sequence of str, optional
        Parameters shared across the batch in one global fit: ``"center"``,
        ``"width"`` (FWHM and shape), ``"fwhm"``, ``"shape"``. Not given
        (None): a batch of 2 to 1000 spectra is fitted both independently and
        with shared centers and widths, and the structure with the lower
        series BIC is reported (note ``global_fit_chosen`` /
        ``independent_fits_chosen``); ``share=()`` fits independently.
    window : (lo, hi), optional
        Fitting window in axis units; default: the library's.
    engine : {"batch", "lmfit"}
        Vectorised Levenberg–Marquardt, or lmfit spectrum by spectrum (which
        cannot share parameters: asking for both is an error).
    weights : {None, "poisson"}
        Unweighted least squares, or ``1/sqrt(counts)`` weights.
    degree : int
        Degree of the in-fit ``polynomial`` background.
    background_options : dict, optional
        Options of the background (e.g. ``{"n_average": 5}``).
    max_nfev : int, optional
        Model evaluations allowed per spectrum.
    lineshape : str, optional
        Override the lineshape of every component: a name (shape parameter then
        free over its range) or CasaXPS notation ``"GL(30)"``/``"SGL(30)"`` (fixed).
    uncertainty : {"combined", "statistical", "covariance", "montecarlo", "bootstrap"}
        ``"combined"`` (default, batches up to 1000 spectra): ``*_stderr`` from
        the linearised covariance, and ``center/area/fraction_uncertainty``
        combining it with the model spread over the alternatives the data
        cannot rule out (background, shape tie, series structure;
        :mod:`specfit.fitting.model_spread`). ``"statistical"`` or
        ``"covariance"``: the covariance stderr only (``*_uncertainty`` equal
        to it, ``*_model_spread`` NaN). ``"montecarlo"``/``"bootstrap"``:
        stderr from refits of ``n_draws`` resampled data sets.
    n_draws, seed : int
        Number of resampled data sets (default 100; giving it with covariance errors is an
        ``OptionError``, it would be ignored) and the random seed (reproducible by default).
    shape_tie : {"none", "all", "auto"}, optional
        One shape parameter for all components, one each, or one unless a
        global fit's series rejects it (F-test); default: the library's.
    select : {"none", "auto"}, optional
        Component selection; default: the library's ``select`` key.
    charge_shift : float, optional
        Known charge shift in eV added to the binding-energy axis before the
        fit (XPS); recorded per spectrum as ``charge_shift``.
    progress : bool, optional
        Progress bar: None shows one for runs longer than about 2 s (on a
        terminal), True always, False never.
    start : {"auto", "library"}
        Starting values.  ``"auto"``: a batch of
        :data:`~specfit.fitting.pipeline.PILOT_MIN` spectra or more starts from the
        median centers, widths and shapes of a pilot fit of 64 of its spectra
        (fewer evaluations on maps), smaller batches from the library's values.
        ``"library"``: always the library's values, so a spectrum's result does
        not depend on the batch it is fitted in (a spectrum whose chi-square has
        two minima may otherwise land in either).  ``attrs["start"]`` says which.

    Returns
    -------
    xarray.Dataset
        The result schema (:mod:`specfit.results.schema`): per component ``center``,
        ``fwhm``, ``height``, ``area``, ``fraction`` with ``*_stderr`` and
        ``at_bound``; per spectrum ``success``, fit statistics, ``flags`` and
        ``fit_message``; curves.

    Raises
    ------
    FitError, LibraryError, DataError
        Bad options, library or data (a single unfit spectrum is flagged instead).
    """
    da = as_dataarray(data) if data_source(library) is not None else data
    lib = resolve_library(library, components, lineshape, data=da)
    options = FitOptions.build(lib, background=background, share=share, engine=engine, weights=weights,
                               degree=degree, background_options=background_options, max_nfev=max_nfev,
                               uncertainty=uncertainty, n_draws=n_draws, seed=seed, shape_tie=shape_tie,
                               window=window, components=components, select=select, lineshape=lineshape,
                               charge_shift=charge_shift, progress=progress, start=start)
    calibration = None
    if isinstance(data, xr.DataArray):
        check_data_matches(data, lib)
        stored = _CALIBRATIONS.get(lib.technique)
        if options.charge_shift is None and stored is not None:
            # a calibration stored in the file (CasaXPS) is applied, never dropped (recorded in the result)
            shifted, shift, text = stored(data)
            if shifted is not data:  # unchanged when there is no calibration or it was applied before
                data, calibration = shifted, (shift, text)
    if options.charge_shift:
        data = shift_axis(as_dataarray(data, lib), options.charge_shift)
    lazy = isinstance(data, xr.DataArray) and data.chunks is not None
    if options.select == "auto" and len(lib.components) > 1:
        ds = _fit_selected(data, lib, options)
        if options.model_spread and not lazy:
            ds = _selected_spread(ds, data, lib, options)
    else:
        ds = _fit_with(data, lib, options)
        if lazy and options.model_spread:
            ds.attrs["uncertainty"] = ("covariance (statistical only: the model spread is not computed on dask "
                                       "data; fit the data in memory for it)")
        elif not lazy and (options.model_spread or options.series_choice):
            ds = refine(ds, data, lib, options, _fit_with)
    if calibration is not None:
        shift, text = calibration
        ds["charge_shift"] = ds["charge_shift"] * 0 + (shift if not isinstance(shift, xr.DataArray)
                                                       else shift.reindex_like(ds["charge_shift"]))
        ds["charge_shift"].attrs.update(units="eV", long_name="shift added to the axis by charge referencing")
        ds.attrs["charge_reference"] = f"CasaXPS calibration stored in the file applied: {text}"
    elif lib.technique == "xps" and options.charge_shift is None and "charge_shift" not in getattr(data, "attrs", {}):
        ds.attrs["charge_reference"] = "none: binding energies as measured (note axis_not_referenced)"
    return ds


def _selected_spread(ds: xr.Dataset, data: object, lib: Library, options: FitOptions) -> xr.Dataset:
    """The model spread of a selection result: per group of spectra that kept the same component set.

    Each group is refitted with its set and that set's alternatives (:func:`refine`, the series decision
    left to the selection), so a profile whose steps kept different species still gets its spread.
    """
    comps = [str(c) for c in ds["component"].values]
    bdims = tuple(ds["success"].dims)
    selected = ds["selected"].transpose(*bdims, "component").values.reshape(-1, len(comps))
    groups: dict[tuple[bool, ...], list[int]] = {}
    for i, row in enumerate(selected):
        groups.setdefault(tuple(bool(v) for v in row), []).append(i)
    da = as_dataarray(data, lib)
    axis = da.dims[-1]
    flat = da.transpose(*bdims, axis).values.reshape(-1, da.sizes[axis]) if bdims else da.values[None, :]
    out = {f"{q}_{k}": np.full(selected.shape, np.nan) for q in QUANTITIES for k in ("model_spread", "uncertainty")}
    labels: list[str] = []
    for mask, rows in groups.items():
        names = [c for c, keep in zip(comps, mask) if keep]
        if not names:
            continue
        sub = xr.DataArray(flat[rows], dims=("spectrum", axis), coords={axis: da[axis].values}, attrs=da.attrs)
        sub[axis].attrs = da[axis].attrs
        sub_opts = replace(options, components=tuple(names), select="none", progress=False, series_choice=False)
        sub_lib = lib.subset(names)
        refined = refine(_fit_with(sub, sub_lib, sub_opts), sub, sub_lib, sub_opts, _fit_with)
        cols = [comps.index(n) for n in names]
        for var, arr in out.items():
            arr[np.ix_(rows, cols)] = refined[var].transpose("spectrum", "component").values
        labels.append(refined.attrs.get("uncertainty", "covariance"))
    shape = tuple(ds.sizes[d] for d in bdims) + (len(comps),)
    for var, arr in out.items():
        ds[var] = (bdims + ("component",), arr.reshape(shape), ds[var].attrs)
    ds.attrs["uncertainty"] = (labels[0] if len(set(labels)) == 1 else
                               f"{labels[0]} (per group of spectra with the same selected components: "
                               f"{len(groups)} groups)") if labels else "covariance"
    return ds


def _fit_selected(data: object, lib: Library, options: FitOptions) -> xr.Dataset:
    """Component selection (:mod:`specfit.fitting.selection`) over fits of candidate subsets."""
    from specfit.fitting.selection import select_components
    from specfit.library.loader import lookalike_groups

    lazy = isinstance(data, xr.DataArray) and data.chunks is not None
    if lazy:  # every candidate model reads every spectrum: load once, not once per candidate fit
        data = data.compute()
    bar = None
    if options.progress is not False:
        from tqdm.auto import tqdm

        bar = tqdm(desc="component selection", unit="fit", delay=0 if options.progress else 2.0, leave=False,
                   disable=None if options.progress is None else False)  # None: no bar when stderr is no terminal

    def fit_subset(names: tuple[str, ...]) -> xr.Dataset:
        sub = replace(options, components=tuple(names), select="none", progress=False)
        ds = _fit_with(data, lib.subset(list(names)), sub)
        if bar is not None:
            bar.update(1)
        return ds

    try:
        ds = select_components(fit_subset, lib.component_names, shared=bool(options.share),
                               lookalikes=lookalike_groups(lib), centers={c.name: c.center for c in lib.components},
                               positions={c.name: (c.center, max((c.center_range[1] - c.center_range[0]) / 4.0, 1e-3))
                                          for c in lib.components})
        if lazy:
            ds.attrs["dask"] = ("component selection (components='auto') fits several candidate models of every "
                                "spectrum: the data were loaded into this process once and fitted in memory (the "
                                "result is not lazy); pass components=... to fit chunk by chunk")
        return ds
    finally:
        if bar is not None:
            bar.close()


def _fit_with(data: object, lib: Library, options: FitOptions) -> xr.Dataset:
    from specfit.fitting.dataset import build_dataset

    if isinstance(data, xr.DataArray) and data.chunks is not None:
        from specfit.fitting.daskfit import fit_dask

        return fit_dask(data, lib, options)
    prep = prepare(data, lib, window=options.window, weights=options.weights)
    outcome = fit_prepared(prep, lib, options)
    ds = build_dataset(outcome)
    if options.uncertainty != "covariance":
        from specfit.fitting.montecarlo import apply_resampled_errors

        ds = apply_resampled_errors(ds, outcome)
    return ds


__all__ = ["check_data_matches", "fit", "register_calibration", "resolve_library"]
