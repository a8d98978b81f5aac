"""A 10^5-spectrum Raman map fitted lazily on a dask.distributed cluster, against the in-memory fit.

Run: ``.venv/bin/python benchmarks/bench_dask_cluster.py [--n 100000] [--chunk 5000] [--workers 2]
[--memory-limit 2GiB] [--address tcp://scheduler:8786] [--subset 0] [--json out.json]``

The map is ``benchmarks/run.py``'s ``raman-map`` scenario (three free-shape
Voigts and a linear baseline, 401 points, the user library written by
``write_raman_library`` and passed by path), generated chunk by chunk *on the
workers* (chunk ``k`` is ``raman_map(size, seed=7 + first pixel of k)``), as a
map read lazily from a file would be: the spectra never pass through the
client or the task graph.  The batch axis is chunked (``--chunk`` spectra per
chunk), the spectral axis is whole.

1. Cluster: a ``LocalCluster`` of ``--workers`` processes x 1 thread with
   ``--memory-limit`` each (or the scheduler at ``--address``).  An untimed
   warm-up fit loads the compiled kernels in every worker, and one pass over
   the map (``max()``) times what reading (here: generating) its chunks
   costs; then ``specfit.fit(lazy_map, library_path).compute()`` is timed.
   It includes two such passes: one for the pilot spectra read when the fit
   is set up (:func:`specfit.fitting.pipeline.pilot_rows`), one for the fit.
2. In memory: the same spectra are computed into the client and fitted by
   ``specfit.fit`` in one process.  With ``--subset k`` only ``k`` random
   spectra are: they go through the same in-memory pipeline
   (``prepare`` -> ``fit_prepared`` -> ``build_dataset``, what ``specfit.fit``
   runs for this library) from the *map's* pilot start, since a batch of
   ``k`` spectra alone would start from its own pilot and land elsewhere
   within the convergence tolerance.
3. Every result variable is compared spectrum by spectrum: numbers to 1e-10
   relative (NaN where the other is NaN), integers, booleans and text
   (flags, messages) exactly, and the attributes but ``created`` and ``dask``.

Printed: spectra/s of both, the peak RSS of the client during each phase
(sampled with psutil every 20 ms) and of every worker (its own
``getrusage`` maximum, read with ``Client.run``), and the verdict.  The
machine's other load changes the timings; memory and equality do not depend
on it.  Not part of the test suite (``tests/test_dask_cluster.py`` is the
fast check).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import cloudpickle
import dask
import dask.array as dsa
import numpy as np
import psutil
import xarray as xr
from dask.distributed import Client, LocalCluster

import specfit

RUN_PATH = Path(__file__).resolve().parent / "run.py"
_spec = importlib.util.spec_from_file_location("specfit_bench_run", RUN_PATH)
RUN = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = RUN
_spec.loader.exec_module(RUN)
# the workers cannot import benchmarks/run.py: its functions travel by value with the tasks
cloudpickle.register_pickle_by_value(RUN)
raman_map = RUN.raman_map

POINTS = 401
SEED = 7
RTOL = 1e-10
IGNORED_ATTRS = ("created", "dask")


def _map_chunk(start: int, size: int) -> np.ndarray:
    """Spectra ``start .. start + size`` of the map (generated where the task runs)."""
    return raman_map(size, POINTS, seed=SEED + start).values


def lazy_map(n: int, chunk: int) -> xr.DataArray:
    """``(pixel, raman_shift)`` map of ``n`` spectra, dask-backed, ``chunk`` spectra per chunk."""
    starts = range(0, n, chunk)
    blocks = [dsa.from_delayed(dask.delayed(_map_chunk)(s, min(chunk, n - s)), shape=(min(chunk, n - s), POINTS),
                               dtype=float) for s in starts]
    x = raman_map(1, POINTS).raman_shift.values
    return xr.DataArray(dsa.concatenate(blocks), dims=("pixel", "raman_shift"),
                        coords={"pixel": np.arange(n), "raman_shift": x}, name="intensity")


class PeakRSS:
    """Largest resident set size of this process while the ``with`` block runs (sampled every 20 ms)."""

    def __enter__(self) -> PeakRSS:
        self.peak = psutil.Process().memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        proc = psutil.Process()
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, psutil.Process().memory_info().rss)


def _worker_peak_rss() -> int:
    """Peak RSS of the worker process running this (bytes; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def compare(ref: xr.Dataset, got: xr.Dataset) -> dict[str, str]:
    """Variables (and attributes) of ``got`` that differ from ``ref``, with how many spectra and how much."""
    bad = {}
    for name in ref.data_vars:
        if name not in got:
            bad[name] = "missing"
            continue
        a, b = ref[name].values, got[name].values
        rows = a.shape[0]
        if a.dtype.kind == "f":
            with np.errstate(all="ignore"):
                rel = np.abs(a - b) / np.maximum(np.abs(a), np.finfo(float).tiny)
            off = np.where(np.isnan(a) & np.isnan(b), False, ~(rel <= RTOL))
            worst = float(np.nanmax(np.where(off, rel, 0.0))) if off.any() else 0.0
            detail = f"max rel {worst:.1e}"
        else:
            off = a.astype(str) != b.astype(str) if a.dtype.kind in "OUS" else a != b
            detail = "not equal"
        spectra = int(off.reshape(rows, -1).any(axis=1).sum())
        if spectra:
            bad[name] = f"{spectra} of {rows} spectra, {detail}"
    for key in set(ref.attrs) | set(got.attrs):
        if key not in IGNORED_ATTRS and ref.attrs.get(key) != got.attrs.get(key):
            bad[f"attrs[{key!r}]"] = f"{ref.attrs.get(key)!r} != {got.attrs.get(key)!r}"
    return bad


def subset_fit(spectra: xr.DataArray, data: xr.DataArray, library: str) -> xr.Dataset:
    """In-memory fit of ``spectra`` (rows of the map ``data``) from the map's pilot start, curves not stored."""
    from specfit.fitting.api import resolve_library
    from specfit.fitting.dataset import build_dataset
    from specfit.fitting.pipeline import fit_prepared, pilot_rows
    from specfit.fitting.prepare import prepare
    from specfit.options import FitOptions

    lib = resolve_library(library)
    options = FitOptions.build(lib, progress=False)
    rows = pilot_rows(data.sizes["pixel"])
    pilot = None if rows is None else prepare(data.isel(pixel=rows).compute(), lib)
    return build_dataset(fit_prepared(prepare(spectra, lib), lib, options, pilot), store_curves=False)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="spectra in the map")
    parser.add_argument("--chunk", type=int, default=5000, help="spectra per chunk")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (1 thread each)")
    parser.add_argument("--memory-limit", default="2GiB", help="LocalCluster memory limit per worker")
    parser.add_argument("--address", default=None, help="use the scheduler at this address instead")
    parser.add_argument("--subset", type=int, default=0,
                        help="fit only this many random spectra in memory (0: the whole map)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    if args.address:
        cluster, client = None, Client(args.address)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               memory_limit=args.memory_limit, dashboard_address=None)
        client = Client(cluster)
    workers = len(client.scheduler_info()["workers"])
    where = args.address or f"LocalCluster {workers} processes x 1 thread, {args.memory_limit} each"
    print(f"map {args.n} x {POINTS}, chunks of {args.chunk} spectra, {where}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        library = str(RUN.write_raman_library(Path(tmp)))
        data = lazy_map(args.n, args.chunk)

        t0 = time.perf_counter()  # compiled kernels loaded (or compiled) in every worker, not timed
        specfit.fit(lazy_map(200 * workers, 100), library).compute()
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        data.max().compute()
        t_pass = time.perf_counter() - t0

        with PeakRSS() as client_cluster:
            t0 = time.perf_counter()
            lazy = specfit.fit(data, library, progress=False)  # the same options as in memory
            t_graph = time.perf_counter() - t0
            on_cluster = lazy.compute()
            t_cluster = time.perf_counter() - t0
        worker_peaks = sorted(client.run(_worker_peak_rss).values())

        rows = (np.sort(np.random.default_rng(0).choice(args.n, args.subset, replace=False))
                if 0 < args.subset < args.n else np.arange(args.n))
        spectra = data.isel(pixel=rows).compute()
        with PeakRSS() as client_memory:
            t0 = time.perf_counter()
            in_memory = (specfit.fit(spectra, library, progress=False) if rows.size == args.n
                         else subset_fit(spectra, data, library))
            t_memory = time.perf_counter() - t0
    client.close()
    if cluster is not None:
        cluster.close()

    got = on_cluster.isel(pixel=rows)
    if rows.size < args.n:  # the note on stored curves counts the spectra of the batch
        got.attrs["curves"] = in_memory.attrs["curves"]
    differences = compare(in_memory, got)
    out = {
        "n": args.n, "points": POINTS, "chunk": args.chunk, "workers": workers, "where": where,
        "in_memory_spectra": int(rows.size), "warmup_s": warm, "one_pass_s": t_pass, "graph_s": t_graph,
        "cluster_per_s": args.n / t_cluster, "in_memory_per_s": rows.size / t_memory,
        "client_peak_rss_mb_cluster": client_cluster.peak / 2**20,
        "client_peak_rss_mb_in_memory": client_memory.peak / 2**20,
        "worker_peak_rss_mb": [p / 2**20 for p in worker_peaks],
        "success": float(on_cluster.success.mean()), "equal": not differences, "differences": differences,
    }
    print(f"cluster   : {out['cluster_per_s']:8.1f} spectra/s ({args.n} spectra in {t_cluster:.1f} s, graph built in "
          f"{t_graph:.1f} s; warm-up {warm:.1f} s not counted); success {out['success']:.4f}")
    print(f"            one pass over the map's chunks (generating them) takes {t_pass:.1f} s; the cluster time "
          "includes two (pilot spectra, fit)")
    print(f"in memory : {out['in_memory_per_s']:8.1f} spectra/s ({rows.size} spectra in {t_memory:.1f} s, one process)")
    print(f"peak RSS  : client {out['client_peak_rss_mb_cluster']:.0f} MB during the cluster fit, "
          f"{out['client_peak_rss_mb_in_memory']:.0f} MB during the in-memory fit; workers "
          + ", ".join(f"{p:.0f}" for p in out["worker_peak_rss_mb"]) + " MB")
    if differences:
        print(f"verdict   : DIFFERENT on {rows.size} spectra compared")
        for name, text in differences.items():
            print(f"    {name}: {text}")
    else:
        print(f"verdict   : EQUAL on {rows.size} spectra (every variable; numbers to {RTOL:g} relative, "
              "text exactly; attributes but created/dask)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
