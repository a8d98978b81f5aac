"""How much the background choice moves XPS area shares (the XPS twin of Raman's baseline spread)."""

from __future__ import annotations

import xarray as xr

#: Backgrounds compared, with the options that make each one what its name says.
COMPARED = {
    "shirley": {},  # active Shirley, refined in the fit
    "shirley_fixed": {"endpoints": "centred", "quadrature": "casaxps", "n_average": 3},  # CasaXPS style
    "tougaard": {"cross_section": "u2"},
}


def compare_backgrounds(data: object, library: object, *, backgrounds: dict | None = None,
                        **fit_options) -> xr.Dataset:
    """Refit under active Shirley, CasaXPS-style fixed Shirley and Tougaard; report each species' share.

    Parameters
    ----------
    data : xarray.DataArray or (x, y)
        Spectra, as for :func:`specfit.fit`.
    library : str, path or Library
        Peak library (``"casa"`` models: pass ``library_from_casa(da)``).
    backgrounds : dict, optional
        Background name -> its options; default :data:`COMPARED`.
    **fit_options
        Passed to every :func:`specfit.fit` call (not ``background``/``background_options``).

    Returns
    -------
    xarray.Dataset
        ``fraction``, ``area`` and ``center`` with a ``background`` dimension,
        ``success`` per background, and ``fraction_background_spread`` (max - min
        share over the backgrounds, per component).
    """
    from specfit.fitting.api import fit

    fit_options.pop("background", None)
    fit_options.pop("background_options", None)
    chosen = COMPARED if backgrounds is None else backgrounds
    results = []
    for name, options in chosen.items():
        ds = fit(data, library, background=name, background_options=dict(options) or None, **fit_options)
        results.append(ds[["fraction", "area", "center", "success"]].expand_dims(background=[name]))
    out = xr.concat(results, dim="background")
    out["fraction_background_spread"] = out["fraction"].max("background") - out["fraction"].min("background")
    out["fraction_background_spread"].attrs["description"] = "max - min area share over the backgrounds"
    out.attrs["backgrounds"] = ", ".join(f"{k}{'(' + ', '.join(f'{a}={b}' for a, b in v.items()) + ')' if v else ''}"
                                         for k, v in chosen.items())
    return out
