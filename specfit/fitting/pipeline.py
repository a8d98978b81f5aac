"""The inner fitting pipeline: prepared spectra + library + options -> :class:`FitOutcome`.

Data flow, one way: a pre-subtracted background (if any) is removed, the
model is compiled once, and the spectra stream through an engine in chunks
(memory bounded by the chunk, not by the map), each chunk in a normalised
intensity space, then :func:`specfit.engines.finalize` computes bounds and
covariances and the amplitudes are scaled back.  The public entry point
(:func:`specfit.fit`), resampled uncertainties and the dask path all call
:func:`fit_prepared`; none of them re-enters the public ``fit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from specfit.backgrounds import background_with_info
from specfit.backgrounds.registry import SUBTRACTED_ALGORITHMS, get_background
from specfit.engines import ENGINES, Engine, Solution, engine_for, finalize
from specfit.errors import DataError
from specfit.fitting.prepare import Prepared
from specfit.library.loader import Library
from specfit.lineshapes.faddeeva import voigt_ready
from specfit.model.initial import initial_theta
from specfit.model.problem import FitProblem
from specfit.model.shapetie import ALPHA, common_shape_pvalue, tie_shapes
from specfit.model.spec import ModelSpec, background_curve, compile_model, evaluate_with_jacobian, peak_curves
from specfit.options import FitOptions

#: Bytes one chunk's ``(n, M, P)`` Jacobian may take; a map streams through in such chunks.
CHUNK_BYTES = 64 * 2**20
#: Intensities whose square overflows float64 cannot give a chi-square: refused per spectrum.
MAX_INTENSITY = 1e150
MIN_INTENSITY = 1e-150
#: Batches of at least this many spectra start from a pilot fit of :data:`PILOT_SIZE` of them, spread
#: evenly over the batch: the median of their converged centers, widths and shapes is every spectrum's start
#: (a map's spectra resemble each other more than they resemble the library's nominal values).
PILOT_MIN = 256
PILOT_SIZE = 64
#: Parameter groups a pilot fit gives starting values for (areas and backgrounds come from each spectrum).
PILOT_GROUPS = ("center", "width", "shape")


@dataclass
class FitOutcome:
    """Everything the result builder needs, arrays over all ``N`` spectra of the batch."""

    spec: ModelSpec
    prep: Prepared
    library: Library
    options: FitOptions
    theta: NDArray  # (N, P), original intensity units
    cov: NDArray  # (N, P, P)
    at_bound: NDArray  # (N, P)
    cost: NDArray  # (N,)
    nfev: NDArray  # (N,)
    success: NDArray  # (N,)
    n_varys: NDArray  # (N,)
    fixed_bg: NDArray  # (N, M) background subtracted before the fit (read-only zeros when none was)
    engine: str = "batch"
    attrs: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)  # per spectrum, codes found before the fit
    notes: list[list[tuple[str, str]]] = field(default_factory=list)  # per spectrum, (note code, words)

    @property
    def free(self) -> NDArray:
        return ~self.at_bound


def amplitude_mask(spec: ModelSpec, x: NDArray) -> NDArray:
    """Parameters that scale with the intensity unit, ``(P,)`` bool.

    A parameter is an amplitude when its Jacobian column does not change as
    every peak area doubles (areas, a polynomial's coefficients, a Shirley
    offset), unlike centers, widths, shapes and a Shirley/Tougaard factor,
    whose columns are proportional to the peaks.  Found numerically, so every
    background the model knows is covered without a list to keep in step.
    """
    theta = np.where(np.isfinite(spec.default), spec.default, 0.0).copy()
    area = np.array([g == "area" for g in spec.groups])
    theta[area] = 1.0
    bg = np.array([g == "background" for g in spec.groups])
    theta[bg] = np.where(theta[bg] == 0.0, 0.1, theta[bg])
    doubled = theta.copy()
    doubled[area] *= 2.0
    _, jac = evaluate_with_jacobian(spec, np.stack([theta, doubled]), x)
    same = np.all(np.isclose(jac[0], jac[1], rtol=1e-9, atol=1e-12 * np.max(np.abs(jac[0]) + 1e-300)), axis=0)
    return area | (bg & same)


def _subtract_fixed(prep: Prepared, kind: str, options: dict, flags: list[str]) -> NDArray:
    """Backgrounds subtracted before the fit; a non-converged one is flagged, a failed one unfits the spectrum."""
    out = np.zeros_like(prep.y)
    algo = SUBTRACTED_ALGORITHMS[kind]
    for i in np.nonzero(prep.usable)[0]:
        ok = prep.weights[i] > 0
        try:
            bg, info = background_with_info(prep.x[ok], prep.y[i, ok], algo, **options)
        except DataError as exc:
            prep.usable[i], prep.messages[i] = False, f"background failed: {exc}"
            continue
        if not info.converged:
            flags[i] = "background_not_converged"
            _note(prep, i, f"{kind} background did not converge ({info.message})")
        elif info.message:  # e.g. Shirley replaced by a straight line (CasaXPS): said, not flagged
            _note(prep, i, f"{kind} background: {info.message}")
        out[i] = np.interp(prep.x, prep.x[ok], bg)
    return out


def _note(prep: Prepared, i: int, text: str) -> None:
    prep.messages[i] = f"{prep.messages[i]}; {text}" if prep.messages[i] else text


def _intensity_scale(prep: Prepared, y: NDArray) -> NDArray:
    """Per-spectrum scale (largest |value| that carries weight); refuses what float64 cannot fit."""
    with np.errstate(invalid="ignore"):
        if prep.weights.strides[0] == 0 and np.all(prep.weights[0] > 0):  # one weight row for all: no (N, M) copy
            top = np.maximum(np.max(y, axis=1), -np.min(y, axis=1))
        else:
            top = np.max(np.where(prep.weights > 0, np.abs(y), 0.0), axis=1)  # one pass, no loop over a map
    bad = prep.usable & (~np.isfinite(top) | (top > MAX_INTENSITY) | ((top > 0.0) & (top < MIN_INTENSITY)))
    for i in np.flatnonzero(bad):
        prep.usable[i] = False
        _note(prep, i, f"intensities of order {top[i]:.1e} are outside the range a least-squares fit can "
                       f"represent in float64 (|y| between {MIN_INTENSITY:g} and {MAX_INTENSITY:g})")
    return np.where(prep.usable & (top > 0), top, 1.0)


def pilot_rows(n_spectra: int) -> NDArray | None:
    """Rows of a batch of ``n_spectra`` fitted first as the pilot (evenly spread), or None below :data:`PILOT_MIN`.

    The in-memory and the dask paths pick the same rows, so both give the same result.
    """
    if n_spectra < PILOT_MIN:
        return None
    return np.unique(np.linspace(0, n_spectra - 1, PILOT_SIZE).round().astype(np.int64))


def pilot_of(prep: Prepared, rows: NDArray | None = None) -> Prepared | None:
    """The pilot spectra of ``prep`` (:func:`pilot_rows`, or the given ``rows``) as their own :class:`Prepared`."""
    rows = pilot_rows(prep.y.shape[0]) if rows is None else rows
    if rows is None:
        return None
    return replace(prep, y=prep.y[rows], weights=prep.weights[rows], usable=prep.usable[rows].copy(),
                   messages=[prep.messages[i] for i in rows], batch_shape=(rows.size,), batch_coords={})


def _pilot_start(pilot: Prepared | None, x: NDArray, spec: ModelSpec, engine: Engine, options: FitOptions,
                 attrs: dict) -> NDArray | None:
    """Nominal parameters ``(P,)``: the library's, with centers, widths and shapes from the pilot's median fit."""
    if pilot is None or not engine.uses_pilot_start or not np.array_equal(pilot.x, x):
        return None  # e.g. lmfit stays the plain reference: library values
    pilot = replace(pilot, usable=pilot.usable.copy(), messages=list(pilot.messages))
    scale = _intensity_scale(pilot, pilot.y)
    rows = np.nonzero(pilot.usable)[0]
    if rows.size < 8:
        return None
    problem = FitProblem(spec, x, pilot.y[rows] / scale[rows, None], pilot.weights[rows])
    with np.errstate(all="ignore"):
        result = ENGINES["batch"]().solve(problem, initial_theta(spec, x, problem.y, problem.weights), options)
    good = result.success & np.all(np.isfinite(result.theta), axis=1)
    if good.sum() < 8:
        return None
    start = spec.default.copy()
    lines = np.array([g in PILOT_GROUPS for g in spec.groups])
    start[lines] = np.median(result.theta[good][:, lines], axis=0)
    attrs["start"] = (f"centers, widths and shapes: median of a pilot fit of {int(good.sum())} spectra spread over "
                      "the batch; areas and backgrounds: least squares on each spectrum")
    return np.clip(start, spec.lower, spec.upper)


def run_fit(prep: Prepared, lib: Library, options: FitOptions, pilot: Prepared | None = None) -> FitOutcome:
    """Fit prepared data with ``lib`` exactly as ``options`` say; unfit spectra are flagged, the rest go on.

    Parameters
    ----------
    prep : Prepared
        Validated spectra (:func:`specfit.fitting.prepare.prepare`); its ``messages``
        and ``usable`` are updated in place.
    lib : Library
        Library restricted to the components to fit (shape ties applied).
    options : FitOptions
        Validated options.
    pilot : Prepared, optional
        Spectra on the same axis fitted first (:func:`pilot_of`): every
        spectrum starts from the median of their centers, widths and shapes
        (in-fit backgrounds only; the ``lmfit`` engine always starts from the
        library).  Without it, the library's values.
    """
    kind = get_background(options.background)
    in_fit = kind.name if kind.in_fit else "none"
    extra_flags = [""] * prep.y.shape[0]
    fixed_bg = (np.broadcast_to(0.0, prep.y.shape) if kind.in_fit  # nothing subtracted: no (N, M) array
                else _subtract_fixed(prep, kind.name, dict(options.background_options), extra_flags))
    spec = compile_model(lib, prep.x, background=in_fit, degree=options.degree,
                         background_options=dict(options.background_options) if kind.in_fit else None)
    n, p = prep.y.shape[0], spec.n_params
    y = prep.y if kind.in_fit else prep.y - fixed_bg  # no (N, M) copy when nothing was subtracted
    scale = _intensity_scale(prep, y)
    amp = amplitude_mask(spec, prep.x)
    out = FitOutcome(spec, prep, lib, options, theta=np.full((n, p), np.nan), cov=np.full((n, p, p), np.nan),
                     at_bound=np.zeros((n, p), bool), cost=np.full(n, np.nan), nfev=np.zeros(n, int),
                     success=np.zeros(n, bool), n_varys=np.full(n, float(p)), fixed_bg=fixed_bg,
                     flags=extra_flags)
    if not options.share:
        _too_few_points(prep, spec)
    rows = np.nonzero(prep.usable)[0]
    engine = engine_for(options, max(rows.size, 1))
    out.engine = engine.name
    out.attrs["engine_path"] = engine.path(spec)
    out.attrs["start"] = "library values (areas and backgrounds: least squares on each spectrum)"
    if any(t.lineshape == "voigt" for t in spec.terms):  # a first run: the Voigt kernel is built first
        voigt_ready()
    # the start is the batch's (its pilot), stated even when none of these spectra can be fitted
    start = (_pilot_start(pilot, prep.x, spec, engine, options, out.attrs)
             if kind.in_fit and options.start == "auto" else None)
    if rows.size == 0:
        return out
    if engine.shares:
        # one scale for the whole series: per-spectrum scales would re-weight spectra in the joint chi-square
        scale[rows] = scale[rows].max()
    chunks = [rows] if engine.shares else _chunks(rows, prep.x.size, p)
    paths: dict[str, int] = {}
    for chunk in _progress(chunks, options, rows.size):
        s = scale[chunk]
        problem = FitProblem(spec, prep.x, y[chunk] / s[:, None], prep.weights[chunk])
        theta0 = initial_theta(spec, prep.x, problem.y, problem.weights, nominal=start)
        with np.errstate(all="ignore"):
            result = engine.solve(problem, theta0, options)
            sol = finalize(problem, result, engine.shared_mask(problem, options))
        _store(out, chunk, sol, s, amp)
        if result.path:  # not the engine's usual implementation (a first run: numpy while it is built)
            paths[result.path] = paths.get(result.path, 0) + chunk.size
    if paths:
        done = ", ".join(f"{k} for {v} of {rows.size} spectra" for k, v in paths.items())
        out.attrs["engine_path"] = (done if sum(paths.values()) == rows.size
                                    else f"{out.attrs['engine_path']}; {done}")
    return out


def _too_few_points(prep: Prepared, spec: ModelSpec) -> None:
    """A spectrum with no more points than free parameters is not fitted: its answer would be arbitrary
    (issue 22: 5 points, 15 free parameters came back ``success=True``)."""
    n_free = int(np.sum(spec.upper > spec.lower))
    if prep.weights.strides[0] == 0:  # one weight row shared by the batch
        points = np.full(prep.y.shape[0], int(np.count_nonzero(prep.weights[0] > 0)))
    else:
        points = np.count_nonzero(prep.weights > 0, axis=1)
    for i in np.flatnonzero(prep.usable & (points <= n_free)):
        prep.usable[i] = False
        _note(prep, int(i), f"not fitted: {int(points[i])} points for {n_free} free parameters "
                            "(a fit needs more points than free parameters; narrow the library or widen the window)")


def _chunks(rows: NDArray, m: int, p: int) -> list[NDArray]:
    size = max(64, int(CHUNK_BYTES // max(m * p * 8, 1)))
    return [rows[i:i + size] for i in range(0, rows.size, size)]


def _progress(chunks: list[NDArray], options: FitOptions, total: int):
    """Chunks, with a tqdm bar that appears after 2 s (never with ``progress=False``)."""
    if options.progress is False or len(chunks) < 2:
        return chunks
    from tqdm.auto import tqdm

    # progress=None: tqdm's own rule, no bar when stderr is not a terminal (logs); True: always
    return tqdm(chunks, desc=f"fitting {total} spectra", unit="chunk", delay=0 if options.progress else 2.0,
                leave=False, disable=None if options.progress is None else False)


def _store(out: FitOutcome, chunk: NDArray, sol: Solution, s: NDArray, amp: NDArray) -> None:
    """Scale a chunk's normalised solution back to the data's units and record it."""
    factor = np.where(amp[None, :], s[:, None], 1.0)
    out.theta[chunk] = sol.theta * factor
    out.cov[chunk] = sol.cov * factor[:, :, None] * factor[:, None, :]
    out.at_bound[chunk] = sol.at_bound
    out.cost[chunk] = sol.cost * s**2
    out.nfev[chunk] = sol.nfev
    out.success[chunk] = sol.success & np.isfinite(sol.cost)
    out.n_varys[chunk] = sol.n_varys
    for i, text in zip(chunk, sol.message):
        if text:
            _note(out.prep, int(i), text)


def fit_prepared(prep: Prepared, lib: Library, options: FitOptions, pilot: Prepared | None = None) -> FitOutcome:
    """Apply the shape-tie rule of ``options`` and fit (:func:`run_fit`).

    ``pilot`` defaults to :func:`pilot_of` ``(prep)`` (none below
    :data:`PILOT_MIN` spectra); the dask path passes the same spectra.

    With ``shape_tie="auto"`` in a global fit that shares widths, both the
    per-band and the common-shape models are fitted and the common one kept
    unless an F-test on the whole series rejects it (``p < ALPHA``);
    otherwise ``auto`` and ``all`` tie every shape (see :mod:`specfit.model.shapetie`).
    """
    pilot = pilot_of(prep) if pilot is None else pilot  # run_fit ignores it with start='library'
    tie = options.shape_tie
    shares_shape = "shape" in options.shared_groups
    tested = (tie == "auto" and shares_shape and int(prep.usable.sum()) > 1 and tie_shapes(lib) != lib)
    if not tested:
        return run_fit(prep, tie_shapes(lib) if tie != "none" else lib, options, pilot)
    per_band = run_fit(replace(prep, messages=list(prep.messages), usable=prep.usable.copy()), lib, options, pilot)
    common = run_fit(prep, tie_shapes(lib), options, pilot)
    rows = prep.usable & per_band.success & common.success
    n_removed = per_band.spec.groups.count("shape") - common.spec.groups.count("shape")
    pvalue = common_shape_pvalue(float(per_band.cost[rows].sum()), float(common.cost[rows].sum()),
                                 int(np.count_nonzero(prep.weights[rows] > 0)), float(per_band.n_varys[rows].sum()),
                                 n_removed)
    chosen = per_band if pvalue < ALPHA else common
    chosen.attrs["shape_tie_pvalue"] = pvalue
    return chosen


def curves(outcome: FitOutcome, rows: NDArray | slice = slice(None)) -> dict[str, NDArray]:
    """Model curves on the ascending axis: best fit, background ``(n, M)``, components ``(n, C, M)``."""
    spec, x = outcome.spec, outcome.prep.x
    raw = outcome.theta[rows]
    theta = np.nan_to_num(raw, nan=0.0)
    with np.errstate(all="ignore"):
        comp = peak_curves(spec, theta, x)
        peaks = comp.sum(axis=1)
        bg = background_curve(spec, theta, x, peaks) + outcome.fixed_bg[rows]
    bad = ~np.isfinite(raw).all(axis=1)
    comp[bad], bg[bad] = np.nan, np.nan
    return {"best_fit": peaks + bg, "background": bg, "component_curve": comp}
