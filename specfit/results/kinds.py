"""Result kinds, declared once: what each producer writes in ``attrs["result_kind"]``.

Plotting, the report and the CLI ask :func:`result_kind` instead of guessing
from variable names; a new workflow declares its kind here (one line), stamps
its results with :func:`stamp` and registers its figure in
:mod:`specfit.plotting.by_kind`.  Results written before the attribute existed
are recognised by their variables (the same rules as before).
"""

from __future__ import annotations

import xarray as xr

from specfit.errors import DataError

#: Attribute naming a result's producer.
ATTR = "result_kind"
#: Kinds a producer stamps, and what they are.
KINDS: dict[str, str] = {
    "fit": "specfit.fit: one spectrum or a batch (drawn as single, series or global_series)",
    "raman_speciation": "specfit.raman.speciation: ion-pair fractions with baseline and shape spreads",
    "nmr_shifts": "specfit.nmr.track_shifts: 7Li line positions and shifts against a reference",
    "depth_profile": "specfit.xps.fit_depth_profile: a DataTree of regions with atomic and species %",
}


def stamp(result: xr.Dataset | xr.DataTree, kind: str) -> None:
    """Record ``kind`` (one of :data:`KINDS`) in ``result.attrs``."""
    if kind not in KINDS:
        raise ValueError(f"undeclared result kind {kind!r}; declare it in specfit.results.kinds.KINDS")
    result.attrs[ATTR] = kind


def _legacy_kind(result: xr.Dataset) -> str | None:
    workflow = str(result.attrs.get("workflow", ""))
    if workflow == "raman.speciation" or "fraction_baseline_spread" in result:
        return "raman_speciation"
    if workflow == "nmr.track_shifts" or "shift_delta" in result:
        return "nmr_shifts"
    return None


def result_kind(result: object) -> str:
    """``single``, ``series``, ``global_series``, ``depth_profile``, ``raman_speciation`` or ``nmr_shifts``.

    A ``fit`` result is ``single`` (no batch dimension), ``global_series``
    (parameters shared across the batch) or ``series``.

    Raises
    ------
    DataError
        ``result`` is not a specfit result.
    """
    if isinstance(result, xr.DataTree):
        if result.attrs.get(ATTR) == "depth_profile" or "atomic_percent" in result.to_dataset() or result.children:
            return "depth_profile"
        result = result.to_dataset()
    if not isinstance(result, xr.Dataset):
        raise DataError(f"not a specfit result: a {type(result).__name__}, not an xarray Dataset or DataTree")
    kind = result.attrs.get(ATTR) or _legacy_kind(result)
    if kind in ("raman_speciation", "nmr_shifts", "depth_profile"):
        return str(kind)
    if "success" not in result or "center" not in result:
        raise DataError("not a specfit result: no 'success'/'center' variables")
    if not result["success"].dims:
        return "single"
    return "global_series" if result.attrs.get("share") else "series"


__all__ = ["ATTR", "KINDS", "result_kind", "stamp"]
