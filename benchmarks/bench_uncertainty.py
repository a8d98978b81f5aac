"""Does the quoted uncertainty cover the truth?  Coverage of synthetic series with known fractions.

``python benchmarks/bench_uncertainty.py [--seeds 6] [--uncertainty combined|statistical]``

Two generators: the README's ``specfit.examples.raman_series`` (8 samples), and a
series whose bands differ in shape (one nearly Gaussian, one nearly Lorentzian)
on a cubic baseline.  For each fraction: error = fitted - truth; reported: the
share of |error| <= 2u, rms(error/u), median u and rms error (percentage points),
for the statistical stderr and the combined uncertainty.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import xarray as xr

import specfit
from specfit.examples import raman_series
from specfit.lineshapes import voigt


def shaped_series(n_samples: int = 8, *, seed: int = 0, snr: float = 150.0) -> tuple[xr.DataArray, np.ndarray]:
    """Free / CIP / AGG with band-specific shapes (0.1, 0.9, 0.5) on a cubic baseline; truth (n, 3)."""
    rng = np.random.default_rng(1000 + seed)
    x = np.linspace(715.0, 775.0, 301)
    free = np.linspace(0.35, 0.15, n_samples)
    cip = np.linspace(0.38, 0.47, n_samples)
    frac = np.stack([free, cip, 1 - free - cip], axis=1)
    out = []
    for i in range(n_samples):
        total = rng.uniform(800, 1200)
        peaks = sum(voigt(x, f * total, c, w, s) for f, c, w, s in
                    zip(frac[i], (737.0, 743.0, 748.5), (5.0, 6.5, 5.0), (0.1, 0.9, 0.5)))
        u = (x - x.mean()) / (x[-1] - x[0])
        base = 20 + rng.uniform(-5, 5) * u + rng.uniform(0, 10) * u**2 + rng.uniform(-20, 20) * u**3
        out.append(peaks + base + rng.normal(0, peaks.max() / snr, x.size))
    da = xr.DataArray(np.array(out), dims=("sample", "raman_shift"),
                      coords={"sample": [f"S{i + 1}" for i in range(n_samples)], "raman_shift": x})
    return da, frac


def coverage(errors: np.ndarray, u: np.ndarray) -> dict:
    z = errors / u
    return {"cover2": float(np.mean(np.abs(z) <= 2)), "rms_z": float(np.sqrt(np.nanmean(z**2))),
            "median_u_pp": float(np.nanmedian(u) * 100), "rms_err_pp": float(np.sqrt(np.mean(errors**2)) * 100)}


def run(generator: str, seeds: int, uncertainty: str, **fit_options) -> None:
    errs, stat, comb = [], [], []
    t0 = time.perf_counter()
    for seed in range(seeds):
        if generator == "raman_series":
            da, truth = raman_series(8, seed=seed)
            true = truth["fraction"].values
        else:
            da, true = shaped_series(8, seed=seed)
        ds = specfit.fit(da, "raman/fsi_tfsi", uncertainty=uncertainty, **fit_options)
        errs.append(ds["fraction"].values - true)
        stat.append(ds["fraction_stderr"].values)
        comb.append(ds["fraction_uncertainty"].values if "fraction_uncertainty" in ds else ds["fraction_stderr"].values)
        choice = ds.attrs.get("model_choice", "")
    elapsed = time.perf_counter() - t0
    errs, stat, comb = (np.concatenate(a) for a in (errs, stat, comb))
    for k, name in enumerate(("free", "CIP", "AGG")):
        s, c = coverage(errs[:, k], stat[:, k]), coverage(errs[:, k], comb[:, k])
        print(f"{generator:>13} {name:>4}  stderr: cover {s['cover2']:.2f} rms_z {s['rms_z']:5.2f} "
              f"med_u {s['median_u_pp']:5.2f} pp | combined: cover {c['cover2']:.2f} rms_z {c['rms_z']:5.2f} "
              f"med_u {c['median_u_pp']:5.2f} pp | rms err {c['rms_err_pp']:5.2f} pp")
    print(f"{generator:>13} {seeds} series in {elapsed:.1f} s; last model choice: {choice}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--uncertainty", default=None)
    parser.add_argument("--share", default=None)
    args = parser.parse_args()
    opts = {"share": args.share} if args.share else {}
    for gen in ("raman_series", "shaped"):
        run(gen, args.seeds, args.uncertainty or "covariance", **opts)
