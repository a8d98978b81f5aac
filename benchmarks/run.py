"""specfit against a plain lmfit loop, scenario by scenario, in one run (speed ratio, chi-square, memory).

Run: ``.venv/bin/python benchmarks/run.py [--quick] [--repeat 3] [--scenario NAME ...]``.

Scenarios (issue 13):

``raman-map``
    10^4 spectra x 401 points, independent fits: three Voigts with free FWHM and
    free shape each plus a linear baseline, from a user library passed by path.
``raman-map-1024``
    The same on 1024 points.
``xps-s2p``
    500 S 2p spectra, two spin-orbit doublets (Li2S, Li2SO4) with an active
    Shirley background (library ``xps/S2p``).  The lmfit reference is a careful
    loop: Shirley subtracted first, doublets tied by expressions.  specfit does
    the same work: one fit per spectrum with covariance standard errors
    (``uncertainty="statistical", share="none"``).
``xps-s2p-combined``
    The same spectra fitted with specfit's defaults, which for a batch of up to
    1000 spectra do more than the lmfit loop: the independent and the
    shared-parameter series structure are both fitted and compared, and the
    model spread over the backgrounds and shape ties the data cannot rule out
    is added to the uncertainties (issue 18).  The ratio is the cost of that
    decision against the plain loop.
``raman-series-global``
    ``share=("center", "width")`` over a series of 50 ... 1000 spectra; the
    lmfit reference is one global lmfit fit (tied by expressions) of a subset.
``raman-6band``
    2000 spectra of six strongly overlapped free-shape Voigts (6 cm-1 apart)
    on a linear baseline: the convergence test of the engine (success share).

For each scenario the script prints specfit's spectra/s, the lmfit loop's
spectra/s on a subset of the *same* spectra in the same run, their ratio,
the share of subset spectra whose specfit chi-square is at most lmfit's
(+1e-6 relative), specfit's success share and the peak resident memory of the
process that ran it.  Every repetition runs in a fresh process so the peak
RSS (``resource.getrusage``) belongs to that scenario alone; with
``--repeat 3`` each number is shown as min / median / max.

All data are synthetic (seeded), generated with specfit's own Voigt;
``--quick`` runs tiny sizes (a smoke test, seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

SCENARIOS = ("raman-map", "raman-map-1024", "xps-s2p", "xps-s2p-combined", "raman-series-global", "raman-6band")
RAMAN_CENTERS = (737.0, 743.0, 748.0)
RAMAN_RANGES = ((735.0, 739.0), (741.0, 745.0), (746.0, 750.0))
RAMAN_WINDOW = (719.0, 775.0)
#: 6 strongly overlapped free-shape bands, 6 cm-1 apart (FWHM 4-8 cm-1)
SIX_CENTERS = (725.0, 731.0, 737.0, 743.0, 749.0, 755.0)
SIX_WINDOW = (705.0, 775.0)
#: Spectra generated at a time (bounds the generator's own memory).
GENERATION_BLOCK = 5000

RAMAN_LIBRARY = """\
# Benchmark library (benchmarks/run.py): three free-shape Voigts and a linear baseline,
# written the way a user passes their own library by path.  Numbers: project choice (synthetic data).
[library]
name = "bench/raman3"
technique = "raman"
axis = "raman_shift"
window = [{lo}, {hi}]
background = "linear"
lineshape = "voigt"
shape = 0.5
shape_range = [0.0, 1.0]
shape_tie = "none"
sources = ["synthetic benchmark (project choice)"]
{components}
"""

RAMAN_COMPONENT = """
[[component]]
name = "{name}"
center = {center}
center_range = [{lo}, {hi}]
fwhm = 6.0
fwhm_range = [2.5, 12.0]
source = "synthetic benchmark (project choice)"
"""


def write_raman_library(directory: Path, bands: int = 3) -> Path:
    """Write the three-Voigt (or six-Voigt, ``bands=6``) user library into ``directory``; return its path."""
    if bands == 6:
        comps = "".join(RAMAN_COMPONENT.format(name=f"b{i}", center=c, lo=c - 2.5, hi=c + 2.5)
                        for i, c in enumerate(SIX_CENTERS))
        window = SIX_WINDOW
    else:
        comps = "".join(RAMAN_COMPONENT.format(name=n, center=c, lo=r[0], hi=r[1])
                        for n, c, r in zip(("free", "CIP", "AGG"), RAMAN_CENTERS, RAMAN_RANGES))
        window = RAMAN_WINDOW
    path = directory / f"bench_raman{bands}.toml"
    path.write_text(RAMAN_LIBRARY.format(lo=window[0], hi=window[1], components=comps))
    return path


def raman_six(n: int, n_points: int = 401, seed: int = 3) -> xr.DataArray:
    """``n`` spectra of six overlapped Voigt bands (random positions, widths, shapes) on a linear baseline."""
    from specfit.lineshapes.profiles import profile

    rng = np.random.default_rng(seed)
    x = np.linspace(*SIX_WINDOW, n_points)
    centers = np.array(SIX_CENTERS) + rng.uniform(-1.0, 1.0, (n, 6))
    fwhm = rng.uniform(4.0, 8.0, (n, 6))
    shape = rng.uniform(0.2, 0.7, (n, 6))
    area = rng.dirichlet(np.full(6, 4.0), n) * rng.uniform(800.0, 1200.0, (n, 1))
    peaks = sum(profile("voigt", x, area[:, i, None], centers[:, i, None], fwhm[:, i, None], shape[:, i, None])
                for i in range(6))
    u = (x - x.mean()) / (x[-1] - x[0])
    baseline = rng.uniform(10.0, 30.0, (n, 1)) + rng.uniform(-5.0, 5.0, (n, 1)) * u
    y = peaks + baseline + rng.normal(0.0, 1.0, (n, n_points)) * peaks.max(axis=1, keepdims=True) / 150.0
    return xr.DataArray(y, dims=("pixel", "raman_shift"), coords={"pixel": np.arange(n), "raman_shift": x},
                        name="intensity")


def raman_map(n: int, n_points: int, seed: int = 7, *, series: bool = False,
              truth: bool = False) -> xr.DataArray | tuple[xr.DataArray, dict]:
    """``n`` Raman spectra of three Voigt bands on a linear baseline, ``(pixel, raman_shift)``.

    Band positions, widths and shapes vary from pixel to pixel (a map); with
    ``series=True`` they are common to all spectra and only the fractions
    change (what a global fit assumes).  ``truth=True`` also returns the
    generating parameters (``center``, ``fwhm``, ``shape``, ``fraction``, ``area``).
    """
    from specfit.lineshapes.profiles import profile

    rng = np.random.default_rng(seed)
    x = np.linspace(*RAMAN_WINDOW, n_points)
    k = 1 if series else n
    centers = np.array(RAMAN_CENTERS) + rng.uniform(-0.8, 0.8, (k, 3))
    fwhm = np.array([5.0, 7.0, 4.5]) * rng.uniform(0.85, 1.15, (k, 3))
    shape = rng.uniform(0.2, 0.7, (k, 3))
    fractions = rng.dirichlet((4.0, 5.0, 3.0), n)
    area = fractions * rng.uniform(800.0, 1200.0, (n, 1))
    u = (x - x.mean()) / (x[-1] - x[0])
    level, slope = rng.uniform(10.0, 30.0, (n, 1)), rng.uniform(-5.0, 5.0, (n, 1))
    y = np.empty((n, n_points))
    # built block by block (the same random stream as in one piece): the generator's temporaries must not
    # decide the peak memory of a 10^5-spectrum run
    for s in range(0, n, GENERATION_BLOCK):
        e = min(s + GENERATION_BLOCK, n)
        p = slice(0, 1) if series else slice(s, e)
        peaks = sum(profile("voigt", x, area[s:e, i, None], centers[p, i, None], fwhm[p, i, None], shape[p, i, None])
                    for i in range(3))
        y[s:e] = (peaks + level[s:e] + slope[s:e] * u
                  + rng.normal(0.0, 1.0, (e - s, n_points)) * peaks.max(axis=1, keepdims=True) / 150.0)
    da = xr.DataArray(y, dims=("pixel", "raman_shift"), coords={"pixel": np.arange(n), "raman_shift": x},
                      name="intensity")
    if truth:
        return da, {"center": centers, "fwhm": fwhm, "shape": shape, "fraction": fractions, "area": area}
    return da


def xps_s2p(n: int, seed: int = 5) -> xr.DataArray:
    """``n`` S 2p spectra: Li2S and Li2SO4 doublets on an exact Shirley background, Poisson counts."""
    from specfit.examples import xps_series

    rng = np.random.default_rng(seed)
    frac = rng.uniform(0.2, 0.8, n)
    comps = {"Li2S": {"center": 160.6, "fwhm": 1.1, "splitting": 1.18, "ratio": 0.5},
             "Li2SO4": {"center": 169.1, "fwhm": 1.4, "splitting": 1.18, "ratio": 0.5}}
    da, _ = xps_series(comps, np.stack([frac, 1.0 - frac], axis=1), x_range=(158.0, 174.0), step=0.05,
                       total_counts=2e5, seed=seed, shape=0.3)
    return da.rename(etch_time="spectrum").assign_coords(spectrum=np.arange(n))


# ---------------------------------------------------------------- lmfit references
def _raman_lmfit_model(bands: int = 3):
    from lmfit.models import LinearModel, VoigtModel

    model = LinearModel(prefix="bg_")
    for i in range(bands):
        model = model + VoigtModel(prefix=f"p{i}_")
    return model


def _raman_lmfit_params(model, x: np.ndarray, row: np.ndarray, bands: int = 3):
    """Starting values and bounds as a user sets them (same ranges as the specfit library)."""
    slope = (row[-1] - row[0]) / (x[-1] - x[0])
    params = model.make_params(bg_intercept=float(row[0] - slope * x[0]), bg_slope=float(slope))
    ranges = [(c - 2.5, c + 2.5) for c in SIX_CENTERS] if bands == 6 else RAMAN_RANGES
    for i, c in enumerate(SIX_CENTERS if bands == 6 else RAMAN_CENTERS):
        params[f"p{i}_center"].set(value=c, min=ranges[i][0], max=ranges[i][1])
        params[f"p{i}_sigma"].set(value=2.0, min=0.05, max=6.0)
        params[f"p{i}_gamma"].set(value=1.0, min=0.0, max=6.0, vary=True, expr="")
        params[f"p{i}_amplitude"].set(value=float(np.ptp(row)) * 5.0, min=0.0)
    return params


def lmfit_raman_loop(x: np.ndarray, y: np.ndarray, bands: int = 3) -> np.ndarray:
    """Plain lmfit loop (``bands`` ``VoigtModel`` + ``LinearModel``); chi-square of every spectrum."""
    model = _raman_lmfit_model(bands)
    chisqr = []
    for row in y:
        res = model.fit(row, _raman_lmfit_params(model, x, row, bands), x=x, max_nfev=2000)
        chisqr.append(res.chisqr)
    return np.array(chisqr)


def lmfit_xps_loop(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Careful lmfit loop: Shirley subtracted first, each doublet tied by expressions; chi-square vs the raw data."""
    from lmfit.models import VoigtModel

    from specfit.backgrounds import background

    model = None
    for i in range(4):
        model = VoigtModel(prefix=f"d{i}_") if model is None else model + VoigtModel(prefix=f"d{i}_")
    chisqr = []
    for row in y:
        bg = background(x, row, "shirley")
        signal = row - bg
        params = model.make_params()
        for k, (c, lo, hi) in enumerate(((160.5, 159.8, 161.2), (169.2, 168.5, 169.9))):
            main, second = f"d{2 * k}_", f"d{2 * k + 1}_"
            params[main + "center"].set(value=c, min=lo, max=hi)
            params[main + "sigma"].set(value=0.4, min=0.05, max=1.2)
            params[main + "gamma"].set(value=0.2, min=0.0, max=1.2, vary=True, expr="")
            params[main + "amplitude"].set(value=float(signal.max()) * 0.6, min=0.0)
            params[second + "center"].set(expr=f"{main}center + 1.18")
            params[second + "sigma"].set(expr=f"{main}sigma")
            params[second + "gamma"].set(expr=f"{main}gamma")
            params[second + "amplitude"].set(expr=f"0.5 * {main}amplitude")
        res = model.fit(signal, params, x=x, max_nfev=2000)
        chisqr.append(float(np.sum((signal - res.best_fit) ** 2)))
    return np.array(chisqr)


