"""Quantification: atomic % per element and species % within each element, with propagated errors.

For element ``e`` with fitted area ``A_e`` (sum of its components over the
regions that carry it), relative sensitivity factor ``S_e`` and analyser
transmission ``T_e``: ``N_e = A_e / (S_e T_e)`` and ``x_e = N_e / sum_j N_j``.
Regions are fitted independently, so the ``N_j`` are independent and
``var x_e = ((1 - x_e)^2 var N_e + x_e^2 sum_{j != e} var N_j) / (sum N)^2``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from specfit.errors import SpecfitError
from specfit.xps.naming import element_of

# Scofield, J. Electron Spectrosc. Relat. Phenom. 8, 129 (1976), Al Ka, relative to C 1s = 1
# (S 2p: whole doublet).  The same values as peak_libraries/xps/*.toml.
DEFAULT_RSF: dict[str, float] = {"C": 1.0, "Li": 0.0568, "N": 1.80, "O": 2.93, "F": 4.43, "S": 1.677}


def _element_tags(result: xr.Dataset) -> list[str]:
    """The library's element per component: coordinate ``element`` of a fit result, or ``component_element``
    in a depth-profile child (renamed there, see :func:`specfit.xps.fit_depth_profile`); "" where untagged."""
    for name in ("component_element", "element"):
        if name in result.coords and result[name].dims == ("component",):
            return [str(v or "") for v in result[name].values]
    return [""] * result.sizes["component"]


def _component_elements(region: str, result: xr.Dataset) -> list[str]:
    """Element of each component: the library's ``element``, else the region's."""
    fallback = element_of(region)
    names = _element_tags(result)
    out = []
    for comp, elem in zip(result["component"].values, names):
        elem = str(elem or "") or fallback
        if not elem:
            raise SpecfitError(f"region {region}: component {comp!r} has no element; set 'element' in the library")
        out.append(elem)
    return out


def _component_rsf(region: str, result: xr.Dataset, elements: list[str], rsf: dict[str, float]) -> np.ndarray:
    """RSF per component: user value for its element, else the library's, else Scofield's default."""
    lib_rsf = result["rsf"].values if "rsf" in result.coords else [np.nan] * len(elements)
    has_element = _element_tags(result)
    out = []
    for comp, elem, value, tagged in zip(result["component"].values, elements, lib_rsf, has_element):
        if elem in rsf:
            out.append(float(rsf[elem]))
        elif str(tagged or "") and np.isfinite(value):
            out.append(float(value))  # the library names the element, so its rsf is deliberate
        elif elem in DEFAULT_RSF:
            out.append(DEFAULT_RSF[elem])
        else:
            raise SpecfitError(f"region {region}: no relative sensitivity factor for element {elem} "
                               f"(component {comp!r}); pass rsf={{'{elem}': value}}")
    return np.array(out)


def _transmission(region: str, transmission: dict[str, float] | None, data: xr.DataArray | None) -> float:
    """Transmission of a region: user value, else the file's (``transmission`` attr or coordinate), else 1."""
    if transmission and region in transmission:
        return float(transmission[region])
    if data is not None:
        if "transmission" in data.coords:
            return float(np.nanmean(data["transmission"].values))
        if "transmission" in data.attrs:
            return float(np.nanmean(np.asarray(data.attrs["transmission"], float)))
    return 1.0


