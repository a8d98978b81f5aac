"""``fit_depth_profile``: charge-reference, fit and quantify every region of an etching series."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from specfit._version import __version__
from specfit.errors import DataError, SpecfitError
from specfit.fitting.api import fit
from specfit.library.loader import load_library
from specfit.results.flags import join_codes, join_notes
from specfit.results.kinds import ATTR
from specfit.xps.charge import (
    CASA_APPLIED,
    ChargeReference,
    ShiftMeasurement,
    apply_shift,
    casa_calibration,
    casa_calibrations,
    describe,
    disagreements,
    measure_shift,
    parse_references,
    step_labels,
)
from specfit.xps.consensus import consensus_shifts
from specfit.xps.corelevels import subshell
from specfit.xps.crossregion import cross_region_checks
from specfit.xps.naming import element_of, normalise_region, region_library
from specfit.xps.quant import IMFP_EXPONENT, integrate_region, is_core_level, quantify

_DEFAULT = object()
#: Per-step coordinate that :func:`stack_steps` sets on spectra it had to put on another axis.
RESAMPLED = "resampled_axis"
ON_CHARGE_ERROR = ("raise", "flag")


def _per_region(option, region: str):
    """An option given per region (dict) or for all regions (anything else)."""
    if isinstance(option, Mapping):
        for key, value in option.items():
            if normalise_region(key) == region:
                return value
        return None
    return option


def stack_steps(arrays: Sequence[xr.DataArray], *, dim: str = "step", labels: Sequence[object] | None = None,
                names: Sequence[str] | None = None, resample: bool = False) -> xr.DataArray:
    """Stack one region's spectra (one per step) along ``dim``; refuse different axes unless ``resample``.

    Parameters
    ----------
    arrays : sequence of xarray.DataArray
        1-D spectra (or already batched ones) of one region, energy last.
    dim : str
        New batch dimension.
    labels : sequence, optional
        Coordinate values along ``dim`` (default 0, 1, ...).
    names : sequence of str, optional
        What to call each spectrum in messages (file names).
    resample : bool
        Put spectra measured on another axis onto the first one's axis by
        linear interpolation (NaN outside their range) and mark those steps
        with a boolean ``resampled_axis`` coordinate along ``dim``.

    Returns
    -------
    xarray.DataArray
        ``(dim, ..., energy)`` on the first spectrum's axis.

    Raises
    ------
    DataError
        If the axes differ and ``resample`` is False (the message names the
        two spectra and how far apart their axes are).
    """
    arrays = list(arrays)
    names = list(names) if names is not None else [f"spectrum {i}" for i in range(len(arrays))]
    first = arrays[0]
    axis = first.dims[-1]
    x0 = np.asarray(first[axis].values, float)
    tol = 1e-9 * float(np.ptp(x0)) if x0.size > 1 else 0.0
    moved = []
    out = []
    for name, da in zip(names, arrays):
        if da.dims[-1] != axis:
            raise DataError(f"{name}: spectral axis {da.dims[-1]!r} differs from {names[0]}'s {axis!r}")
        x = np.asarray(da[axis].values, float)
        same = x.shape == x0.shape and np.allclose(x, x0, rtol=0, atol=tol)
        if not same:
            if not resample:
                raise DataError(f"{name}: spectral axis differs from {names[0]}'s ({_axis_difference(x, x0)}); "
                                "refusing to resample silently: pass --resample (resample=True) to interpolate "
                                "it onto the first axis, or fit the files separately")
            values = _interp_rows(x, np.asarray(da.values, float), x0)
            da = xr.DataArray(values, dims=da.dims, attrs=da.attrs,
                              coords={**{d: da[d] for d in da.dims[:-1] if d in da.coords}, axis: first[axis]})
        moved.append(not same)
        out.append(da.assign_coords({axis: first[axis]}))
    stacked = xr.concat(out, dim=dim, coords="minimal", compat="override", join="override",
                        combine_attrs="drop_conflicts")
    stacked = stacked.assign_coords({dim: list(labels) if labels is not None else np.arange(len(out))})
    if any(moved):
        stacked = stacked.assign_coords({RESAMPLED: (dim, np.array(moved))})
    return stacked


def _interp_rows(x: np.ndarray, rows: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Every spectrum of ``rows`` (measured on ``x``) read on ``x0``, NaN outside ``x``."""
    order = np.argsort(x)
    flat = rows.reshape(-1, x.size)
    out = np.array([np.interp(x0, x[order], y[order], left=np.nan, right=np.nan) for y in flat])
    return out.reshape(rows.shape[:-1] + (x0.size,))


