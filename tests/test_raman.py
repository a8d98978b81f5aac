"""Raman speciation: CLI global/independent fits against synthetic truth, baseline spread, real carbon spectra."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import specfit
from specfit.cli.app import main
from specfit.examples import raman_series
from specfit.model.shapetie import ALPHA

CARBON = Path(__file__).parent / "data" / "raman" / "carbon_DG.toml"

# (seed, centers, fwhm, Lorentzian fractions): the generator's nominal bands and perturbed ones
# (widths 4-8 cm-1, centers within 1 cm-1 of nominal); harder draws are measured in the report.
CASES = [
    (0, (737.0, 743.0, 748.0), (5.0, 7.0, 4.5), (0.4, 0.5, 0.3)),
    (11, (737.0, 743.0, 748.0), (5.0, 7.0, 4.5), (0.4, 0.5, 0.3)),
    (5, (737.6, 742.3, 748.9), (6.0, 5.0, 4.0), (0.4, 0.5, 0.3)),
    (7, (736.4, 743.8, 747.5), (4.5, 7.5, 6.0), (0.35, 0.45, 0.4)),
]


def _cli_fractions(tmp_path: Path, da: xr.DataArray, share: bool) -> xr.Dataset:
    series = tmp_path / "series.nc"
    da.to_netcdf(series)
    out = tmp_path / ("global.nc" if share else "independent.nc")
    args = ["fit", str(series), "--library", "raman/fsi_tfsi", "--out", str(out)]
    args += ["--share", "center,width" if share else "none"]  # "none": independent fits, said explicitly
    assert main(args) == 0
    return specfit.open_results(out)


@pytest.mark.parametrize(("seed", "centers", "fwhm", "shape"), CASES)
def test_cli_global_fit_fractions_within_2pp(tmp_path, seed, centers, fwhm, shape):
    da, truth = raman_series(6, seed=seed, centers=centers, fwhm=fwhm, lorentz_fraction=shape)
    glob = _cli_fractions(tmp_path, da, share=True)
    assert bool(glob["success"].all())
    err_g = np.abs(glob["fraction"] - truth["fraction"]).max()
    assert err_g < 0.02, f"global fit misses by {float(err_g) * 100:.2f} pp"
    np.testing.assert_allclose(glob["fraction"].sum("component"), 1.0, atol=1e-12)


# Case 3 puts CIP and AGG 3.7 cm-1 apart with FWHM 7.5 and 6.0 and unequal true shapes: one spectrum
# cannot split them (measured 5-16 pp with one common shape, 1-19 pp with per-band shapes).
_UNRESOLVED = pytest.mark.xfail(strict=True, reason="CIP/AGG 3.7 cm-1 apart, FWHM 7.5/6.0: not resolvable per spectrum")
INDEPENDENT_CASES = [pytest.param(*case, marks=_UNRESOLVED) if i == 3 else case for i, case in enumerate(CASES)]


@pytest.mark.parametrize(("seed", "centers", "fwhm", "shape"), INDEPENDENT_CASES)
def test_cli_independent_fractions_within_8pp(tmp_path, seed, centers, fwhm, shape):
    da, truth = raman_series(6, seed=seed, centers=centers, fwhm=fwhm, lorentz_fraction=shape)
    indep = _cli_fractions(tmp_path, da, share=False)
    assert bool(indep["success"].all())
    assert json.loads(indep.attrs["shape_tied_to"]) == {"CIP": "free", "AGG": "free"}
    err_i = np.abs(indep["fraction"] - truth["fraction"]).max()
    assert err_i < 0.08, f"independent fits miss by {float(err_i) * 100:.2f} pp"


def _equal_shape_series(rng: np.random.Generator) -> tuple[xr.DataArray, xr.Dataset]:
    """Six samples, nominal centers +/-0.5 cm-1, FWHM 4-8 cm-1, one true shape in 0.2-0.8."""
    centers = tuple(np.array([737.0, 743.0, 748.0]) + rng.uniform(-0.5, 0.5, 3))
    return raman_series(6, seed=int(rng.integers(2**31)), centers=centers, fwhm=tuple(rng.uniform(4.0, 8.0, 3)),
                        lorentz_fraction=(rng.uniform(0.2, 0.8),) * 3)


def test_independent_fits_common_shape_over_random_series():
    """One spectrum cannot resolve per-band shapes; the library's common shape earns the 8 pp."""
    rng = np.random.default_rng(404)
    worst = {"auto": [], "none": []}
    for _ in range(10):
        da, truth = _equal_shape_series(rng)
        for tie in worst:
            ds = specfit.fit(da, "raman/fsi_tfsi", shape_tie=tie, share="none")  # independent fits
            worst[tie].append(float(np.abs(ds["fraction"] - truth["fraction"]).max()))
    common, per_band = np.array(worst["auto"]), np.array(worst["none"])
    # measured over 16 series per family (benchmarks/bench_shape_tie.py): one in 16 misses 8 pp
    assert np.sum(common > 0.08) <= 1 and np.median(common) < 0.05, common.round(3)
    assert np.sum(per_band > 0.08) >= 2, per_band.round(3)  # the same data without the tie miss 8 pp


