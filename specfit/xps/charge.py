"""Charge referencing: one binding-energy shift per etch step, found on the data, checked, applied to every region.

The shift of step ``i`` is ``E_ref - E_fit[i]`` where ``E_fit`` is the fitted
center of the reference component (default C 1s ``C-C`` at 284.8 eV; on Li
metal adventitious carbon is unreliable, so e.g. ``LiF@F1s=685.0`` is used).
Corrected energies are ``E + shift``.

A fit alone cannot find a line charged by more than its center range allows
(typically +/-0.6 eV): the component stops at the range limit, or another
component of the library takes the line.  So :func:`measure_shift` first
locates candidate features (peaks and shoulders) on the measured spectrum
within ``SEARCH_RANGE`` of the expected energy, fits the reference region with
each candidate's shift, refines, and keeps the candidate whose fit is
decisively better (BIC) or, among equally good fits, the one in which the
reference is the largest component.  The chosen shift is then checked: a
reference center on a range limit, a reference that is a minor component, or
no reference found at all is an error (or a per-step flag on request).

A CasaXPS energy calibration stored in a VAMAS block comment
(``Calib M = 283.2,283.4 A = 284.8 BE ADD``) is read by
:func:`casa_calibration` and applied by :func:`apply_casa_calibration`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from specfit.errors import DataError, SpecfitError
from specfit.fitting.prepare import shift_axis as apply_shift
from specfit.library.loader import Library
from specfit.xps.naming import normalise_region

_REFERENCE = re.compile(r"^\s*(?P<component>[^@]+?)\s*@\s*(?P<region>[^=]+?)\s*=\s*(?P<energy>[-+0-9.eE]+)\s*$")

#: eV either side of the expected energy searched for the reference line (issue 9: offsets up to +/-5 eV).
SEARCH_RANGE = 5.0
#: A reference whose area fraction is below this is "minor": too weak to carry the energy scale (project choice).
MINOR_FRACTION = 0.10
#: Two references disagreeing by more than this (eV) in a step are an error (issue 9; ~2x the usual
#: 0.1 eV reproducibility of a C 1s reference, Greczynski & Hultman, Prog. Mater. Sci. 107, 100591 (2020)).
DISAGREE_TOLERANCE = 0.2
#: BIC difference counted as decisive between candidate shifts ("very strong", Kass & Raftery,
#: J. Am. Stat. Assoc. 90, 773 (1995)).
DECISIVE_BIC = 10.0
#: Flag codes written per spectrum by charge referencing.
CODES = ("charge_reference_at_bound", "charge_reference_minor", "charge_reference_not_found",
         "charge_references_disagree", "charge_reference_ambiguous")
#: Two located lines explain the data about equally well as the reference when their fractions of the region
#: are within this factor of each other and their shifts differ by more than AMBIGUOUS_SHIFT eV: e.g. an
#: ionic liquid's C-N line next to its aliphatic C-C.  Then no rule can tell which line is the reference.
AMBIGUOUS_RATIO = 1.5
#: Another line of the reference region holding at least this fraction must not be pushed onto its range limit.
OTHER_LINE = 0.01
AMBIGUOUS_SHIFT = 0.3


@dataclass(frozen=True)
class ChargeReference:
    """Reference line: ``component`` of ``region`` belongs at ``energy`` (eV)."""

    component: str = "C-C"
    region: str = "C1s"
    energy: float = 284.8  # eV, adventitious carbon C 1s (Moulder et al. 1992)

    def __str__(self) -> str:
        return f"{self.component}@{self.region}={self.energy:g}"


def parse_reference(text: str | ChargeReference | None) -> ChargeReference | None:
    """``"LiF@F1s=685.0"`` -> ``ChargeReference("LiF", "F1s", 685.0)``; None passes through.

    Raises
    ------
    SpecfitError
        If ``text`` is not ``COMPONENT@REGION=ENERGY``.
    """
    if text is None or isinstance(text, ChargeReference):
        return text
    match = _REFERENCE.match(str(text))
    if not match:
        raise SpecfitError(f"charge reference {text!r}: expected COMPONENT@REGION=ENERGY, e.g. C-C@C1s=284.8")
    try:
        energy = float(match["energy"])
    except ValueError:
        raise SpecfitError(f"charge reference {text!r}: energy {match['energy']!r} is not a number") from None
    return ChargeReference(match["component"], normalise_region(match["region"]), energy)


def parse_references(value: object) -> list[ChargeReference]:
    """One or several references: None, a ChargeReference, ``"A@R=E; B@S=F"`` or a sequence of those.

    Returns
    -------
    list of ChargeReference
        Empty when ``value`` is None; the first is the primary reference.
    """
    if value is None:
        return []
    if isinstance(value, ChargeReference):
        return [value]
    if isinstance(value, str):
        return [parse_reference(part) for part in re.split(r"\s*;\s*", value.strip()) if part]
    out: list[ChargeReference] = []
    for item in value:  # type: ignore[union-attr]
        out.extend(parse_references(item))
    return out


# ------------------------------------------------------------------ locating the line on the data
def reference_candidates(x: np.ndarray, y: np.ndarray, energy: float, *, search: float = SEARCH_RANGE,
                         smooth: float = 0.35, min_height: float = 0.1, max_candidates: int = 3) -> list[float]:
    """Energies of the peaks and shoulders of one spectrum within ``energy +/- search``, strongest first.

    A feature is a local minimum of the second derivative of the spectrum
    smoothed by a Gaussian of ``smooth`` eV (a maximum and a shoulder both
    are), standing at least ``min_height`` of the strongest one above the
    straight line joining the smoothed spectrum 2 eV beyond the search band
    (and 3 noise sigma; nothing at all unless the strongest stands 5 sigma).

    Parameters
    ----------
    x, y : numpy.ndarray, shape (n,)
        Binding energy (eV, either order) and counts of one spectrum.
    energy : float
        Where the reference line belongs (eV).
    search, smooth, min_height, max_candidates
        Half-width of the search (eV), smoothing (eV), relative height
        threshold and number of features returned.

    Returns
    -------
    list of float
        Feature energies (eV, on the measured axis); empty for a flat or
        too short spectrum.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    order = np.argsort(x[ok])
    xs, ys = x[ok][order], y[ok][order]
    inside = (xs >= energy - search) & (xs <= energy + search)
    if inside.sum() < 7:
        return []
    step = float(np.median(np.diff(xs)))
    smoothed = gaussian_filter1d(ys, max(smooth / step, 1.0), mode="nearest")
    d2 = np.gradient(np.gradient(smoothed, xs), xs)
    # baseline through the smoothed spectrum 2 eV beyond the search band (or the data's ends), so that a
    # line at the edge of the band still stands above it
    lo, hi = np.flatnonzero((xs >= energy - search - 2.0) & (xs <= energy + search + 2.0))[[0, -1]]
    base = np.interp(xs, [xs[lo], xs[hi]], [smoothed[lo], smoothed[hi]])
    height = smoothed - base
    top = float(height[inside].max())
    # point-to-point noise of the raw counts (MAD of first differences / sqrt 2); a "line" must stand
    # 5 sigma above the baseline, so that pure noise offers no candidate
    noise = 1.4826 * float(np.median(np.abs(np.diff(ys) - np.median(np.diff(ys))))) / np.sqrt(2.0)
    if not np.isfinite(top) or top <= 0 or top < 5.0 * noise:
        return []
    found = [(float(height[i]), float(xs[i])) for i in np.flatnonzero(inside)
             if 0 < i < len(xs) - 1 and d2[i] < 0 and d2[i] < d2[i - 1] and d2[i] <= d2[i + 1]
             and height[i] >= max(min_height * top, 3.0 * noise)]
    found.sort(reverse=True)
    return [e for _, e in found[:max_candidates]]


