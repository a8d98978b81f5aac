"""Smoke run of benchmarks/run.py (--quick): every scenario runs and reports sane numbers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("specfit_bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_every_scenario(bench, capsys):
    runs = bench.main(["--quick", "--in-process"])
    out = capsys.readouterr().out
    assert [r["scenario"] for r in runs] == list(bench.SCENARIOS)
    for r in runs:
        assert r["scenario"] in out
        assert r["specfit_per_s"] > 0 and r["lmfit_per_s"] > 0
        assert r["ratio"] == pytest.approx(r["specfit_per_s"] / r["lmfit_per_s"])
        # the same subset fitted by both: specfit reaches lmfit's chi-square (or better) on the smoke data
        # (six overlapped bands have several local minima: there only the share is checked to be reported)
        assert r["chi2_le_lmfit"] == 1.0 or r["scenario"] == "raman-6band", r
        assert 0.0 <= r["chi2_le_lmfit"] <= 1.0
        assert r["success"] == 1.0, r
        assert 10 < r["peak_rss_mb"] < 4000


def test_synthetic_map_truth_is_what_the_data_hold(bench):
    """The generator's truth reproduces its spectra (noise aside): the benchmark measures a known problem."""
    import numpy as np

    from specfit.lineshapes.profiles import profile

    da, truth = bench.raman_map(5, 401, series=True, truth=True)
    x = da.raman_shift.values
    peaks = sum(profile("voigt", x, truth["area"][:, i, None], truth["center"][:, i, None],
                        truth["fwhm"][:, i, None], truth["shape"][:, i, None]) for i in range(3))
    resid = da.values - peaks
    # what is left is a linear baseline plus noise of sigma = max(peaks) / 150
    u = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(u, resid.T, rcond=None)
    noise = resid - (u @ coef).T
    assert np.allclose(noise.std(axis=1), peaks.max(axis=1) / 150.0, rtol=0.15)
    assert np.allclose(truth["fraction"].sum(axis=1), 1.0)


def test_global_series_recovers_the_generating_truth(bench, tmp_path):
    """share=center,width over 1000 spectra: converges, and fractions agree with the truth within their errors."""
    import numpy as np

    import specfit

    da, truth = bench.raman_map(1000, 401, seed=11, series=True, truth=True)
    ds = specfit.fit(da, str(bench.write_raman_library(tmp_path)), share=("center", "width"), progress=False)
    assert bool(ds.success.all())
    z = (ds.fraction.values - truth["fraction"]) / ds.fraction_stderr.values
    assert np.all(np.isfinite(z))
    assert 0.7 < np.sqrt(np.mean(z**2)) < 1.4  # reported errors are the real scatter
    assert np.mean(np.abs(z) < 3) > 0.98
    np.testing.assert_allclose(ds.center.values[0], truth["center"][0], atol=5 * ds.center_stderr.values[0].max())
