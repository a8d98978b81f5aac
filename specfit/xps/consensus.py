"""Charge shift by consensus: one binding-energy shift per etch step that best explains every region.

Method
------
Each region offers candidate reference lines (:data:`specfit.xps.corelevels.REFERENCE_LINES`: C-C, LiF
F 1s, Li2CO3 in C 1s and O 1s, CF3, oxide O 1s, Au 4f7/2, the main line of Bi 4f, Ti 2p, Na 1s, Sn 3d...),
each with its literature energy ``E`` and spread ``sigma``.  The measured spectrum of every region offers
features (peaks and shoulders, :func:`features`) at ``x_f`` with relative heights ``h_f``.  Every pairing
of a line with a feature is a vote for the shift ``s = E - x_f``; the step's shift maximises

    L(s) = sum over lines l of  max over features f of  p_l sqrt(h_f) exp(-(s - (E_l - x_f))^2 / 2 sigma_l^2)
           + sum over library regions of the fraction of their features (weighted h_f^(1/4)) that land
             inside a component's range after the shift

(a kernel-density / Hough vote: the mode of the candidate shifts, robust to a wrong pairing because a wrong
pairing in one region is not repeated by the others).  Binding-energy *separations* between regions are
charge-independent (Wood & Teeter, ACS Appl. Energy Mater. 1, 4493 (2018)): the true shift is the one at
which the lines of several regions meet, whichever line is the largest of its own region.  A minor feature
(``sqrt(h_f)``) or one isolated line therefore never outvotes the rest; one region alone (e.g. C 1s only)
still works as before through its reference line and the range coverage.

The shift is then refined: the lines that agreed (vote within 2 sigma of the mode) are re-measured by a
fit of their regions with the shift applied (library regions; free centers; a line the fit does not hold -
dropped, insignificant or on a range limit - is left out: the fit gave that feature to another component) or
by the feature's position (regions without a library), and the shift is their weighted mean (weights
``p_l / sigma_l^2``).  Its standard uncertainty combines the lines' literature spreads
(``1/sqrt(sum 1/sigma_l^2)``), inflated by the Birge ratio when the agreeing lines scatter more than their
spreads allow.

Along a series, the shift of the neighbouring steps is evidence, not a constraint: a step whose two best
shifts score within :data:`AMBIGUOUS_RATIO` of each other gets a weak term favouring its neighbours'
shift (:data:`DRIFT_WEIGHT`, width :data:`DRIFT_WIDTH` eV); a step without any candidate line takes the
interpolated shift of its neighbours (noted, with their spread as uncertainty).  Only a step whose two
best shifts remain equally good (within :data:`REFUSE_RATIO`) is refused (or flagged on request).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from specfit.fitting.prepare import shift_axis
from specfit.library.loader import Library
from specfit.xps.corelevels import ReferenceLine, reference_lines

#: Largest charge shift searched (eV): offsets up to +/-6 eV (issue 19), plus a margin.
MAX_SHIFT = 6.5
#: Grid step of the vote (eV); the refinement reaches below it.
GRID_STEP = 0.01
#: Weight of the range-coverage term per library region (project choice: as much as one reference line, since a
#: clear line that no component can hold refutes a shift; features weigh h^(1/4) there, so a minor line counts).
COVERAGE_WEIGHT = 1.0
#: Depth (eV) inside a component's range from which a feature counts as fully covered.
EDGE = 0.2
#: Second-best / best score above which a step is ambiguous and the series' drift is consulted.
AMBIGUOUS_RATIO = 0.9
#: ... and above which, drift included, the step is refused (two shifts truly equally good).
REFUSE_RATIO = 0.97
#: Two maxima closer than this (eV) are one.
DISTINCT = 0.4
#: Drift term: weight and width (eV) of the neighbours' shift as evidence (project choice).
DRIFT_WEIGHT = 0.3
DRIFT_WIDTH = 0.5
#: Spread (eV) added in quadrature to a line's literature spread for locating a feature on the data.
LOCATE_SPREAD = 0.05


@dataclass
class Vote:
    region: str
    line: ReferenceLine
    feature: float  # measured energy (eV)
    height: float  # relative to the region's strongest feature
    shift: float
    sigma: float
    weight: float


@dataclass
class StepShift:
    """Outcome for one step."""

    shift: float = np.nan
    uncertainty: float = np.nan
    agreed: list[str] = field(default_factory=list)
    note: str = ""
    code: str = ""  # "" or a flag code (charge_reference_ambiguous / charge_reference_not_found)
    message: str = ""  # short, for the error
    rival: float = np.nan
    interpolated: bool = False


def features(x: np.ndarray, y: np.ndarray, *, smooth: float = 0.3, min_height: float = 0.02,
             max_features: int = 6) -> list[tuple[float, float]]:
    """Peaks and shoulders of one region: ``[(energy, height relative to the strongest), ...]``, strongest first.

    A feature is a local minimum of the second derivative of the spectrum
    smoothed by a Gaussian of ``smooth`` eV, standing above the straight line
    through the region's end levels by ``min_height`` of the strongest and 3
    noise sigma (nothing at all unless the strongest stands 5 sigma above it).
    A feature that is a local maximum of the smoothed spectrum is placed by a
    parabola through its three highest points.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 9:
        return []
    order = np.argsort(x[ok])
    xs, ys = x[ok][order], y[ok][order]
    step = float(np.median(np.diff(xs)))
    if step <= 0:
        return []
    sm = gaussian_filter1d(ys, max(smooth / step, 1.0), mode="nearest")
    d2 = np.gradient(np.gradient(sm, xs), xs)
    k = max(2, int(round(0.5 / step)))
    base = np.interp(xs, [xs[0], xs[-1]], [np.mean(sm[:k]), np.mean(sm[-k:])])
    height = sm - base
    top = float(height.max())
    noise = 1.4826 * float(np.median(np.abs(np.diff(ys) - np.median(np.diff(ys))))) / np.sqrt(2.0)
    if not np.isfinite(top) or top <= 0 or top < 5.0 * noise:
        return []
    found = []
    for i in range(1, len(xs) - 1):
        if d2[i] < 0 and d2[i] < d2[i - 1] and d2[i] <= d2[i + 1] and height[i] >= max(min_height * top,
                                                                                          3.0 * noise):
            # a true maximum near the second-derivative minimum: place the feature on it (no overlap bias)
            lo, hi = max(1, i - k), min(len(xs) - 2, i + k)
            j = lo + int(np.argmax(sm[lo:hi + 1]))
            pos = float(xs[i])
            if sm[j] >= sm[j - 1] and sm[j] >= sm[j + 1] and lo < j < hi:
                denom = sm[j - 1] - 2 * sm[j] + sm[j + 1]
                pos = float(xs[j] + (0.5 * step * (sm[j - 1] - sm[j + 1]) / denom if denom < 0 else 0.0))
            found.append((float(height[i]) / top, pos))
    found.sort(reverse=True)
    out: list[tuple[float, float]] = []
    for h, e in found:
        if all(abs(e - o) > 0.25 for o, _ in out):
            out.append((e, h))
    return out[:max_features]


