"""Command line: ``specfit fit | libraries | report | demo`` (and workflow subcommands).

User errors print one line ``specfit: error: FILE: problem`` and exit 2; no
traceback is ever shown for them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import FileFormatError, SpecfitError
from .fitting import UNCERTAINTY_METHODS
from .library import SHAPE_TIES

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage + error)
        sys.stderr.write(f"specfit: error: {message} (see 'specfit --help')\n")
        raise SystemExit(EXIT_USAGE)


def _pair(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI, got {text!r}") from None
    return lo, hi


def load_inputs(paths: list[str], dim: str = "spectrum") -> xr.DataArray:
    """Read INPUT files into one DataArray; several files are stacked along ``dim``."""
    from .io import read

    arrays = []
    for path in paths:
        obj = read(path)
        if isinstance(obj, xr.DataTree):
            names = [n for n in obj.children]
            raise FileFormatError(f"{path}: holds {len(names)} regions ({', '.join(names)}) with different axes; "
                                  "fit them with 'specfit xps-profile' or one region per file")
        arrays.append(obj)
    if len(arrays) == 1:
        return arrays[0]
    first = arrays[0]
    axis = first.dims[-1]
    for path, da in zip(paths[1:], arrays[1:]):
        if da.dims != first.dims or da.shape != first.shape:
            raise FileFormatError(f"{path}: dims {dict(da.sizes)} differ from {paths[0]}'s {dict(first.sizes)}")
        if not np.allclose(da[axis].values, first[axis].values, rtol=0, atol=1e-9 * np.ptp(first[axis].values)):
            raise FileFormatError(f"{path}: spectral axis differs from {paths[0]}'s; resample to one axis first")
    labels = [Path(p).stem for p in paths]
    if len(set(labels)) < len(labels):
        labels = [str(p) for p in paths]
    stacked = xr.concat([a.assign_coords({axis: first[axis].values}) for a in arrays], dim=dim,
                        coords="minimal", compat="override", join="override", combine_attrs="drop_conflicts")
    return stacked.assign_coords({dim: labels})


def _cmd_fit(args: argparse.Namespace) -> int:
    from .fitting import fit
    from .results import save

    data = load_inputs(args.inputs, args.dim)
    ds = fit(data, args.library, components=args.components, background=args.background, share=args.share,
             window=args.window, engine=args.engine, weights=args.weights, lineshape=args.lineshape,
             uncertainty=args.uncertainty, n_draws=args.n_draws, shape_tie=args.shape_tie)
    ds.attrs["inputs"] = [str(p) for p in args.inputs]
    save(ds, args.out, protect=tuple(args.inputs))
    n_ok = int(ds["success"].sum())
    print(f"fitted {ds['success'].size} spectra ({n_ok} converged) -> {args.out}")
    return 0


def _cmd_libraries(args: argparse.Namespace) -> int:
    from .library import list_libraries

    for name in list_libraries():
        print(name)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .plotting import report_figure
    from .results import open_results

    ds = open_results(args.result)
    if isinstance(ds, xr.DataTree):
        raise FileFormatError(f"{args.result}: a grouped result; use the workflow's own report")
    fig = report_figure(ds)
    _save_figure(fig, args.out)
    print(f"report -> {args.out}")
    return 0


def _save_figure(fig, out: str) -> None:
    import os
    import tempfile

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=out_path.suffix or ".png", dir=out_path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    for line in run_demo(Path(args.out)):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="specfit", description="Deconvolve spectra into quantified chemistry.")
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"specfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p = sub.add_parser("fit", help="fit spectra with a peak library and write a result NetCDF")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="spectrum files (NetCDF, CSV/TXT, VAMAS, ...)")
    p.add_argument("--library", "-l", required=True, help="library name (see 'specfit libraries') or TOML path")
    p.add_argument("--out", "-o", required=True, help="result file (.nc)")
    p.add_argument("--components", help="comma-separated subset of the library's components")
    p.add_argument("--share", help="parameters shared across the batch, e.g. center,width (global fit)")
    p.add_argument("--background", help="none, linear, polynomial, shirley, shirley_fixed, tougaard, als, arpls")
    p.add_argument("--window", type=_pair, help="fitting window LO,HI in axis units")
    p.add_argument("--lineshape", help="override every component's lineshape (voigt, gl, sgl, ...)")
    p.add_argument("--shape-tie", choices=SHAPE_TIES,
                   help="one shape parameter for all components (all), one each (none), or one unless a "
                        "global fit's series rejects it (auto); default: the library's")
    p.add_argument("--engine", default="batch", choices=("batch", "lmfit"))
    p.add_argument("--uncertainty", default="covariance", choices=UNCERTAINTY_METHODS,
                   help="standard errors from the covariance (default) or from refits of resampled data")
    p.add_argument("--n-draws", type=int, default=100, help="resampled data sets for montecarlo/bootstrap")
    p.add_argument("--weights", choices=("none", "poisson"), default=None)
    p.add_argument("--dim", default="spectrum", help="batch dimension name when several INPUTs are given")
    p.set_defaults(func=_cmd_fit)
    p = sub.add_parser("libraries", help="list the shipped peak libraries")
    p.set_defaults(func=_cmd_libraries)
    p = sub.add_parser("report", help="figure of a result file")
    p.add_argument("result")
    p.add_argument("--out", "-o", required=True)
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("demo", help="fit bundled synthetic example data and write results and figures")
    p.add_argument("--out", "-o", default="demo-output")
    p.set_defaults(func=_cmd_demo)
    for module in ("specfit.xps.cli", "specfit.raman_cli", "specfit.nmr_cli"):
        try:
            importlib.import_module(module).add_subcommands(sub)
        except ModuleNotFoundError as exc:
            if not (exc.name and module.startswith(exc.name)):
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``specfit`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except SpecfitError as exc:
        sys.stderr.write(f"specfit: error: {' '.join(str(exc).split())}\n")
        return EXIT_USAGE
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"specfit: error: {' '.join(str(exc).split())}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
