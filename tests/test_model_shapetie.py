"""Shape-parameter ties: the library transform, the F-test, the option on every entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

import specfit
from specfit.cli.app import main
from specfit.errors import FitError, LibraryError
from specfit.examples import raman_series
from specfit.library.loader import parse_library
from specfit.model.shapetie import common_shape_pvalue, shape_links, tie_shapes
from specfit.model.spec import compile_model

MIXED = {
    "library": {"name": "mixed", "window": [0.0, 100.0]},
    "component": [
        {"name": "A", "center": 20.0},
        {"name": "B", "center": 30.0},
        {"name": "fixed", "center": 40.0, "shape_range": [0.3, 0.3], "shape": 0.3},
        {"name": "G1", "center": 50.0, "lineshape": "gl"},
        {"name": "G2", "center": 60.0, "lineshape": "gl"},
        {"name": "follower", "center": 70.0, "same_width_as": "B"},
        {"name": "gauss", "center": 80.0, "lineshape": "gaussian"},
    ],
}


def test_tie_shapes_links_free_shapes_per_lineshape():
    lib = parse_library(MIXED)
    tied = tie_shapes(lib)
    assert shape_links(lib) == {}
    # fixed shapes, width followers and shapeless lineshapes are left alone; GL and Voigt shapes
    # mean different things, so each lineshape gets its own common shape
    assert shape_links(tied) == {"B": "A", "G2": "G1"}
    assert tie_shapes(tied) == tied
    spec = compile_model(tied, np.linspace(0.0, 100.0, 11))
    assert [n for n in spec.names if n.endswith("_shape")] == ["A_shape", "G1_shape"]


def test_library_key_validated():
    with pytest.raises(LibraryError, match=r"mine.toml: \[library\], key 'shape_tie': must be one of"):
        parse_library({**MIXED, "library": {**MIXED["library"], "shape_tie": "some"}}, path="mine.toml")
    assert parse_library({**MIXED, "library": {**MIXED["library"], "shape_tie": "all"}}).shape_tie == "all"
    assert specfit.load_library("raman/fsi_tfsi").shape_tie == "auto"
    assert specfit.load_library("xps/F1s").shape_tie == "none"


def test_pvalue_follows_the_f_distribution_on_nested_linear_models():
    """Independent truth: for nested linear least squares the F statistic is exactly F-distributed."""
    rng = np.random.default_rng(3)
    x = np.linspace(-1.0, 1.0, 40)
    full = np.vander(x, 4)  # cubic: the two top terms play the per-band shapes
    reduced = full[:, 2:]

    def pvalue(y):
        cost = [float(np.sum((y - m @ np.linalg.lstsq(m, y, rcond=None)[0]) ** 2)) for m in (full, reduced)]
        return common_shape_pvalue(cost[0], cost[1], x.size, 4, 2)

    null = np.array([pvalue(1.0 + 0.5 * x + rng.normal(0, 0.1, x.size)) for _ in range(400)])
    assert stats.kstest(null, "uniform").pvalue > 0.01
    alternative = np.array([pvalue(1.0 + 0.5 * x + 1.0 * x**3 + rng.normal(0, 0.1, x.size)) for _ in range(50)])
    assert np.all(alternative < 0.01)


def test_pvalue_edge_cases():
    assert common_shape_pvalue(10.0, 9.0, 100, 5, 2) == pytest.approx(1.0)  # common fit no worse
    assert np.isnan(common_shape_pvalue(10.0, 12.0, 100, 5, 0))
    assert np.isnan(common_shape_pvalue(10.0, 12.0, 5, 5, 2))
    assert np.isnan(common_shape_pvalue(0.0, 12.0, 100, 5, 2))


def test_fit_option_overrides_library_and_rejects_unknown():
    da, _ = raman_series(2, seed=1)
    none = specfit.fit(da, "raman/fsi_tfsi", shape_tie="none")
    assert none.attrs["shape_tie"] == "none" and json.loads(none.attrs["shape_tied_to"]) == {}
    assert len(set(none["shape"].isel(sample=0).values.round(6))) == 3
    tied = specfit.fit(da, "raman/fsi_tfsi", share="none")  # independent fits: no series to test the tie on
    assert tied.attrs["shape_tie"] == "auto" and "shape_tie_pvalue" not in tied.attrs  # nothing to test
    assert len(set(tied["shape"].isel(sample=0).values.round(12))) == 1
    with pytest.raises(FitError, match="unknown shape_tie 'some'"):
        specfit.fit(da, "raman/fsi_tfsi", shape_tie="some")


def test_cli_shape_tie_and_round_trip(tmp_path, capsys):
    da, _ = raman_series(3, seed=2)
    series = tmp_path / "series.nc"
    da.to_netcdf(series)
    out = tmp_path / "fit.nc"
    assert main(["fit", str(series), "--library", "raman/fsi_tfsi", "--share", "center,width", "--out", str(out)]) == 0
    ds = specfit.open_results(out)
    assert 0.0 <= ds.attrs["shape_tie_pvalue"] <= 1.0
    assert main(["fit", str(series), "--library", "raman/fsi_tfsi", "--shape-tie", "none", "--out",
                 str(tmp_path / "none.nc")]) == 0
    assert json.loads(specfit.open_results(tmp_path / "none.nc").attrs["shape_tied_to"]) == {}
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["fit", str(series), "--library", "raman/fsi_tfsi", "--shape-tie", "x", "--out", str(tmp_path / "bad.nc")])
    assert exc.value.code == 2
    assert "--shape-tie" in capsys.readouterr().err


def test_dask_path_applies_the_library_tie():
    pytest.importorskip("dask")
    da, _ = raman_series(4, seed=5)
    lazy = specfit.fit(da.chunk({"sample": 2}), "raman/fsi_tfsi").compute()
    eager = specfit.fit(da, "raman/fsi_tfsi", share="none")  # dask data are fitted chunk by chunk
    np.testing.assert_allclose(lazy["fraction"], eager["fraction"], atol=1e-9)
    assert lazy.attrs["shape_tied_to"] == eager.attrs["shape_tied_to"]