def usable_lines(region: str, library: Library | None) -> list[ReferenceLine]:
    """Reference lines of a region that its (possibly subset) library can hold."""
    lines = reference_lines(region)
    if library is None:
        return lines
    names = set(library.component_names)
    return [ln for ln in lines if ln.component in names]


def _coverage(lib: Library | None, feats: list[tuple[float, float]], grid: np.ndarray) -> np.ndarray:
    if lib is None or not feats:
        return np.zeros_like(grid)
    ranges = np.array([lib.component(n).center_range for n in lib.component_names], float)
    total = sum(h**0.25 for _, h in feats)
    out = np.zeros_like(grid)
    for e, h in feats:
        h = h**0.25
        moved = e + grid
        # soft membership: 1 well inside a component's range, falling to 0 at its limit (a line pushed onto
        # its range limit is what a wrong shift does to the other lines of a region)
        depth = np.minimum(moved[:, None] - ranges[None, :, 0], ranges[None, :, 1] - moved[:, None])
        inside = np.clip(depth / EDGE, 0.0, 1.0).max(axis=1)
        out += h * inside
    return out / total


def step_votes(spectra: Mapping[str, tuple[np.ndarray, np.ndarray]], libs: Mapping[str, Library | None]
               ) -> tuple[list[Vote], dict[str, list[tuple[float, float]]]]:
    """Every (line, feature) vote of one step, and the features per region."""
    votes, feats = [], {}
    for region, (x, y) in spectra.items():
        lines = usable_lines(region, libs.get(region))
        found = features(x, y)
        feats[region] = found
        if not found:
            continue
        for line in lines:
            for rank, (e, h) in enumerate(found):
                if line.main_only and rank > 0:
                    break
                shift = line.energy - e
                if abs(shift) > MAX_SHIFT:
                    continue
                sigma = float(np.hypot(line.spread, LOCATE_SPREAD))
                votes.append(Vote(region, line, e, h, shift, sigma, line.prior * np.sqrt(h)))
    return votes, feats


def score(votes: list[Vote], feats, libs, grid: np.ndarray) -> np.ndarray:
    """L(s) on ``grid`` (see the module docstring)."""
    total = np.zeros_like(grid)
    groups: dict[tuple[str, str], np.ndarray] = {}
    for v in votes:
        key = (v.region, v.line.name)
        term = v.weight * np.exp(-0.5 * ((grid - v.shift) / v.sigma) ** 2)
        groups[key] = np.maximum(groups.get(key, 0.0), term)
    for term in groups.values():
        total += term
    if votes:
        for region, found in feats.items():
            total += COVERAGE_WEIGHT * _coverage(libs.get(region), found, grid)
    return total


