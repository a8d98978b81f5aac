"""``fit_depth_profile``: charge-reference, fit and quantify every region of an etching series."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import xarray as xr

from .._version import __version__
from ..errors import DataError, SpecfitError
from ..fitting import fit
from .charge import ChargeReference, apply_shift, parse_reference, shifts_from_fit
from .naming import normalise_region, region_library
from .quant import quantify

_DEFAULT = object()


def _per_region(option, region: str):
    """An option given per region (dict) or for all regions (anything else)."""
    if isinstance(option, Mapping):
        for key, value in option.items():
            if normalise_region(key) == region:
                return value
        return None
    return option


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


def fit_depth_profile(regions: Mapping[str, xr.DataArray], *, libraries: Mapping[str, object] | None = None,
                      components: Mapping[str, object] | None = None, share: object = None,
                      reference: str | ChargeReference | None = _DEFAULT, charge_shift=None,
                      rsf: Mapping[str, float] | None = None, transmission: Mapping[str, float] | None = None,
                      **fit_options) -> xr.DataTree:
    """Fit an XPS depth profile and quantify it.

    Parameters
    ----------
    regions : mapping of str -> xarray.DataArray
        Region name (``"C1s"``, ``"F 1s"``...) -> spectra with the binding
        energy (eV, either order) last and the same batch dims (e.g.
        ``etch_time`` in s) in every region.
    libraries : mapping, optional
        Region -> library name, TOML path or Library; default ``xps/<Region>``.
    components : mapping, optional
        Region -> subset of the library's components (list or ``"a,b"``).
    share : str, sequence or mapping, optional
        Parameters shared along the series in a global fit (``"center,width"``),
        for all regions or per region.
    reference : str or ChargeReference or None
        Charge reference ``"COMPONENT@REGION=ENERGY"``; default ``C-C@C1s=284.8``
        when a C1s region is given, else none.  None disables referencing.
    charge_shift : float or xarray.DataArray, optional
        Known shift per step (eV, added to the energies); replaces ``reference``.
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
        (eV) filled in; the root holds ``atomic_percent``, ``species_percent``
        (each with ``*_stderr``, in %) and ``charge_shift`` along the batch dims.
    """
    data = {normalise_region(k): v for k, v in regions.items()}
    if not data:
        raise DataError("no regions to fit")
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
    reference = parse_reference(reference)
    shift = _step_shifts(data, dims, reference, charge_shift, run)
    results = {}
    for region, da in data.items():
        shifted = apply_shift(da, shift) if shift is not None else da
        ds = run(region, shifted)
        if shift is not None:
            ds["charge_shift"] = shift.fillna(0.0).broadcast_like(ds["success"]).astype(float)
        ds["charge_shift"].attrs.update(units="eV", long_name="charge shift added to the binding energy")
        results[region] = ds
    root = quantify(results, rsf=dict(rsf or {}), transmission=dict(transmission or {}), data=data)
    root["charge_shift"] = (results[next(iter(results))]["charge_shift"]).copy()
    root.attrs.update(_root_attrs(results, libs, reference, charge_shift, share))
    return xr.DataTree.from_dict({"/": root, **{f"/{r}": ds for r, ds in results.items()}})


def _step_shifts(data, dims, reference, charge_shift, run, *, max_rounds: int = 5,
                 tolerance: float = 0.005) -> xr.DataArray | None:
    """Per-step shift (eV): given, measured from the reference region, or None (no referencing).

    ``tolerance`` (eV) ends the refinement rounds; ``max_rounds`` bounds them.
    """
    first_da = next(iter(data.values()))
    template = first_da.isel({first_da.dims[-1]: 0}, drop=True)
    template = template.drop_vars([c for c in template.coords if template[c].ndim == 0])
    if charge_shift is not None:
        return xr.zeros_like(template, dtype=float) + charge_shift
    if reference is None:
        return None
    if reference.region not in data:
        raise SpecfitError(f"charge reference {reference}: no {reference.region} region among "
                           f"{', '.join(data)}; pass another reference or disable it")
    # A reference line charged beyond its library range stops at the range edge; refitting the
    # shifted data moves it on by up to the range half-width each round, so a few rounds converge.
    raw = data[reference.region]
    shift = shifts_from_fit(run(reference.region, raw, free_centers=True), reference)
    if bool(shift.isnull().all()):
        raise SpecfitError(f"charge reference {reference}: the {reference.region} fit failed in every step")
    for _ in range(max_rounds):
        extra = shifts_from_fit(run(reference.region, apply_shift(raw, shift), free_centers=True), reference)
        shift = shift + extra.fillna(0.0)
        if float(np.nanmax(np.abs(extra.values), initial=0.0)) < tolerance:
            break
    shift.attrs = {"units": "eV", "long_name": "charge shift", "reference": str(reference)}
    return shift


def _root_attrs(results, libs, reference, charge_shift, share) -> dict:
    first = next(iter(results.values()))
    return {
        "specfit_version": __version__,
        "workflow": "xps depth profile",
        "regions": list(results),
        "libraries": json.dumps({r: str(getattr(lib, "name", lib)) for r, lib in libs.items()}),
        "charge_reference": str(reference) if reference is not None and charge_shift is None else
        ("given" if charge_shift is not None else "none"),
        "share": str(share or ""),
        "background": first.attrs.get("background", ""),
        "created": first.attrs.get("created", ""),
    }
