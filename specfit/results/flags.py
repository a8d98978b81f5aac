"""Result flags: how far each fitted spectrum can be trusted, as codes and in words.

Every result carries, per spectrum, ``flags`` (comma-separated codes, empty
when clean) and ``fit_message`` (the same in words, naming component,
parameter and value); per component ``at_bound``.  ``success`` keeps its
meaning, "the optimiser converged": a converged fit can still be flagged.

Codes (:data:`CODES`):

``at_bound``
    a fitted parameter rests on a limit of its range (its standard error is
    NaN; the other parameters are biased by the limit and their errors too small).
``stderr_nan``
    a reported standard error could not be estimated (reason in the message).
``insignificant``
    a component's area is below :data:`SIGNIFICANCE` standard errors.
``not_converged``
    the optimiser stopped without converging (``success=False``).
``not_fitted``
    the spectrum could not be fitted at all (too few points, constant, out of range).
``poor_fit``
    R² below :data:`MIN_RSQUARED`, or residuals so structured that the model
    misses a feature: Durbin–Watson statistic below :data:`MIN_DURBIN_WATSON`
    (Durbin & Watson, Biometrika 37, 409 (1950); white noise gives 2).
``background_not_converged``
    the iterative background did not converge.
``charge_reference_at_bound``, ``charge_reference_minor``,
``charge_reference_not_found``, ``charge_references_disagree``, ``charge_reference_ambiguous``
    the charge reference line (or another line of its region, moved by the
    shift) rests on its range limit, is a minor component, was not found, two
    lines fit equally well as the reference (by default: two shifts explain
    every region's lines equally well, :mod:`specfit.xps.consensus`), or two
    references disagree by more than 0.2 eV (XPS
    depth profiles with ``on_charge_error="flag"``; otherwise an error).
``resampled_axis``
    the spectrum was interpolated onto another axis on request (XPS workflows).
``no_significant_component``
    component selection found no significant component (the last one is kept: a fit needs a peak).
``ambiguous_assignment``
    look-alike species (the same line, within resolution) that the data cannot tell apart; ``fit_message``
    names them and their evidence.
``cross_region_mismatch``
    a species' element was measured and found absent, or stoichiometric partners disagree beyond their
    uncertainties (XPS depth profiles).

Notes (:data:`NOTE_CODES`) are the normal events of a fit, kept apart from
the flags so that the flags keep only what should stop a careful reader:
``notes`` (codes) and ``note_message`` (words) per spectrum.  ``--strict``
exits 3 on flags only, and figures mark flags only.

``component_dropped``
    component selection dropped a candidate the data do not support (the normal outcome of ``components="auto"``).
``global_fit_chosen`` / ``independent_fits_chosen``
    the series was fitted with shared centers and widths, or independently, on the evidence (BIC over the series).
``model_spread``
    the combined uncertainty includes the spread over the alternative models the data cannot rule out.
``charge_shift_applied``
    the binding-energy axis was shifted by charge referencing (the shift is ``charge_shift``).
``axis_not_referenced``
    an XPS spectrum was fitted on its axis as measured (no charge referencing).
``pilot_start``
    a large batch started from the median values of a pilot fit of some of its spectra.
``straight_line_background``
    the fixed Shirley background became a straight line (its step overshot the end levels).
``assignment_switched``
    component selection gave a line of this spectrum another look-alike name than the rest of the series
    (very strong evidence in this spectrum: ΔBIC >= 10; ``note_message`` says which and why).
``undersampled_line``
    a line narrower than two grid points: its FWHM is an upper bound, its area the data's integral and its
    center uncertainty floored by the sampling.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

CODES = ("at_bound", "stderr_nan", "insignificant", "not_converged", "not_fitted", "poor_fit",
         "background_not_converged", "charge_reference_at_bound", "charge_reference_minor",
         "charge_reference_not_found", "charge_references_disagree", "charge_reference_ambiguous",
         "resampled_axis", "no_significant_component", "ambiguous_assignment", "cross_region_mismatch")
NOTE_CODES = ("component_dropped", "global_fit_chosen", "independent_fits_chosen", "model_spread",
              "charge_shift_applied", "axis_not_referenced", "pilot_start", "straight_line_background",
              "assignment_switched", "undersampled_line")
SIGNIFICANCE = 2.0
MIN_RSQUARED = 0.9
MIN_DURBIN_WATSON = 0.5
_GROUP_WORD = {"area": "area", "center": "center", "width": "FWHM", "shape": "shape", "background": "background"}


def join_codes(*codes: str) -> str:
    """Comma-separated unique codes in :data:`CODES` order (unknown codes last)."""
    found = {c for text in codes for c in str(text).split(",") if c}
    order = [c for c in CODES if c in found] + sorted(found - set(CODES))
    return ",".join(order)


def join_notes(*codes: str) -> str:
    """Comma-separated unique note codes in :data:`NOTE_CODES` order (unknown codes last)."""
    found = {c for text in codes for c in str(text).split(",") if c}
    order = [c for c in NOTE_CODES if c in found] + sorted(found - set(NOTE_CODES))
    return ",".join(order)


def add(flags: str, message: str, code: str, text: str) -> tuple[str, str]:
    """``flags``/``message`` with ``code`` and the sentence ``text`` added."""
    return join_codes(flags, code), f"{message}; {text}" if message else text


def durbin_watson(resid: NDArray, weights: NDArray) -> NDArray:
    """Durbin–Watson statistic of each row's weighted residuals ``(N, M)`` -> ``(N,)``.

    ``sum((r[i] - r[i-1])^2) / sum(r[i]^2)`` over the points that carry weight
    (J. Durbin & G. S. Watson, Biometrika 37, 409 (1950)); NaN for fewer than
    4 such points or an all-zero residual.
    """
    r = np.where(weights > 0, resid * weights, np.nan)
    out = np.full(r.shape[0], np.nan)
    whole = np.all(np.isfinite(r), axis=1)  # the usual case, in one pass; rows with gaps one by one below
    if r.shape[1] > 3 and whole.any():
        v = r[whole]
        with np.errstate(all="ignore"):
            den = np.sum(v**2, axis=1)
            out[whole] = np.where(den > 0, np.sum(np.diff(v, axis=1) ** 2, axis=1) / den, np.nan)
    for i in np.nonzero(~whole)[0]:
        v = r[i][np.isfinite(r[i])]
        if v.size > 3 and np.any(v != 0):
            with np.errstate(all="ignore"):
                out[i] = float(np.sum(np.diff(v) ** 2) / np.sum(v**2))
    return out


def describe_bounds(theta: NDArray, at_bound: NDArray, lower: NDArray, upper: NDArray, names: tuple[str, ...],
                    groups: tuple[str, ...], owners: tuple[int, ...], components: tuple[str, ...],
                    unit: str) -> str:
    """One spectrum's parameters on a limit, in words ("LiF FWHM at its upper limit 2.8 eV")."""
    parts = []
    for j in np.nonzero(at_bound)[0]:
        side, limit = ("lower", lower[j]) if abs(theta[j] - lower[j]) <= abs(theta[j] - upper[j]) else (
            "upper", upper[j])
        owner = components[owners[j]] if owners[j] >= 0 else "background"
        word = _GROUP_WORD.get(groups[j], groups[j])
        if names[j].endswith("_fwhm2"):
            word = "FWHM of the second line"
        units = f" {unit}" if unit and groups[j] in ("center", "width") else ""
        note = " (component not supported by the data)" if groups[j] == "area" and limit == 0 else ""
        parts.append(f"{owner} {word} at its {side} limit {limit:g}{units}{note}")
    return "; ".join(parts)
