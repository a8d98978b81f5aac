"""The pipeline's contracts: one result schema on every path, an exact model Jacobian, no import cycle,
scale invariance, one bad spectrum never sinks a batch (cases 27, 28), and nothing is ever overwritten
(cases 20, 21)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import specfit
from specfit.examples import raman_series
from specfit.library.loader import load_library
from specfit.lineshapes.profiles import LINESHAPES, get_lineshape
from specfit.model.spec import compile_model, evaluate_with_jacobian
from specfit.results.schema import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared" / "cases"
CURVES = {"data", "best_fit", "background", "residual", "component_curve"}


def _cases(name: str) -> Path:
    from conftest import shared_path

    return shared_path("..", "cases", name)


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


# ------------------------------------------------------------------ model Jacobian
@pytest.mark.parametrize("background", ["none", "linear", "polynomial", "shirley"])
@pytest.mark.parametrize("lineshape", LINESHAPES)
def test_model_jacobian_matches_finite_differences(lineshape, background):
    lib = load_library("xps/F1s")
    ls = get_lineshape(lineshape)
    from dataclasses import replace

    lo, hi = ls.shape_limits
    shape = ls.default_shape
    comps = tuple(replace(c, lineshape=lineshape, shape=shape, shape_range=(lo, hi) if hi > lo else (shape, shape))
                  for c in lib.components[:2])
    lib = replace(lib, components=comps)
    x = np.linspace(680.0, 694.0, 141)
    spec = compile_model(lib, x, background=background)
    rng = np.random.default_rng(0)
    theta = spec.default.copy()
    for j, group in enumerate(spec.groups):
        if group == "area":
            theta[j] = rng.uniform(50, 150)
        elif group == "background":
            theta[j] = rng.uniform(0.01, 0.2)
        elif np.isfinite(spec.lower[j]) and np.isfinite(spec.upper[j]):
            theta[j] = spec.lower[j] + rng.uniform(0.3, 0.7) * (spec.upper[j] - spec.lower[j])
    _, jac = evaluate_with_jacobian(spec, theta[None], x)
    for j in range(spec.n_params):
        h = 1e-6 * max(abs(theta[j]), 1.0)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        numeric = (evaluate_with_jacobian(spec, up[None], x)[0] - evaluate_with_jacobian(spec, down[None], x)[0])[0]
        numeric /= 2 * h
        scale = np.max(np.abs(numeric)) + 1e-12
        np.testing.assert_allclose(jac[0, :, j], numeric, atol=1e-5 * scale, rtol=0,
                                   err_msg=f"{lineshape}/{background}: {spec.names[j]}")


# ------------------------------------------------------------------ architecture
def test_no_import_cycle_and_no_private_imports():
    sys.path.insert(0, str(ROOT / "tests"))
    from import_graph import cycles, graph

    edges, private = graph()
    assert cycles(edges) == []
    assert private == []


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


# ------------------------------------------------------------------ nothing is lost
@pytest.mark.slow  # a CLI subprocess
def test_case21_save_refuses_the_input_file(tmp_path):
    src = _cases("21-save-overwrites-input") / "spectrum.nc"
    path = tmp_path / "spectrum.nc"
    path.write_bytes(src.read_bytes())
    before = path.read_bytes()
    da = specfit.read(path)
    ds = specfit.fit(da, "raman/fsi_tfsi")
    with pytest.raises(specfit.SpecfitError, match="spectrum.nc: refusing to overwrite an input file"):
        specfit.save(ds, path)
    assert path.read_bytes() == before


def _cli(*args, cwd=None):
    exe = Path(sys.executable).with_name("specfit")
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_case20_library_toml_never_overwritten(tmp_path):
    case = _cases("20-library-toml-overwritten")
    for name in ("spectrum.nc", "mylib.toml"):
        (tmp_path / name).write_bytes((case / name).read_bytes())
    before = (tmp_path / "mylib.toml").read_bytes()
    run = _cli("fit", "spectrum.nc", "--library", "mylib.toml", "--out", "mylib.toml", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "mylib.toml" in run.stderr
    assert (tmp_path / "mylib.toml").read_bytes() == before


def test_writes_respect_umask_keep_mode_and_clean_stale_temps(tmp_path):
    da, _ = raman_series(1, seed=1)
    ds = specfit.fit(da, "raman/fsi_tfsi")
    old = os.umask(0o022)
    try:
        out = specfit.save(ds, tmp_path / "r.nc")
        assert (out.stat().st_mode & 0o777) == 0o644
        out.chmod(0o640)
        stale = tmp_path / ".r.nc.999999999.abc.tmp"
        stale.write_bytes(b"half")
        specfit.save(ds, tmp_path / "r.nc")
        assert (out.stat().st_mode & 0o777) == 0o640
        assert not stale.exists()
    finally:
        os.umask(old)


def test_cli_flags_summary_and_strict(tmp_path):
    case = _cases("12-stderr-at-bound-unflagged")
    run = _cli("fit", case / "two_bands.csv", "--library", case / "two_bands.toml", "--out", tmp_path / "o.nc")
    assert run.returncode == 0
    assert "flagged at_bound" in run.stderr
    strict = _cli("fit", case / "two_bands.csv", "--library", case / "two_bands.toml", "--out", tmp_path / "p.nc",
                  "--strict")
    assert strict.returncode == 3
    neg = _cli("fit", case / "two_bands.csv", "--library", case / "two_bands.toml", "--out", tmp_path / "q.nc",
               "--window", "-5,900", "--quiet")
    assert neg.returncode == 0 and neg.stderr == ""
    quiet_strict = _cli("fit", case / "two_bands.csv", "--library", case / "two_bands.toml", "--out",
                        tmp_path / "r.nc", "--quiet", "--strict")
    assert quiet_strict.returncode == 3 and quiet_strict.stderr == ""


def test_library_for_another_nucleus_is_refused():
    x = np.linspace(-10, 10, 401)
    da = xr.DataArray(np.exp(-x**2), dims="chemical_shift", coords={"chemical_shift": x},
                      attrs={"nucleus": "13C", "source_file": "c13.jdx"})
    with pytest.raises(specfit.DataError, match="c13.jdx: the file's nucleus is '13C'"):
        specfit.fit(da, "nmr/li7")
    raman = xr.DataArray(np.exp(-x**2), dims="raman_shift", coords={"raman_shift": x})
    with pytest.raises(specfit.DataError, match="raman"):
        specfit.fit(raman, "nmr/li7")


def test_case06_casaxps_calibration_in_the_file_is_applied():
    da = specfit.read(_cases("06-vamas-casa-range-calibration") / "c1s_casa_range_calib.vms")
    ds = specfit.fit(da, "xps/C1s", components="C-C,C-O,O-C=O")
    assert 1.4 <= abs(float(ds.charge_shift)) <= 1.5
    assert abs(float(ds.center.sel(component="C-C")) - 284.8) <= 0.1
    np.testing.assert_allclose(ds.fraction.values, [0.68, 0.21, 0.10], atol=0.03)
    assert "Calib M = 283.2,283.4 A = 284.8" in ds.attrs["charge_reference"]
    # an explicit shift is the user's choice: the file's calibration is then not applied
    raw = specfit.fit(da, "xps/C1s", components="C-C,C-O,O-C=O", charge_shift=0.0)
    assert float(raw.charge_shift) == 0.0
    assert "at_bound" in str(raw.flags.values) and "center at its" in str(raw.fit_message.values)


@pytest.mark.parametrize("library,kwargs", [("raman/fsi_tfsi", {}), ("raman/fsi_tfsi", {"background": "als"}),
                                            ("raman/fsi_tfsi", {"lineshape": "GL(30)", "shape_tie": "none"})])
def test_curves_rebuilt_from_parameters_equal_the_stored_ones(library, kwargs):
    from specfit.results.rebuild import curves

    da, _ = raman_series(3, seed=11)
    ds = specfit.fit(da, library, **kwargs)
    needs_data = kwargs.get("background") == "als"
    got = curves(ds, da if needs_data else None)
    for name in ("best_fit", "background", "component_curve"):
        np.testing.assert_allclose(got[name].values, ds[name].values, rtol=1e-9, atol=1e-9, err_msg=name)
    one = curves(ds, da if needs_data else None, sample=ds.sample.values[1])
    np.testing.assert_allclose(one["best_fit"].values, ds["best_fit"].values[1], rtol=1e-9)
    if needs_data:
        with pytest.raises(specfit.DataError, match="pass the data"):
            curves(ds)


def test_options_that_do_not_apply_are_refused_with_the_reason():
    da, _ = raman_series(1, seed=2)
    with pytest.raises(specfit.SpecfitError, match="charge_shift applies to XPS"):
        specfit.fit(da, "raman/fsi_tfsi", charge_shift=1.0)
    x = np.linspace(680.0, 694.0, 281)
    f1s = xr.DataArray(1000 * np.exp(-((x - 685.0) / 0.7) ** 2) + 100, dims="binding_energy",
                       coords={"binding_energy": x})
    with pytest.raises(specfit.SpecfitError, match="apply to background='shirley_fixed'"):
        specfit.fit(f1s, "xps/F1s", background_options={"endpoints": "centred"})
    ok = specfit.fit(f1s, "xps/F1s", components="LiF", background="shirley_fixed",
                     background_options={"endpoints": "centred", "n_average": 5})
    assert bool(ok.success) and abs(ok.center.values.item() - 685.0) < 0.01


@pytest.mark.slow  # a CLI subprocess
def test_broken_pipe_is_not_an_error(tmp_path):
    exe = Path(sys.executable).with_name("specfit")
    run = subprocess.run(f"'{exe}' libraries --long | head -1", shell=True, capture_output=True, text=True,
                         timeout=120)
    assert run.stderr == ""


def test_workflow_subcommands_run(tmp_path, capsys):
    from specfit.cli.app import main
    from specfit.examples import li7_series

    da, truth = raman_series(3, seed=12)
    da.to_netcdf(tmp_path / "raman.nc", engine="h5netcdf")
    assert main(["raman-speciation", str(tmp_path / "raman.nc"), "--baselines", "quadratic,linear",
                 "--out", str(tmp_path / "spec.nc")]) == 0
    spec = specfit.open_results(tmp_path / "spec.nc")
    np.testing.assert_allclose(spec.fraction.values, truth.fraction.values, atol=0.03)
    assert "fraction_baseline_spread" in spec
    li7, li7_truth = li7_series()
    li7.to_netcdf(tmp_path / "li7.nc", engine="h5netcdf")
    assert main(["nmr-shifts", str(tmp_path / "li7.nc"), "--out", str(tmp_path / "shifts.nc")]) == 0
    shifts = specfit.open_results(tmp_path / "shifts.nc")
    assert "shift_delta" in shifts
    assert main(["compare", str(tmp_path / "raman.nc"), "--library", "raman/fsi_tfsi", "--models", "free,CIP",
                 "free,CIP,AGG"]) == 0
    assert "best (bic): free+CIP+AGG" in capsys.readouterr().out