def _axis_difference(x: np.ndarray, x0: np.ndarray) -> str:
    """Words for how two axes differ: length, range, step."""
    if x.shape != x0.shape:
        return f"{x.size} points {x.max():g}..{x.min():g} eV against {x0.size} points {x0.max():g}..{x0.min():g} eV"
    offset = np.median(np.sort(x) - np.sort(x0))
    return f"offset by {offset:+.3g} eV ({x.max():g}..{x.min():g} against {x0.max():g}..{x0.min():g})"


def _check_batches(regions: dict[str, xr.DataArray]) -> tuple[str, ...]:
    """All regions must share batch dims and coordinates: quantification pairs them step by step."""
    first_name, first = next(iter(regions.items()))
    dims = first.dims[:-1]
    for name, da in regions.items():
        if da.dims[:-1] != dims:
            raise DataError(f"region {name}: batch dims {da.dims[:-1]} differ from {first_name}'s {dims}")
        for d in dims:
            if d in first.coords and d in da.coords and not np.array_equal(first[d].values, da[d].values):
                raise DataError(f"region {name}: {d} coordinate differs from {first_name}'s")
            if da.sizes[d] != first.sizes[d]:
                raise DataError(f"region {name}: {da.sizes[d]} {d} steps, {first_name} has {first.sizes[d]}")
    return dims


