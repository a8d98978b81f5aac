"""Nothing is lost: results never replace an input or a library (cases 20, 21), writes keep the umask and clean
stale temporary files, and the command line's summary, strict mode and subcommands."""

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

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared" / "cases"
CURVES = {"data", "best_fit", "background", "residual", "component_curve"}


def _cases(name: str) -> Path:
    from conftest import shared_path

    return shared_path("..", "cases", name)



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


@pytest.mark.slow  # long: a statistical check or CLI subprocesses
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


@pytest.mark.slow  # long: a statistical check or CLI subprocesses
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