def _maxima(grid: np.ndarray, values: np.ndarray) -> list[tuple[float, float]]:
    """Local maxima ``(value, s)`` best first, merged when closer than :data:`DISTINCT`."""
    idx = [i for i in range(1, len(grid) - 1) if values[i] >= values[i - 1] and values[i] > values[i + 1]]
    peaks = sorted(((float(values[i]), float(grid[i])) for i in idx), reverse=True)
    out: list[tuple[float, float]] = []
    for v, s in peaks:
        if all(abs(s - o) > DISTINCT for _, o in out):
            out.append((v, s))
    return out


def _agreeing(votes: list[Vote], s: float) -> dict[tuple[str, str], Vote]:
    """Per line, the vote that agrees with ``s`` (within 2 sigma), the heaviest."""
    out: dict[tuple[str, str], Vote] = {}
    for v in votes:
        if abs(v.shift - s) <= 2.0 * v.sigma:
            key = (v.region, v.line.name)
            if key not in out or v.weight > out[key].weight:
                out[key] = v
    return out


def _combine(values: list[tuple[float, float, float]]) -> tuple[float, float]:
    """Weighted mean and standard uncertainty of ``(shift, sigma, prior)`` with Birge-ratio inflation."""
    s = np.array([v[0] for v in values])
    sig = np.array([v[1] for v in values])
    w = np.array([v[2] for v in values]) / sig**2
    mean = float(np.sum(w * s) / np.sum(w))
    u = float(1.0 / np.sqrt(np.sum(1.0 / sig**2)))
    if len(values) > 1:
        chi2 = float(np.sum((s - mean) ** 2 / sig**2))
        u *= max(1.0, np.sqrt(chi2 / (len(values) - 1)))
    return mean, u


def consensus_shifts(data: Mapping[str, xr.DataArray], libs: Mapping[str, Library | None],
                     fit_region: Callable[[str, xr.DataArray], xr.Dataset] | None = None,
                     labels: list[str] | None = None) -> list[StepShift]:
    """One :class:`StepShift` per step (batch flattened in C order) of regions sharing batch dims.

    Parameters
    ----------
    data : mapping region -> DataArray (batch..., binding energy)
    libs : mapping region -> Library or None (no species library)
    fit_region : callable, optional
        ``fit_region(region, shifted spectra) -> fit result`` with free centers, used to refine
        the lines that agreed; None refines on the located features only.
    labels : list of str, optional
        Step names for the messages.
    """
    regions = list(data)
    first = data[regions[0]]
    n = int(np.prod(first.shape[:-1])) if first.ndim > 1 else 1
    labels = labels or [f"step {i}" for i in range(n)]
    rows = {r: (np.asarray(da[da.dims[-1]].values, float), np.asarray(da.values, float).reshape(n, -1))
            for r, da in data.items()}
    grid = np.arange(-MAX_SHIFT, MAX_SHIFT + GRID_STEP / 2, GRID_STEP)
    scores, all_votes = [], []
    for i in range(n):
        votes, feats = step_votes({r: (x, ys[i]) for r, (x, ys) in rows.items()}, libs)
        all_votes.append(votes)
        scores.append(score(votes, feats, libs, grid) if votes else None)
    first_pass = []
    for sc in scores:
        peaks = _maxima(grid, sc) if sc is not None else []
        clear = len(peaks) == 1 or (len(peaks) > 1 and peaks[1][0] < AMBIGUOUS_RATIO * peaks[0][0])
        first_pass.append(peaks[0][1] if peaks and clear else np.nan)
    known = np.array(first_pass)
    out: list[StepShift] = []
    for i in range(n):
        sc = scores[i]
        res = StepShift()
        if sc is None:
            out.append(res)
            continue
        peaks = _maxima(grid, sc)
        if len(peaks) > 1 and peaks[1][0] >= AMBIGUOUS_RATIO * peaks[0][0]:
            drift = _neighbours(known, i)
            if np.isfinite(drift):
                sc = sc + DRIFT_WEIGHT * np.exp(-0.5 * ((grid - drift) / DRIFT_WIDTH) ** 2)
                peaks = _maxima(grid, sc)
        if len(peaks) > 1 and peaks[1][0] >= REFUSE_RATIO * peaks[0][0]:
            a, b = peaks[0][1], peaks[1][1]
            res.code = "charge_reference_ambiguous"
            res.rival = b
            res.message = (f"{labels[i]}: shifts {a:+.2f} eV ({_names(all_votes[i], a)}) and {b:+.2f} eV "
                           f"({_names(all_votes[i], b)}) "
                           "explain the data equally well")
        res.shift = peaks[0][1]
        out.append(res)
    _refine(out, all_votes, data, libs, fit_region, n)
    _fill_gaps(out, labels)
    return out