def quantify(results: dict[str, xr.Dataset], *, rsf: dict[str, float] | None = None,
             transmission: dict[str, float] | None = None,
             data: dict[str, xr.DataArray] | None = None) -> xr.Dataset:
    """Atomic % per element and species % within each element.

    Parameters
    ----------
    results : dict of str -> xarray.Dataset
        Region name -> ``specfit.fit`` result; all share the same batch dims.
    rsf : dict of str -> float, optional
        Element -> relative sensitivity factor (overrides library and Scofield defaults).
    transmission : dict of str -> float, optional
        Region -> analyser transmission (overrides the file's).
    data : dict of str -> xarray.DataArray, optional
        Region -> input spectra, read for a ``transmission`` attr or coordinate.

    Returns
    -------
    xarray.Dataset
        ``atomic_percent`` (batch..., element) and ``species_percent`` (batch...,
        species) in %, each with ``*_stderr``; ``element_area`` (data x eV),
        ``normalised_area`` = area / (RSF x T); species coordinates
        ``species_element``, ``species_region``, ``species_component``.
    """
    rsf = dict(rsf or {})
    areas: dict[str, list[xr.DataArray]] = {}
    species, s_area, s_err, s_elem, s_region, s_comp = [], [], [], [], [], []
    norm: dict[str, xr.DataArray] = {}
    norm_var: dict[str, xr.DataArray] = {}
    for region, res in results.items():
        elements = _component_elements(region, res)
        factors = _component_rsf(region, res, elements, rsf)
        trans = _transmission(region, transmission, (data or {}).get(region))
        weights = np.array([1.0 / (factors[k] * trans) for k in range(res.sizes["component"])])
        for elem in dict.fromkeys(elements):
            # variance of sum_k w_k A_k over this element's components, with their covariance:
            # overlapping peaks are anti-correlated, so their total is better known than each
            w = xr.DataArray(np.where(np.array(elements) == elem, weights, 0.0), dims="component")
            if "area_covariance" in res:
                var = (res["area_covariance"] * w * w.rename(component="component_2")).sum(
                    ("component", "component_2"), skipna=False)
            else:  # older results: quadrature, an over-estimate for anti-correlated peaks
                var = ((res["area_stderr"] * w) ** 2).sum("component", skipna=False)
            norm_var[elem] = norm_var.get(elem, 0.0) + var
        for k, comp in enumerate(res["component"].values):
            a = res["area"].isel(component=k, drop=True)
            e = res["area_stderr"].isel(component=k, drop=True)
            elem = elements[k]
            norm[elem] = norm.get(elem, 0.0) + a * weights[k]
            areas.setdefault(elem, []).append(a)
            species.append(f"{comp}@{region}")
            s_area.append(a)
            s_err.append(e)
            s_elem.append(elem)
            s_region.append(region)
            s_comp.append(str(comp))
    elements = list(norm)
    n = xr.concat([norm[e] for e in elements], dim="element")
    var_n = xr.concat([norm_var[e] for e in elements], dim="element")
    total = n.sum("element")
    x = n / total
    with np.errstate(invalid="ignore", divide="ignore"):
        var_x = ((1 - x) ** 2 * var_n + x**2 * (var_n.sum("element") - var_n)) / total**2
    ds = xr.Dataset(coords={"element": elements, "species": species})
    ds["atomic_percent"] = 100 * x
    ds["atomic_percent_stderr"] = 100 * np.sqrt(var_x)
    ds["element_area"] = xr.concat([sum(areas[e]) for e in elements], dim="element")
    ds["normalised_area"] = n
    ds["normalised_area_stderr"] = np.sqrt(var_n)
    sa = xr.concat(s_area, dim="species")
    se = xr.concat(s_err, dim="species")
    ds.coords["species_element"] = ("species", s_elem)
    ds.coords["species_region"] = ("species", s_region)
    ds.coords["species_component"] = ("species", s_comp)
    pct, pct_err = _species_percent(results, sa, se, s_elem, s_region, s_comp)
    ds["species_percent"] = pct
    ds["species_percent_stderr"] = pct_err
    for name, unit in (("atomic_percent", "%"), ("atomic_percent_stderr", "%"), ("species_percent", "%"),
                       ("species_percent_stderr", "%"), ("element_area", "data x eV")):
        ds[name].attrs["units"] = unit
    ds.attrs["rsf"] = ", ".join(f"{e}={rsf[e]:g}" for e in sorted(rsf)) or "library / Scofield defaults"
    return ds.transpose(..., "element", "species")


def _species_percent(results, area, err, elements, regions, comps) -> tuple[xr.DataArray, xr.DataArray]:
    """Share of each species within its element, in %.

    When an element lives in one region whose components are all that element
    (the usual case), the share is the fit's own ``fraction``, whose error
    already carries the covariance between components; otherwise the shares
    are recomputed from areas with errors in quadrature.
    """
    pct, pct_err = [], []
    elements = np.array(elements)
    regions = np.array(regions)
    for i, elem in enumerate(elements):
        same = elements == elem
        res = results[regions[i]]
        region_pure = set(regions[same]) == {regions[i]} and same[regions == regions[i]].all()
        if region_pure:
            pct.append(100 * res["fraction"].sel(component=comps[i], drop=True))
            pct_err.append(100 * res["fraction_stderr"].sel(component=comps[i], drop=True))
            continue
        tot = area.isel(species=np.nonzero(same)[0]).sum("species")
        f = area.isel(species=i, drop=True) / tot
        others = (err.isel(species=np.nonzero(same)[0]) ** 2).sum("species") - err.isel(species=i, drop=True) ** 2
        var = ((1 - f) ** 2 * err.isel(species=i, drop=True) ** 2 + f**2 * others) / tot**2
        pct.append(100 * f)
        pct_err.append(100 * np.sqrt(var))
    return xr.concat(pct, dim="species"), xr.concat(pct_err, dim="species")