@dataclass(frozen=True)
class ShiftMeasurement:
    """Outcome of :func:`measure_shift`: shift, flag codes and one message per problem step."""

    shift: xr.DataArray  # eV per step (NaN where no reference was found)
    codes: xr.DataArray  # per step: "" or one of CODES
    messages: tuple[str, ...]
    center: xr.DataArray  # fitted reference center after the shift (eV)
    fraction: xr.DataArray  # area fraction of the reference in its region


def step_labels(template: xr.DataArray) -> list[str]:
    """``"etch_time=30"`` per step (flattened batch dims), ``"spectrum"`` for a single one."""
    if template.ndim == 0:
        return ["spectrum"]
    stacked = template.stack(_step=template.dims) if template.ndim > 1 else template
    labels = []
    for i in range(stacked.size):
        parts = []
        for d in template.dims:
            coord = stacked[d].values[i] if d in stacked.coords else i
            parts.append(f"{d}={coord}")
        labels.append(", ".join(parts))
    return labels


def fraction_ok(fraction: float, minor: float) -> bool:
    """The reference holds at least ``minor`` of its region."""
    return bool(np.isfinite(fraction) and fraction >= minor)


def _others_on_limits(res: xr.Dataset, library: Library, reference: str, minor: float) -> np.ndarray:
    """Per step: the first component other than the reference, holding at least ``minor`` of the region,
    whose center rests on a limit of its library range ("" when none)."""
    centers = res["center"].transpose(..., "component")
    fractions = res["fraction"].transpose(..., "component")
    c = np.asarray(centers.values, float).reshape(-1, centers.sizes["component"])
    f = np.asarray(fractions.values, float).reshape(c.shape)
    out = np.full(c.shape[0], "", dtype=object)
    for j, name in enumerate(str(v) for v in centers["component"].values):
        if name == reference or name not in library.component_names:
            continue
        lo, hi = library.component(name).center_range
        # a line pushed past its limit into a neighbour's range has another home (C=O / O-C=O): only a
        # line with nowhere to go (no other component's range continues past that limit) is inconsistent
        homes = [library.component(o).center_range for o in library.component_names if o not in (name, reference)]
        lo_ok = any(a < lo - 0.05 <= b for a, b in homes)
        hi_ok = any(a <= hi + 0.05 < b for a, b in homes)
        with np.errstate(invalid="ignore"):
            hit = np.isfinite(c[:, j]) & (f[:, j] >= minor) & (((c[:, j] - lo < 0.01) & (not lo_ok))
                                                               | ((hi - c[:, j] < 0.01) & (not hi_ok)))
        for i in np.flatnonzero(hit & (out == "")):
            out[i] = f"{name} (center {c[i, j]:.2f} eV) onto its range limit [{lo:g}, {hi:g}] eV"
    return out


