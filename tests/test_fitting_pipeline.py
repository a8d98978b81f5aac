"""The fit pipeline's contracts: one result schema on every path (numpy, dask, global, resampled), starts
and pilots, scale invariance, and one bad spectrum never sinks a batch (cases 27, 28)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import specfit
from specfit.examples import raman_series
from specfit.results.schema import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared" / "cases"
CURVES = {"data", "best_fit", "background", "residual", "component_curve"}


def _cases(name: str) -> Path:
    from conftest import shared_path

    return shared_path("..", "cases", name)


def _cli(*args, cwd=None):
    exe = Path(sys.executable).with_name("specfit")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)



# ------------------------------------------------------------------ schema on every path
def _signature(ds: xr.Dataset) -> dict:
    return {name: ds[name].dims for name in ds.data_vars}


def test_every_path_has_the_declared_schema():
    da, _ = raman_series(4, seed=3)
    results = {
        "numpy": specfit.fit(da, "raman/fsi_tfsi"),
        "dask": specfit.fit(da.chunk({"sample": 2}), "raman/fsi_tfsi").compute(),
        "global": specfit.fit(da, "raman/fsi_tfsi", share=("center", "width")),
        "resampled": specfit.fit(da, "raman/fsi_tfsi", uncertainty="montecarlo", n_draws=5),
    }
    declared = {v.name for v in VARIABLES}
    reference = _signature(results["numpy"])
    assert set(reference) == declared
    for name, ds in results.items():
        assert _signature(ds) == reference, name
        assert set(ds.attrs) >= {"specfit_version", "library", "library_hash", "background", "options", "created"}
        for var in ("center", "area", "fraction"):
            assert "units" in ds[var].attrs


def test_dask_equals_numpy_variable_by_variable():
    da, _ = raman_series(6, seed=5)
    ref = specfit.fit(da, "raman/fsi_tfsi", share="none", uncertainty="statistical")  # chunk by chunk = independent
    lazy = specfit.fit(da.chunk({"sample": 2}), "raman/fsi_tfsi", share="none", uncertainty="statistical")
    assert lazy["fraction"].chunks is not None  # still lazy before compute
    got = lazy.compute()
    for name in ref.data_vars:
        if ref[name].dtype.kind in "fcb":
            np.testing.assert_allclose(got[name].values.astype(float), ref[name].values.astype(float), rtol=1e-12,
                                       equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(got[name].values.astype(str), ref[name].values.astype(str), err_msg=name)


def test_dask_global_fit_says_why_it_loads():
    da, _ = raman_series(3, seed=2)
    ds = specfit.fit(da.chunk({"sample": 1}), "raman/fsi_tfsi", share=("center", "width"))
    assert "couples every spectrum" in ds.attrs["dask"]


def test_component_selection_on_dask_data_loads_once_and_says_so():
    """components='auto' on dask data: one load (not one per candidate fit), the in-memory answer, said in attrs."""
    from specfit.examples import xps_series

    comps = {"LiF": {"center": 685.3, "fwhm": 1.6}, "C-F": {"center": 688.4, "fwhm": 1.8}}
    da, _ = xps_series(comps, np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]]), seed=3)
    ref = specfit.fit(da, "xps/F1s", progress=False)
    got = specfit.fit(da.chunk({da.dims[0]: 1}), "xps/F1s", progress=False)
    assert "loaded into this process once" in got.attrs["dask"]
    assert list(got.component.values[got.selected.values.any(axis=0)]) == \
        list(ref.component.values[ref.selected.values.any(axis=0)])
    np.testing.assert_allclose(got.fraction.values, ref.fraction.values, rtol=1e-10, equal_nan=True)


def test_dask_first_spectrum_unusable_keeps_the_start_note_and_save_fits_once(tmp_path, monkeypatch):
    """A lazy result whose first spectrum cannot be fitted still says where the fit started (the pilot); saving a
    lazy result fits each chunk once (not once per variable written)."""
    import specfit.fitting.daskfit as daskfit
    from specfit.fitting.pipeline import PILOT_MIN

    da, _ = raman_series(PILOT_MIN + 4, seed=4)
    da[0] = 5.0  # constant: not fitted
    ref = specfit.fit(da, "raman/fsi_tfsi", progress=False, share="none")  # dask: chunk by chunk, independent
    calls = []
    original = daskfit._fit_block
    monkeypatch.setattr(daskfit, "_fit_block", lambda *a, **k: calls.append(1) or original(*a, **k))
    lazy = specfit.fit(da.chunk({"sample": 130}), "raman/fsi_tfsi", progress=False)
    assert lazy.attrs["start"] == ref.attrs["start"] and "pilot" in ref.attrs["start"]
    specfit.save(lazy, tmp_path / "lazy.nc")
    assert len(calls) == 2  # two chunks, one fit each
    back = specfit.open_results(tmp_path / "lazy.nc")
    np.testing.assert_allclose(back.fraction.values, ref.fraction.values, rtol=1e-10, equal_nan=True)
    assert str(back.flags.values[0]) == "not_fitted"


def test_axis_errors_name_the_file(tmp_path):
    bad = tmp_path / "dup.csv"
    bad.write_text("x,y\n700,1\n710,2\n710,3\n720,4\n730,5\n740,6\n")
    proc = _cli("fit", str(bad), "--library", "raman/fsi_tfsi", "--out", str(tmp_path / "r.nc"))
    assert proc.returncode == 2
    assert "dup.csv" in proc.stderr and "duplicated" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_start_library_makes_a_spectrum_independent_of_its_batch(tmp_path):
    """start='library': a spectrum gives the same answer in a 300-spectrum batch as alone (no pilot); the CLI
    option reaches the fit."""
    from specfit.fitting.pipeline import PILOT_MIN

    da, _ = raman_series(PILOT_MIN + 44, seed=6)
    whole = specfit.fit(da, "raman/fsi_tfsi", progress=False, start="library", share="none")
    assert whole.attrs["start"].startswith("library values")
    alone = specfit.fit(da.isel(sample=slice(100, 110)), "raman/fsi_tfsi", progress=False, start="library",
                        share="none")
    np.testing.assert_allclose(whole.fraction.values[100:110], alone.fraction.values, rtol=1e-9)
    lazy = specfit.fit(da.chunk({"sample": 100}), "raman/fsi_tfsi", progress=False, start="library",
                       share="none").compute()
    np.testing.assert_allclose(lazy.fraction.values, whole.fraction.values, rtol=1e-10)
    path = tmp_path / "s.nc"
    da.to_netcdf(path)
    proc = _cli("fit", str(path), "--library", "raman/fsi_tfsi", "--start", "library", "--quiet",
                "--out", str(tmp_path / "r.nc"))
    assert proc.returncode in (0, 3), proc.stderr
    assert specfit.open_results(tmp_path / "r.nc").attrs["start"].startswith("library values")


def test_fit_options_pickle():
    """FitOptions travel to dask workers: plain pickle must work (its read-only background options included)."""
    import pickle

    from specfit.fitting.api import resolve_library
    from specfit.options import FitOptions

    lib = resolve_library("xps/F1s")
    options = FitOptions.build(lib, background="shirley_fixed", background_options={"n_average": 3})
    back = pickle.loads(pickle.dumps(options))
    assert back == options and dict(back.background_options) == {"n_average": 3}


def test_large_batches_keep_parameters_not_curves(monkeypatch):
    import specfit.fitting.dataset as results

    monkeypatch.setattr(results, "MAX_STORED_CURVES", 2)
    da, _ = raman_series(3, seed=1)
    ds = specfit.fit(da, "raman/fsi_tfsi")
    assert not CURVES & set(ds.data_vars)
    assert ds.attrs["curves"].startswith("not stored")
    assert ds["parameters"].shape == (3, ds.sizes["parameter"])


def test_pilot_start_keeps_the_minima_in_fewer_evaluations():
    """A batch of >= PILOT_MIN spectra starts from a pilot fit's median lines: the chi-square minima of
    starting every spectrum from the library (the plain reference), in fewer evaluations (15.2 against 19.6)."""
    from specfit.fitting.api import resolve_library
    from specfit.fitting.pipeline import PILOT_MIN, fit_prepared, run_fit
    from specfit.fitting.prepare import prepare
    from specfit.options import FitOptions

    da, _ = raman_series(PILOT_MIN + 44, seed=9)
    lib = resolve_library("raman/fsi_tfsi")
    options = FitOptions.build(lib, progress=False, shape_tie="none")  # both fits on the same model
    prep = prepare(da, lib)
    piloted = fit_prepared(prep, lib, options)
    cold = run_fit(prepare(da, lib), lib, options)  # no pilot: every spectrum from the library's values
    assert "pilot fit of 64 spectra" in piloted.attrs["start"]
    assert piloted.success.all() and cold.success.all()
    same_or_better = piloted.cost <= cold.cost * (1 + 1e-6)
    assert same_or_better.mean() >= 0.99
    assert piloted.nfev.mean() < 0.9 * cold.nfev.mean()
    # the same minimum: parameters equal to a small fraction of their standard errors
    sigma = np.sqrt(np.diagonal(cold.cov, axis1=1, axis2=2))
    ok = np.all(np.isfinite(sigma) & (sigma > 0), axis=1)
    shift = np.max(np.abs(piloted.theta - cold.theta)[ok] / sigma[ok], axis=1)
    assert ok.mean() > 0.9 and np.percentile(shift, 99) < 1e-4  # 2.5e-6 when written
    ds = specfit.fit(da, "raman/fsi_tfsi", progress=False)
    assert "pilot" in ds.attrs["start"]


# ------------------------------------------------------------------ scale, bad spectra
@pytest.mark.parametrize("engine", ["batch", "lmfit"])
def test_fit_is_scale_invariant(engine):
    """Case 28: s = 1e-15 ... 1e15 gives the same fractions (1e-6), centres, and areas / s."""
    da, _ = raman_series(1, seed=7)
    da = da.isel(sample=0)
    ref = specfit.fit(da, "raman/fsi_tfsi", engine=engine)
    for s in (1e-15, 1e-9, 1e-3, 1e3, 1e9, 1e15):
        ds = specfit.fit(da * s, "raman/fsi_tfsi", engine=engine)
        assert bool(ds.success)
        np.testing.assert_allclose(ds.fraction, ref.fraction, atol=1e-6)
        np.testing.assert_allclose(ds.center, ref.center, atol=1e-6)
        np.testing.assert_allclose(ds.area / s, ref.area, rtol=1e-6)
        np.testing.assert_allclose(ds.area_stderr / s, ref.area_stderr, rtol=1e-4)


def test_axis_reversal_gives_the_same_fit():
    da, _ = raman_series(2, seed=8)
    ref = specfit.fit(da, "raman/fsi_tfsi")
    rev = specfit.fit(da.isel(raman_shift=slice(None, None, -1)), "raman/fsi_tfsi")
    np.testing.assert_allclose(rev.fraction, ref.fraction, atol=1e-9)
    np.testing.assert_allclose(rev.best_fit.values, ref.best_fit.values[:, ::-1], rtol=1e-9)


@pytest.mark.parametrize("engine", ["batch", "lmfit"])
def test_case27_one_huge_spectrum_does_not_sink_the_batch(engine):
    da = specfit.read(_cases("27-batch-one-huge-spectrum") / "batch4.nc")
    ds = specfit.fit(da, "raman/fsi_tfsi", engine=engine)
    assert ds.success.values.tolist() == [True, True, False, True]
    assert ds.fit_message.values[2] and "not_fitted" in ds.flags.values[2]
    alone = specfit.fit(da.isel(sample=[0, 1, 3]), "raman/fsi_tfsi", engine=engine)
    np.testing.assert_allclose(ds.fraction.isel(sample=[0, 1, 3]), alone.fraction, atol=1e-3)


@pytest.mark.slow  # a CLI subprocess
def test_case28_scale_script_passes():
    script = _cases("28-intensity-scale-invariance") / "run.py"
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_pure_noise_spectrum_is_flagged():
    rng = np.random.default_rng(1)
    good, _ = raman_series(2, seed=9)
    noise = good.isel(sample=[0]).copy(data=100 + rng.normal(0, 3, (1, good.sizes["raman_shift"])))
    da = xr.concat([good, noise.assign_coords(sample=["noise"])], dim="sample")
    ds = specfit.fit(da, "raman/fsi_tfsi")
    flags = ds.flags.values
    assert "poor_fit" in flags[-1] or "insignificant" in flags[-1]
    assert flags[0] == "" and flags[1] == ""
