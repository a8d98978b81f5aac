"""Quantification: atomic % per element and species % within each element, with propagated errors.

For element ``e`` with area ``A_e`` (sum of its components over the regions
that carry it, or the Shirley-subtracted integral of a region without a
species library), photoionisation cross-section ``S_e`` (Scofield), inelastic
mean free path ``lambda(KE)`` and analyser transmission ``T(KE)`` at the
kinetic energy ``KE = h nu - BE`` of its line:
``N_e = A_e / (S_e lambda T)`` and ``x_e = N_e / sum_j N_j``.

* IMFP: ``lambda ~ KE^m`` with ``m = 0.75`` by default (the energy dependence of the TPP-2M IMFPs between
  ~200 and 2000 eV: S. Tanuma, C. J. Powell, D. R. Penn, Surf. Interface Anal. 21, 165 (1994) and 43, 689
  (2011); M. P. Seah, W. A. Dench, Surf. Interface Anal. 1, 2 (1979) give m = 0.5 for elements).  Only
  ratios matter, so the generic matrix drops out.  ``imfp_exponent=0`` switches it off.
* Transmission: ``"none"`` (T = 1), ``"ke^-0.5"``, ``"ke^-1"`` (the common forms of a hemispherical analyser
  in fixed-analyser-transmission mode, T ~ (E_pass / KE)^n: M. P. Seah, J. Electron Spectrosc. Relat.
  Phenom. 71, 191 (1995)), a number (the exponent n of KE^-n), ``"file"`` (the transmission the file
  carries, VAMAS) or a mapping region -> value; default ``"auto"``: the file's when it has one, else none.
* Photon energy: the data's ``photon_energy`` attribute, else Al Kα 1486.6 eV (noted).

Regions are fitted independently, so the ``N_j`` are independent and
``var x_e = ((1 - x_e)^2 var N_e + x_e^2 sum_{j != e} var N_j) / (sum N)^2``.
``atomic_percent_stderr`` propagates the statistical errors (``area_stderr`` /
``area_covariance``), ``atomic_percent_uncertainty`` the combined ones
(``area_uncertainty`` when the fit provides it, else the statistical).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from specfit.errors import SpecfitError
from specfit.xps.corelevels import NOT_CORE_LEVELS, subshell
from specfit.xps.naming import element_of

# Scofield, J. Electron Spectrosc. Relat. Phenom. 8, 129 (1976), Al Ka, relative to C 1s = 1
# (S 2p: whole doublet).  The same values as peak_libraries/xps/*.toml.
DEFAULT_RSF: dict[str, float] = {"C": 1.0, "Li": 0.0568, "N": 1.80, "O": 2.93, "F": 4.43, "S": 1.677}
#: Al Kα photon energy (eV), assumed when the data do not say.
AL_KALPHA = 1486.6
#: Default IMFP exponent m in lambda ~ KE^m (TPP-2M energy dependence, see the module docstring).
IMFP_EXPONENT = 0.75
#: Named transmission forms -> exponent n of T ~ KE^-n.
TRANSMISSION_FORMS = {"none": 0.0, "ke^-0.5": 0.5, "ke^-1": 1.0}


def is_core_level(region: str) -> bool:
    """A region that is one core level (not a survey / valence band)."""
    return element_of(region) is not None and region.lower() not in NOT_CORE_LEVELS


def integrate_region(region: str, da: xr.DataArray) -> xr.Dataset:
    """A region without a species library as one "component": its Shirley-subtracted area.

    The area is the integral of the data above an iterative Shirley background
    between the region's ends (``specfit.backgrounds.shirley``); its standard
    error combines the counting noise of the points (estimated from the
    point-to-point scatter) and that of the two end levels.  The cross-section
    is the level's: both doublet lines when the window holds both (``"Ti2p"``
    over 450-475 eV, also a ``"Sn3d5"`` region measured over 480-500 eV), the
    main line's when it holds one.

    Returns
    -------
    xarray.Dataset
        ``area``, ``area_stderr``, ``fraction`` (1), ``fraction_stderr`` (0),
        ``success`` per step, one component named after the level, with
        coordinates ``element`` and ``rsf``.
    """
    from specfit.backgrounds.shirley import noise_sigma, shirley_with_info

    level = subshell(region)
    elem = element_of(region)
    if level is None or elem is None:
        raise SpecfitError(f"region {region}: no cross-section for this level; pass rsf={{'{elem}': value}} or a "
                           "library")
    sub, _ = level
    axis = da.dims[-1]
    x = np.asarray(da[axis].values, float)
    # both doublet lines are summed when both lie in the measured window ("Sn3d5" measured over 480-500 eV
    # holds 3d3/2 at ~495 eV too), else the cross-section of the main line alone
    whole = sub.splitting == 0.0 or bool(np.nanmin(x) <= sub.energy + sub.splitting <= np.nanmax(x))
    rows = np.asarray(da.values, float).reshape(-1, x.size)
    area = np.full(rows.shape[0], np.nan)
    err = np.full(rows.shape[0], np.nan)
    order = np.argsort(x)
    xs = x[order]
    straight = 0
    for i, row in enumerate(rows):
        y = row[order]
        ok = np.isfinite(y)
        if ok.sum() < 9:
            continue
        xo, yo = xs[ok], y[ok]
        n_avg = max(5, int(round(0.5 / float(np.median(np.diff(xo))))))  # end levels over >= 0.5 eV
        try:
            # no converged Shirley (the high side below the low side, e.g. a weak line on a falling
            # background): the straight line between the end levels is used, and said in attrs
            bg, info = shirley_with_info(xo, yo, n_average=n_avg)
        except Exception:  # noqa: BLE001 - a background that cannot be built leaves the step unquantified
            continue
        if not getattr(info, "converged", True):
            straight += 1
        net = yo - bg
        area[i] = float(np.trapezoid(net, xo))
        sigma = noise_sigma(yo)
        step = float(np.median(np.diff(xo)))
        width = float(xo[-1] - xo[0])
        err[i] = float(np.hypot(sigma * step * np.sqrt(xo.size), sigma / np.sqrt(n_avg) * width))
    batch = da.isel({axis: 0}, drop=True)
    batch = batch.drop_vars([c for c in batch.coords if not set(batch[c].dims) <= set(batch.dims)])
    dims = (*batch.dims, "component")
    shape = (*batch.shape, 1)
    name = region if whole or region[-1] == "/2" else region + "/2"
    ds = xr.Dataset({"area": (dims, area.reshape(shape)), "area_stderr": (dims, err.reshape(shape)),
                     "fraction": (dims, np.ones(shape)), "fraction_stderr": (dims, np.zeros(shape))},
                    coords={**batch.coords, "component": [name], "element": ("component", [elem]),
                            "rsf": ("component", [sub.whole if whole else sub.main])})
    ds["success"] = batch.copy(data=np.isfinite(area).reshape(batch.shape))
    ds["area"].attrs.update(units="data x eV", long_name="Shirley-subtracted area of the region")
    if straight:
        ds.attrs["background_note"] = (f"{straight} of {rows.shape[0]} steps: no converged Shirley background, the "
                                       "straight line between the end levels was subtracted")
    ds.attrs.update(quantified_by="integration: Shirley-subtracted area, no species library",
                    cross_section=f"Scofield {'whole doublet' if whole else 'main line'} {region}: "
                                  f"{sub.whole if whole else sub.main:g} (C 1s = 1)")
    return ds


def photon_energy(data: dict[str, xr.DataArray] | None) -> tuple[float, str]:
    """The photon energy (eV) of the data and where it came from."""
    for da in (data or {}).values():
        value = da.attrs.get("photon_energy")
        try:
            value = float(value)
        except (TypeError, ValueError):
            continue
        if np.isfinite(value) and value > 0:
            return value, "file"
    return AL_KALPHA, "assumed Al Kα 1486.6 eV (the files give no photon energy)"


def _line_energy(region: str, result: xr.Dataset) -> float:
    """Binding energy of a region's line (eV) for its kinetic energy: the fitted centers, else the tabulated."""
    if "center" in result and "area" in result:
        c = np.asarray(result["center"].values, float)
        a = np.asarray(result["area"].values, float)
        ok = np.isfinite(c) & np.isfinite(a) & (a > 0)
        if ok.any():
            return float(np.average(c[ok], weights=a[ok]))
    level = subshell(region)
    if level is not None:
        return level[0].energy
    return np.nan


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