def test_global_auto_keeps_common_shape_when_the_series_agrees():
    rng = np.random.default_rng(7)
    for _ in range(3):
        da, truth = _equal_shape_series(rng)
        ds = specfit.fit(da, "raman/fsi_tfsi", share="center,width")
        assert ds.attrs["shape_tie_pvalue"] >= ALPHA
        assert json.loads(ds.attrs["shape_tied_to"]) == {"CIP": "free", "AGG": "free"}
        assert float(np.abs(ds["fraction"] - truth["fraction"]).max()) < 0.02


def test_global_auto_unties_shapes_the_series_rejects():
    # Gaussian-like free band beside Lorentzian-like CIP: one common shape misfits every sample
    da, truth = raman_series(6, seed=12, lorentz_fraction=(0.2, 0.7, 0.3))
    auto = specfit.fit(da, "raman/fsi_tfsi", share="center,width")
    assert auto.attrs["shape_tie_pvalue"] < ALPHA
    assert json.loads(auto.attrs["shape_tied_to"]) == {}
    assert float(np.abs(auto["fraction"] - truth["fraction"]).max()) < 0.02
    forced = specfit.fit(da, "raman/fsi_tfsi", share="center,width", shape_tie="all")
    assert float(np.abs(forced["fraction"] - truth["fraction"]).max()) > 0.02  # the bias the test avoids


def test_global_errors_consistent_with_stderr():
    """Over perturbed series the global-fit errors scale with the reported standard errors."""
    rng = np.random.default_rng(2024)
    z = []
    for seed in range(4):
        centers = tuple(np.array([737.0, 743.0, 748.0]) + rng.uniform(-1.0, 1.0, 3))
        da, truth = raman_series(6, seed=seed, centers=centers, fwhm=tuple(rng.uniform(4.0, 8.0, 3)))
        # per-band shapes: the estimator whose covariance is checked (a common shape chosen by the
        # F-test where the truth differs is biased beyond its standard error; see shapetie)
        ds = specfit.fit(da, "raman/fsi_tfsi", share="center,width", shape_tie="none")
        z.append(((ds["fraction"] - truth["fraction"]) / ds["fraction_stderr"]).values.ravel())
    z = np.concatenate(z)
    assert np.all(np.isfinite(z))
    assert np.abs(z).max() < 4.0
    assert 0.3 < np.std(z) < 2.0


def test_speciation_baseline_spread_and_covariance():
    da, truth = raman_series(6, seed=3)
    ds = specfit.raman.speciation(da)
    assert list(ds["baseline"].values) == ["quadratic", "linear", "als", "arpls"]
    assert ds["fraction_by_baseline"].dims == ("sample", "baseline", "component")
    # the primary (quadratic, shared center/width) fit matches the truth
    assert float(np.abs(ds["fraction"] - truth["fraction"]).max()) < 0.02
    by = ds["fraction_by_baseline"]
    np.testing.assert_allclose(ds["fraction_baseline_spread"], by.max("baseline") - by.min("baseline"))
    np.testing.assert_allclose(by.sel(baseline="quadratic"), ds["fraction"])
    assert float(ds["fraction_baseline_spread"].min()) >= 0.0
    # a straight line cannot follow the curved baseline: its refit must differ measurably
    assert float(ds["fraction_baseline_spread"].max()) > float(ds["fraction_stderr"].max())
    cov = ds["fraction_covariance"].isel(sample=0).values
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), ds["fraction_stderr"].isel(sample=0), rtol=1e-8)
    np.testing.assert_allclose(cov.sum(axis=1), 0.0, atol=1e-10)  # fractions sum to one
    std = specfit.raman.speciation(da, baselines=["quadratic", "cubic"], spread="std")
    np.testing.assert_allclose(std["fraction_baseline_spread"], std["fraction_by_baseline"].std("baseline"))


