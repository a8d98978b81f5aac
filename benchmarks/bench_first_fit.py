"""The first fit on a new machine against a later one (issue 23): empty compile cache, then cached.

Run: ``python benchmarks/bench_first_fit.py [--sizes 8 2000] [--repeat 3]`` from the environment
to measure (a fresh, non-editable ``pip install .`` for the numbers a user gets).

For each size and repetition, with a new empty ``NUMBA_CACHE_DIR``:

1. a new process imports specfit and times ``specfit.fit`` on the ``raman-map``
   spectra of ``benchmarks/run.py`` (3 free Voigts + line, 401 points): nothing is
   compiled, so the fit runs on the numpy path while a background process builds
   the compiled engine; the process's own wall time is recorded too (it does not
   wait for the build);
2. once that build has finished, a second new process times the same fit (the
   engine loaded from the cache) and a second fit in the same process.

Printed: min / median / max over the repetitions, and the ratio first / later
(later = the second process's first fit, cache loading included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

CHILD = """
import json, sys, tempfile, time, pathlib
t_start = time.perf_counter()
import run as b
import specfit
n = int(sys.argv[1])
library = str(b.write_raman_library(pathlib.Path(tempfile.mkdtemp())))
da = b.raman_map(n, 401)
t0 = time.perf_counter()
ds = specfit.fit(da, library, progress=False)
first = time.perf_counter() - t0
t0 = time.perf_counter()
specfit.fit(da, library, progress=False)
second = time.perf_counter() - t0
print(json.dumps({"fit": first, "again": second, "path": ds.attrs["engine_path"],
                  "success": float(ds.success.mean())}))
"""


def _process(n: int, cache: Path) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=os.pathsep.join(
        [str(HERE)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("SPECFIT_COMPILE", None)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(n)], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process"] = time.perf_counter() - t0
    return result


def _wait_for_build(cache: Path, timeout: float = 600.0) -> float:
    """Until the engine's index is written and no build holds the lock for a second (builds queue behind
    each other: the Voigt's first, then the engine's)."""
    t0 = time.perf_counter()
    free_since = None
    while time.perf_counter() - t0 < timeout:
        if any(cache.rglob("compiled_lm._lm_kernel*.nbi")) and not any(cache.rglob("specfit-build.lock")):
            free_since = free_since or time.perf_counter()
            if time.perf_counter() - free_since >= 1.0:
                return free_since - t0
        else:
            free_since = None
        time.sleep(0.2)
    raise RuntimeError(f"the background build in {cache} did not finish in {timeout:.0f} s")


def _fmt(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in (np.min(values), np.median(values), np.max(values)))


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for n in args.sizes:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                cache = Path(tmp) / "numba-cache"
                first = _process(n, cache)
                waited = _wait_for_build(cache)
                later = _process(n, cache)
            runs.append({"first": first, "later": later, "build_after_exit_s": waited})
            print(f"n={n}: first {first['fit']:.2f} s ({first['path']}), process {first['process']:.1f} s; "
                  f"build done {waited:.1f} s after it; later {later['fit']:.2f} s / {later['again']:.2f} s "
                  f"({later['path']})", flush=True)
        rows.append({"n": n, "runs": runs})
    print("\n| spectra | first process: fit (s) | its wall time (s) | second process: fit (s) | second fit there (s) "
          "| first / later |\n|---|---|---|---|---|---|")
    for row in rows:
        firsts = [r["first"]["fit"] for r in row["runs"]]
        laters = [r["later"]["fit"] for r in row["runs"]]
        print(f"| {row['n']} | {_fmt(firsts)} | {_fmt([r['first']['process'] for r in row['runs']])} | "
              f"{_fmt(laters)} | {_fmt([r['later']['again'] for r in row['runs']])} | "
              f"{np.median(firsts) / np.median(laters):.1f}x |")
    return rows


if __name__ == "__main__":
    main()
