"""7Li NMR: CLI fit and track_shifts against synthetic truth, narrow lines, re-referencing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import specfit
from specfit.cli.app import main
from specfit.examples import li7_series


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cli_li7_centers_within_001_ppm(tmp_path, seed):
    da, truth = li7_series(seed=seed)
    series = tmp_path / "series.nc"
    da.to_netcdf(series)
    assert main(["fit", str(series), "--library", "nmr/li7", "--out", str(tmp_path / "r.nc")]) == 0
    ds = specfit.open_results(tmp_path / "r.nc")
    assert bool(ds["success"].all())
    err = np.abs(ds["center"].sel(component="Li") - truth["center"])
    assert float(err.max()) < 0.01


def test_track_shifts_precision_and_stderr_calibration():
    errors, z = [], []
    for seed in range(12):
        da, truth = li7_series(seed=seed)
        ds = specfit.nmr.track_shifts(da)
        assert bool(ds["success"].all()) and not bool(ds["narrow_line"].any())
        errors.append(ds["center"].values - truth["center"].values)
        z.append(errors[-1] / ds["center_stderr"].values)
        delta_true = truth["center"] - truth["center"][0]
        np.testing.assert_allclose(ds["shift_delta"], delta_true, atol=0.003)
        assert float(ds["shift_delta_stderr"][0]) == 0.0
    assert np.abs(errors).max() < 0.002  # ppm: sub-point (grid 0.0196 ppm)
    assert np.abs(z).max() < 4.0 and 0.4 < np.std(z) < 2.0


def test_track_shifts_reference_label_and_attrs():
    da, truth = li7_series(seed=3)
    da.attrs["SF"] = 155.5
    ds = specfit.nmr.track_shifts(da, reference="sample2")
    assert ds.attrs["reference_sample"] == "sample2"
    assert ds.attrs["reference_compound"] == "1 M LiCl in D2O" and ds.attrs["SF"] == 155.5
    np.testing.assert_allclose(ds["shift_delta"], truth["center"] - truth["center"][1], atol=0.003)
    with pytest.raises(ValueError, match="neither"):
        specfit.nmr.track_shifts(da, reference="nope")


def test_narrow_lines_flagged_and_fitted():
    da, truth = li7_series(shifts=(-0.4, -0.853, -1.31), fwhm=(0.02, 0.04, 0.12), seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = specfit.nmr.track_shifts(da)
    assert any("narrower than" in str(w.message) for w in caught)
    assert list(ds["narrow_line"].values) == [True, True, False]
    assert bool(ds["success"].all())
    assert float(np.abs(ds["center"] - truth["center"]).max()) < 0.002  # a tenth of a point


def test_rereference_offset_and_sample():
    da, truth = li7_series(seed=0)
    ds = specfit.nmr.track_shifts(da)
    moved = specfit.nmr.rereference(ds, reference=("sample1", 0.0))
    assert abs(float(moved["center"][0])) < 1e-12
    np.testing.assert_allclose(moved["shift_delta"], ds["shift_delta"])
    assert moved.attrs["reference_offset_ppm"] == pytest.approx(-float(ds["center"][0]))
    shifted = specfit.nmr.rereference(da, 0.5, reference_compound="LiCl 9.7 mol/kg")
    np.testing.assert_allclose(shifted["chemical_shift"], da["chemical_shift"] + 0.5)
    assert shifted.attrs["reference_compound"] == "LiCl 9.7 mol/kg"
    again = specfit.nmr.track_shifts(shifted)
    np.testing.assert_allclose(again["center"], ds["center"] + 0.5, atol=1e-6)
    with pytest.raises(ValueError):
        specfit.nmr.rereference(da)