def lmfit_global(x: np.ndarray, y: np.ndarray) -> float:
    """One global lmfit fit of the spectra ``y``: centers, sigma and gamma of each band tied by expressions."""
    import lmfit

    from specfit.lineshapes.profiles import profile  # noqa: F401  (same data; lmfit evaluates its own Voigt)

    model = _raman_lmfit_model()
    params = lmfit.Parameters()
    for j, row in enumerate(y):
        p = _raman_lmfit_params(model, x, row)
        for name, par in p.items():
            params.add(f"s{j}_{name}", value=par.value, min=par.min, max=par.max, vary=par.vary)
    for j in range(1, len(y)):
        for i in range(3):
            for kind in ("center", "sigma", "gamma"):
                params[f"s{j}_p{i}_{kind}"].set(expr=f"s0_p{i}_{kind}")
    names = list(model.make_params())

    def residual(pars):
        out = []
        for j, row in enumerate(y):
            values = {name: pars[f"s{j}_{name}"].value for name in names if not name.endswith(("fwhm", "height"))}
            out.append(model.eval(x=x, **values) - row)
        return np.concatenate(out)

    res = lmfit.minimize(residual, params, max_nfev=4000)
    return float(res.chisqr)


# ---------------------------------------------------------------- one scenario in one process
def _rss() -> int:
    """Resident memory of this process now, in bytes (``/proc/self/statm``; the peak so far elsewhere):
    no psutil, which a plain ``pip install specfit`` does not bring."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_scenario(name: str, n: int, n_ref: int, workdir: Path, points: int | None = None) -> dict:
    """Fit one scenario (specfit on ``n`` spectra, lmfit on the first ``n_ref``) and measure it.

    ``points`` overrides the number of axis points of the Raman scenarios (smoke runs).
    """
    import specfit

    if name == "raman-6band":
        library = str(write_raman_library(workdir, bands=6))
        da = raman_six(n, points or 401)
        x = da.raman_shift.values
        options = {}
    elif name in ("raman-map", "raman-map-1024", "raman-series-global"):
        library = str(write_raman_library(workdir))
        points = points or (1024 if name == "raman-map-1024" else 401)
        da = raman_map(n, points, series=name == "raman-series-global")
        x = da.raman_shift.values
        options = {"share": ("center", "width")} if name == "raman-series-global" else {}
    else:
        library = "xps/S2p"
        da = xps_s2p(n)
        order = np.argsort(da.binding_energy.values)
        x = da.binding_energy.values[order]
        options = {"components": "Li2S,Li2SO4", "background": "shirley"}
        if name == "xps-s2p":  # the lmfit loop's work: independent fits, covariance errors
            options.update(uncertainty="statistical", share="none")
    rss_data = _rss()
    ref = da.isel({da.dims[0]: slice(0, n_ref)})
    t0 = time.perf_counter()
    if name == "raman-series-global":
        lm_chi = np.array([lmfit_global(x, ref.values)])
    elif name.startswith("xps-s2p"):
        lm_chi = lmfit_xps_loop(x, ref.values[:, order])
    elif name == "raman-6band":
        lm_chi = lmfit_raman_loop(x, ref.values, bands=6)
    else:
        lm_chi = lmfit_raman_loop(x, ref.values)
    t_lmfit = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = specfit.fit(da, library, **options)
    t_specfit = time.perf_counter() - t0
    if name == "raman-series-global":  # a global fit of the subset, as lmfit's
        sf_chi = np.array([float(specfit.fit(ref, library, **options)["chisqr"].sum())])
    else:  # the timed fit itself, spectrum by spectrum
        sf_chi = ds["chisqr"].values.reshape(-1)[:n_ref]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rate_sf = n / t_specfit
    rate_lm = n_ref / t_lmfit
    return {
        "scenario": name, "n": n, "points": int(da.shape[-1]), "n_ref": n_ref,
        "specfit_per_s": rate_sf, "lmfit_per_s": rate_lm, "ratio": rate_sf / rate_lm,
        "chi2_le_lmfit": float(np.mean(sf_chi <= lm_chi * (1.0 + 1e-6))),
        "success": float(ds.success.mean()), "nfev_median": float(np.median(ds.nfev.values)),
        "peak_rss_mb": peak / 2**20, "rss_after_data_mb": rss_data / 2**20,
    }


# ---------------------------------------------------------------- driver
def _sizes(name: str, quick: bool, n_global: int | None) -> list[tuple[int, int]]:
    if quick:
        return {"raman-map": [(40, 2)], "raman-map-1024": [(40, 2)], "xps-s2p": [(20, 2)],
                "xps-s2p-combined": [(20, 2)], "raman-series-global": [(12, 3)], "raman-6band": [(8, 1)]}[name]
    if name == "raman-series-global":
        return [(n, 10) for n in ((n_global,) if n_global else (10, 50, 200, 1000))]
    return {"raman-map": [(10_000, 200)], "raman-map-1024": [(10_000, 20)], "xps-s2p": [(500, 40)],
            "xps-s2p-combined": [(500, 40)], "raman-6band": [(2000, 10)]}[name]


def _worker(name: str, n: int, n_ref: int, in_process: bool = False, points: int | None = None) -> dict:
    if in_process:  # smoke runs: no fresh interpreter per run (peak RSS is then the whole process's)
        with tempfile.TemporaryDirectory() as tmp:
            return run_scenario(name, n, n_ref, Path(tmp), points)
    cmd = [sys.executable, __file__, "--worker", name, str(n), str(n_ref), str(points or 0)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{name} (n={n}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _warm() -> None:
    """Compile specfit's engine into numba's cache first (a few spectra of two scenarios), so every timed
    run measures the fit, not the one-time compilation of a new environment (README, Speed: first fit)."""
    code = ("import tempfile, pathlib, specfit, run as b; d = pathlib.Path(tempfile.mkdtemp()); "
            "specfit.fit(b.raman_map(8, 401), str(b.write_raman_library(d)), progress=False); "
            "specfit.fit(b.xps_s2p(8), 'xps/S2p', components='Li2S,Li2SO4', background='shirley', progress=False)")
    env = dict(os.environ, SPECFIT_COMPILE="wait", PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    t0 = time.perf_counter()
    # -P: specfit as the workers import it (installed), not a source tree in the current folder
    subprocess.run([sys.executable, "-P", "-c", code], env=env, check=True, capture_output=True)
    print(f"(engine compiled or loaded from numba's cache in {time.perf_counter() - t0:.1f} s, not timed)",
          flush=True)


def _fmt(values: list[float], spec: str) -> str:
    if len(values) == 1:
        return format(values[0], spec)
    lo, med, hi = np.min(values), np.median(values), np.max(values)
    return f"{lo:{spec}}/{med:{spec}}/{hi:{spec}}"


COLUMNS = (("specfit_per_s", "specfit/s", ".1f"), ("lmfit_per_s", "lmfit/s", ".2f"), ("ratio", "ratio", ".0f"),
           ("chi2_le_lmfit", "chi2<=lmfit", ".3f"), ("success", "success", ".3f"), ("nfev_median", "nfev", ".0f"),
           ("peak_rss_mb", "peak RSS MB", ".0f"))


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run in seconds")
    parser.add_argument("--repeat", type=int, default=1, help="runs per scenario (min/median/max shown)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="run only these (repeatable)")
    parser.add_argument("-n", type=int, default=None, help="override the number of spectra (global: one size)")
    parser.add_argument("--in-process", action="store_true", help="run every scenario in this process (smoke test)")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's numbers here")
    parser.add_argument("--worker", nargs=4, metavar=("SCENARIO", "N", "N_REF", "POINTS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        name, n, n_ref, points = args.worker[0], int(args.worker[1]), int(args.worker[2]), int(args.worker[3])
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(run_scenario(name, n, n_ref, Path(tmp), points or None)))
        return []
    if not args.in_process:
        _warm()
    runs: list[dict] = []
    print(f"{'scenario':<22}{'spectra':>8}{'pts':>6}{'ref':>5}" + "".join(f"{h:>22}" for _, h, _ in COLUMNS))
    for name in args.scenario or SCENARIOS:
        sizes = _sizes(name, args.quick, args.n if name == "raman-series-global" else None)
        if args.n and name != "raman-series-global":
            sizes = [(args.n, sizes[0][1])]
        for n, n_ref in sizes:
            points = 101 if args.quick and name == "raman-6band" else None
            rep = [_worker(name, n, n_ref, args.in_process, points) for _ in range(max(args.repeat, 1))]
            runs.extend(rep)
            line = f"{name:<22}{n:>8}{rep[0]['points']:>6}{n_ref:>5}"
            line += "".join(f"{_fmt([r[key] for r in rep], spec):>22}" for key, _, spec in COLUMNS)
            print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return runs


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