def measure_shift(raw: xr.DataArray, reference: ChargeReference, library: Library,
                  fit_region: Callable[[xr.DataArray], xr.Dataset], *, search: float = SEARCH_RANGE,
                  minor: float = MINOR_FRACTION, max_rounds: int = 3, tolerance: float = 0.02,
                  locate: bool = True) -> ShiftMeasurement:
    """Find the charge shift of every step from the reference region, and check it.

    Parameters
    ----------
    raw : xarray.DataArray
        Spectra of the reference region as measured (batch dims..., energy).
    reference : ChargeReference
        Component, region and energy (eV) it belongs at.
    library : Library
        The library the region is fitted with (for the component's range).
    fit_region : callable
        ``fit_region(spectra) -> specfit.fit result`` with free centers.
    search, minor : float
        Search half-width (eV) and minor-component fraction threshold.
    locate : bool
        Locate the line on the data first (default); False fits the data as
        measured, once, and checks that fit (finds only offsets within the
        component's range: the behaviour before locating existed).
    max_rounds, tolerance : int, float
        Fits per candidate and the shift change (eV) that ends them.  The
        fitted center of an overlapped reference need not converge under
        repeated shifting (the decomposition moves with the data), so the
        rounds are few: the located feature already places the line.

    Returns
    -------
    ShiftMeasurement
        ``shift = E_ref - E_measured`` per step, with a flag code and a
        message for every step whose reference is at a bound, minor or absent.

    Raises
    ------
    SpecfitError
        If the library has no such component or ``energy`` lies outside its range.
    """
    if reference.component not in library.component_names:
        raise SpecfitError(f"charge reference {reference}: region {reference.region} has no component "
                           f"{reference.component!r} (components: {', '.join(library.component_names)})")
    lo, hi = library.component(reference.component).center_range
    if not lo <= reference.energy <= hi:
        raise SpecfitError(f"charge reference {reference}: {reference.energy:g} eV lies outside the range "
                           f"[{lo:g}, {hi:g}] eV of {reference.component} in {library.name}")
    axis = raw.dims[-1]
    template = raw.isel({axis: 0}, drop=True)
    template = template.drop_vars([c for c in template.coords if c not in template.dims])
    x = np.asarray(raw[axis].values, float)
    rows = np.asarray(raw.values, float).reshape(-1, x.size)
    n = rows.shape[0]
    cands = ([reference_candidates(x, row, reference.energy, search=search) for row in rows] if locate
             else [[reference.energy]] * n)
    max_rounds = max_rounds if locate else 1
    n_cand = max(1, max(len(c) for c in cands))
    # per candidate k and step: final shift, center, fraction, bic, valid
    table = {key: np.full((n_cand, n), np.nan) for key in ("shift", "center", "fraction", "bic", "drift")}
    valid = np.zeros((n_cand, n), bool)
    table_others = np.full((n_cand, n), "", dtype=object)
    at_limit = np.zeros((n_cand, n), bool)
    for k in range(n_cand):
        start = np.array([reference.energy - (c[k] if k < len(c) else c[0]) if c else 0.0 for c in cands])
        has = np.array([k < len(c) or k == 0 for c in cands])
        shift = start.copy()
        for round_ in range(max_rounds):
            res = fit_region(apply_shift(raw, template.copy(data=shift.reshape(template.shape))))
            center = np.asarray(res["center"].sel(component=reference.component).values, float).reshape(n)
            found = np.isfinite(center)
            extra = np.where(found, reference.energy - center, 0.0)
            if np.max(np.abs(extra)) < tolerance or round_ == max_rounds - 1:
                break  # this last fit is the one checked below: its center must lie inside its range
            shift = shift + extra
        shift = shift + extra  # best estimate: the residual offset of the checked fit added
        fraction = np.asarray(res["fraction"].sel(component=reference.component).values, float).reshape(n)
        bic = np.asarray(res["bic"].values, float).reshape(n)
        limit = found & ((center - lo < 0.01) | (hi - center < 0.01))
        others = _others_on_limits(res, library, reference.component, OTHER_LINE).reshape(n)
        drift = np.abs(shift - start) > 1.0  # refinement left its candidate: another line was followed
        bic = np.where(has, bic, np.nan)  # a step with fewer candidates repeats its first: not a candidate
        table["shift"][k], table["center"][k], table["fraction"][k], table["bic"][k] = shift, center, fraction, bic
        table["drift"][k] = np.where(drift, shift - start, 0.0)
        at_limit[k] = limit | drift
        # a shift that pushes another clear line of the region onto its range limit (an ionic liquid's CF3
        # moved off 292.8 eV when its C-N line is taken for C-C) is not a consistent referencing
        table_others[k] = others
        valid[k] = has & found & ~limit & ~drift & (fraction >= minor) & (others == "")
    labels = step_labels(template)
    chosen = np.zeros(n, int)
    codes, messages = [], []
    for i in range(n):
        bic = np.where(np.isfinite(table["bic"][:, i]), table["bic"][:, i], np.inf)
        best = int(np.argmin(bic))
        near = np.flatnonzero(valid[:, i] & (bic <= bic[best] + DECISIVE_BIC))
        if near.size:  # among fits as good as the best, the one in which the reference is the largest line
            order = near[np.argsort(-table["fraction"][near, i])]
            chosen[i] = order[0]
            rivals = [k for k in order[1:]
                      if abs(table["shift"][k, i] - table["shift"][order[0], i]) > AMBIGUOUS_SHIFT
                      and table["fraction"][order[0], i] < AMBIGUOUS_RATIO * table["fraction"][k, i]]
            if not rivals:
                codes.append("")
                continue
            k, j = rivals[0], order[0]
            codes.append("charge_reference_ambiguous")
            messages.append(
                f"charge reference {reference}: region {reference.region}, {labels[i]}: two lines fit equally "
                f"well as {reference.component}: shift {table['shift'][j, i]:+.2f} eV "
                f"({100 * table['fraction'][j, i]:.0f} % of the region) or {table['shift'][k, i]:+.2f} eV "
                f"({100 * table['fraction'][k, i]:.0f} %); give the shift (--charge-shift) or another reference "
                "(--reference)")
            continue
        # the data are best explained (decisively) with the reference at a limit, minor or absent: say so
        chosen[i] = best
        center, frac, shift = (table[key][best, i] for key in ("center", "fraction", "shift"))
        where = f"charge reference {reference}: region {reference.region}, {labels[i]}:"
        if not cands[i] or not np.isfinite(center):
            codes.append("charge_reference_not_found")
            messages.append(f"{where} no {reference.component} line found within +/-{search:g} eV of "
                            f"{reference.energy:g} eV")
        elif table["drift"][best, i]:
            codes.append("charge_reference_at_bound")
            messages.append(f"{where} {reference.component} did not settle on the line located at "
                            f"{reference.energy - (shift - table['drift'][best, i]):.2f} eV: refining moved the "
                            f"shift by {table['drift'][best, i]:+.2f} eV, beyond the 1 eV a refinement may")
        elif table_others[best, i] and fraction_ok(table["fraction"][best, i], minor) and not at_limit[best, i]:
            codes.append("charge_reference_at_bound")
            messages.append(f"{where} referencing {reference.component} (shift {shift:+.2f} eV) pushes "
                            f"{table_others[best, i]}: the reference line is not where the rest of the region "
                            "says; give the shift (--charge-shift) or another reference (--reference)")
        elif at_limit[best, i]:
            codes.append("charge_reference_at_bound")
            messages.append(f"{where} {reference.component} center {center:.2f} eV rests on its range limit "
                            f"[{lo:g}, {hi:g}] eV (shift {shift:+.2f} eV)")
        else:
            codes.append("charge_reference_minor")
            messages.append(f"{where} {reference.component} is a minor component ({100 * frac:.1f} % of the "
                            f"region, below {100 * minor:g} %; shift {shift:+.2f} eV)")
    pick = (chosen, np.arange(n))
    lost = np.isin(np.array(codes, dtype=object), ["charge_reference_not_found"]) | ~np.isfinite(table["center"][pick])
    shift = np.where(lost, np.nan, table["shift"][pick])

    def _da(values, **attrs) -> xr.DataArray:
        return template.copy(data=np.asarray(values).reshape(template.shape)).assign_attrs(attrs)

    return ShiftMeasurement(shift=_da(shift, units="eV", long_name="charge shift", reference=str(reference)),
                            codes=_da(np.array(codes, dtype=object)), messages=tuple(messages),
                            center=_da(table["center"][pick], units="eV"), fraction=_da(table["fraction"][pick]))


