"""``DataArray.specfit``: a thin accessor over the public functions."""

from __future__ import annotations

import xarray as xr


@xr.register_dataarray_accessor("specfit")
class SpecfitAccessor:
    """``da.specfit.fit(library, **options)`` is ``specfit.fit(da, library, **options)``."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def fit(self, library, **options) -> xr.Dataset:
        from .fitting import fit

        return fit(self._obj, library, **options)

    def background(self, kind: str = "shirley", **options) -> xr.DataArray:
        """Background of every spectrum along the last dimension (same shape and coords)."""
        from .backgrounds import background

        dim = self._obj.dims[-1]
        x = self._obj[dim].values
        return xr.apply_ufunc(lambda y: background(x, y, kind, **options), self._obj,
                              input_core_dims=[[dim]], output_core_dims=[[dim]], vectorize=True)