def _file_transmission(data: xr.DataArray | None) -> float | None:
    """The transmission a file carries (``transmission`` coordinate or attr), None when it has none."""
    if data is not None:
        if "transmission" in data.coords:
            return float(np.nanmean(data["transmission"].values))
        if "transmission" in data.attrs:
            return float(np.nanmean(np.asarray(data.attrs["transmission"], float)))
    return None


def _transmission(region: str, transmission, data: xr.DataArray | None, ke: float) -> tuple[float, str]:
    """Transmission of a region and how it was obtained (see the module docstring for the forms)."""
    if isinstance(transmission, dict):
        if region in transmission:
            return float(transmission[region]), "given"
        transmission = "auto"
    mode = "auto" if transmission is None else transmission
    if isinstance(mode, str):
        key = mode.strip().lower().replace(" ", "")
        if key in ("auto", "file"):
            value = _file_transmission(data)
            if value is not None:
                return value, "file"
            if key == "file":
                raise SpecfitError(f"transmission='file': region {region} carries no transmission function; "
                                   f"choose one of {', '.join(TRANSMISSION_FORMS)} or an exponent")
            return 1.0, "none"
        if key not in TRANSMISSION_FORMS:
            raise SpecfitError(f"transmission {mode!r}: choose auto, file, {', '.join(TRANSMISSION_FORMS)} "
                               "or the exponent n of KE^-n")
        n = TRANSMISSION_FORMS[key]
    else:
        n = float(mode)
    return (ke ** -n if n else 1.0), (f"KE^-{n:g}" if n else "none")


