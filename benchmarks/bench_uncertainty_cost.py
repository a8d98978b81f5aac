"""Cost of the combined uncertainty: a 200-spectrum Raman series, default fit against statistical only.

``python benchmarks/bench_uncertainty_cost.py [--n 200] [--repeat 3]`` prints the wall time (min of the
repeats) of: the default fit (series decision + model spread), ``uncertainty="statistical"`` (series
decision only) and ``uncertainty="statistical", share="none"`` (one batch of independent fits: the old
default), and the ratios.
"""

from __future__ import annotations

import argparse
import time

import specfit
from specfit.examples import raman_series


def timed(da, repeat: int, **options) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        specfit.fit(da, "raman/fsi_tfsi", progress=False, **options)
        best = min(best, time.perf_counter() - t0)
    return best


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    da, _ = raman_series(args.n, seed=1)
    specfit.fit(da.isel(sample=slice(0, 4)), "raman/fsi_tfsi", progress=False)  # compile / warm up
    combined = timed(da, args.repeat)
    statistical = timed(da, args.repeat, uncertainty="statistical")
    independent = timed(da, args.repeat, uncertainty="statistical", share="none")
    print(f"{args.n} spectra: combined {combined:.2f} s, statistical {statistical:.2f} s "
          f"({combined / statistical:.2f}x), independent statistical {independent:.2f} s "
          f"({combined / independent:.2f}x)")