def disagreements(first: ChargeReference, a: xr.DataArray, other: ChargeReference, b: xr.DataArray,
                  tolerance: float = DISAGREE_TOLERANCE) -> tuple[xr.DataArray, list[str]]:
    """Steps where two references' shifts differ by more than ``tolerance`` eV, and a message for each.

    Returns
    -------
    bad : xarray.DataArray of bool
        Per step.
    messages : list of str
        One per disagreeing step, naming both references and both shifts.
    """
    diff = np.abs(a - b)
    bad = diff > tolerance
    labels = step_labels(a)
    messages = [f"charge references disagree in {labels[i]}: {first} gives {float(av):+.2f} eV, {other} gives "
                f"{float(bv):+.2f} eV (more than {tolerance:g} eV apart)"
                for i, (av, bv, flag) in enumerate(zip(np.ravel(a.values), np.ravel(b.values), np.ravel(bad.values)))
                if flag]
    return bad, messages


# ------------------------------------------------------------------ CasaXPS calibration in VAMAS comments
_CALIB = re.compile(r"Calib\s+M\s*=\s*(?P<m>[-+0-9.eE]+(?:\s*,\s*[-+0-9.eE]+)?)\s+A\s*=\s*(?P<a>[-+0-9.eE]+)"
                    r"\s+(?P<scale>BE|KE)\b\s*(?P<op>\w+)?", re.IGNORECASE)


