"""``DataArray.specfit``: a thin accessor over the public functions."""

from __future__ import annotations

import xarray as xr


@xr.register_dataarray_accessor("specfit")
class SpecfitAccessor:
    """``da.specfit.fit(library, **options)`` is ``specfit.fit(da, library, **options)``."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def fit(self, library, **options) -> xr.Dataset:
        from specfit.fitting.api import fit

        return fit(self._obj, library, **options)

    def background(self, kind: str = "shirley", **options) -> xr.DataArray:
        """Background of every spectrum along the last dimension (same shape and coords)."""
        from specfit.backgrounds import background

        dim = self._obj.dims[-1]
        x = self._obj[dim].values
        return xr.apply_ufunc(lambda y: background(x, y, kind, **options), self._obj,
                              input_core_dims=[[dim]], output_core_dims=[[dim]], vectorize=True)


@xr.register_dataset_accessor("specfit")
class SpecfitDatasetAccessor:
    """``ds.specfit.plot()`` / ``ds.specfit.report(path)`` on a result Dataset."""

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    def plot(self, **options):
        """The report figure of this result (:func:`specfit.plot`)."""
        from specfit.plotting.by_kind import plot

        return plot(self._obj, **options)

    def report(self, out):
        """Write the figure or peak table of this result (:func:`specfit.report.write_report`)."""
        from specfit.report import write_report

        return write_report(self._obj, out)
