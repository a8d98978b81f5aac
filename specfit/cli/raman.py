"""``specfit raman-speciation INPUT... --out RESULT.nc``: ion-pair fractions with their spreads."""

from __future__ import annotations

import argparse

import numpy as np

from specfit.cli.common import add_output_options, finish, pair
from specfit.raman.ion_pairs import BASELINES, DEFAULT_BASELINES, SPREADS


def add_subcommands(sub) -> None:
    """Register ``raman-speciation`` on the ``specfit`` subparsers object."""
    p = sub.add_parser("raman-speciation",
                       help="free/CIP/AGG fractions of a Raman series with baseline and shape-model spreads")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="Raman spectra (one file per sample, or one batch file)")
    p.add_argument("--out", "-o", required=True, help="result file (.nc) or peak table (.csv/.tsv/.xlsx)")
    p.add_argument("--library", "-l", default="raman/fsi_tfsi", help="library (default raman/fsi_tfsi)")
    p.add_argument("--components", help="comma-separated subset of the library's components")
    p.add_argument("--share", default="center,width",
                   help="parameters shared across the series (default center,width; 'none' for independent fits)")
    p.add_argument("--baselines", default=",".join(DEFAULT_BASELINES),
                   help=f"baseline models to refit with (first = primary), from {', '.join(BASELINES)}")
    p.add_argument("--spread", choices=SPREADS, default="range", help="spread over baselines: range or std")
    p.add_argument("--window", type=pair, help="fitting window LO,HI in cm-1")
    add_output_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import specfit.raman.ion_pairs as ion_pairs
    from specfit.cli.common import check_outputs, progress_of_fits, write_extras, write_out
    from specfit.cli.inputs import load_inputs

    check_outputs(args)  # refused before any fitting
    data = load_inputs(args.inputs, args.dim, args=args)
    baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
    with progress_of_fits("raman speciation", (ion_pairs,), quiet=args.quiet):
        ds = ion_pairs.speciation(data, args.library, components=args.components, share=args.share,
                                  baselines=baselines, spread=args.spread, window=args.window)
    ds.attrs["inputs"] = [str(p) for p in args.inputs]
    what = write_out(ds, args.out, tuple(args.inputs))
    _print_table(ds)
    print(f"-> {args.out} ({what})")
    write_extras(ds, args)
    return finish(ds, args)


def _print_table(ds) -> None:
    frac = ds["fraction"]
    batch = [d for d in frac.dims if d != "component"]
    flat = frac.stack(_s=batch) if len(batch) > 1 else frac
    dim = flat.dims[0] if batch else None
    comps = [str(c) for c in ds["component"].values]
    print(f"{'spectrum':<20} " + " ".join(f"{c + ' %':>22}" for c in comps))
    labels = [str(v) for v in np.atleast_1d(flat[dim].values)] if dim else ["spectrum"]

    def cell(var, i, k):
        if var not in ds:
            return np.nan
        arr = ds[var].stack(_s=batch) if len(batch) > 1 else ds[var]
        arr = arr.transpose(*((dim,) if dim else ()), "component")
        return float(np.atleast_2d(arr.values)[i, k]) * 100

    for i, label in enumerate(labels):
        cells = []
        for k in range(len(comps)):
            value, err, spread = (cell(v, i, k) for v in ("fraction", "fraction_stderr", "fraction_baseline_spread"))
            err_text = f"{err:.1f}" if np.isfinite(err) else "n/a"
            cells.append(f"{value:6.1f} ± {err_text:>4} ({spread:4.1f})")
        print(f"{label:<20} " + " ".join(f"{c:>22}" for c in cells))
    print("(value ± stderr (baseline spread), percent)")
