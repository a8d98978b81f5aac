"""Every engine behind one interface: the same problems, the same answers (astropy.modeling's style).

The batch engine and lmfit must agree on parameters, on which parameters rest
on a bound and on every standard error (to 1e-4 relative) because bounds and
covariance are computed once for both (``specfit.engines.finalize``).  The
global fit's block-arrow covariance is checked against lmfit fitting the
same stacked problem with explicitly shared parameters.
"""

from __future__ import annotations

import numpy as np
import pytest

import specfit
from specfit.engines import ENGINES, at_bound
from specfit.errors import OptionError
from specfit.examples import raman_series
from specfit.lineshapes.profiles import gaussian

STDERR_RTOL = 1e-4
QUANTITIES = ("center", "fwhm", "height", "area", "fraction")


def _two_band_library(tmp_path, fwhm_a=(3.0, 6.0)):
    path = tmp_path / "two.toml"
    path.write_text(f"""
[library]
name = "two"
technique = "raman"
window = [700.0, 800.0]
background = "linear"
lineshape = "gaussian"
[[component]]
name = "A"
center = 740.0
center_range = [735.0, 745.0]
fwhm = 5.0
fwhm_range = [{fwhm_a[0]}, {fwhm_a[1]}]
[[component]]
name = "B"
center = 760.0
center_range = [755.0, 765.0]
fwhm = 6.0
fwhm_range = [3.0, 12.0]
""")
    return path


def _two_bands(seed=0, n=3):
    rng = np.random.default_rng(seed)
    x = np.arange(700.0, 800.01, 0.5)
    y = np.stack([gaussian(x, 3000 * (1 + 0.1 * i), 740.0, 8.0) + gaussian(x, 2000, 760.0, 7.0) + 50
                  + rng.normal(0, 3.0, x.size) for i in range(n)])
    import xarray as xr

    return xr.DataArray(y, dims=("sample", "raman_shift"), coords={"raman_shift": x, "sample": [f"S{i}" for i in
                                                                                                 range(n)]})


@pytest.fixture(params=["free", "at_bound"])
def problem(request, tmp_path):
    """Two Gaussian bands; in ``at_bound`` A's true FWHM (8) lies outside its range [3, 6] (case 12)."""
    lib = _two_band_library(tmp_path, (3.0, 12.0) if request.param == "free" else (3.0, 6.0))
    return _two_bands(), lib, request.param


def test_registry_lists_every_engine():
    from specfit.engines import Engine

    assert set(ENGINES) == {"batch", "lmfit", "global"}
    assert all(issubclass(cls, Engine) for cls in ENGINES.values())


def _options_for(name: str) -> dict:
    """``fit`` options that run the registered engine ``name`` (the sharing engine is chosen by ``share``)."""
    return {"share": "center"} if ENGINES[name].shares else {"engine": name, "share": "none"}


@pytest.mark.parametrize("name", sorted(ENGINES))
class TestEveryEngine:
    """The same tests over every registered engine (astropy.modeling's fitter tests)."""

    def test_recovers_truth(self, name, tmp_path):
        da = _two_bands()
        ds = specfit.fit(da, _two_band_library(tmp_path, (3.0, 12.0)), **_options_for(name))
        assert bool(ds.success.all())
        z = (ds.fwhm.sel(component="A") - 8.0) / ds.fwhm_stderr.sel(component="A")
        assert float(abs(z).max()) < 4
        assert ds.attrs["engine"] == name
        assert ds.attrs["engine_path"]

    def test_solve_returns_one_result_type(self, name, tmp_path):
        from specfit.engines import EngineResult
        from specfit.fitting.prepare import prepare
        from specfit.library import load_library
        from specfit.model import FitProblem, compile_model
        from specfit.model.initial import initial_theta
        from specfit.options import FitOptions

        lib = load_library(_two_band_library(tmp_path, (3.0, 12.0)))
        prep = prepare(_two_bands(), lib)
        spec = compile_model(lib, prep.x, background="linear")
        problem = FitProblem(spec, prep.x, prep.y, prep.weights)
        options = FitOptions.build(lib, **_options_for(name))
        result = ENGINES[name]().solve(problem, initial_theta(spec, prep.x, prep.y, prep.weights), options)
        assert isinstance(result, EngineResult)
        n, p = prep.y.shape[0], spec.n_params
        assert result.theta.shape == (n, p) and result.cost.shape == (n,) and len(result.message) == n
        assert bool(np.all(result.success))

    def test_refuses_spectra_it_cannot_fit_per_spectrum(self, name, tmp_path):
        """A NaN-only spectrum is flagged not_fitted; the rest of the batch is fitted by every engine."""
        da = _two_bands().copy()
        da[1] = np.nan
        ds = specfit.fit(da, _two_band_library(tmp_path, (3.0, 12.0)), **_options_for(name))
        assert not bool(ds.success[1]) and "not_fitted" in str(ds.flags.values[1])
        assert bool(ds.success[0]) and bool(ds.success[2])


