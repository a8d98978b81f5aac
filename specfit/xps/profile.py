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
)
from specfit.xps.naming import normalise_region, region_library
from specfit.xps.quant import quantify

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
                      transmission: Mapping[str, float] | None = None, **fit_options) -> xr.DataTree:
    """Fit an XPS depth profile and quantify it.

    Parameters
    ----------
    regions : mapping of str -> xarray.DataArray (or sequence of them)
        Region name (``"C1s"``, ``"F 1s"``...) -> spectra with the binding
        energy (eV, either order) last and the same batch dims (e.g.
        ``etch_time`` in s) in every region.  A sequence of spectra (one per
        step) is stacked with :func:`stack_steps` along ``step``.
    libraries : mapping, optional
        Region -> library name, TOML path or Library; default ``xps/<Region>``.
    components : mapping, optional
        Region -> subset of the library's components (list or ``"a,b"``).
    share : str, sequence or mapping, optional
        Parameters shared along the series in a global fit (``"center,width"``),
        for all regions or per region.  Shared fits see the charge-corrected
        energies.
    reference : str, ChargeReference, sequence of them, or None
        Charge reference(s) ``"COMPONENT@REGION=ENERGY"``; default
        ``C-C@C1s=284.8`` when a C1s region is given, else none.  With several,
        the first sets the shift and the others must agree within 0.2 eV.
        The line is located on the data (offsets up to +/-5 eV) before the
        fit; see :func:`specfit.xps.charge.measure_shift`.  None disables referencing.
    charge_shift : float, xarray.DataArray or mapping, optional
        Known shift (eV, added to the energies).  A number or a per-step
        DataArray applies to every region and replaces ``reference``; a
        mapping region -> shift applies to the regions it names (when it
        names the reference region, that shift is the step's shift for
        every region), the others are referenced as usual.
    on_charge_error : {"raise", "flag"}
        A reference at its range limit, minor, absent, or two references that
        disagree: raise :class:`~specfit.errors.SpecfitError` (default), or
        go on and flag the steps (``charge_reference_at_bound``,
        ``charge_reference_minor``, ``charge_reference_not_found``,
        ``charge_references_disagree`` in ``flags``).
    resample : bool
        Allow spectra of one region on different axes (sequence input): see
        :func:`stack_steps`; resampled steps are flagged ``resampled_axis``.
    rsf : mapping, optional
        Element -> relative sensitivity factor (default: library, then Scofield).
    transmission : mapping, optional
        Region -> analyser transmission (default: the file's, else 1).
    **fit_options
        Passed to :func:`specfit.fit` for every region (``background``,
        ``engine``, ``weights``...), or per region as a mapping.

    Returns
    -------
    xarray.DataTree
        One child per region with the ``specfit.fit`` schema, ``charge_shift``
        (eV) and ``flags`` filled in; the per-component element is the
        coordinate ``component_element`` there (``element`` is the root's
        dimension, inherited by every child).  The root holds
        ``atomic_percent``, ``species_percent`` (each with ``*_stderr``, in %)
        and ``charge_shift`` along the batch dims.

    Raises
    ------
    SpecfitError
        Bad options, a region without a library, or a charge reference that
        fails its checks (with ``on_charge_error="raise"``).
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
    dims = _check_batches(data)
    libs = {r: (_per_region(libraries, r) if libraries else None) or region_library(r) for r in data}
    missing = [r for r, lib in libs.items() if lib is None]
    if missing:
        raise SpecfitError(f"no library for region(s) {', '.join(missing)}; pass libraries={{region: name_or_path}}")

    def run(region: str, da: xr.DataArray, *, free_centers: bool = False) -> xr.Dataset:
        options = {k: _per_region(v, region) for k, v in fit_options.items()}
        options = {k: v for k, v in options.items() if v is not None}
        # The reference fit measures each step's own charging, so nothing is shared there.
        shared = None if free_centers else _per_region(share, region)
        return fit(da, libs[region], components=_per_region(components, region), share=shared or None, **options)

    if reference is _DEFAULT:
        reference = ChargeReference() if "C1s" in data else None
    refs = parse_references(reference)
    shifts, sources, codes, messages = _region_shifts(data, dims, refs, charge_shift, libs, components, run)
    if messages and on_charge_error == "raise":
        raise SpecfitError("; ".join(messages[:4]) + (f" (and {len(messages) - 4} more)" if len(messages) > 4 else "")
                           + "; pass on_charge_error='flag' (--on-charge-error flag) to go on with flagged steps")
    results = {}
    for region, da in data.items():
        shift = shifts[region]
        shifted = apply_shift(da, shift) if shift is not None else da
        ds = run(region, shifted)
        value = shift.fillna(0.0) if isinstance(shift, xr.DataArray) else (shift or 0.0)
        ds["charge_shift"] = (xr.zeros_like(ds["success"], dtype=float) + value).astype(float)
        ds["charge_shift"].attrs.update(units="eV", long_name="charge shift added to the binding energy")
        ds.attrs["charge_shift_source"] = sources[region]
        step_codes = [codes] if codes is not None else []
        if region in resampled:
            step_codes.append(xr.where(resampled[region], RESAMPLED, "").astype(object))
        ds["flags"] = _merge_flags(ds, step_codes)
        results[region] = ds
    root = quantify(results, rsf=dict(rsf or {}), transmission=dict(transmission or {}), data=data)
    root["charge_shift"] = (results[next(iter(results))]["charge_shift"]).copy()
    root.attrs.update(_root_attrs(results, libs, refs, charge_shift, share, sources))
    # the root's `element` dimension is inherited by every child: the children's per-component element
    # coordinate of the same name would clash with it (KeyError 'element' on .sel), so it is renamed there
    children = {f"/{r}": ds.rename_vars({"element": "component_element"}) if "element" in ds.coords else ds
                for r, ds in results.items()}
    return xr.DataTree.from_dict({"/": root, **children})


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


def _region_shifts(data, dims, refs: list[ChargeReference], charge_shift, libs, components, run):
    """Shift per region (None, float or per-step DataArray), its source, per-step flag codes and error messages."""
    first_da = next(iter(data.values()))
    template = first_da.isel({first_da.dims[-1]: 0}, drop=True)
    template = template.drop_vars([c for c in template.coords if c not in template.dims])

    def per_step(value) -> xr.DataArray:
        return (xr.zeros_like(template, dtype=float) + value).assign_attrs(units="eV", long_name="charge shift")

    if charge_shift is not None and not isinstance(charge_shift, Mapping):
        shift = per_step(charge_shift)
        return dict.fromkeys(data, shift), dict.fromkeys(data, "given"), None, []
    given = {normalise_region(k): v for k, v in (charge_shift or {}).items()}
    unknown = [k for k in given if k not in data]
    if unknown:
        raise SpecfitError(f"charge_shift names region(s) {', '.join(unknown)} not in the input "
                           f"(regions: {', '.join(data)})")
    shifts = {r: per_step(v) for r, v in given.items()}
    sources = dict.fromkeys(given, "given")
    for region, da in data.items():
        cal = casa_calibration(da)
        if cal is not None:
            text = "; ".join(c.text for c in casa_calibrations(da))
            if region not in given:
                shifts[region] = per_step(cal)
                sources[region] = "CasaXPS calibration in the file: " + text
            else:
                sources[region] = f"given (superseding the file's CasaXPS calibration {text})"
        # the workflow decides every region's shift: specfit.fit must not apply a calibration again
        data[region] = da.assign_attrs({CASA_APPLIED: sources.get(region, "")})
    codes, messages, step = None, [], None
    missing = [r.region for r in refs if r.region not in data]
    if missing:
        raise SpecfitError(f"charge reference {describe(refs)}: no {', '.join(missing)} region among "
                           f"{', '.join(data)}; pass another reference or disable it")
    if refs and refs[0].region in shifts:
        step, step_source = shifts[refs[0].region], f"{sources[refs[0].region]} (reference region {refs[0].region})"
    elif refs:
        measured: list[ShiftMeasurement] = []
        for ref in refs:
            lib = load_library(libs[ref.region])
            subset = _per_region(components, ref.region)
            if subset:
                lib = lib.subset([s.strip() for s in subset.split(",")] if isinstance(subset, str) else list(subset))
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
    for region in data:
        if region not in shifts:
            shifts[region] = step
            sources[region] = step_source if step is not None else "none"
    return shifts, sources, codes, messages


def _root_attrs(results, libs, refs, charge_shift, share, sources) -> dict:
    first = next(iter(results.values()))
    if charge_shift is not None and not isinstance(charge_shift, Mapping):
        ref_text = "given"
    else:
        ref_text = describe(refs) if refs else "none"
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
