"""A chunked map fitted lazily on a dask.distributed LocalCluster (worker processes) equals the in-memory fit.

The cluster has 2 worker processes x 1 thread (``processes=True``: tasks,
library and options are pickled to other interpreters, which run with
dask's worker environment, e.g. single-threaded BLAS).  The map is a
synthetic (y, x) grid of three Voigt bands on a linear baseline with
fractions that vary from pixel to pixel; the library written here describes
exactly that model, so the generating truth is a fair check of the fitted
fractions and of their reported errors.  The map is large enough to start
from a pilot fit of spectra spread over it: every chunk must start from
the same pilot as the in-memory fit.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from dask.distributed import Client, LocalCluster, get_task_stream

import specfit
from specfit.lineshapes.profiles import profile

pytestmark = pytest.mark.slow

CENTERS = (737.0, 743.0, 748.0)  # overlapped bands: a fit's last digits depend on where it starts
FWHM = (5.0, 7.0, 4.5)
SHAPE_Y, SHAPE_X = 16, 20  # 320 spectra: enough for the pilot start (specfit.fitting.pipeline.PILOT_MIN)

LIBRARY = """\
[library]
name = "test/three_voigts"
technique = "raman"
axis = "raman_shift"
window = [719.0, 775.0]
background = "linear"
lineshape = "voigt"
shape_range = [0.0, 1.0]
shape_tie = "none"
sources = ["synthetic test map (project choice)"]
""" + "".join(f"""
[[component]]
name = "band{i}"
center = {c}
center_range = [{c - 2.0}, {c + 2.0}]
fwhm = 6.0
fwhm_range = [2.5, 12.0]
shape = 0.5
source = "synthetic test map (project choice)"
""" for i, c in enumerate(CENTERS))


def voigt_map(seed: int = 4) -> tuple[xr.DataArray, np.ndarray]:
    """``(y, x, raman_shift)`` map and its true fractions ``(y, x, 3)`` (SNR 150 on the tallest band).

    Centers (+/- 0.8), widths (+/- 15 %), Voigt shapes (0.2-0.7) and
    fractions vary from pixel to pixel (``benchmarks/run.py``'s map, smaller).
    """
    rng = np.random.default_rng(seed)
    axis = np.linspace(719.0, 775.0, 401)
    grid = (SHAPE_Y, SHAPE_X, 1)
    fractions = rng.dirichlet((4.0, 5.0, 3.0), grid[:2])
    area = fractions * rng.uniform(800.0, 1200.0, grid)
    peaks = sum(profile("voigt", axis, area[..., i, None], c + rng.uniform(-0.8, 0.8, grid),
                        w * rng.uniform(0.85, 1.15, grid), rng.uniform(0.2, 0.7, grid))
                for i, (c, w) in enumerate(zip(CENTERS, FWHM)))
    u = (axis - axis.mean()) / (axis[-1] - axis[0])
    baseline = rng.uniform(10.0, 30.0, (SHAPE_Y, SHAPE_X, 1)) + rng.uniform(-5.0, 5.0, (SHAPE_Y, SHAPE_X, 1)) * u
    noise = rng.normal(0.0, 1.0, peaks.shape) * peaks.max(axis=-1, keepdims=True) / 150.0
    da = xr.DataArray(peaks + baseline + noise, dims=("y", "x", "raman_shift"), name="intensity",
                      coords={"y": np.arange(SHAPE_Y) * 2.0, "x": np.arange(SHAPE_X) * 2.0, "raman_shift": axis})
    return da, fractions


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    path = tmp_path_factory.mktemp("lib") / "three_voigts.toml"
    path.write_text(LIBRARY)
    return str(path)


def assert_same_result(got: xr.Dataset, ref: xr.Dataset) -> None:
    """Every variable equal (numbers to 1e-10 relative, NaN where NaN; text exactly), attributes too."""
    assert set(got.data_vars) == set(ref.data_vars)
    for name in ref.data_vars:
        a, b = ref[name], got[name].transpose(*ref[name].dims)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(b.values, a.values, rtol=1e-10, atol=0, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(b.values.astype(str), a.values.astype(str), err_msg=name)
    for key in set(ref.attrs) | set(got.attrs):
        if key not in ("created", "dask"):
            assert got.attrs.get(key) == ref.attrs.get(key), key
    for name in ref.coords:
        np.testing.assert_array_equal(got[name].values, ref[name].values, err_msg=name)


def test_cluster_fit_equals_in_memory_and_truth(client, library):
    da, true_fraction = voigt_map()
    da[9, 3, 100] = np.nan  # one spectrum with a NaN point must not change how the others of its chunk start
    ref = specfit.fit(da, library, share="none", uncertainty="statistical")  # chunk by chunk: independent fits
    lazy = specfit.fit(da.chunk({"y": 8, "x": 10}), library, share="none", uncertainty="statistical")  # 4 chunks
    assert lazy["fraction"].chunks is not None and "map_blocks" in lazy.attrs["dask"]
    assert "pilot" in ref.attrs["start"]
    with get_task_stream(client) as stream:
        got = lazy.compute()
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])  # the chunks ran on the cluster
    assert_same_result(got, ref)
    # fitted fractions against the generating truth, in units of the reported errors
    assert bool(got.success.all())
    z = (got.fraction.values - true_fraction) / got.fraction_stderr.values
    assert np.isfinite(z).all()
    assert np.mean(np.abs(z) < 3.0) >= 0.98, np.abs(z).max()
    assert 0.7 < np.sqrt(np.mean(z**2)) < 1.4


def test_xps_map_with_active_shirley_equals_in_memory(client):
    """Starting values must not depend on which spectra share a chunk (e.g. an iterated Shirley start)."""
    from specfit.examples import xps_series

    rng = np.random.default_rng(5)
    li2s = rng.uniform(0.2, 0.8, 40)
    lines = {"Li2S": {"center": 160.6, "fwhm": 1.1, "splitting": 1.18, "ratio": 0.5},
             "Li2SO4": {"center": 169.1, "fwhm": 1.4, "splitting": 1.18, "ratio": 0.5}}
    da, _ = xps_series(lines, np.stack([li2s, 1.0 - li2s], axis=1), x_range=(158.0, 174.0), step=0.05,
                       total_counts=2e5, seed=5, shape=0.3)
    options = {"components": "Li2S,Li2SO4", "background": "shirley", "share": "none", "uncertainty": "statistical"}
    ref = specfit.fit(da, "xps/S2p", **options)
    assert_same_result(specfit.fit(da.chunk({"etch_time": 10}), "xps/S2p", **options).compute(), ref)


def test_resampled_errors_do_not_depend_on_the_scheduler(client, library):
    """Bootstrap draws are seeded chunk by chunk: a cluster and the local threads give the same errors."""
    da, _ = voigt_map(seed=5)
    small = da.isel(y=slice(0, 2))  # 40 spectra, 10 draws each
    lazy = specfit.fit(small.chunk({"x": 10}), library, uncertainty="bootstrap", n_draws=10)
    assert "chunk by chunk" in lazy.attrs["uncertainty"]
    on_cluster = lazy.compute()
    on_threads = lazy.compute(scheduler="threads")
    np.testing.assert_array_equal(on_cluster.fraction_stderr.values, on_threads.fraction_stderr.values)
    covariance = specfit.fit(small, library, share="none", uncertainty="statistical")
    assert np.isfinite(on_cluster.fraction_stderr.values).all()
    assert not np.allclose(on_cluster.fraction_stderr.values, covariance.fraction_stderr.values)  # resampled
    np.testing.assert_allclose(on_cluster.fraction.values, covariance.fraction.values, rtol=1e-10)


def test_chunks_print_no_progress_bar(library, capfd, monkeypatch):
    """Progress is dask's: a chunk that streams through the engine in pieces prints no tqdm bar of its own."""
    import dask

    import specfit.fitting.pipeline as pipeline

    monkeypatch.setattr(pipeline, "CHUNK_BYTES", 1)  # 64 spectra per engine pass: several per dask chunk
    da, _ = voigt_map(seed=6)
    small = da.isel(y=slice(0, 10))  # 200 spectra in one chunk
    with dask.config.set(scheduler="sync"):
        specfit.fit(small.chunk({"y": 10, "x": 20}), library, progress=True).compute()
    assert "spectra" not in capfd.readouterr().err
    specfit.fit(small, library, progress=True)  # the same in memory does show one (the check above can fail)
    assert "fitting 200 spectra" in capfd.readouterr().err


def test_global_fit_on_dask_data_says_it_loads(library):
    da, _ = voigt_map(seed=7)
    ds = specfit.fit(da.isel(y=slice(0, 1)).chunk({"x": 5}), library, share=("center", "width"))
    assert ds.fraction.chunks is None  # fitted at call time, in memory
    assert "couples every spectrum" in ds.attrs["dask"] and "not lazy" in ds.attrs["dask"]