def test_batch_and_lmfit_agree_on_everything(problem):
    da, lib, kind = problem
    batch = specfit.fit(da, lib, engine="batch", share="none")  # independent fits, as lmfit's
    ref = specfit.fit(da, lib, engine="lmfit")
    np.testing.assert_array_equal(batch.at_bound.values, ref.at_bound.values)
    np.testing.assert_array_equal(batch.flags.values, ref.flags.values)
    for q in QUANTITIES:
        np.testing.assert_allclose(batch[q].values, ref[q].values, rtol=1e-6)
        np.testing.assert_allclose(batch[f"{q}_stderr"].values, ref[f"{q}_stderr"].values, rtol=STDERR_RTOL)
    if kind == "at_bound":
        # case 12: A's FWHM on its upper limit 6, said in words, its stderr NaN with that reason
        assert bool(batch.at_bound.sel(component="A").all())
        assert np.isnan(batch.fwhm_stderr.sel(component="A")).all()
        assert all("A FWHM at its upper limit 6" in m for m in batch.fit_message.values)
        assert all("at_bound" in f.split(",") for f in batch.flags.values)
    else:
        assert not bool(batch.at_bound.any())
        assert not any("at_bound" in f for f in batch.flags.values)


def test_lmfit_uses_the_analytic_jacobian(tmp_path):
    """With Dfun, lmfit needs a few dozen evaluations per spectrum, not hundreds."""
    ds = specfit.fit(_two_bands(), _two_band_library(tmp_path, (3.0, 12.0)), engine="lmfit")
    assert int(ds.nfev.max()) < 60


def test_lmfit_cannot_share_and_says_so():
    da, _ = raman_series(3, seed=0)
    with pytest.raises(OptionError, match="cannot share"):
        specfit.fit(da, "raman/fsi_tfsi", engine="lmfit", share="center")


def test_at_bound_one_definition():
    lower = np.array([0.0, 3.0, -np.inf])
    upper = np.array([np.inf, 6.0, np.inf])
    theta = np.array([[0.0, 6.0, 5.0], [1e-3, 5.9999999, -1e9], [2.0, 3.1, 0.0]])
    np.testing.assert_array_equal(at_bound(theta, lower, upper),
                                  [[True, True, False], [False, True, False], [False, False, False]])


def test_global_block_covariance_matches_lmfit_stacked(tmp_path):
    """Shared centers across 3 spectra: stderr of the global fit = lmfit on the explicitly stacked problem."""
    import lmfit

    da = _two_bands(seed=4)
    lib = _two_band_library(tmp_path, (3.0, 12.0))
    ds = specfit.fit(da, lib, share="center")
    assert ds.attrs["engine"] == "global"
    x = da.raman_shift.values
    params = lmfit.Parameters()
    for comp in ("A", "B"):
        params.add(f"c{comp}", value=float(ds.center.sel(component=comp)[0]))
    for i in range(da.sizes["sample"]):
        for comp in ("A", "B"):
            params.add(f"a{comp}{i}", value=float(ds.area.sel(component=comp)[i]))
            params.add(f"w{comp}{i}", value=float(ds.fwhm.sel(component=comp)[i]))
        params.add(f"b0{i}", value=50.0)
        params.add(f"b1{i}", value=0.0)

    u = (x - 0.5 * (x.min() + x.max())) / (0.5 * (x.max() - x.min()))

    def residual(p):
        out = []
        for i in range(da.sizes["sample"]):
            model = sum(gaussian(x, p[f"a{c}{i}"].value, p[f"c{c}"].value, p[f"w{c}{i}"].value) for c in ("A", "B"))
            out.append(model + p[f"b0{i}"].value + p[f"b1{i}"].value * u - da.values[i])
        return np.concatenate(out)

    ref = lmfit.minimize(residual, params, method="leastsq", xtol=1e-12, ftol=1e-12)
    for comp in ("A", "B"):
        np.testing.assert_allclose(ds.center.sel(component=comp)[0], ref.params[f"c{comp}"].value, rtol=1e-7)
        np.testing.assert_allclose(ds.center_stderr.sel(component=comp).values,
                                   ref.params[f"c{comp}"].stderr, rtol=1e-3)
        for i in range(da.sizes["sample"]):
            np.testing.assert_allclose(ds.area_stderr.sel(component=comp)[i], ref.params[f"a{comp}{i}"].stderr,
                                       rtol=1e-3)