def fit_depth_profile(regions: Mapping[str, xr.DataArray], libraries: Mapping[str, object] | None = None, *,
                      components: Mapping[str, object] | None = None, share: object = None,
                      reference: object = _DEFAULT, charge_shift=None, on_charge_error: str = "raise",
                      resample: bool = False, rsf: Mapping[str, float] | None = None,
                      transmission: object = None, imfp_exponent: float | None = IMFP_EXPONENT,
                      photon_energy: float | None = None, **fit_options) -> xr.DataTree:
    """Fit an XPS depth profile and quantify it.

    Parameters
    ----------
    regions : mapping of str -> xarray.DataArray (or sequence of them)
        Region name (``"C1s"``, ``"F 1s"``...) -> spectra with the binding
        energy (eV, either order) last and the same batch dims (e.g.
        ``etch_time`` in s) in every region.  A sequence of spectra (one per
        step) is stacked with :func:`stack_steps` along ``step``.  A core
        level without a species library (``Sn3d5``, ``Ti2p``...) is
        quantified by its Shirley-subtracted area
        (:func:`specfit.xps.quant.integrate_region`); a survey or valence
        region is left out (``attrs["regions_left_out"]``).
    libraries : mapping, optional
        Region -> library name, TOML path or Library; default ``xps/<Region>``.
    components : mapping, optional
        Region -> subset of the library's components (list or ``"a,b"``).
    share : str, sequence or mapping, optional
        Parameters shared along the series in a global fit (``"center,width"``),
        for all regions or per region.  Shared fits see the charge-corrected
        energies.
    reference : str, ChargeReference, sequence of them, or None
        Default (or ``"auto"``): one shift per step by consensus of every region's candidate
        reference lines (:mod:`specfit.xps.consensus`).  Given as
        ``"COMPONENT@REGION=ENERGY"`` (one or several): the first sets the shift
        and the others must agree within 0.2 eV
        (:func:`specfit.xps.charge.measure_shift`).  None disables referencing.
    charge_shift : float, sequence, xarray.DataArray or mapping, optional
        Known shift (eV, added to the energies).  A number, a sequence (one per
        step, input order) or a per-step DataArray applies to every region and
        replaces ``reference``; a mapping region -> shift (each a number or a
        sequence) applies to the regions it names (naming ``C1s`` or the
        reference region sets every region's shift), the others are
        referenced as usual.
    on_charge_error : {"raise", "flag"}
        A step whose referencing fails (two shifts equally good; with a given
        reference: at its range limit, minor, absent, disagreeing): raise
        :class:`~specfit.errors.SpecfitError` (default), or go on and flag it.
    resample : bool
        Allow spectra of one region on different axes (sequence input): see
        :func:`stack_steps`; resampled steps are flagged ``resampled_axis``.
    rsf : mapping, optional
        Element -> relative sensitivity factor (default: library, then Scofield).
    transmission : mapping, str or float, optional
        Analyser transmission: see :func:`specfit.xps.quant.quantify` (default: the file's, else none).
    imfp_exponent : float, optional
        IMFP correction ``lambda ~ KE^m`` (default 0.75; 0 switches it off).
    photon_energy : float, optional
        Photon energy (eV); default the files', else Al Kα 1486.6 eV (noted).
    **fit_options
        Passed to :func:`specfit.fit` for every region (``background``,
        ``engine``, ``weights``...), or per region as a mapping.

    Returns
    -------
    xarray.DataTree
        One child per region with the ``specfit.fit`` schema, ``charge_shift``
        and ``charge_shift_uncertainty`` (eV), ``flags`` and ``notes`` filled in;
        the per-component element is the coordinate ``component_element`` there
        (``element`` is the root's dimension, inherited by every child).  The
        root holds ``atomic_percent``, ``species_percent`` (each with
        ``*_stderr`` and ``*_uncertainty``, in %), ``charge_shift`` and
        ``charge_shift_uncertainty`` along the batch dims, and the
        cross-region checks (``cross_region_note``).

    Raises
    ------
    SpecfitError
        Bad options, or a step whose charge referencing fails (with ``on_charge_error="raise"``).
    """
    if on_charge_error not in ON_CHARGE_ERROR:
        raise SpecfitError(f"on_charge_error={on_charge_error!r}: choose one of {', '.join(ON_CHARGE_ERROR)}")
    data = {}
    for key, value in regions.items():
        region = normalise_region(key)
        if not isinstance(value, xr.DataArray):
            value = stack_steps(list(value), resample=resample, names=[f"region {region} spectrum {i}"
                                                                       for i in range(len(value))])
        data[region] = value
    if not data:
        raise DataError("no regions to fit")
    resampled = {r: da[RESAMPLED] for r, da in data.items() if RESAMPLED in da.coords}
    data = {r: da.drop_vars(RESAMPLED, errors="ignore") for r, da in data.items()}
    libs = {r: (_per_region(libraries, r) if libraries else None) or region_library(r) for r in data}
    left_out = [r for r, lib in libs.items() if lib is None and not is_core_level(r)]
    no_level = [r for r, lib in libs.items() if lib is None and is_core_level(r) and subshell(r) is None
                and element_of(r) not in (rsf or {})]
    if no_level:
        raise SpecfitError(f"no library and no tabulated cross-section for region(s) {', '.join(no_level)}; pass "
                           "libraries={region: name_or_path} or rsf={element: value}")
    for r in left_out:
        del data[r], libs[r]
    if not data:
        raise DataError(f"no core-level region to quantify (left out: {', '.join(left_out)})")
    dims = _check_batches(data)
    integrated = [r for r, lib in libs.items() if lib is None]

    def run(region: str, da: xr.DataArray, *, free_centers: bool = False) -> xr.Dataset:
        options = {k: _per_region(v, region) for k, v in fit_options.items()}
        options = {k: v for k, v in options.items() if v is not None}
        # The reference fit measures each step's own charging, so nothing is shared there.
        shared = None if free_centers else _per_region(share, region)
        return fit(da, libs[region], components=_per_region(components, region), share=shared or None, **options)

    consensus_mode = reference is _DEFAULT or (isinstance(reference, str) and reference.strip().lower() == "auto")
    if consensus_mode:
        reference = None
    refs = parse_references(reference)
    shifts, sources, codes, messages, uncertainty, step_notes = _region_shifts(
        data, dims, refs, charge_shift, libs, components, run, consensus_mode)
    if messages and on_charge_error == "raise":
        raise SpecfitError("; ".join(messages[:3]) + (f" (and {len(messages) - 3} more)" if len(messages) > 3 else "")
                           + "; give --charge-shift or --on-charge-error flag")
    results = {}
    for region, da in data.items():
        shift = shifts[region]
        shifted = da
        if shift is not None:
            shifted = apply_shift(da, shift)
            # the axis is referenced: specfit.fit must not note it as measured (axis_not_referenced)
            shifted.attrs = {**da.attrs, "charge_shift": float(np.nanmedian(np.asarray(shift, float)))}
        ds = run(region, shifted) if region not in integrated else integrate_region(region, shifted)
        value = shift.fillna(0.0) if isinstance(shift, xr.DataArray) else (shift or 0.0)
        ds["charge_shift"] = (xr.zeros_like(ds["success"], dtype=float) + value).astype(float)
        ds["charge_shift"].attrs.update(units="eV", long_name="charge shift added to the binding energy")
        unc = uncertainty.get(region) if uncertainty else None
        ds["charge_shift_uncertainty"] = (xr.zeros_like(ds["success"], dtype=float)
                                          + (unc if unc is not None else np.nan)).astype(float)
        ds["charge_shift_uncertainty"].attrs.update(units="eV", long_name="standard uncertainty of charge_shift")
        ds.attrs["charge_shift_source"] = sources[region]
        step_codes = [codes] if codes is not None else []
        if region in resampled:
            step_codes.append(xr.where(resampled[region], RESAMPLED, "").astype(object))
        ds["flags"] = _merge_flags(ds, step_codes)
        ds = _add_notes(ds, step_notes.get(region))
        results[region] = ds
    root = quantify(results, rsf=dict(rsf or {}), transmission=_transmission_option(transmission), data=data,
                    imfp_exponent=imfp_exponent, photon=photon_energy)
    first = results[next(iter(results))]
    root["charge_shift"] = first["charge_shift"].copy()
    root["charge_shift_uncertainty"] = first["charge_shift_uncertainty"].copy()
    checks = cross_region_checks(results, root)
    root = root.assign(cross_region_note=checks.note)
    for region, flags in checks.region_flags.items():
        results[region] = _flag_region(results[region], flags)
    root.attrs.update(_root_attrs(results, libs, refs, charge_shift, share, sources, consensus_mode))
    root.attrs["regions_integrated"] = list(integrated)
    root.attrs["regions_left_out"] = [f"{r} (not a core level: survey or valence)" for r in left_out]
    # the root's `element` dimension is inherited by every child: the children's per-component element
    # coordinate of the same name would clash with it (KeyError 'element' on .sel), so it is renamed there
    children = {f"/{r}": ds.rename_vars({"element": "component_element"}) if "element" in ds.coords else ds
                for r, ds in results.items()}
    return xr.DataTree.from_dict({"/": root, **children})


