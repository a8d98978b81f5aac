"""Accuracy of the three ``shape_tie`` policies on synthetic Raman series (not a speed benchmark).

Run: ``.venv/bin/python benchmarks/bench_shape_tie.py [n_series]``.

Each series is six samples of three Voigt bands (free / CIP / AGG, ``raman/fsi_tfsi``),
quadratic baseline, SNR 150, FWHM drawn in 4-8 cm-1.  The families differ in how the
true band shapes (Lorentzian fraction of the FWHM) relate to each other:

- ``equal``: one shape for all bands, drawn in 0.2-0.8, centers at the nominal positions;
- ``equal+jitter``: the same with centers within +/-0.5 cm-1 of nominal;
- ``gamma=sigma``: lmfit ``VoigtModel``'s default (equal shapes, 0.555);
- ``common-lorentzian``: one Lorentzian width (1.5-3 cm-1), Gaussian widths 2.5-6 cm-1,
  so the shapes differ band to band;
- ``close``: independent shapes in 0.35-0.55;
- ``nominal``: the example generator's bands (shapes 0.4 / 0.5 / 0.3).

For every policy it prints the worst fraction error per series (median, worst, and how
many series exceed 8 pp for independent fits and 2 pp for global fits).
"""

from __future__ import annotations

import sys
import time

import numpy as np

import specfit
from specfit.examples import raman_series
from specfit.lineshapes.profiles import voigt_fwhm

NOMINAL = np.array([737.0, 743.0, 748.0])
FAMILIES = ("equal", "equal+jitter", "gamma=sigma", "common-lorentzian", "close", "nominal")
POLICIES = ("none", "all", "auto")


def draw(family: str, rng: np.random.Generator) -> dict:
    centers, fwhm = NOMINAL, rng.uniform(4.0, 8.0, 3)
    if family == "equal":
        shapes = np.full(3, rng.uniform(0.2, 0.8))
    elif family == "equal+jitter":
        centers, shapes = NOMINAL + rng.uniform(-0.5, 0.5, 3), np.full(3, rng.uniform(0.2, 0.8))
    elif family == "gamma=sigma":
        shapes = np.full(3, 2.0 / voigt_fwhm(2.0 * np.sqrt(2.0 * np.log(2.0)), 2.0))
    elif family == "common-lorentzian":
        f_l, f_g = rng.uniform(1.5, 3.0), rng.uniform(2.5, 6.0, 3)
        centers, fwhm = NOMINAL + rng.uniform(-0.5, 0.5, 3), voigt_fwhm(f_g, f_l)
        shapes = f_l / fwhm
    elif family == "close":
        centers, shapes = NOMINAL + rng.uniform(-0.5, 0.5, 3), rng.uniform(0.35, 0.55, 3)
    else:
        fwhm, shapes = np.array([5.0, 7.0, 4.5]), np.array([0.4, 0.5, 0.3])
    return dict(seed=int(rng.integers(2**31)), centers=tuple(centers), fwhm=tuple(fwhm),
                lorentz_fraction=tuple(shapes))


def main(n_series: int = 16) -> None:
    print(f"{'family':18s} {'fit':11s} {'policy':6s} {'median':>7s} {'worst':>7s}  over limit")
    for family in FAMILIES:
        rng = np.random.default_rng(2026)
        cases = [draw(family, rng) for _ in range(n_series)]
        for share, limit in (("", 8.0), ("center,width", 2.0)):
            for policy in POLICIES:
                t0 = time.perf_counter()
                errors = []
                for case in cases:
                    da, truth = raman_series(6, **case)
                    ds = specfit.fit(da, "raman/fsi_tfsi", share=share or None, shape_tie=policy)
                    errors.append(100 * float(np.abs(ds["fraction"] - truth["fraction"]).max()))
                errors = np.array(errors)
                print(f"{family:18s} {'global' if share else 'independent':11s} {policy:6s} "
                      f"{np.median(errors):6.2f}  {errors.max():6.2f}  {np.sum(errors > limit):2d}/{n_series} "
                      f"> {limit:g} pp  ({time.perf_counter() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
