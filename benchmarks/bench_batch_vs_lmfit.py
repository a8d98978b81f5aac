"""Batch engine vs a plain lmfit loop on the same spectra (speed ratio, same process).

Run: ``.venv/bin/python benchmarks/bench_batch_vs_lmfit.py [n_spectra]``.
The reference is what users write today: ``lmfit.Model`` with three Voigt
components (expressions-free, FWHM-constrained) plus a quadratic, fitted
spectrum by spectrum.  Both see identical data; the ratio is what counts.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import xarray as xr

import specfit
from specfit.examples import raman_series


def lmfit_loop(x, y):
    from lmfit.models import PolynomialModel, VoigtModel

    model = PolynomialModel(degree=2, prefix="bg_")
    for i in range(3):
        model = model + VoigtModel(prefix=f"p{i}_")
    fractions = []
    for row in y:
        params = model.make_params(bg_c0=float(row.min()), bg_c1=0.0, bg_c2=0.0)
        for i, c in enumerate((737.0, 743.0, 748.0)):
            params[f"p{i}_center"].set(value=c, min=c - 2, max=c + 2)
            params[f"p{i}_sigma"].set(value=2.0, min=0.5, max=6.0)
            params[f"p{i}_gamma"].set(value=1.0, min=0.0, max=6.0, vary=True, expr="")
            params[f"p{i}_amplitude"].set(value=float(np.ptp(row)) * 5, min=0)
        res = model.fit(row, params, x=x, max_nfev=2000)  # cap: some fits otherwise run to 32000
        areas = np.array([res.params[f"p{i}_amplitude"].value for i in range(3)])
        fractions.append(areas / areas.sum())
    return np.array(fractions)


def main(n: int = 2000) -> None:
    da, _ = raman_series(n_samples=n, seed=11, n_points=246, x_range=(719.0, 768.0))
    n_ref = min(n, 30)
    t0 = time.perf_counter()
    lmfit_loop(da.raman_shift.values, da.values[:n_ref])
    t_lmfit = (time.perf_counter() - t0) / n_ref
    t0 = time.perf_counter()
    ds = specfit.fit(da, "raman/fsi_tfsi", background="polynomial")
    t_batch = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    specfit.fit(da.isel(sample=slice(0, n_ref)), "raman/fsi_tfsi", engine="lmfit")
    t_lmfit_engine = (time.perf_counter() - t0) / n_ref
    print(f"spectra: {n} (lmfit reference on {n_ref}), {da.sizes['raman_shift']} points, 3 Voigt + quadratic")
    print(f"plain lmfit loop      : {1 / t_lmfit:9.1f} spectra/s")
    print(f"specfit engine=lmfit  : {1 / t_lmfit_engine:9.1f} spectra/s")
    print(f"specfit batch engine  : {1 / t_batch:9.1f} spectra/s  ({int(ds.success.sum())}/{n} converged)")
    print(f"speed-up batch / plain lmfit: {t_lmfit / t_batch:.0f}x")
    try:
        import dask  # noqa: F401

        lazy = xr.DataArray(da).chunk(sample=max(n // 4, 1))
        t0 = time.perf_counter()
        specfit.fit(lazy, "raman/fsi_tfsi").fraction.compute()
        print(f"specfit dask (4 chunks, threads): {n / (time.perf_counter() - t0):9.1f} spectra/s")
    except ImportError:
        pass


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