#: attrs key set on spectra whose CasaXPS calibration has been applied (or superseded by a given shift),
#: so that no later step applies it again.
CASA_APPLIED = "casaxps_calibration_applied"


@dataclass(frozen=True)
class CasaCalibration:
    """One CasaXPS ``Calib`` line: measured energy (or search range ``lo,hi``) -> actual energy, on BE or KE."""

    measured: tuple[float, ...]
    actual: float
    scale: str
    text: str


def casa_calibrations(da: xr.DataArray) -> list[CasaCalibration]:
    """The ``Calib M = ... A = ... BE ADD`` lines of ``attrs['casaxps_comment']``, in file order.

    Raises
    ------
    DataError
        For a ``Calib`` line this function cannot interpret (e.g. a ``MULT``
        calibration), so that it is never dropped silently.
    """
    comment = str(da.attrs.get("casaxps_comment", "") or "")
    out = []
    for line in comment.splitlines():
        if not re.search(r"\bCalib\b", line, re.IGNORECASE):
            continue
        match = _CALIB.search(line)
        source = da.attrs.get("source_file", "data")
        if not match or (match["op"] or "ADD").upper() != "ADD":
            raise DataError(f"{source}: CasaXPS calibration {line.strip()!r} not understood (only "
                            "'Calib M = E[,E2] A = E BE|KE ADD'); apply it with charge_shift=")
        measured = tuple(float(v) for v in match["m"].split(","))
        out.append(CasaCalibration(measured, float(match["a"]), match["scale"].upper(), line.strip()))
    return out


