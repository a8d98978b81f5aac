"""The result schema, declared once: every variable of a fit result, its dims, units and meaning.

:func:`specfit.results.build_dataset` writes exactly these variables, the dask
path builds its lazy template from them, the docs are generated from them
(:func:`schema_markdown`), and a test checks that numpy, dask, global and
resampled results all carry the same set (xarray's ``curvefit`` documents its
outputs the same way).

Dims are given by kind: ``component`` = (batch dims…, component), ``pair`` =
(batch dims…, component, component_2), ``spectrum`` = (batch dims…),
``curve`` = (batch dims…, axis), ``component_curve`` = (batch dims…,
component, axis), ``parameter`` = (batch dims…, parameter).  Units use
``{x}`` for the axis unit and ``{y}`` for the data's.
"""

from __future__ import annotations

from typing import NamedTuple


class Variable(NamedTuple):
    name: str
    kind: str
    dtype: str
    units: str
    description: str


_Q = {"center": ("{x}", "position of the component's (main) line"),
      "fwhm": ("{x}", "full width at half maximum of the (main) line"),
      "height": ("{y}", "peak height of the (main) line"),
      "area": ("{y}·{x}", "integrated area (a doublet: both lines)"),
      "fraction": ("1", "area / total fitted area of the spectrum")}

VARIABLES: tuple[Variable, ...] = (
    *(v for q, (unit, text) in _Q.items() for v in (
        Variable(q, "component", "float64", unit, text),
        Variable(f"{q}_stderr", "component", "float64", unit,
                 f"standard error of {q}; NaN when not estimable (the reason is in fit_message)"))),
    *(v for q in ("center", "area", "fraction") for v in (
        Variable(f"{q}_uncertainty", "component", "float64", _Q[q][0],
                 f"combined standard uncertainty of {q}: statistical (stderr) and model spread in quadrature"),
        Variable(f"{q}_model_spread", "component", "float64", _Q[q][0],
                 f"spread of {q} over the alternative models the data cannot rule out (evidence-weighted); "
                 "NaN when not computed (attrs['uncertainty'] says why)"))),
    Variable("shape", "component", "float64", "1", "lineshape shape parameter (e.g. Voigt Lorentzian fraction)"),
    Variable("at_bound", "component", "bool", "", "a fitted parameter of the component rests on a bound of its range"),
    Variable("area_covariance", "pair", "float64", "({y}·{x})²", "covariance of the component areas"),
    Variable("fraction_covariance", "pair", "float64", "1", "covariance of the component fractions"),
    Variable("success", "spectrum", "bool", "", "the fit converged"),
    Variable("redchi", "spectrum", "float64", "", "reduced chi-square, chisqr / (points - free parameters)"),
    Variable("rsquared", "spectrum", "float64", "1", "coefficient of determination"),
    Variable("aic", "spectrum", "float64", "", "Akaike information criterion n ln(chisqr/n) + 2k"),
    Variable("bic", "spectrum", "float64", "", "Bayesian information criterion n ln(chisqr/n) + k ln n"),
    Variable("nfev", "spectrum", "int64", "", "model evaluations"),
    Variable("chisqr", "spectrum", "float64", "", "sum of squared weighted residuals"),
    Variable("charge_shift", "spectrum", "float64", "{x}", "shift added to the axis by charge referencing (0: none)"),
    Variable("flags", "spectrum", "str", "",
             "comma-separated flag codes, empty when clean (see specfit.results.flags)"),
    Variable("fit_message", "spectrum", "str", "", "what the flags mean for this spectrum, in words"),
    Variable("notes", "spectrum", "str", "",
             "comma-separated note codes: normal events of the fit, not flags (see specfit.results.flags)"),
    Variable("note_message", "spectrum", "str", "", "what the notes say for this spectrum, in words"),
    Variable("parameters", "parameter", "float64", "", "fitted parameter vector (rebuilds curves on demand)"),
    Variable("data", "curve", "float64", "{y}", "the fitted data (window)"),
    Variable("best_fit", "curve", "float64", "{y}", "model: components + background"),
    Variable("background", "curve", "float64", "{y}", "background (in-fit or subtracted before)"),
    Variable("residual", "curve", "float64", "{y}", "data - best_fit"),
    Variable("component_curve", "component_curve", "float64", "{y}", "each component's curve"),
)
BY_NAME = {v.name: v for v in VARIABLES}


def dims_of(kind: str, batch_dims: tuple[str, ...], axis: str) -> tuple[str, ...]:
    """Dimension names of a variable of ``kind``."""
    tail = {"component": ("component",), "pair": ("component", "component_2"), "spectrum": (),
            "curve": (axis,), "component_curve": ("component", axis), "parameter": ("parameter",)}[kind]
    return tuple(batch_dims) + tail


def units_of(var: Variable, x_unit: str, y_unit: str = "") -> str:
    """Units of ``var`` for an axis in ``x_unit`` and data in ``y_unit`` (``"data"`` when unknown)."""
    return var.units.replace("{x}", x_unit or "axis units").replace("{y}", y_unit or "data units")


def schema_markdown() -> str:
    """The schema as a markdown table (for the docs)."""
    lines = ["| variable | dims | units | meaning |", "| --- | --- | --- | --- |"]
    for v in VARIABLES:
        dims = ", ".join(dims_of(v.kind, ("batch…",), "axis"))
        lines.append(f"| `{v.name}` | {dims} | {v.units or '–'} | {v.description} |")
    return "\n".join(lines)