def _names(votes: list[Vote], s: float) -> str:
    return "+".join(sorted({f"{v.line.name}@{v.region}" for v in _agreeing(votes, s).values()}))


def _neighbours(known: np.ndarray, i: int) -> float:
    """The shift the nearest clear steps before and after ``i`` suggest (their mean), NaN when none."""
    before = [known[j] for j in range(i - 1, -1, -1) if np.isfinite(known[j])][:1]
    after = [known[j] for j in range(i + 1, len(known)) if np.isfinite(known[j])][:1]
    near = before + after
    return float(np.mean(near)) if near else np.nan


def _refine(out: list[StepShift], all_votes, data, libs, fit_region, n: int) -> None:
    """Re-measure the agreeing lines (fit of their regions with the shift applied) and combine them."""
    agree = [_agreeing(all_votes[i], out[i].shift) if np.isfinite(out[i].shift) else {} for i in range(n)]
    fitted: dict[tuple[int, str, str], float] = {}
    refitted: set[str] = set()  # regions re-measured by a fit: a line the fit does not hold there is dropped
    if fit_region is not None:
        for region, da in data.items():
            lib = libs.get(region)
            comps = {v.line.component for a in agree for v in a.values() if v.region == region and v.line.component}
            if lib is None or not comps:
                continue
            shift = np.array([o.shift if np.isfinite(o.shift) else 0.0 for o in out])
            template = da.isel({da.dims[-1]: 0}, drop=True)
            template = template.drop_vars([c for c in template.coords if c not in template.dims])
            res = fit_region(region, shift_axis(da, template.copy(data=shift.reshape(template.shape))))
            refitted.add(region)
            for comp in comps:
                if comp not in res["component"].values:
                    continue
                c = np.asarray(res["center"].sel(component=comp).values, float).reshape(n)
                a = np.asarray(res["area"].sel(component=comp).values, float).reshape(n)
                e = np.asarray(res["area_stderr"].sel(component=comp).values, float).reshape(n)
                lo, hi = lib.component(comp).center_range
                for i in range(n):
                    # held by the fit: kept, significant (area above 2 standard errors), off its range limits
                    held = a[i] > 2.0 * e[i] if np.isfinite(e[i]) else a[i] > 0.0  # NaN: another parameter at a bound
                    if np.isfinite(c[i]) and held and lo + 0.01 < c[i] < hi - 0.01:
                        fitted[(i, region, comp)] = c[i]  # the line's center on the shifted axis
    for i in range(n):
        if not agree[i]:
            continue
        values, used = [], []
        names = [f"{name}@{region}" for (region, name) in sorted(agree[i])]
        for (region, name), v in sorted(agree[i].items()):
            key = (i, region, v.line.component)
            if key not in fitted and region in refitted:
                continue  # the fit gives that feature to another component (C-F, not CF3): not this line
            s = out[i].shift + v.line.energy - fitted[key] if key in fitted else v.shift
            values.append((s, v.sigma, v.line.prior * np.sqrt(v.height)))
            used.append(f"{name}@{region}")
        if not values:  # no agreeing line survived its fit: keep the located features
            for _, v in sorted(agree[i].items()):
                values.append((v.shift, v.sigma, v.line.prior * np.sqrt(v.height)))
            used = names
        out[i].shift, out[i].uncertainty = _combine(values)
        out[i].agreed = names
        out[i].note = (f"charge shift {out[i].shift:+.2f} +/- {out[i].uncertainty:.2f} eV by consensus of "
                       + ", ".join(names) + ("" if used == names else f" (refined on {', '.join(used)})"))


def _fill_gaps(out: list[StepShift], labels: list[str]) -> None:
    """Steps without any candidate line take their neighbours' shift (noted); none at all: left NaN."""
    known = np.array([o.shift if not o.code else np.nan for o in out])
    unc = np.array([o.uncertainty for o in out])
    idx = np.flatnonzero(np.isfinite(known))
    if not idx.size:
        return
    for i, o in enumerate(out):
        if np.isfinite(o.shift):
            continue
        j = idx[np.argsort(np.abs(idx - i))[:2]]
        o.shift = float(np.interp(i, np.sort(j), known[np.sort(j)])) if j.size > 1 else float(known[j[0]])
        spread = float(np.ptp(known[j])) if j.size > 1 else 0.0
        o.uncertainty = float(np.hypot(np.nanmax(unc[j]), spread))
        o.interpolated = True
        o.note = (f"no reference line found in {labels[i]}: charge shift {o.shift:+.2f} +/- {o.uncertainty:.2f} eV "
                  "taken from the neighbouring steps")