def _transmission_option(transmission):
    if isinstance(transmission, Mapping):
        return {normalise_region(k): v for k, v in transmission.items()}
    return transmission


def _add_notes(ds: xr.Dataset, notes: xr.DataArray | None) -> xr.Dataset:
    """Append the workflow's per-step note (code, words) to the fit's ``notes``/``note_message``."""
    base_codes = ds["notes"] if "notes" in ds else xr.full_like(ds["success"], "", dtype=object)
    base_words = ds["note_message"] if "note_message" in ds else xr.full_like(ds["success"], "", dtype=object)
    codes = [str(c) for c in np.ravel(base_codes.values)]
    words = [str(w) for w in np.ravel(base_words.values)]
    shift = np.ravel(ds["charge_shift"].values)
    extra = np.ravel(np.broadcast_to(np.asarray(notes.broadcast_like(ds["success"]).values, dtype=object),
                                     ds["success"].shape)) if notes is not None else [None] * len(codes)
    for i, item in enumerate(extra):
        if item:
            code, text = item
            codes[i] = join_notes(codes[i], code)
            words[i] = f"{words[i]}; {text}" if words[i] else text
        if "charge_shift_applied" in codes[i] or (np.isfinite(shift[i]) and shift[i] != 0.0):
            codes[i] = ",".join(c for c in codes[i].split(",") if c and c != "axis_not_referenced")
            words[i] = "; ".join(w for w in words[i].split("; ") if w and "not charge referenced" not in w)
    shape = ds["success"].shape
    ds["notes"] = ds["success"].copy(data=np.array(codes, dtype=object).astype(str).reshape(shape))
    ds["note_message"] = ds["success"].copy(data=np.array(words, dtype=object).astype(str).reshape(shape))
    return ds


def _flag_region(ds: xr.Dataset, flags: list[tuple[np.ndarray, str]]) -> xr.Dataset:
    """Add ``cross_region_mismatch`` with its words to the steps ``mask`` of a region."""
    codes = [str(c) for c in np.ravel(ds["flags"].values)]
    words = [str(w) for w in np.ravel(ds["fit_message"].values)] if "fit_message" in ds else [""] * len(codes)
    for mask, text in flags:
        for i in np.flatnonzero(np.ravel(mask)):
            codes[i] = join_codes(codes[i], "cross_region_mismatch")
            words[i] = f"{words[i]}; {text}" if words[i] else text
    shape = ds["success"].shape
    ds["flags"] = ds["success"].copy(data=np.array(codes, dtype=object).astype(str).reshape(shape))
    ds["fit_message"] = ds["success"].copy(data=np.array(words, dtype=object).astype(str).reshape(shape))
    return ds