def _variance(res: xr.Dataset, w: xr.DataArray, combined: bool) -> xr.DataArray:
    """Variance of ``sum_k w_k A_k``: combined uncertainties in quadrature, or the statistical covariance.

    A component dropped by selection (area exactly 0, its error NaN) adds nothing; a kept component whose
    error is unknown (NaN: at a bound) makes the variance unknown.
    """
    absent = res["area"] == 0.0
    if combined and "area_uncertainty" in res:
        return ((res["area_uncertainty"].where(~absent, 0.0) * w) ** 2).sum("component", skipna=False)
    if "area_covariance" in res:
        # overlapping peaks are anti-correlated, so their total is better known than each
        cov = res["area_covariance"].where(~absent, 0.0).where(~absent.rename(component="component_2"), 0.0)
        return (cov * w * w.rename(component="component_2")).sum(("component", "component_2"), skipna=False)
    return ((res["area_stderr"].where(~absent, 0.0) * w) ** 2).sum("component", skipna=False)


def quantify(results: dict[str, xr.Dataset], *, rsf: dict[str, float] | None = None,
             transmission: dict[str, float] | str | float | None = None,
             data: dict[str, xr.DataArray] | None = None, imfp_exponent: float | None = IMFP_EXPONENT,
             photon: float | None = None) -> xr.Dataset:
    """Atomic % per element and species % within each element.

    Parameters
    ----------
    results : dict of str -> xarray.Dataset
        Region name -> ``specfit.fit`` result (or :func:`integrate_region`); all share the same batch dims.
    rsf : dict of str -> float, optional
        Element -> relative sensitivity factor (overrides library and Scofield defaults).
    transmission : mapping, str or float, optional
        Region -> transmission, or one form for all: ``"auto"`` (default: the file's when it has one, else
        none), ``"file"``, ``"none"``, ``"ke^-0.5"``, ``"ke^-1"`` or the exponent ``n`` of ``KE^-n``.
    data : dict of str -> xarray.DataArray, optional
        Region -> input spectra (transmission, photon energy).
    imfp_exponent : float or None
        ``m`` of ``lambda ~ KE^m`` (default 0.75, TPP-2M); 0 or None: no IMFP correction.
    photon : float, optional
        Photon energy (eV); default the data's, else Al Kα.

    Returns
    -------
    xarray.Dataset
        ``atomic_percent`` (batch..., element) and ``species_percent`` (batch...,
        species) in %, each with ``*_stderr`` (statistical) and ``*_uncertainty``
        (combined); ``element_area`` (data x eV), ``normalised_area`` = area /
        (RSF x IMFP x T); per region ``region_kinetic_energy``, ``region_imfp``
        (relative), ``region_transmission``; species coordinates
        ``species_element``, ``species_region``, ``species_component``.  Every
        choice is in attrs.
    """
    rsf = dict(rsf or {})
    if photon is None:
        photon, photon_source = photon_energy(data)
    else:
        photon_source = "given"
    m = float(imfp_exponent or 0.0)
    areas: dict[str, list[xr.DataArray]] = {}
    species, s_area, s_err, s_unc, s_elem, s_region, s_comp = [], [], [], [], [], [], []
    norm: dict[str, xr.DataArray] = {}
    norm_var: dict[str, xr.DataArray] = {}
    norm_var_c: dict[str, xr.DataArray] = {}
    region_info = {"ke": [], "imfp": [], "trans": [], "trans_source": []}
    for region, res in results.items():
        elements = _component_elements(region, res)
        factors = _component_rsf(region, res, elements, rsf)
        ke = photon - _line_energy(region, res)
        if not np.isfinite(ke) or ke <= 0:
            raise SpecfitError(f"region {region}: kinetic energy {ke:.1f} eV at photon energy {photon:g} eV")
        imfp = ke**m if m else 1.0
        trans, trans_source = _transmission(region, transmission, (data or {}).get(region), ke)
        region_info["ke"].append(ke)
        region_info["imfp"].append(imfp)
        region_info["trans"].append(trans)
        region_info["trans_source"].append(trans_source)
        weights = np.array([1.0 / (factors[k] * imfp * trans) for k in range(res.sizes["component"])])
        for elem in dict.fromkeys(elements):
            w = xr.DataArray(np.where(np.array(elements) == elem, weights, 0.0), dims="component")
            norm_var[elem] = norm_var.get(elem, 0.0) + _variance(res, w, combined=False)
            norm_var_c[elem] = norm_var_c.get(elem, 0.0) + _variance(res, w, combined=True)
        for k, comp in enumerate(res["component"].values):
            a = res["area"].isel(component=k, drop=True)
            e = res["area_stderr"].isel(component=k, drop=True)
            u = res["area_uncertainty"].isel(component=k, drop=True) if "area_uncertainty" in res else e
            elem = elements[k]
            norm[elem] = norm.get(elem, 0.0) + a * weights[k]
            areas.setdefault(elem, []).append(a)
            species.append(f"{comp}@{region}")
            s_area.append(a)
            s_err.append(e)
            s_unc.append(u)
            s_elem.append(elem)
            s_region.append(region)
            s_comp.append(str(comp))
    elements = list(norm)
    n = xr.concat([norm[e] for e in elements], dim="element")
    total = n.sum("element")
    x = n / total

    def _spread(var_n):
        with np.errstate(invalid="ignore", divide="ignore"):
            return ((1 - x) ** 2 * var_n + x**2 * (var_n.sum("element") - var_n)) / total**2

    var_n = xr.concat([norm_var[e] for e in elements], dim="element")
    var_nc = xr.concat([norm_var_c[e] for e in elements], dim="element")
    ds = xr.Dataset(coords={"element": elements, "species": species, "region": list(results)})
    ds["atomic_percent"] = 100 * x
    ds["atomic_percent_stderr"] = 100 * np.sqrt(_spread(var_n))
    ds["atomic_percent_uncertainty"] = 100 * np.sqrt(_spread(var_nc))
    ds["element_area"] = xr.concat([sum(areas[e]) for e in elements], dim="element")
    ds["normalised_area"] = n
    ds["normalised_area_stderr"] = np.sqrt(var_n)
    ds["normalised_area_uncertainty"] = np.sqrt(var_nc)
    ds["region_kinetic_energy"] = ("region", np.array(region_info["ke"]), {"units": "eV"})
    ds["region_imfp"] = ("region", np.array(region_info["imfp"]),
                         {"long_name": f"relative IMFP, KE^{m:g}", "units": "1"})
    ds["region_transmission"] = ("region", np.array(region_info["trans"]),
                                 {"long_name": "analyser transmission (relative)", "units": "1"})
    sa = xr.concat(s_area, dim="species")
    se = xr.concat(s_err, dim="species")
    su = xr.concat(s_unc, dim="species")
    ds.coords["species_element"] = ("species", s_elem)
    ds.coords["species_region"] = ("species", s_region)
    ds.coords["species_component"] = ("species", s_comp)
    pct, pct_err = _species_percent(results, sa, se, s_elem, s_region, s_comp)
    _, pct_unc = _species_percent(results, sa, su, s_elem, s_region, s_comp, combined=True)
    ds["species_percent"] = pct
    ds["species_percent_stderr"] = pct_err
    ds["species_percent_uncertainty"] = pct_unc
    for name, unit in (("atomic_percent", "%"), ("atomic_percent_stderr", "%"), ("atomic_percent_uncertainty", "%"),
                       ("species_percent", "%"), ("species_percent_stderr", "%"),
                       ("species_percent_uncertainty", "%"), ("element_area", "data x eV")):
        ds[name].attrs["units"] = unit
    ds.attrs["rsf"] = ", ".join(f"{e}={rsf[e]:g}" for e in sorted(rsf)) or \
        "library / Scofield 1976 cross-sections (Al Kα, C 1s = 1)"
    if abs(photon - AL_KALPHA) > 50.0 and not rsf:
        ds.attrs["rsf"] += (f"; the photon energy is {photon:g} eV, not Al Kα: Scofield's cross-sections at that "
                            "energy differ (by up to ~10 % relative to C 1s) and are not tabulated here; pass rsf=")
    ds.attrs["imfp_correction"] = (f"lambda ~ KE^{m:g} (TPP-2M energy dependence: Tanuma, Powell & Penn, Surf. "
                                   "Interface Anal. 21, 165 (1994); 43, 689 (2011))" if m else "none")
    ds.attrs["transmission_correction"] = "; ".join(f"{r}: {src}" for r, src in
                                                    zip(results, region_info["trans_source"]))
    ds.attrs["photon_energy"] = float(photon)
    ds.attrs["photon_energy_source"] = photon_source
    ds.attrs["angular_asymmetry"] = "not corrected (assumes the magic angle 54.7 deg or similar beta)"
    return ds.transpose(..., "element", "species", "region")


def _species_percent(results, area, err, elements, regions, comps,
                     combined: bool = False) -> tuple[xr.DataArray, xr.DataArray]:
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
            name = "fraction_uncertainty" if combined and "fraction_uncertainty" in res else "fraction_stderr"
            pct_err.append(100 * res[name].sel(component=comps[i], drop=True))
            continue
        tot = area.isel(species=np.nonzero(same)[0]).sum("species")
        f = area.isel(species=i, drop=True) / tot
        others = (err.isel(species=np.nonzero(same)[0]) ** 2).sum("species") - err.isel(species=i, drop=True) ** 2
        var = ((1 - f) ** 2 * err.isel(species=i, drop=True) ** 2 + f**2 * others) / tot**2
        pct.append(100 * f)
        pct_err.append(100 * np.sqrt(var))
    return xr.concat(pct, dim="species"), xr.concat(pct_err, dim="species")
