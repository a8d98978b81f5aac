"""How often ``components="auto"`` keeps the right set of species (specfit.fitting.selection).

Synthetic XPS spectra (``specfit.examples.xps_series``: Voigt peaks, exact
Shirley step, Poisson counts, 0.05 eV steps, axis high-BE first) with 2 or 3
true species drawn at random from a 6-component library:

* ``C1s-6``: C-C, C-O, C=O, O-C=O, Li2CO3, CF3 of ``xps/C1s`` (1-3 eV apart);
* ``F1s``: the stock ``xps/F1s`` (LiF, LixPOyFz, S-F, CF2, C-F, CF3: five
  species within 2 eV of each other — the hard case its header warns about).

True fractions are Dirichlet(2) draws with every species ≥ 10 %, true centers
are the library's starting values jittered by ± 0.15 eV, FWHM 1.2-1.8 eV,
Lorentzian fraction 0.3.  ``total`` is the counts in the peaks per 0.05 eV step
summed over the window (2e4 ≈ a quick survey-like region, 2e5 typical, 1e6 long
acquisition).  Each spectrum's set is decided independently (``shared=False``).

Reported per library and SNR: ``right`` exactly the true set kept; ``alias``
not exactly, but each kept species within 0.6 eV (library centers) of a true
one and vice versa (a look-alike swapped in: S-F/CF2/LixPOyFz/C-F/CF3 of F 1s
cannot be told apart by the F 1s alone); ``absent``
at least one species not in the spectrum kept; ``missed`` a true species
dropped; ``auto>5%`` an absent species kept with more than 5 % of the area;
and, for comparison, ``all>5%`` the same for a fit with every component (the
confident wrong answer selection exists to prevent); ``fits`` the number of
batch fits the selection made (all spectra of a row are one batch).

Run: ``.venv/bin/python benchmarks/bench_selection.py [--spectra 30] [--seed 0]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import specfit
from specfit.examples import xps_series
from specfit.fitting.selection import select_components

LIBRARIES = {
    "C1s-6": ("xps/C1s", ("C-C", "C-O", "C=O", "O-C=O", "Li2CO3", "CF3"), (280.0, 296.0)),
    "F1s": ("xps/F1s", None, (680.0, 694.0)),
}
TOTALS = (2e4, 2e5, 1e6)


def draw(lib, n_spectra: int, total: float, rng: np.random.Generator, x_range):
    """``n_spectra`` spectra (one batch) and their true sets."""
    names = lib.component_names
    spectra, truths = [], []
    for _ in range(n_spectra):
        k = int(rng.integers(2, 4))
        chosen = sorted(rng.choice(len(names), size=k, replace=False))
        while True:
            frac = rng.dirichlet(np.full(k, 2.0))
            if frac.min() >= 0.10:
                break
        comps = {names[j]: {"center": lib.components[j].center + rng.uniform(-0.15, 0.15),
                            "fwhm": rng.uniform(1.2, 1.8)} for j in chosen}
        da, _ = xps_series(comps, frac[None, :], x_range=x_range, total_counts=total,
                           seed=int(rng.integers(2**31)))
        spectra.append(da.isel(etch_time=0).values)
        truths.append({names[j] for j in chosen})
    out = da.isel(etch_time=0, drop=True).expand_dims(spectrum=np.arange(n_spectra)).copy(data=np.array(spectra))
    return out, truths


def _alike(a: set, b: set, centers: dict, within: float = 0.6) -> bool:
    """Every species of ``a`` has one of ``b`` within ``within`` eV (library centers)."""
    return all(any(abs(centers[x] - centers[y]) <= within for y in b) for x in a)


def run(name: str, total: float, n_spectra: int, seed: int) -> dict:
    """Selection statistics for one library and one count level."""
    stock, subset, x_range = LIBRARIES[name]
    lib = specfit.load_library(stock)
    lib = lib.subset(subset) if subset else lib
    rng = np.random.default_rng(seed)
    da, truths = draw(lib, n_spectra, total, rng, x_range)
    fits = []

    def fit_subset(names):
        fits.append(names)
        return specfit.fit(da, lib, components=list(names))

    t0 = time.perf_counter()
    ds = select_components(fit_subset, lib.component_names)
    elapsed = time.perf_counter() - t0
    full = specfit.fit(da, lib)
    names = list(lib.component_names)
    right = absent = missed = wrong_all = wrong_auto = alias = 0
    centers = {c.name: c.center for c in lib.components}
    for i, truth in enumerate(truths):
        kept = {c for c, s in zip(names, ds["selected"].values[i]) if s}
        right += kept == truth
        alias += kept != truth and _alike(kept, truth, centers) and _alike(truth, kept, centers)
        absent += bool(kept - truth)
        missed += bool(truth - kept)
        frac, auto = full["fraction"].values[i], ds["fraction"].values[i]
        wrong_all += any(frac[j] > 0.05 for j, c in enumerate(names) if c not in truth)
        wrong_auto += any(auto[j] > 0.05 for j, c in enumerate(names) if c not in truth)
    n = len(truths)
    return dict(library=name, total=total, n=n, right=right / n, alias=alias / n, absent=absent / n, missed=missed / n,
                all_wrong=wrong_all / n, auto_wrong=wrong_auto / n, fits=len(fits), seconds=elapsed)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spectra", type=int, default=30, help="spectra per library and count level")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    args = parser.parse_args(argv)
    rows = []
    print(f"{'library':8} {'total':>7} {'n':>4} {'right':>6} {'alias':>6} {'absent':>7} {'missed':>7} "
          f"{'auto>5%':>8} {'all>5%':>7} {'fits':>5} {'s':>6}")
    for name in args.libraries.split(","):
        for i, total in enumerate(TOTALS):
            row = run(name, total, args.spectra, args.seed + i)
            rows.append(row)
            print(f"{row['library']:8} {row['total']:7.0e} {row['n']:4d} {row['right']:6.0%} {row['alias']:6.0%} "
                  f"{row['absent']:7.0%} "
                  f"{row['missed']:7.0%} {row['auto_wrong']:8.0%} {row['all_wrong']:7.0%} {row['fits']:5d} "
                  f"{row['seconds']:6.1f}", flush=True)
    return rows


if __name__ == "__main__":
    main()