def _merge_flags(ds: xr.Dataset, extra: list[xr.DataArray]) -> xr.DataArray:
    """The fit's ``flags`` (if any) with the workflow's codes appended, comma-separated, no duplicates."""
    base = ds["flags"] if "flags" in ds else xr.full_like(ds["success"], "", dtype=object)
    rows = np.asarray(base.values, dtype=object).ravel().tolist()
    for codes in extra:
        values = np.ravel(np.broadcast_to(np.asarray(codes.broadcast_like(base).values, dtype=object), base.shape))
        rows = [",".join(dict.fromkeys(c for c in f"{a},{b}".split(",") if c)) for a, b in zip(rows, values)]
    out = base.copy(data=np.array([str(r) for r in rows], dtype=object).reshape(base.shape))
    out.attrs.update(long_name="result flags (comma-separated codes, empty when clean)")
    return out


def _per_step(template: xr.DataArray, value, what: str = "charge_shift") -> xr.DataArray:
    """A shift for every step: a number, a sequence (one per step, input order) or a DataArray."""
    if isinstance(value, xr.DataArray) or np.ndim(value) == 0:
        try:
            out = xr.zeros_like(template, dtype=float) + value
        except (TypeError, ValueError):
            raise SpecfitError(f"{what}: {value!r} is not a number") from None
    else:
        values = np.asarray(value, float).ravel()
        if values.size != template.size:
            raise SpecfitError(f"{what}: {values.size} shifts given for {template.size} steps (one per step, in "
                               "input order)")
        out = template.copy(data=values.reshape(template.shape))
    return out.astype(float).assign_attrs(units="eV", long_name="charge shift")


