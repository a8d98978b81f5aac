"""Under-sampled lines (issue 18 part 5): a ⁷Li line of 1-2 grid points per FWHM at S/N 5000."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from specfit.lineshapes.profiles import lorentzian
from specfit.nmr.shifts import CENTER_FLOOR, UNDERSAMPLED_POINTS, track_shifts

CENTERS = (-0.4013, -0.8571, -1.3127)


def binned_li7(fwhm_points: float, snr: float = 5000.0, seed: int = 2, n: int = 1024, sub: int = 41):
    """Lorentzians whose every point is the mean over its bin (as a detector integrates), ±10 ppm grid."""
    rng = np.random.default_rng(seed)
    x = np.linspace(10.0, -10.0, n)
    dx = abs(x[1] - x[0])
    offsets = (np.arange(sub) - sub // 2) / sub * dx
    rows = []
    for c in CENTERS:
        y = np.mean([lorentzian(x + o, 1.0, c, fwhm_points * dx) for o in offsets], axis=0)
        rows.append(y + rng.normal(0.0, y.max() / snr, n))
    da = xr.DataArray(np.array(rows), dims=("sample", "chemical_shift"),
                      coords={"sample": ["a", "b", "c"], "chemical_shift": x})
    return da, dx


@pytest.mark.parametrize("fwhm_points", [0.5, 1.0, 1.5])
def test_undersampled_li7_line(fwhm_points):
    da, dx = binned_li7(fwhm_points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = track_shifts(da)
    x = da["chemical_shift"].values
    for i, c in enumerate(CENTERS):
        r = res.isel(sample=i)
        assert "insignificant" not in str(r["flags"].item()) and "at_bound" not in str(r["flags"].item())
        assert "undersampled_line" in str(r["notes"].item())
        assert bool(r["fwhm_upper_bound"]) and float(r["fwhm"]) == pytest.approx(UNDERSAMPLED_POINTS * dx)
        floor = CENTER_FLOOR * dx
        assert float(r["center_stderr"]) >= floor * (1 - 1e-9)
        assert abs(float(r["center"]) - c) < floor  # center within the sampling floor
        integral = abs(np.trapezoid(da.values[i], x))
        assert float(r["area"]) == pytest.approx(integral, rel=0.05)  # area within 5 % of the integral


def test_resolved_line_keeps_its_fit():
    da, dx = binned_li7(4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = track_shifts(da)
    assert not bool(res["fwhm_upper_bound"].any())
    assert "undersampled_line" not in "".join(map(str, res["notes"].values))
    np.testing.assert_allclose(res["fwhm"].values / dx, 4.0, rtol=0.2)
