"""The result Dataset built from a fit: exactly the variables the schema declares.

:func:`build_dataset` turns a :class:`~specfit.fitting.pipeline.FitOutcome` into the
variables the schema declares -- values, propagated standard errors,
covariances, fit statistics, flags and messages (:mod:`specfit.results.flags`), and
the curves (stored for batches up to :data:`MAX_STORED_CURVES` spectra; a map
keeps its ``parameters`` and rebuilds any spectrum's curves on demand).
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime

import numpy as np
import xarray as xr

from specfit._version import __version__
from specfit.fitting.pipeline import FitOutcome, curves
from specfit.fitting.uncertainty import QUANTITIES, component_quantities, covariance_of, propagate
from specfit.model.shapetie import shape_links
from specfit.results import flags as fl
from specfit.results.schema import VARIABLES, dims_of, units_of

#: Batches up to this many spectra store their curves; larger ones (maps) keep only the
#: parameters (``specfit.curves`` rebuilds a spectrum's curves on demand).
MAX_STORED_CURVES = 2000
AXIS_UNITS = {"xps": "eV", "raman": "cm-1", "nmr": "ppm"}


def _shape_values(outcome: FitOutcome, theta: np.ndarray) -> np.ndarray:
    spec = outcome.spec
    cols = []
    for k in range(len(spec.components)):
        term = next(t for t in spec.terms if t.component == k)
        cols.append(term.shape.value(theta))
    return np.stack(cols, axis=1)


def _natural_shape_limit(outcome: FitOutcome) -> np.ndarray:
    """``(N, P)``: shape parameters resting on their lineshape's own limit (e.g. a Voigt or GL at 0 =
    pure Gaussian).  That is a valid answer, not a library range cutting the fit short: it is said in
    ``fit_message`` but not flagged ``at_bound`` (no reported standard error depends on it alone)."""
    from specfit.lineshapes.profiles import get_lineshape

    spec = outcome.spec
    natural = np.zeros_like(outcome.at_bound)
    for term in spec.terms:
        j = term.shape.index
        if j < 0:
            continue
        lo, hi = get_lineshape(term.lineshape).shape_limits
        value = outcome.theta[:, j] * term.shape.scale + term.shape.offset
        natural[:, j] = outcome.at_bound[:, j] & (np.isclose(value, lo, atol=1e-6) | np.isclose(value, hi, atol=1e-6))
    return natural


#: Spectra per block when fit quality is computed without keeping the curves (maps).
QUALITY_BLOCK = 512


def _quality(outcome: FitOutcome, rows: slice, best: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best fit, R² and Durbin–Watson statistic of the spectra ``rows``."""
    prep = outcome.prep
    best = curves(outcome, rows)["best_fit"] if best is None else best
    data = np.where(prep.weights[rows] > 0, prep.y[rows], np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN spectrum is flagged not_fitted, not warned
        resid = data - best
        mean = np.nanmean(data, axis=1, keepdims=True)
        rsquared = 1.0 - np.nansum(resid**2, axis=1) / np.nansum((data - mean) ** 2, axis=1)
    dw = fl.durbin_watson(prep.y[rows] - np.nan_to_num(best), prep.weights[rows])
    return best, rsquared, dw


def _statistics(outcome: FitOutcome, rsquared: np.ndarray) -> dict[str, np.ndarray]:
    prep = outcome.prep
    n_points = np.count_nonzero(prep.weights > 0, axis=1)
    chisqr = outcome.cost
    with np.errstate(all="ignore"):
        dof = n_points - outcome.n_varys
        redchi = np.where(dof > 0, chisqr / dof, np.nan)
        neg2loglik = n_points * np.log(chisqr / n_points)
        aic = neg2loglik + 2 * outcome.n_varys
        bic = neg2loglik + np.log(n_points) * outcome.n_varys
    return {"redchi": redchi, "rsquared": rsquared, "aic": aic, "bic": bic, "chisqr": chisqr, "dof": dof}


def _flags(outcome: FitOutcome, values: dict, errors: dict, stats: dict, dw: np.ndarray,
           comp_bound: np.ndarray, natural: np.ndarray) -> tuple[list[str], list[str]]:
    """Per-spectrum flag codes and messages (every NaN stderr gets its reason); ``natural`` marks shape
    parameters on their lineshape's own limit (said, not flagged)."""
    prep, spec = outcome.prep, outcome.spec
    unit = AXIS_UNITS.get(outcome.library.technique, "")
    flagged = outcome.at_bound & ~natural
    codes = list(outcome.flags) if outcome.flags else [""] * prep.y.shape[0]
    messages = list(prep.messages)
    area, area_err = values["area"], errors["area"]
    r2 = stats["rsquared"]
    # every condition once, over the whole batch; words below only for the spectra that meet one
    not_fitted = ~np.isfinite(outcome.theta).all(axis=1)
    nan_err = {q: np.isnan(errors[q]) for q in QUANTITIES}  # (N, C) each
    # a line narrower than two grid points (under-sampled): its area stderr rests on a width the grid cannot
    # resolve, so it is not judged insignificant on it (said in words; nmr.track_shifts integrates it)
    dx = np.nanmedian(np.abs(np.diff(prep.x))) if prep.x.size > 1 else np.nan
    with np.errstate(invalid="ignore"):
        narrow = np.isfinite(values["fwhm"]) & (values["fwhm"] < 2.0 * dx)  # (N, C)
        weak = np.isfinite(area_err) & (area < fl.SIGNIFICANCE * area_err) & ~narrow  # (N, C)
        low_r2 = np.isfinite(r2) & (r2 < fl.MIN_RSQUARED)
        structured = np.isfinite(dw) & (dw < fl.MIN_DURBIN_WATSON)
    check = (not_fitted | ~outcome.success | flagged.any(axis=1) | natural.any(axis=1)
             | np.any([m.any(axis=1) for m in nan_err.values()], axis=0) | weak.any(axis=1) | low_r2 | structured
             | narrow.any(axis=1))
    for i in np.nonzero(check)[0]:
        flags, msg = codes[i], messages[i]
        if not_fitted[i]:
            codes[i], messages[i] = fl.join_codes(flags, "not_fitted"), msg or "not fitted"
            continue
        if not outcome.success[i]:
            flags = fl.join_codes(flags, "not_converged")
            if "converge" not in msg:
                msg = f"{msg}; did not converge" if msg else "did not converge"
        if flagged[i].any():
            text = fl.describe_bounds(outcome.theta[i], flagged[i], spec.lower, spec.upper, spec.names,
                                      spec.groups, spec.owners, spec.components, unit)
            flags, msg = fl.add(flags, msg, "at_bound", text + " (its standard error is n/a)")
        if natural[i].any():
            text = fl.describe_bounds(outcome.theta[i], natural[i], spec.lower, spec.upper, spec.names,
                                      spec.groups, spec.owners, spec.components, unit)
            text += " (a limit of the lineshape itself, not of the library)"
            msg = f"{msg}; {text}" if msg else text
        nan_q = [q for q in QUANTITIES if nan_err[q][i].any()]
        if nan_q:
            singular = not np.isfinite(outcome.cov[i]).any()
            if singular:
                reason = ("covariance singular: the data do not determine every parameter"
                          if stats["dof"][i] > 0 else "no degrees of freedom left")
                flags, msg = fl.add(flags, msg, "stderr_nan", f"standard errors n/a ({reason})")
            else:
                unexplained = [f"{spec.components[k]} {q}" for q in nan_q
                               for k in np.nonzero(nan_err[q][i])[0] if not comp_bound[i, k]]
                text = ("standard errors n/a for " + ", ".join(unexplained) + " (depend only on parameters at a "
                        "limit or variance not estimable)") if unexplained else \
                    "standard errors n/a for parameters at a limit"
                flags, msg = fl.add(flags, msg, "stderr_nan", text)
        if weak[i].any():
            text = "; ".join(f"{spec.components[k]} area {area[i, k]:.4g} ± {area_err[i, k]:.2g} is below "
                             f"{fl.SIGNIFICANCE:g} standard errors" for k in np.nonzero(weak[i])[0])
            flags, msg = fl.add(flags, msg, "insignificant", text)
        if narrow[i].any():
            text = "; ".join(f"{spec.components[k]} under-sampled (FWHM {values['fwhm'][i, k] / dx:.2f} grid points "
                             f"< 2): its FWHM is an upper bound, its area and errors rest on the lineshape model"
                             for k in np.nonzero(narrow[i])[0])
            msg = f"{msg}; {text}" if msg else text
        if low_r2[i] and r2[i] < 0.5:
            flags, msg = fl.add(flags, msg, "poor_fit", f"R² = {r2[i]:.3f}: the library's components do not "
                                                        "describe these data (wrong library or window?)")
        elif low_r2[i]:
            flags, msg = fl.add(flags, msg, "poor_fit", f"R² = {r2[i]:.3f} below {fl.MIN_RSQUARED}")
        elif structured[i]:
            flags, msg = fl.add(flags, msg, "poor_fit", f"residuals structured (Durbin–Watson {dw[i]:.2f} < "
                                                        f"{fl.MIN_DURBIN_WATSON}): the model misses a feature")
        codes[i], messages[i] = flags, msg
    return codes, messages


def build_dataset(outcome: FitOutcome, *, store_curves: bool | None = None) -> xr.Dataset:
    """Assemble the result Dataset of one fit (variables of :data:`specfit.results.schema.VARIABLES`).

    Parameters
    ----------
    outcome : FitOutcome
        The fitted batch.
    store_curves : bool, optional
        Store the curves; default: when the batch has at most
        :data:`MAX_STORED_CURVES` spectra.
    """
    prep, spec, lib = outcome.prep, outcome.spec, outcome.library
    bdims, shape = prep.batch_dims, prep.batch_shape
    n = prep.y.shape[0]
    if store_curves is None:
        store_curves = n <= MAX_STORED_CURVES
    theta = np.nan_to_num(outcome.theta, nan=0.0)
    bad = ~np.isfinite(outcome.theta).all(axis=1)
    with np.errstate(all="ignore"):
        values, grads = component_quantities(spec, theta)
    out: dict[str, np.ndarray] = {}
    errors = {}
    for q in QUANTITIES:
        value = values[q].copy()
        with np.errstate(all="ignore"):
            err = propagate(grads[q], outcome.cov, outcome.free)
        value[bad], err[bad] = np.nan, np.nan
        out[q], out[f"{q}_stderr"] = value, err
        errors[q] = err
    if len(spec.components) == 1:
        # the only component's fraction is exactly 1: known without error, not "not estimable"
        out["fraction_stderr"] = np.where(np.isfinite(out["fraction"]), 0.0, np.nan)
        errors["fraction"] = out["fraction_stderr"]
    for q in ("center", "area", "fraction"):
        # statistical only until a model spread is computed (specfit.fitting.model_spread)
        out[f"{q}_uncertainty"] = out[f"{q}_stderr"]
        out[f"{q}_model_spread"] = np.full_like(out[q], np.nan)
    for q in ("area", "fraction"):
        with np.errstate(all="ignore"):
            qcov = covariance_of(grads[q], outcome.cov)
        qcov[bad] = np.nan
        out[f"{q}_covariance"] = qcov
    out["shape"] = _shape_values(outcome, theta)
    owners = np.array(spec.owners)
    natural = _natural_shape_limit(outcome)
    flagged = outcome.at_bound & ~natural
    comp_bound = np.stack([(flagged & (owners == k)[None, :]).any(axis=1)
                           for k in range(len(spec.components))], axis=1)
    out["at_bound"] = comp_bound
    if store_curves:
        cur = curves(outcome)
        best, rsquared, dw = _quality(outcome, slice(None), cur["best_fit"])
    else:  # a map: quality block by block, no (N, M) curve kept
        rsquared, dw = np.full(n, np.nan), np.full(n, np.nan)
        for start in range(0, n, QUALITY_BLOCK):
            block = slice(start, min(start + QUALITY_BLOCK, n))
            _, rsquared[block], dw[block] = _quality(outcome, block)
    stats = _statistics(outcome, rsquared)
    codes, messages = _flags(outcome, values, errors, stats, dw, comp_bound, natural)
    out.update({k: stats[k] for k in ("redchi", "rsquared", "aic", "bic", "chisqr")})
    out["success"] = outcome.success & ~bad
    out["nfev"] = outcome.nfev.astype(np.int64)
    out["charge_shift"] = np.full(n, float(outcome.options.charge_shift or 0.0))
    out["flags"] = np.array(codes, dtype=object).astype(str)
    out["fit_message"] = np.array(messages, dtype=object).astype(str)
    note_codes, note_words = _notes(outcome, n)
    out["notes"] = np.array(note_codes, dtype=object).astype(str)
    out["note_message"] = np.array(note_words, dtype=object).astype(str)
    out["parameters"] = outcome.theta
    flip = slice(None, None, -1) if prep.descending else slice(None)
    axis = prep.axis_dim
    if store_curves:
        data = np.where(prep.weights > 0, prep.y, np.nan)
        out["data"] = data[:, flip]
        out["best_fit"] = best[:, flip]
        out["background"] = cur["background"][:, flip]
        out["residual"] = (data - best)[:, flip]
        out["component_curve"] = cur["component_curve"][:, :, flip]
    x_unit = AXIS_UNITS.get(lib.technique, "")
    y_unit = str(prep.attrs.get("units", ""))
    data_vars = {}
    for var in VARIABLES:
        if var.name not in out:
            continue
        arr = np.asarray(out[var.name])
        data_vars[var.name] = xr.Variable(dims_of(var.kind, bdims, axis), arr.reshape(shape + arr.shape[1:]),
                                          attrs={"units": units_of(var, x_unit, y_unit), "long_name": var.description}
                                          if var.units else {"long_name": var.description})
    coords = dict(prep.batch_coords)
    if store_curves or axis in prep.original.coords:
        coords[axis] = prep.original[axis].variable if axis in prep.original.coords else (axis, prep.x[flip])
    comps = [lib.component(name) for name in spec.components]
    coords["component"] = ("component", list(spec.components))
    coords["component_2"] = ("component_2", list(spec.components))
    coords["parameter"] = ("parameter", list(spec.names))
    coords["component_label"] = ("component", [c.label for c in comps])
    coords["lineshape"] = ("component", [c.lineshape for c in comps])
    coords["rsf"] = ("component", [c.rsf for c in comps])
    coords["element"] = ("component", [c.element for c in comps])
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(_attrs(outcome, store_curves))
    return ds


def _notes(outcome: FitOutcome, n: int) -> tuple[list[str], list[str]]:
    """Note codes and words per spectrum: the outcome's own (``outcome.notes``) plus the batch's events."""
    codes = [""] * n
    words = [""] * n
    for i, entries in enumerate(outcome.notes or [()] * n):
        for code, text in entries:
            codes[i], words[i] = fl.join_notes(codes[i], code), f"{words[i]}; {text}" if words[i] else text
    if outcome.options.charge_shift:
        text = f"axis shifted by {float(outcome.options.charge_shift):+.3f} (charge_shift given)"
        for i in range(n):
            codes[i], words[i] = fl.join_notes(codes[i], "charge_shift_applied"), \
                f"{words[i]}; {text}" if words[i] else text
    elif (outcome.library.technique == "xps" and outcome.options.charge_shift is None
          and "charge_shift" not in outcome.prep.attrs):  # no shift given, none stored in the file (issue 19)
        text = "binding energies as measured: not charge referenced (give charge_shift or use xps-profile)"
        for i in range(n):
            codes[i], words[i] = fl.join_notes(codes[i], "axis_not_referenced"), \
                f"{words[i]}; {text}" if words[i] else text
    return codes, words


def curves_note(n_spectra: int, stored: bool) -> str:
    """``attrs["curves"]`` of a result of ``n_spectra`` spectra: stored, or how to rebuild them."""
    return "stored" if stored else (f"not stored ({n_spectra} spectra > {MAX_STORED_CURVES}); "
                                    "specfit.curves(result, data) rebuilds them from 'parameters'")


def _attrs(outcome: FitOutcome, stored: bool) -> dict:
    lib, opts = outcome.library, outcome.options
    comps = [lib.component(name) for name in outcome.spec.components]
    # only when the series was tested: a NaN attribute would not compare equal after a round trip
    tested = {"shape_tie_pvalue": float(outcome.attrs["shape_tie_pvalue"])} if "shape_tie_pvalue" in outcome.attrs \
        else {}
    source = outcome.prep.attrs.get("source_file")
    tested |= {"source_file": str(source)} if source else {}
    tested |= {"start": str(outcome.attrs["start"])} if "start" in outcome.attrs else {}
    tested |= {"engine_path": str(outcome.attrs["engine_path"])} if "engine_path" in outcome.attrs else {}
    notes = tuple(getattr(lib, "notes", ()) or ())
    tested |= {"library_notes": list(notes)} if notes else {}
    return tested | {
        "specfit_version": __version__,
        "result_kind": "fit",
        "library": lib.name,
        "library_path": lib.path,
        "library_hash": lib.content_hash,
        "technique": lib.technique,
        "background": opts.background,
        "lineshape": lib.lineshape,
        "lineshapes": json.dumps({c.name: [c.lineshape, c.shape, list(c.shape_range)] for c in comps}),
        "share": ",".join(opts.share),
        "shape_tie": opts.shape_tie,
        "shape_tied_to": json.dumps(shape_links(lib)),
        "engine": outcome.engine,
        "uncertainty": "covariance",
        "weights": opts.weights,
        "window": list(outcome.prep.window),
        "options": json.dumps(opts.to_attrs() | {"window": list(outcome.prep.window),
                                                  "components": list(lib.component_names)}),
        "parameters": json.dumps(list(outcome.spec.names)),
        "curves": curves_note(outcome.prep.y.shape[0], stored),
        "flag_codes": ",".join(fl.CODES),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
