"""``specfit nmr-shifts INPUT... --out SHIFTS.nc``: ⁷Li line positions and shifts against a reference sample."""

from __future__ import annotations

import argparse

import numpy as np

from specfit.cli.common import add_output_options, finish


def add_subcommands(sub) -> None:
    """Register ``nmr-shifts`` on the ``specfit`` subparsers object."""
    p = sub.add_parser("nmr-shifts", help="locate the 7Li resonance of every sample and its shift to a reference")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="NMR spectra (JCAMP-DX, NMRPipe, Bruker pdata, ...)")
    p.add_argument("--out", "-o", required=True, help="result file (.nc) or peak table (.csv/.tsv/.xlsx)")
    p.add_argument("--library", "-l", default="nmr/li7", help="one-component library (default nmr/li7)")
    p.add_argument("--reference-sample", "--reference", dest="reference",
                   help="reference sample: a label of the batch dimension or an index (default: first); "
                        "--reference is the older spelling")
    p.add_argument("--background", help="background model (default: the library's)")
    add_output_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import specfit.nmr.shifts as shifts
    from specfit.cli.common import batch_dim, check_outputs, progress_of_fits, write_extras, write_out
    from specfit.cli.inputs import load_inputs

    check_outputs(args)  # refused before any fitting
    data = load_inputs(args.inputs, args.dim, args=args)
    args.dim = batch_dim(args)
    reference = args.reference
    if reference is not None and reference.lstrip("-").isdigit() and args.dim in data.coords and \
            reference not in [str(v) for v in data[args.dim].values]:
        reference = int(reference)
    with progress_of_fits("7Li shifts", (shifts,), quiet=args.quiet):
        ds = shifts.track_shifts(data, args.library, reference=reference, background=args.background)
    ds.attrs["inputs"] = [str(p) for p in args.inputs]
    what = write_out(ds, args.out, tuple(args.inputs))
    center = np.atleast_1d(ds["center"].values)
    err = np.atleast_1d(ds["center_stderr"].values)
    delta = np.atleast_1d(ds["shift_delta"].values) if "shift_delta" in ds else np.full(center.shape, np.nan)
    dim = ds["center"].dims[0] if ds["center"].ndim else None
    labels = [str(v) for v in np.atleast_1d(ds[dim].values)] if dim and dim in ds.coords else ["spectrum"]
    print(f"{'sample':<24} {'center / ppm':>20} {'shift / ppm':>12}")
    for label, c, e, d in zip(labels, center, err, delta):
        err_text = f"{e:.4f}" if np.isfinite(e) else "n/a"
        print(f"{label:<24} {c:>10.4f} ± {err_text:>7} {d:>12.4f}")
    print(f"-> {args.out} ({what})")
    write_extras(ds, args)
    return finish(ds, args)
