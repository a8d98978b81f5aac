"""Curves rebuilt on demand from a result's parameters (maps store parameters, not curves).

A 10⁵-spectrum map would need gigabytes for its per-spectrum curves, so
:func:`specfit.fit` stores them only for batches up to
``specfit.results.MAX_STORED_CURVES`` spectra.  :func:`curves` recompiles the
same model from the result's own record (library, components, lineshape
override, shape ties, background and its options, window) and evaluates it
for the spectra you select -- the very model the engine fitted, checked by
its parameter names.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import xarray as xr

from specfit.backgrounds.registry import get_background
from specfit.errors import DataError, LibraryError
from specfit.library.loader import load_library
from specfit.model.shapetie import tie_shapes
from specfit.model.spec import background_curve, compile_model, peak_curves


def _library(result: xr.Dataset):
    attrs = result.attrs
    source = attrs.get("library_path") or attrs.get("library")
    if not source:
        raise DataError("result has no 'library' attribute (edited or damaged?); refit to get curves")
    try:
        lib = load_library(source)
    except LibraryError:
        if not attrs.get("library"):
            raise
        lib = load_library(attrs["library"])
    if lib.content_hash and attrs.get("library_hash") and lib.content_hash != attrs["library_hash"]:
        raise LibraryError(f"{source}: the library changed since the fit (hash differs); refit to get curves")
    lib = lib.subset([str(c) for c in result["component"].values])
    lineshapes = _json_attr(attrs, "lineshapes", "{}")
    comps = []
    for comp in lib.components:
        if comp.name in lineshapes:
            try:
                name, shape, limits = lineshapes[comp.name]
                comp = replace(comp, lineshape=name, shape=float(shape), shape_range=tuple(map(float, limits)))
            except (TypeError, ValueError):
                raise DataError(f"result attribute 'lineshapes' for {comp.name!r} is not [lineshape, shape, "
                                f"[lo, hi]] (edited or damaged?): {lineshapes[comp.name]!r}") from None
        comps.append(comp)
    lib = replace(lib, components=tuple(comps))
    if _json_attr(attrs, "shape_tied_to", "{}"):
        lib = tie_shapes(lib)
    return lib


def _json_attr(attrs, key: str, default: str):
    """A JSON attribute of a result; an edited one that does not parse is a DataError naming the key."""
    try:
        value = json.loads(attrs.get(key, default))
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):  # every JSON attribute curves reads is an object
        raise DataError(f"result attribute {key!r} is not a JSON object (edited or damaged?): "
                        f"{str(attrs.get(key))[:60]!r}; refit to get curves")
    return value


def curves(result: xr.Dataset, data: xr.DataArray | None = None, **indexers) -> xr.Dataset:
    """Best fit, background and component curves of (selected spectra of) a result.

    Parameters
    ----------
    result : xarray.Dataset
        A :func:`specfit.fit` result (with its ``parameters`` variable).
    data : xarray.DataArray, optional
        The fitted data (same batch coordinates); needed for a background
        subtracted before the fit (``shirley_fixed``, ``tougaard``, ``als``,
        ``arpls``), and adds ``data``/``residual``.
    **indexers
        Selection of spectra by label (``pixel=...``, ``x=3, y=7``), as ``Dataset.sel``.

    Returns
    -------
    xarray.Dataset
        ``best_fit``, ``background`` (batch…, axis) and ``component_curve``
        (batch…, component, axis); with ``data``, also ``data`` and ``residual``.

    Raises
    ------
    DataError
        No parameters in the result, or a subtracted background without ``data``.
    LibraryError
        The library cannot be found or changed since the fit.
    """
    if "parameters" not in result:
        raise DataError("result has no 'parameters' variable (written by specfit < 0.2?): refit to get curves")
    sub = result.sel(indexers) if indexers else result
    options = _json_attr(sub.attrs, "options", "{}")
    lib = _library(sub)
    try:
        kind = get_background(sub.attrs.get("background", lib.background))
    except KeyError as exc:
        raise DataError(f"result attribute 'background': {exc.args[0]} (edited or damaged?)") from None
    if not isinstance(options.get("background_options", {}), dict):
        raise DataError("result attribute 'options': background_options is not a JSON object (edited or damaged?)")
    degree = options.get("degree", 2)
    if isinstance(degree, bool) or not isinstance(degree, int):
        raise DataError(f"result attribute 'options': degree {degree!r} is not an integer (edited or damaged?)")
    axis = next((d for d in sub.dims if d not in sub["parameters"].dims and d not in ("component", "component_2")),
                None)
    if axis is None or axis not in sub.coords:
        raise DataError("result has no spectral axis coordinate: pass the data to rebuild its curves")
    x_orig = np.asarray(sub[axis].values, float)
    order = np.argsort(x_orig)
    x = x_orig[order]
    spec = compile_model(lib, x, background=kind.name if kind.in_fit else "none", degree=degree,
                         background_options=dict(options.get("background_options", {})) if kind.in_fit else None)
    names = [str(p) for p in sub["parameter"].values]
    if list(spec.names) != names:
        raise DataError(f"cannot rebuild the model of this result: parameters {names} != {list(spec.names)}")
    params = sub["parameters"]
    batch = [d for d in params.dims if d != "parameter"]
    theta = params.transpose(*batch, "parameter").values.reshape(-1, len(names))
    ok = np.isfinite(theta).all(axis=1)
    theta0 = np.nan_to_num(theta)
    comp = peak_curves(spec, theta0, x)
    bg = background_curve(spec, theta0, x, comp.sum(axis=1))
    shape = tuple(params.sizes[d] for d in batch)
    y = None
    if data is not None:
        sel = data.sel(indexers) if indexers else data
        sel = sel.sel({sel.dims[-1]: x_orig}, method="nearest")
        y = np.asarray(sel.transpose(*batch, sel.dims[-1]).values, float).reshape(-1, x.size)[:, order]
    if not kind.in_fit:
        if y is None:
            raise DataError(f"background {kind.name!r} was subtracted before the fit: pass the data to rebuild it")
        from specfit.backgrounds import background

        algo_options = dict(options.get("background_options", {}))
        bg = bg + np.stack([background(x, row, kind.algorithm, **algo_options) for row in y])
    comp[~ok], bg[~ok] = np.nan, np.nan
    inverse = np.argsort(order)
    out = xr.Dataset(coords={k: v for k, v in sub.coords.items() if set(v.dims) <= set(batch) | {"component"}})
    out[axis] = (axis, x_orig)
    out["best_fit"] = (tuple(batch) + (axis,), (comp.sum(axis=1) + bg)[:, inverse].reshape(shape + (x.size,)))
    out["background"] = (tuple(batch) + (axis,), bg[:, inverse].reshape(shape + (x.size,)))
    out["component_curve"] = (tuple(batch) + ("component", axis),
                              comp[:, :, inverse].reshape(shape + comp.shape[1:2] + (x.size,)))
    if y is not None:
        out["data"] = (tuple(batch) + (axis,), y[:, inverse].reshape(shape + (x.size,)))
        out["residual"] = out["data"] - out["best_fit"]
    return out
