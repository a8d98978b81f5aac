"""Result files (atomic, identical round trip) and the command line (exit codes, one-line errors)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import specfit
from specfit.cli.app import main
from specfit.examples import li7_series, raman_series


@pytest.fixture(scope="module")
def result():
    da, _ = raman_series(n_samples=3, seed=8)
    return specfit.fit(da, "raman/fsi_tfsi", share="center,width")


def test_schema(result):
    for name in ("center", "fwhm", "height", "area", "fraction"):
        assert result[name].dims == ("sample", "component")
        assert result[f"{name}_stderr"].dims == ("sample", "component")
    for name in ("success", "redchi", "rsquared", "aic", "bic", "nfev", "charge_shift"):
        assert result[name].dims == ("sample",)
    for name in ("data", "best_fit", "background", "residual"):
        assert result[name].dims == ("sample", "raman_shift")
    assert result["component_curve"].dims == ("sample", "component", "raman_shift")
    for key in ("specfit_version", "library", "library_hash", "background", "lineshape", "created"):
        assert key in result.attrs
    np.testing.assert_allclose(result.residual, result.data - result.best_fit)
    # full covariances: the diagonal is stderr^2, fractions sum to 1 so their covariance rows sum to 0
    diag = np.diagonal(result.area_covariance.values, axis1=-2, axis2=-1)
    np.testing.assert_allclose(np.sqrt(diag), result.area_stderr.values, rtol=1e-10)
    rows = result.fraction_covariance.sum("component_2").values
    assert np.abs(rows).max() < 1e-10 * np.abs(result.fraction_covariance.values).max() + 1e-15


def test_save_open_identical(result, tmp_path):
    path = specfit.save(result, tmp_path / "r.nc")
    back = specfit.open_results(path)
    xr.testing.assert_identical(back, result)
    assert set(back.attrs) == set(result.attrs)
    assert not list(tmp_path.glob(".*tmp"))


def test_failed_write_leaves_old_file(result, tmp_path, monkeypatch):
    path = tmp_path / "r.nc"
    path.write_bytes(b"old")

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(OSError):
        specfit.save(result, path)
    assert path.read_bytes() == b"old"
    assert not list(tmp_path.glob(".*tmp"))


def test_open_results_bad_file(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(specfit.FileFormatError, match="bad.nc"):
        specfit.open_results(bad)


def test_cli_fit_share_and_report(tmp_path, capsys):
    da, truth = raman_series(seed=9)
    src = tmp_path / "series.nc"
    da.to_netcdf(src, engine="h5netcdf")
    before = src.read_bytes()
    out = tmp_path / "result.nc"
    assert main(["fit", str(src), "--library", "raman/fsi_tfsi", "--share", "center,width", "--out", str(out)]) == 0
    ds = specfit.open_results(out)
    assert ds.attrs["share"] == "center,width"
    assert np.abs(ds.fraction.values - truth.fraction.values).max() < 0.03
    assert src.read_bytes() == before
    assert main(["report", str(out), "--out", str(tmp_path / "fig.png")]) == 0
    assert (tmp_path / "fig.png").stat().st_size > 10_000


def test_cli_several_csv_inputs(tmp_path):
    da, truth = li7_series()
    paths = []
    for i in range(da.sizes["sample"]):
        p = tmp_path / f"s{i}.csv"
        np.savetxt(p, np.c_[da.chemical_shift.values, da.values[i]], delimiter=",", header="ppm,intensity")
        paths.append(str(p))
    out = tmp_path / "nmr.nc"
    assert main(["fit", *paths, "--library", "nmr/li7", "--out", str(out)]) == 0
    ds = specfit.open_results(out)
    assert ds.center.dims == ("spectrum", "component")
    np.testing.assert_allclose(ds.center.values[:, 0], truth.center.values, atol=0.01)


def test_cli_libraries(capsys):
    assert main(["libraries"]) == 0
    lines = capsys.readouterr().out.split()
    assert "raman/fsi_tfsi" in lines and "xps/F1s" in lines


@pytest.mark.parametrize("argv,needle", [
    (["fit", "missing.nc", "--library", "raman/fsi_tfsi", "--out", "x.nc"], "missing.nc"),
    (["fit", "{csv}", "--library", "raman/none", "--out", "x.nc"], "unknown library"),
    (["fit", "{csv}", "--library", "raman/fsi_tfsi", "--out", "{csv}"], "refusing to overwrite"),
    (["fit", "{csv}", "--library", "raman/fsi_tfsi"], "--out"),
    (["nonsense"], "invalid choice"),
])
def test_cli_errors_exit_2_one_line(tmp_path, capsys, argv, needle):
    csv = tmp_path / "a.csv"
    x = np.linspace(700, 780, 200)
    np.savetxt(csv, np.c_[x, np.exp(-((x - 740) / 5) ** 2) + 1], delimiter=",")
    argv = [a.replace("{csv}", str(csv)) for a in argv]
    with pytest.raises(SystemExit) if argv[0] == "nonsense" or "--out" not in argv else _no_raise():
        code = main(argv)
        assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err and "Traceback" not in err
    if "--out" in argv and argv[-1] == str(csv):
        assert csv.read_text().strip()


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