def _region_shifts(data, dims, refs: list[ChargeReference], charge_shift, libs, components, run,
                   consensus_mode: bool = False):
    """Shift per region (None or per-step DataArray), its source, per-step flag codes, error messages,
    uncertainty per region and per-step notes ``(code, words)`` per region."""
    first_da = next(iter(data.values()))
    template = first_da.isel({first_da.dims[-1]: 0}, drop=True)
    template = template.drop_vars([c for c in template.coords if c not in template.dims])
    labels = step_labels(template)

    def per_step(value) -> xr.DataArray:
        return _per_step(template, value)

    def given_notes(shift: xr.DataArray, text: str) -> xr.DataArray:
        return template.copy(data=np.array([("charge_shift_applied", f"charge shift {v:+.2f} eV {text}")
                                            for v in np.ravel(shift.values)] + [None],
                                           dtype=object)[:-1].reshape(template.shape))

    if charge_shift is not None and not isinstance(charge_shift, Mapping):
        shift = per_step(charge_shift)
        notes = given_notes(shift, "given")
        return (dict.fromkeys(data, shift), dict.fromkeys(data, "given"), None, [], {},
                dict.fromkeys(data, notes))
    given = {normalise_region(k): v for k, v in (charge_shift or {}).items()}
    unknown = [k for k in given if k not in data]
    if unknown:
        raise SpecfitError(f"charge_shift names region(s) {', '.join(unknown)} not in the input "
                           f"(regions: {', '.join(data)})")
    shifts = {r: per_step(v) for r, v in given.items()}
    sources = dict.fromkeys(given, "given")
    notes = {r: given_notes(shifts[r], f"given for {r}") for r in given}
    for region, da in data.items():
        cal = casa_calibration(da)
        if cal is not None:
            text = "; ".join(c.text for c in casa_calibrations(da))
            if region not in given:
                shifts[region] = per_step(cal)
                sources[region] = "CasaXPS calibration in the file: " + text
                notes[region] = given_notes(shifts[region], "(CasaXPS calibration stored in the file)")
            else:
                sources[region] = f"given (superseding the file's CasaXPS calibration {text})"
        # the workflow decides every region's shift: specfit.fit must not apply a calibration again
        data[region] = da.assign_attrs({CASA_APPLIED: sources.get(region, "")})
    codes, messages, step, uncertainty, step_note = None, [], None, {}, None
    missing = [r.region for r in refs if r.region not in data]
    if missing:
        raise SpecfitError(f"charge reference {describe(refs)}: no {', '.join(missing)} region among "
                           f"{', '.join(data)}; pass another reference or disable it")
    lead = refs[0].region if refs else ("C1s" if consensus_mode else None)
    if lead is not None and lead in shifts and lead in given:
        step, step_source = shifts[lead], f"{sources[lead]} (reference region {lead})"
        step_note = notes[lead]
    elif refs:
        measured: list[ShiftMeasurement] = []
        for ref in refs:
            lib = _loaded(libs[ref.region], components, ref.region)
            measured.append(measure_shift(data[ref.region], ref, lib,
                                          lambda da, region=ref.region: run(region, da, free_centers=True)))
        codes = measured[0].codes.copy()
        messages = list(measured[0].messages)
        for ref, m in zip(refs[1:], measured[1:]):
            messages.extend(m.messages)
            bad, words = disagreements(refs[0], measured[0].shift, ref, m.shift)
            messages.extend(words)
            codes = xr.where(codes != "", codes, xr.where(m.codes != "", m.codes, "")).astype(object)
            codes = xr.where(bad & (codes == ""), "charge_references_disagree", codes).astype(object)
        step, step_source = measured[0].shift, f"reference {refs[0]}"
        if len(refs) > 1:
            step.attrs["checked_against"] = describe(refs[1:])
        step_note = given_notes(step.fillna(0.0), f"from reference {refs[0]}")
    elif consensus_mode:
        todo = {r: da for r, da in data.items() if r not in shifts}
        if todo:
            loaded = {r: (_loaded(libs[r], components, r) if libs[r] is not None else None) for r in todo}
            found = consensus_shifts(todo, loaded, lambda region, da: run(region, da, free_centers=True), labels)
            values = np.array([o.shift for o in found])
            if np.isfinite(values).any():
                step = template.copy(data=values.reshape(template.shape)).assign_attrs(
                    units="eV", long_name="charge shift", method="consensus of reference lines")
                uncertainty_step = template.copy(data=np.array([o.uncertainty for o in found]).reshape(
                    template.shape))
                codes = template.copy(data=np.array([o.code for o in found], dtype=object).reshape(template.shape))
                messages = [o.message for o in found if o.code]
                items = [(("charge_shift_applied", "; ".join(t for t in (o.note, o.message) if t)) if o.note else
                          ("axis_not_referenced", "no reference line found: axis not charge referenced"))
                         for o in found]
                step_note = template.copy(data=np.array(items + [None], dtype=object)[:-1].reshape(template.shape))
                step_source = "consensus of reference lines (" + ", ".join(
                    dict.fromkeys(n.split("@")[1] for o in found for n in o.agreed)) + ")"
                uncertainty = dict.fromkeys(todo, uncertainty_step)
            else:
                step_source = "none (no reference line found in any region)"
    for region in data:
        if region not in shifts:
            shifts[region] = step
            sources[region] = step_source if step is not None else "none"
            if step_note is not None:
                notes[region] = step_note
    return shifts, sources, codes, messages, uncertainty, notes


def _loaded(lib, components, region):
    lib = load_library(lib)
    subset = _per_region(components, region)
    if subset:
        lib = lib.subset([s.strip() for s in subset.split(",")] if isinstance(subset, str) else list(subset))
    return lib


def _root_attrs(results, libs, refs, charge_shift, share, sources, consensus_mode=False) -> dict:
    first = next(iter(results.values()))
    if charge_shift is not None and not isinstance(charge_shift, Mapping):
        ref_text = "given"
    elif refs:
        ref_text = describe(refs)
    elif consensus_mode:
        ref_text = "consensus"  # of every region's reference lines (specfit.xps.consensus); short: figure titles
    else:
        ref_text = "none"
    return {
        "specfit_version": __version__,
        "workflow": "xps depth profile",
        ATTR: "depth_profile",
        "regions": list(results),
        "libraries": json.dumps({r: str(getattr(lib, "name", lib)) for r, lib in libs.items()}),
        "charge_reference": ref_text,
        "charge_shift_sources": json.dumps(sources),
        "share": str(share or ""),
        "background": first.attrs.get("background", ""),
        "created": first.attrs.get("created", ""),
    }
