"""Model comparison: is a third (or fourth) band supported by the data?

Every candidate model is fitted to the same spectra, on the same window and
with the same background, so their information criteria are comparable; the
table holds AIC, BIC and reduced chi-square per spectrum and summed over the
series, their differences to the best model and Akaike weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import OptionError
from specfit.fitting.api import fit, resolve_library
from specfit.library.loader import Library, load_library


def _model_name(item: object, lib: Library, components: tuple[str, ...] | None) -> str:
    if components:
        return "+".join(components)
    if isinstance(item, (str, Path)) and not isinstance(item, Library):
        return str(item)
    return lib.name


def _resolve(item: object, library: object) -> tuple[Library, tuple[str, ...] | None]:
    """A model item -> (library restricted to its components, component names or None)."""
    if isinstance(item, Library) or isinstance(item, Path):
        return load_library(item), None
    if isinstance(item, str):
        if library is not None:
            base = load_library(library)
            names = tuple(n.strip() for n in item.split(",") if n.strip())
            if names and all(n in base.component_names for n in names):
                return base.subset(names), names
        return load_library(item), None
    if isinstance(item, Sequence):
        if library is None:
            raise OptionError(f"model {list(item)!r} is a component list: pass library=... to say whose")
        names = tuple(str(n) for n in item)
        return resolve_library(library, names), names
    raise OptionError(f"a model must be a library name/path, a Library or a list of component names, got {item!r}")


def compare(da: xr.DataArray, models: Sequence[object], library: object = None, *,
            criterion: str = "bic", **fit_options) -> xr.Dataset:
    """Fit several candidate models to the same spectra and tabulate AIC, BIC and reduced chi-square.

    Parameters
    ----------
    da : xarray.DataArray
        Spectra (last dim = spectral axis, others = batch dims).
    models : sequence
        Candidates; each is a library name or TOML path, a :class:`Library`,
        or a list of component names of ``library`` (a comma-separated string
        of such names works too), e.g. ``[["free", "CIP"], ["free", "CIP", "AGG"]]``.
    library : str, path or Library, optional
        The library whose components the lists name.
    criterion : {"bic", "aic"}
        Criterion that picks ``best`` (per spectrum and per series).
    **fit_options
        Passed to :func:`specfit.fit` for every model (``share``,
        ``background``, ``window``, ...). Without ``window`` and
        ``background``, the first model's library window and default
        background are used for all, so the criteria compare like with like.

    Returns
    -------
    xarray.Dataset
        Dims ``model`` (+ batch dims): ``aic``, ``bic``, ``redchi``,
        ``chisqr``, ``success``, ``n_components``, ``delta_aic``/``delta_bic``
        (to the best model of that spectrum); series totals ``aic_series``,
        ``bic_series`` (sums over all spectra: the criteria of the joint
        likelihood of independent spectra), ``delta_aic_series``,
        ``delta_bic_series``, ``akaike_weight_series``; ``best`` (per
        spectrum) and ``attrs["best_series"]``.
    """
    if criterion not in ("aic", "bic"):
        raise OptionError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    if not models:
        raise OptionError("compare needs at least one model")
    resolved = [_resolve(item, library) for item in models]
    first = resolved[0][0]
    options = dict(fit_options)
    # one window and one background for all models: otherwise the criteria are not comparable
    options.setdefault("window", first.window)
    options.setdefault("background", first.background)
    # each candidate is fitted as given: component selection would change the models being compared
    options.setdefault("select", "none")
    names, fits = [], []
    for item, (lib, comps) in zip(models, resolved):
        name = _model_name(item, lib, comps)
        while name in names:  # two items naming the same library: keep both rows distinguishable
            name += "'"
        names.append(name)
        fits.append(fit(da, lib, **options))
    keep = ["aic", "bic", "redchi", "chisqr", "success"]
    table = xr.concat([f[keep] for f in fits], dim="model", coords="minimal", compat="override",
                      combine_attrs="drop")
    table = table.assign_coords(model=names)
    table["n_components"] = ("model", [f.sizes["component"] for f in fits])
    batch = [d for d in table["aic"].dims if d != "model"]
    ok = table["success"]
    for crit in ("aic", "bic"):
        value = table[crit].where(ok)
        table[f"delta_{crit}"] = value - value.min("model")
        series = value.sum(batch, min_count=1) if batch else value
        # a model that failed on any spectrum has no series value: its sum would flatter it
        series = series.where(ok.all(batch) if batch else ok)
        table[f"{crit}_series"] = series
        table[f"delta_{crit}_series"] = series - series.min("model")
    rel = np.exp(-0.5 * table["delta_aic_series"].fillna(np.inf))
    table["akaike_weight_series"] = rel / rel.sum("model")
    pick = table[f"delta_{criterion}"].fillna(np.inf)
    table["best"] = pick.idxmin("model") if batch else xr.DataArray(str(pick.idxmin("model").values))
    best_series = str(table[f"delta_{criterion}_series"].fillna(np.inf).idxmin("model").values)
    table.attrs.update(criterion=criterion, best_series=best_series, window=list(options["window"] or []),
                       background=str(options["background"]),
                       definition=("aic/bic per spectrum as in specfit.fit (n ln(chisqr/n) + penalty); *_series = "
                                   "sum over the batch; delta = value - min over models; lower is better; "
                                   "|delta| < 2 is no evidence, > 10 strong evidence (Burnham & Anderson 2002)"))
    return table


__all__ = ["compare"]