# ---------------------------------------------------------------- first run on a machine (issue 23)
_KERNEL_MODULE = '''
import sys, numba, numpy as np
from specfit.lineshapes.faddeeva import kernel_ready

@numba.njit(cache=True, nogil=True)
def kernel(a):
    return a.sum() * 2.0

args = (np.ones(3),)
ready = kernel_ready(kernel, args)
print("ready" if ready else "compiling", flush=True)
'''


def _run_kernel_module(tmp_path, cache, cwd=None, flags=()):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SPECFIT_COMPILE"}
    env.update(NUMBA_CACHE_DIR=str(cache), PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path))
    out = subprocess.run([sys.executable, *flags, "-c", "import firstrun"], cwd=cwd or tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


def _wait_for_build(cache, timeout=300.0):
    """Until the build process's lock is gone and the cache index exists (the build outlives its parent)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(cache.rglob("*.nbi")) and not any(cache.rglob("specfit-build.lock")):
            return
        time.sleep(0.2)
    raise AssertionError(f"no build finished in {timeout} s: {sorted(cache.rglob('*'))}")


def test_first_run_compiles_in_a_background_process_and_the_next_process_loads_the_cache(tmp_path):
    """Nothing cached: not ready (numpy path meanwhile), one line says so and one that the build goes on;
    the process exits without waiting; the build process writes the cache; the next process finds it ready
    at once and says nothing."""
    from specfit.lineshapes import faddeeva

    if not faddeeva.HAVE_NUMBA:
        pytest.skip("numba not installed (or SPECFIT_NO_NUMBA): nothing to compile")
    (tmp_path / "firstrun.py").write_text(_KERNEL_MODULE)
    cache = tmp_path / "cache"
    first = _run_kernel_module(tmp_path, cache)
    assert first.stdout.split() == ["compiling"]
    lines = first.stderr.strip().splitlines()
    assert len(lines) == 2 and "compiling the fast engine" in lines[0] and "goes on in the background" in lines[1]
    assert all(line.startswith("specfit: ") for line in lines), first.stderr
    _wait_for_build(cache)
    second = _run_kernel_module(tmp_path, cache)
    assert second.stdout.split() == ["ready"] and second.stderr == ""


@pytest.mark.slow
def test_the_build_process_compiles_the_modules_this_process_uses(tmp_path):
    """Started from a folder holding another ``specfit`` (a source checkout beside an installed copy), the
    build process still imports this process's specfit, so the cache it writes is the one read here."""
    from specfit.lineshapes import faddeeva

    if not faddeeva.HAVE_NUMBA:
        pytest.skip("numba not installed (or SPECFIT_NO_NUMBA): nothing to compile")
    (tmp_path / "firstrun.py").write_text(_KERNEL_MODULE)
    decoy = tmp_path / "checkout"
    (decoy / "specfit").mkdir(parents=True)
    (decoy / "specfit" / "__init__.py").write_text("raise ImportError('the decoy specfit was imported')\n")
    cache = tmp_path / "cache"
    # this process runs in the decoy's folder without it on its path (python -P), as a script run from there
    first = _run_kernel_module(tmp_path, cache, cwd=decoy, flags=("-P",))
    assert first.stdout.split() == ["compiling"], first.stderr
    _wait_for_build(cache, timeout=120.0)
    again = _run_kernel_module(tmp_path, cache)
    assert again.stdout.split() == ["ready"] and again.stderr == ""


_TWO_KERNELS_MODULE = """
import os, sys, tempfile, time, numba, numpy as np
from specfit.lineshapes import faddeeva as f

@numba.njit(cache=True)
def first(a):
    return a.sum()

@numba.njit(cache=True)
def second(a):
    return a.sum() * 3.0

def main():
    if os.environ.get("WHERE") == "gone":  # the current folder deleted under the process
        here = tempfile.mkdtemp()
        os.chdir(here)
        os.rmdir(here)
    args = (np.ones(3),)
    sig = tuple(numba.typeof(a) for a in args)
    print(f.kernel_ready(first, args), f.kernel_ready(second, args), flush=True)
    end = time.monotonic() + 120
    while time.monotonic() < end and not f._cached_on_disk(second, sig):  # no fit asks meanwhile
        time.sleep(0.2)
    print(f._cached_on_disk(second, sig), f.kernel_ready(second, args), flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["here", "gone"])
def test_a_long_lived_process_gets_every_queued_kernel_without_asking_again(tmp_path, where):
    """Two kernels queued: the second is built as soon as the first build ends, while the process only
    waits (a notebook between fits); it also works from a deleted current folder."""
    import os
    import subprocess
    import sys

    from specfit.lineshapes import faddeeva

    if not faddeeva.HAVE_NUMBA:
        pytest.skip("numba not installed (or SPECFIT_NO_NUMBA): nothing to compile")
    (tmp_path / "twokernels.py").write_text(_TWO_KERNELS_MODULE)
    env = {k: v for k, v in os.environ.items() if k != "SPECFIT_COMPILE"}
    env.update(NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path),
               WHERE=where)
    out = subprocess.run([sys.executable, "-c", "import twokernels; twokernels.main()"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True", "True"], out.stderr


_FORK_MODULE = """
import multiprocessing, time, numba, numpy as np
from specfit.lineshapes import faddeeva as f

@numba.njit(cache=True)
def kernel(a):
    return a.sum()

ARGS = (np.ones(3),)

def worker(_):
    return f.kernel_ready(kernel, ARGS)

def main():
    print(f.kernel_ready(kernel, ARGS), flush=True)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(*pool.map(worker, range(4)), flush=True)
    sig = tuple(numba.typeof(a) for a in ARGS)
    end = time.monotonic() + 120
    while time.monotonic() < end and not f._cached_on_disk(kernel, sig):
        time.sleep(0.2)
    print(f.kernel_ready(kernel, ARGS), flush=True)
"""


@pytest.mark.slow
def test_forked_workers_wait_for_the_parents_build(tmp_path):
    """Forked workers (multiprocessing) neither report the parent's build as failed nor start their own
    while it holds the lock."""
    import os
    import subprocess
    import sys

    from specfit.lineshapes import faddeeva

    if not faddeeva.HAVE_NUMBA or not hasattr(os, "fork"):
        pytest.skip("needs numba and fork")
    (tmp_path / "forked.py").write_text(_FORK_MODULE)
    env = {k: v for k, v in os.environ.items() if k != "SPECFIT_COMPILE"}
    env.update(NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path))
    out = subprocess.run([sys.executable, "-c", "import forked; forked.main()"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "False" and lines[-2] == "True", out.stdout
    assert "failed" not in out.stderr.replace(str(tmp_path), ""), out.stderr
    assert out.stderr.count("compiling the fast engine") == 1, out.stderr


_BROKEN_KERNEL_MODULE = """
import time, numba, numpy as np
from specfit.lineshapes.faddeeva import kernel_ready

@numba.njit(cache=True)
def kernel(a):
    return a.no_such_attribute  # a typing error: the build fails

args = (np.ones(3),)
end = time.monotonic() + 240
while not kernel_ready(kernel, args) and time.monotonic() < end:
    time.sleep(0.2)
    from specfit.lineshapes.faddeeva import _SAID
    if any("build of kernel failed" in text for text in _SAID):
        break
print("gave-up" if not kernel_ready(kernel, args) else "ready", flush=True)
"""


@pytest.mark.slow
def test_a_failed_background_build_is_said_once_and_the_numpy_path_stays(tmp_path):
    from specfit.lineshapes import faddeeva

    if not faddeeva.HAVE_NUMBA:
        pytest.skip("numba not installed (or SPECFIT_NO_NUMBA): nothing to compile")
    (tmp_path / "firstrun.py").write_text(_BROKEN_KERNEL_MODULE)
    out = _run_kernel_module(tmp_path, tmp_path / "cache")
    assert out.stdout.split() == ["gave-up"], out.stderr
    failed = [line for line in out.stderr.splitlines() if "build of kernel failed" in line]
    assert len(failed) == 1 and "TypingError" in failed[0] and "numpy path" in failed[0], out.stderr


def test_engine_path_says_what_ran_while_the_engine_is_built(monkeypatch):
    """attrs['engine_path'] names the numpy path for the spectra (or the global step) fitted while the
    compiled kernels were being built, and the answers are the compiled ones."""
    import specfit.engines.batch
    import specfit.engines.fused
    from specfit.lineshapes import faddeeva

    if not faddeeva.HAVE_NUMBA:
        pytest.skip("numba not installed: only the numpy path exists")
    da, _ = raman_series(6, seed=2)
    fast = specfit.fit(da, "raman/fsi_tfsi", share=("center", "width"), progress=False)
    assert fast.attrs["engine_path"] == "compiled (numba)"
    monkeypatch.setattr(specfit.engines.fused.CompiledProblem, "normal_equations_ready",
                        lambda self, start=False: False)
    glob = specfit.fit(da, "raman/fsi_tfsi", share=("center", "width"), progress=False)
    assert glob.attrs["engine_path"].startswith("compiled (numba); the shared-parameter step on numpy")
    monkeypatch.setattr(specfit.engines.batch, "lm_ready", lambda compiled: False)
    plain = specfit.fit(da, "raman/fsi_tfsi", share="none", progress=False)
    assert plain.attrs["engine_path"] == f"{specfit.engines.batch.BUILDING} for 6 of 6 spectra"
    np.testing.assert_allclose(glob.chisqr, fast.chisqr, rtol=1e-9)


def test_batch_engine_uses_the_numpy_path_while_the_engine_compiles(monkeypatch):
    """While the compiled LM is not ready the batch engine fits on the numpy path: the same minima."""
    import specfit.engines.batch
    from specfit.lineshapes import faddeeva

    if not faddeeva.HAVE_NUMBA:
        pytest.skip("numba not installed: only the numpy path exists")
    da, _ = raman_series(6, seed=2)
    fast = specfit.fit(da, "raman/fsi_tfsi", shape_tie="none", progress=False)
    monkeypatch.setattr(specfit.engines.batch, "lm_ready", lambda compiled: False)
    plain = specfit.fit(da, "raman/fsi_tfsi", shape_tie="none", progress=False)
    assert bool(fast.success.all()) and bool(plain.success.all())
    np.testing.assert_allclose(fast.redchi, plain.redchi, rtol=1e-6)
    np.testing.assert_allclose(fast.fraction, plain.fraction, atol=1e-5)


def test_numpy_path_says_why_once(caplog):
    """A lineshape without a compiled kernel: one log line, not one per fit."""
    from specfit.examples import xps_series
    from specfit.lineshapes import faddeeva

    for said in [text for text in faddeeva._SAID if "numpy path" in text]:  # said by an earlier test
        faddeeva._SAID.discard(said)
    comps = {"LiF": {"center": 685.0, "fwhm": 1.6}, "C-F": {"center": 688.6, "fwhm": 1.8}}
    xps, _ = xps_series(comps, np.array([[0.3, 0.7], [0.6, 0.4]]), seed=2, lineshape="gl")
    with caplog.at_level("WARNING", logger="specfit"):
        for _ in range(2):
            specfit.fit(xps, "xps/F1s", components=["LiF", "C-F"], lineshape="gl", progress=False)
    lines = [r.getMessage() for r in caplog.records if "numpy path" in r.getMessage()]
    expected = "numba" if not faddeeva.HAVE_NUMBA else "lineshape gl has no compiled kernel"
    assert len(lines) == 1 and expected in lines[0], lines


def test_without_numba_the_numpy_path_fits_and_says_why_once():
    """SPECFIT_NO_NUMBA=1 (as numba missing): fits run on the numpy path, one line on stderr says why."""
    import os
    import subprocess
    import sys

    code = ("import specfit; from specfit.examples import raman_series; da, _ = raman_series(4, seed=2); "
            "a = specfit.fit(da, 'raman/fsi_tfsi', progress=False); b = specfit.fit(da, 'raman/fsi_tfsi', "
            "progress=False); assert bool(a.success.all()) and bool(b.success.all()); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, SPECFIT_NO_NUMBA="1"),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["ok"]
    lines = [line for line in out.stderr.splitlines() if line.startswith("specfit:")]
    assert len(lines) == 1 and "SPECFIT_NO_NUMBA" in lines[0] and "numpy path" in lines[0], out.stderr


_FORK_FIT_MODULE = """
import multiprocessing
import specfit
from specfit.examples import raman_series

DA, _ = raman_series(8, seed=4)

def work(i):
    ds = specfit.fit(DA[2 * i:2 * i + 2], "raman/fsi_tfsi", share="none", progress=False)
    return float(ds.chisqr.sum())

def main():
    whole = specfit.fit(DA, "raman/fsi_tfsi", share="none", progress=False)  # the thread pool now exists
    with multiprocessing.get_context("fork").Pool(2) as pool:
        parts = pool.map(work, range(4))
    print(abs(sum(parts) / float(whole.chisqr.sum()) - 1.0) < 1e-6, flush=True)
"""


@pytest.mark.slow
def test_forked_workers_fit_after_the_parent_did(tmp_path):
    """A fit in the parent starts the batch thread pool; forked workers (multiprocessing) have none of its
    threads and must make their own (they hung for ever before)."""
    import os
    import subprocess
    import sys

    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    (tmp_path / "forkfit.py").write_text(_FORK_FIT_MODULE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path))
    out = subprocess.run([sys.executable, "-c", "import forkfit; forkfit.main()"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"], out.stderr
