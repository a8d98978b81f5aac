"""Command line: ``specfit fit | libraries | report | demo | compare`` and the workflow subcommands.

The workflows register their own subcommands (``xps-profile``,
``raman-speciation``, ``nmr-shifts``) from their packages.  User errors print
one line ``specfit: error: FILE: problem`` and exit 2; no traceback is ever
shown for them.  Result flags are summarised on stderr, one line per code;
``--strict`` turns any flag into exit code 3.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

from specfit.cli.common import (
    EXIT_FLAGGED,
    EXIT_USAGE,
    add_flag_options,
    add_output_options,
    assignments,
    finish,
    pair,
    parse_value,
)
from specfit.engines import selectable_engines
from specfit.errors import SpecfitError
from specfit.library.loader import SHAPE_TIES
from specfit.options import STARTS, UNCERTAINTY_METHODS

#: Options whose value may start with '-' (a negative number): rewritten to ``--opt=value``.
_NEGATIVE_OK = ("--window", "--charge-shift")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage + error)
        sys.stderr.write(f"specfit: error: {message} (see 'specfit --help')\n")
        raise SystemExit(EXIT_USAGE)


def _constrained_library(args: argparse.Namespace):
    """``--library`` with ``--fix`` / ``--range`` / ``--link`` / ``--add`` applied (a new Library), or the name."""
    from specfit.library.constraints import parse_cli

    wanted = parse_cli(args.fix, args.range, args.link)
    if not wanted and not args.add:
        return args.library
    if str(args.library).lower() == "casa":
        raise SpecfitError("--fix/--range/--link/--add apply to a library file or name, not to --library casa")
    from specfit.library.loader import load_library

    return load_library(args.library).constrained(add=args.add, **wanted)


def _cmd_fit(args: argparse.Namespace) -> int:
    from specfit.cli.common import check_outputs, write_extras, write_out
    from specfit.cli.inputs import load_inputs
    from specfit.fitting.api import fit

    check_outputs(args)  # refused before any fitting
    library = _constrained_library(args)
    data = load_inputs(args.inputs, args.dim, region=args.region, x_column=args.x_column,
                       y_columns=args.y_columns, args=args)
    options = {k: parse_value(v) for k, v in assignments(args.background_option, "--background-option").items()}
    components = args.components
    if args.add and components and components.strip() != "auto":
        # a component added with --add is fitted: an explicit --components list gains it (never dropped silently)
        added = [item.split("@", 1)[0].strip() for item in args.add]
        listed = [c.strip() for c in components.split(",")]
        components = ",".join(listed + [a for a in added if a not in listed])
    ds = fit(data, library, components=components, background=args.background, share=args.share,
             window=args.window, engine=args.engine, weights=args.weights, lineshape=args.lineshape,
             uncertainty=args.uncertainty, n_draws=args.n_draws, shape_tie=args.shape_tie,
             background_options=options or None, charge_shift=args.charge_shift,
             progress=False if args.quiet else None, start=args.start)
    ds.attrs["inputs"] = [str(p) for p in args.inputs]
    constraints = list(getattr(library, "constraints", ()) or ())
    if constraints:
        ds.attrs["constraints"] = constraints
    what = write_out(ds, args.out, tuple(args.inputs))  # the library file, read in this session, is protected too
    n_ok = int(ds["success"].sum())
    print(f"fitted {ds['success'].size} spectra ({n_ok} converged) -> {args.out} ({what})")
    write_extras(ds, args)
    return finish(ds, args)


def _cmd_libraries(args: argparse.Namespace) -> int:
    from specfit.library.loader import list_libraries, load_library

    for name in list_libraries():
        if not args.long:
            print(name)
            continue
        lib = load_library(name)
        unit = {"xps": "eV", "raman": "cm-1", "nmr": "ppm"}.get(lib.technique, lib.units)
        window = f"{lib.window[0]:g} to {lib.window[1]:g} {unit}" if lib.window else "whole axis"
        print(f"{name}\n  technique: {lib.technique}, window: {window}, background: {lib.background}, "
              f"lineshape: {lib.lineshape}\n  components: {', '.join(lib.component_names)}")
        for comp in lib.components:  # each component's numbers with their source
            group = f" [look-alike group {comp.lookalike_group}]" if comp.lookalike_group else ""
            print(f"    {comp.name}: {comp.center:g} ({comp.center_range[0]:g} to {comp.center_range[1]:g}) {unit}"
                  f"{group}; source: {comp.source or 'see the library sources'}")
        for source in lib.sources:
            print(f"  source: {source}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from specfit.cli.common import check_extras, write_extras
    from specfit.report import report_files
    from specfit.results.store import open_results

    check_extras(args)
    for path in report_files(args.result, args.out):
        if not args.quiet:
            print(f"report -> {path}")
    if args.curves or args.strict:
        result = open_results(args.result)
        write_extras(result, argparse.Namespace(curves=args.curves))
        return finish(result, args) if args.strict else 0
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from specfit.demo import run_demo

    run_demo(Path(args.out), progress=None if args.quiet else (lambda line: print(line, flush=True)))  # as it happens
    return 0


#: A criterion difference below this says nothing (Burnham & Anderson 2002: models within 2 have equal support).
NO_PREFERENCE = 2.0


def _cmd_compare(args: argparse.Namespace) -> int:
    import specfit.comparison as comparison
    from specfit.cli.common import check_outputs, out_kind, progress_of_fits
    from specfit.cli.inputs import load_inputs

    check_outputs(args)  # refused before any fitting
    data = load_inputs(args.inputs, args.dim, region=args.region, args=args)
    with progress_of_fits("compare", (comparison,), quiet=args.quiet, total=len(args.models)):
        table = comparison.compare(data, args.models, library=args.library, criterion=args.criterion,
                                   share=args.share, window=args.window, background=args.background)
    print(f"{'model':<28} {'n':>3} {'AIC (series)':>14} {'BIC (series)':>14} {'ΔBIC':>8} {'Akaike w':>9}")
    for model in table["model"].values:
        row = table.sel(model=model)
        print(f"{str(model):<28} {int(row['n_components']):>3} {float(row['aic_series']):>14.2f} "
              f"{float(row['bic_series']):>14.2f} {float(row['delta_bic_series']):>8.2f} "
              f"{float(row['akaike_weight_series']):>9.3f}")
    criterion = table.attrs["criterion"]
    delta = np.sort(np.asarray(table[f"delta_{criterion}_series"].values, float))
    delta = delta[np.isfinite(delta)]
    if delta.size > 1 and delta[1] < NO_PREFERENCE:
        close = [str(m) for m in table["model"].values
                 if float(table[f"delta_{criterion}_series"].sel(model=m)) < NO_PREFERENCE]
        table.attrs["best_series"] = ""
        table.attrs["preference"] = f"no preference: {', '.join(close)} within {NO_PREFERENCE:g} in {criterion}"
        print(f"no preference ({criterion.upper()} differs by less than {NO_PREFERENCE:g}): {', '.join(close)}")
    else:
        print(f"best ({criterion}): {table.attrs['best_series']}")
    if args.out:
        table.attrs["inputs"] = [str(p) for p in args.inputs]
        if out_kind(args.out) == "table":
            _write_compare_table(table, args.out, tuple(args.inputs))
        else:
            from specfit.results.store import save

            save(table, args.out, protect=tuple(args.inputs))
        print(f"-> {args.out}")
    failed = [str(m) for m in table["model"].values if not bool(table["success"].sel(model=m).all())]
    if failed and not args.quiet:
        print(f"specfit: model(s) not converged on every spectrum: {', '.join(failed)}", file=sys.stderr)
    return EXIT_FLAGGED if args.strict and failed else 0


def _write_compare_table(table, out: str, inputs: tuple) -> None:
    """The series columns of a comparison (one row per model) as .csv/.tsv/.xlsx."""
    from specfit.report import write_table

    series = [v for v in table.data_vars if v.endswith("_series") or v == "n_components"]
    write_table(table[series].to_dataframe().reset_index(), Path(out), inputs)


def build_parser() -> argparse.ArgumentParser:
    """The ``specfit`` argument parser with every subcommand."""
    from specfit._version import __version__
    from specfit.cli.nmr import add_subcommands as add_nmr
    from specfit.cli.raman import add_subcommands as add_raman
    from specfit.cli.xps import add_subcommands as add_xps

    parser = _Parser(prog="specfit", description="Deconvolve spectra into quantified chemistry.")
    parser.add_argument("--version", action="version", version=f"specfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p = sub.add_parser("fit", help="fit spectra with a peak library and write a result NetCDF")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="spectrum files (NetCDF, CSV/TXT, VAMAS, ...)")
    p.add_argument("--library", "-l", required=True,
                   help="library name (see 'specfit libraries'), TOML path, or 'casa' (the CasaXPS model stored "
                        "in a VAMAS file)")
    p.add_argument("--out", "-o", required=True,
                   help="RESULT.nc (the result), or TABLE.csv|.tsv|.xlsx (the peak table only); anything else is "
                        "refused before fitting")
    p.add_argument("--curves", metavar="FILE.csv",
                   help="also write x, data, fit, background and every component (for Origin or Excel)")
    p.add_argument("--components", help="comma-separated subset of the library's components, or 'auto' (keep those "
                                        "the data support)")
    p.add_argument("--fix", action="append", metavar="COMP.PARAM=VALUE",
                   help="fix a parameter (PARAM: center, fwhm, shape), e.g. --fix LiF.center=685.0; repeatable")
    p.add_argument("--range", action="append", metavar="COMP.PARAM=LO:HI",
                   help="allowed range of a parameter, e.g. --range C-F.fwhm=1.2:2.0; repeatable")
    p.add_argument("--link", action="append", metavar="COMP.PARAM=OTHER.PARAM",
                   help="tie a parameter to another component's: A.fwhm=B.fwhm, A.center=B.center+0.4 (offset), "
                        "A.area=B.area*0.5 (ratio); repeatable")
    p.add_argument("--add", action="append", metavar="NAME@CENTER[:LINESHAPE]",
                   help="add a component to the library, e.g. --add LiOH@686.6:gl; repeatable")
    p.add_argument("--share", help="parameters shared across the batch, e.g. center,width (global fit)")
    p.add_argument("--background", help="background model (default: the library's); see docs/library_format.md")
    p.add_argument("--background-option", action="append", metavar="KEY=VALUE",
                   help="option of the background, e.g. --background shirley_fixed --background-option "
                        "endpoints=centred --background-option n_average=5 (repeatable)")
    p.add_argument("--window", type=pair, help="fitting window LO,HI in axis units (negative values allowed)")
    p.add_argument("--lineshape", help="override every component's lineshape (voigt, gl, sgl, GL(30), ...)")
    p.add_argument("--shape-tie", choices=SHAPE_TIES,
                   help="one shape parameter for all components (all), one each (none), or one unless a "
                        "global fit's series rejects it (auto); default: the library's")
    p.add_argument("--start", default="auto", choices=STARTS,
                   help="starting values: a pilot fit of 64 spectra for batches of 256 or more (auto), or always "
                        "the library's (library: a spectrum's result then does not depend on its batch)")
    p.add_argument("--engine", default="batch", choices=selectable_engines())
    p.add_argument("--uncertainty", default="combined", choices=UNCERTAINTY_METHODS,
                   help="combined (default: covariance stderr and the model spread over the alternative models), "
                        "statistical (covariance only), or montecarlo/bootstrap refits")
    p.add_argument("--n-draws", type=int, default=None,
                   help="resampled data sets for montecarlo/bootstrap (default 100; an error with covariance)")
    p.add_argument("--weights", choices=("none", "poisson"), default=None)
    p.add_argument("--charge-shift", type=float, metavar="EV", help="known charge shift added to the axis (XPS)")
    p.add_argument("--region", help="region of a multi-region file (e.g. a VAMAS block name)")
    p.add_argument("--x-column", help="column holding the spectral axis (name or 0-based index)")
    p.add_argument("--y-columns", help="comma-separated intensity columns (names or 0-based indices)")
    add_output_options(p)
    p.set_defaults(func=_cmd_fit)
    p = sub.add_parser("libraries", help="list the shipped peak libraries")
    p.add_argument("--long", action="store_true", help="also technique, window, components and sources")
    p.set_defaults(func=_cmd_libraries)
    p = sub.add_parser("report", help="figure (.png/.svg/.pdf), peak table (.csv/.tsv/.xlsx), curves or the "
                                      "methods paragraph (.md/.txt) of a result file")
    p.add_argument("result", help="result file (.nc) of fit, xps-profile, raman-speciation or nmr-shifts")
    p.add_argument("--out", "-o", required=True,
                   help="FIG.png|.svg|.pdf, TABLE.csv|.tsv|.xlsx, or METHODS.md|.txt (what a reviewer needs to "
                        "repeat the fit)")
    p.add_argument("--curves", metavar="FILE.csv", help="also write x, data, fit, background and every component")
    add_flag_options(p)
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("demo", help="fit bundled synthetic example data and write results and figures")
    p.add_argument("--out", "-o", default="demo-output")
    add_flag_options(p)
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("compare", help="compare candidate models (component sets or libraries) by AIC/BIC")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--models", "-m", nargs="+", required=True,
                   help="candidate models: component lists of --library (free,CIP) or library names/paths")
    p.add_argument("--library", "-l", help="library whose components the models name")
    p.add_argument("--criterion", choices=("bic", "aic"), default="bic")
    p.add_argument("--share", help="parameters shared across the batch (global fits)")
    p.add_argument("--window", type=pair, help="fitting window LO,HI (default: the first model's)")
    p.add_argument("--background", help="background for every model (default: the first model's)")
    p.add_argument("--region", help="region of a multi-region file")
    p.add_argument("--out", "-o", help="also write the comparison: .nc (every column) or .csv/.tsv/.xlsx (one row "
                                       "per model)")
    add_output_options(p, plot=False)
    p.set_defaults(func=_cmd_compare)
    add_xps(sub)
    add_raman(sub)
    add_nmr(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning on the command line: one line ``specfit: warning: ...``, no source line."""
    sys.stderr.write(f"specfit: warning: {' '.join(str(message).split())}\n")


def _normalise_argv(argv: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(argv):
        item = argv[i]
        if item in _NEGATIVE_OK and i + 1 < len(argv) and argv[i + 1].startswith("-") and \
                argv[i + 1][1:2].replace(".", "").isdigit():
            out.append(f"{item}={argv[i + 1]}")
            i += 2
            continue
        out.append(item)
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``specfit`` command."""
    parser = build_parser()
    args = parser.parse_args(_normalise_argv(list(sys.argv[1:] if argv is None else argv)))
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # numerical warnings of single spectra are flags in the result, not noise on stderr
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.showwarning = _one_line_warning  # restored by catch_warnings
            if getattr(args, "out", None) and args.command != "demo":
                from specfit.atomicio import check_regular_target

                check_regular_target(args.out)  # a device or FIFO as --out: refused before any work
            return int(args.func(args) or 0)
    except SpecfitError as exc:
        sys.stderr.write(f"specfit: error: {' '.join(str(exc).split())}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and closed: not an error of the user's
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at interpreter exit
        return 0
    except (OSError, ValueError, argparse.ArgumentTypeError) as exc:
        sys.stderr.write(f"specfit: error: {' '.join(str(exc).split())}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("specfit: interrupted (no output file was changed)\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