def test_speciation_shape_model_spread():
    da, truth = raman_series(6, seed=3)  # true shapes 0.4 / 0.5 / 0.3: the series rejects one common shape
    ds = specfit.raman.speciation(da, baselines=["quadratic"])
    assert ds.attrs["primary_shape_model"] == "per_band" and ds.attrs["shape_tie_pvalue"] < ALPHA
    by = ds["fraction_by_shape_model"]
    assert by.dims == ("sample", "shape_model", "component")
    np.testing.assert_allclose(by.sel(shape_model="per_band"), ds["fraction"])
    np.testing.assert_allclose(ds["fraction_shape_spread"], np.abs(by.sel(shape_model="common")
                                                                  - by.sel(shape_model="per_band")))
    np.testing.assert_allclose(by.sum("component"), 1.0, atol=1e-12)
    err = np.abs(by - truth["fraction"]).max(("sample", "component"))
    assert float(err.sel(shape_model="per_band")) < 0.02 < float(err.sel(shape_model="common"))
    # the spread is the bias a forced common shape would have introduced, not noise
    assert float(ds["fraction_shape_spread"].max()) > 3 * float(ds["fraction_stderr"].max())


def test_speciation_independent_and_bad_baseline():
    da, truth = raman_series(3, seed=4)
    ds = specfit.raman.speciation(da, share=(), baselines=["quadratic"])
    assert ds.attrs["share"] == ""
    np.testing.assert_allclose(ds["fraction_baseline_spread"], 0.0)
    with pytest.raises(ValueError, match="unknown baseline"):
        specfit.raman.speciation(da, baselines=["spline"])


@pytest.mark.parametrize("position", [1, 2, 3, 4])
def test_real_carbon_spectra_user_library(shared_data, position):
    da = specfit.read(shared_data("raman", f"ramanfitting_testDW38C_pos{position}.txt"))
    ds = specfit.fit(da, CARBON)
    assert bool(ds["success"])
    assert float(ds["rsquared"]) > 0.98
    # PROVENANCE documents the raw band maxima (D 1325-1341, G 1573-1585 cm-1): the file was read correctly
    axis = da.dims[-1]
    step = float(np.abs(np.diff(da[axis].values)).max())  # documented maxima are rounded: allow one grid step
    assert 1325.0 - step <= float(da.sel({axis: slice(1250, 1450)}).idxmax(axis)) <= 1341.0 + step
    assert 1573.0 - step <= float(da.sel({axis: slice(1500, 1650)}).idxmax(axis)) <= 1585.0 + step
    # fitted centers: in the documented ranges within two standard errors (a maximum of overlapping
    # bands is not the center of either; measured D 1336.4-1341.9, G 1577.5-1586.5 cm-1)
    for name, (lo, hi) in (("D", (1325.0, 1341.0)), ("G", (1573.0, 1585.0))):
        c = float(ds["center"].sel(component=name))
        se = float(ds["center_stderr"].sel(component=name))
        assert np.isfinite(se)
        assert lo - 2 * se <= c <= hi + 2 * se, f"{name} center {c:.1f} +/- {se:.1f}"


def test_carbon_through_cli_batch(shared_data, tmp_path):
    paths = [str(shared_data("raman", f"ramanfitting_testDW38C_pos{i}.txt")) for i in (1, 2)]
    out = tmp_path / "carbon.nc"
    assert main(["fit", *paths, "--library", str(CARBON), "--out", str(out)]) == 0
    ds = specfit.open_results(out)
    assert ds.sizes["spectrum"] == 2 and bool(ds["success"].all())
