"""Model comparison: a band present in the data is supported, an absent one is not."""

from __future__ import annotations

import numpy as np
import xarray as xr

import specfit
from specfit.examples import raman_series
from specfit.lineshapes.profiles import voigt


def test_third_band_supported_when_present():
    da, _ = raman_series(6, seed=1)
    tab = specfit.compare(da, [["free", "CIP"], "free,CIP,AGG"], library="raman/fsi_tfsi")
    assert list(tab["model"].values) == ["free+CIP", "free+CIP+AGG"]
    assert tab.attrs["best_series"] == "free+CIP+AGG"
    assert float(tab["delta_bic_series"].sel(model="free+CIP")) > 100
    assert (tab["best"] == "free+CIP+AGG").all()
    np.testing.assert_allclose(tab["bic_series"], tab["bic"].sum("sample"))
    np.testing.assert_allclose(tab["akaike_weight_series"].sum(), 1.0)


def test_absent_band_not_supported():
    rng = np.random.default_rng(5)
    x = np.linspace(715.0, 775.0, 301)
    spectra = []
    for free in np.linspace(0.3, 0.5, 4):
        peaks = voigt(x, 1000 * free, 737.0, 5.0, 0.4) + voigt(x, 1000 * (1 - free), 743.0, 7.0, 0.5)
        spectra.append(peaks + 20.0 + rng.normal(0.0, peaks.max() / 150, x.size))
    da = xr.DataArray(np.array(spectra), dims=("sample", "raman_shift"), coords={"raman_shift": x})
    tab = specfit.compare(da, [["free", "CIP"], ["free", "CIP", "AGG"]], library="raman/fsi_tfsi",
                          share="center,width")
    assert tab.attrs["best_series"] == "free+CIP"
    assert float(tab["delta_bic_series"].sel(model="free+CIP+AGG")) > 0


def test_library_objects_and_names():
    da, _ = raman_series(2, seed=2)
    lib = specfit.load_library("raman/fsi_tfsi")
    tab = specfit.compare(da, [lib, "raman/fsi_tfsi"])
    assert list(tab["model"].values) == ["raman/fsi_tfsi", "raman/fsi_tfsi'"]
    np.testing.assert_allclose(tab["aic"].isel(model=0), tab["aic"].isel(model=1))