def _calibration_shift(x: np.ndarray, rows: np.ndarray, cal: CasaCalibration, photon: float | None,
                       source: object, done: np.ndarray) -> np.ndarray:
    """BE shift per spectrum of one calibration, on the axis already moved by ``done`` (eV per spectrum)."""
    if cal.scale == "KE":
        if photon is None:
            raise DataError(f"{source}: CasaXPS calibration {cal.text!r} is on kinetic energy but the file "
                            "has no photon energy; apply it with charge_shift=")
        measured = tuple(photon - m for m in cal.measured)
        actual = photon - cal.actual
    else:
        measured, actual = cal.measured, cal.actual
    if len(measured) == 1:
        return np.full(rows.shape[0], actual - measured[0])
    lo, hi = min(measured), max(measured)
    out = np.empty(rows.shape[0])
    for i, row in enumerate(rows):
        xi = x + done[i]
        idx = np.flatnonzero((xi >= lo - 1e-9) & (xi <= hi + 1e-9) & np.isfinite(row))
        if not idx.size:
            raise DataError(f"{source}: CasaXPS calibration {cal.text!r}: no data between {lo:g} and {hi:g} eV")
        out[i] = actual - xi[idx[np.argmax(row[idx])]]
    return out


def casa_calibration(da: xr.DataArray) -> float | xr.DataArray | None:
    """Binding-energy shift (eV) a CasaXPS calibration in ``attrs['casaxps_comment']`` declares, or None.

    CasaXPS keeps the raw axis in a VAMAS file and stores its calibration as a
    comment line ``Calib M = lo,hi A = target BE ADD``: the maximum of the
    spectrum between ``lo`` and ``hi`` moves to ``target`` (with one value,
    ``M`` itself moves to ``A``).  Several lines apply one after the other.

    Parameters
    ----------
    da : xarray.DataArray
        Spectra as read (binding energy last); batch dims allowed.

    Returns
    -------
    float, xarray.DataArray or None
        Shift to add to the binding energies: a float for one spectrum (or
        when every spectrum gets the same), else per spectrum over the batch
        dims; None when the file declares no calibration.

    Raises
    ------
    DataError
        If a calibration line cannot be interpreted or its range holds no data.
    """
    if CASA_APPLIED in da.attrs:
        return None  # already applied (or deliberately superseded) upstream: never twice
    cals = casa_calibrations(da)
    if not cals:
        return None
    axis = da.dims[-1]
    x = np.asarray(da[axis].values, float)
    rows = np.asarray(da.values, float).reshape(-1, x.size)
    photon = da.attrs.get("photon_energy")
    photon = float(photon) if photon is not None and np.isfinite(float(photon)) else None
    total = np.zeros(rows.shape[0])
    for cal in cals:
        total = total + _calibration_shift(x, rows, cal, photon, da.attrs.get("source_file", "data"), total)
    if da.ndim == 1 or np.allclose(total, total[0]):
        return float(total[0])
    template = da.isel({axis: 0}, drop=True)
    template = template.drop_vars([c for c in template.coords if c not in template.dims])
    return template.copy(data=total.reshape(template.shape)).assign_attrs(units="eV")


def apply_casa_calibration(da: xr.DataArray) -> tuple[xr.DataArray, float | xr.DataArray]:
    """Apply the CasaXPS calibration of ``da``'s VAMAS comment: ``(shifted spectra, shift in eV)``.

    Data without a calibration come back unchanged with shift 0.0.  The
    shifted DataArray records ``attrs['casaxps_calibration']`` (the comment
    line(s)), ``attrs['charge_shift']`` and ``attrs['casaxps_calibration_applied']``,
    which makes :func:`casa_calibration` return None for it: calling this
    function twice shifts once.

    Raises
    ------
    DataError
        As :func:`casa_calibration`.
    """
    shift = casa_calibration(da)
    if shift is None:
        return da, 0.0
    out = apply_shift(da, shift)
    text = "; ".join(c.text for c in casa_calibrations(da))
    out.attrs = {**da.attrs, "casaxps_calibration": text, CASA_APPLIED: text,
                 "charge_shift": float(np.median(np.asarray(shift)))}
    return out, shift


def describe(references: Sequence[ChargeReference]) -> str:
    """``"C-C@C1s=284.8; LiF@F1s=685"`` for attrs and messages."""
    return "; ".join(str(r) for r in references)
