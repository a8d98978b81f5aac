"""Pieces every ``specfit`` subcommand shares: argument types, the flag summary, exit codes."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import OptionError

EXIT_USAGE = 2
EXIT_FLAGGED = 3
#: Batch dimension of several INPUT files, the same for every subcommand (``--dim`` renames it).
DEFAULT_DIM = "spectrum"


def pair(text: str) -> tuple[float, float]:
    """``"LO,HI"`` -> (lo, hi); negative numbers welcome (``-5,5``)."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI, got {text!r}") from None
    return lo, hi


def assignments(items: list[str] | None, what: str, *, key=None, name: str = "KEY") -> dict[str, str]:
    """``["KEY=VALUE", ...]`` -> dict (the one KEY=VALUE parser of the command line).

    ``key`` normalises each key (e.g. region names ``"C 1s"`` -> ``"C1s"``);
    ``name`` is the key's word in the error message.

    Raises
    ------
    OptionError
        An item without ``=``, an empty key or an empty value; one line naming the item.
    """
    out: dict[str, str] = {}
    for item in items or []:
        k, sep, value = item.partition("=")
        if not sep or not k.strip() or not value.strip():
            raise OptionError(f"{what}: expected {name}=VALUE, got {item!r}")
        out[key(k) if key else k.strip()] = value.strip()
    return out


def parse_value(text: str) -> object:
    """A command-line value as int, float, bool, a (lo, hi) pair or text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if "," in text:
        try:
            return tuple(float(v) for v in text.split(","))
        except ValueError:
            pass
    return text


def _labels(flags: xr.DataArray) -> list[str]:
    if flags.ndim == 0:
        return ["the spectrum"]
    stacked = flags.stack(_s=flags.dims) if flags.ndim > 1 else flags
    dim = stacked.dims[0]
    if dim in stacked.coords:
        return [str(v) for v in np.atleast_1d(stacked[dim].values)]
    return [str(i) for i in range(stacked.size)]


def summarise_flags(result: xr.Dataset | xr.DataTree, stream=None) -> int:
    """Print one line per flag code to stderr (how many spectra, which); returns the number of flagged spectra."""
    stream = stream or sys.stderr
    datasets = ([(f"{name}: ", node.to_dataset()) for name, node in result.children.items()]
                if isinstance(result, xr.DataTree) else [("", result)])
    flagged = 0
    for prefix, ds in datasets:
        if "flags" not in ds:
            continue
        flags = ds["flags"]
        values = [str(v) for v in np.atleast_1d(flags.values).ravel()]
        labels = _labels(flags)
        flagged += sum(1 for v in values if v)
        codes: dict[str, list[str]] = {}
        for label, value in zip(labels, values):
            for code in filter(None, value.split(",")):
                codes.setdefault(code, []).append(label)
        for code, which in codes.items():
            shown = ", ".join(which[:8]) + (f", … (+{len(which) - 8})" if len(which) > 8 else "")
            stream.write(f"specfit: {prefix}{len(which)} of {len(values)} spectra flagged {code}: {shown}\n")
    return flagged


def add_flag_options(p) -> None:
    """``--strict`` and ``--quiet``, shared by every fitting subcommand."""
    p.add_argument("--strict", action="store_true", help="exit with code 3 when any result is flagged")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar, no flag summary")


def add_output_options(p, *, plot: bool = True) -> None:
    """``--dim``, ``--coord``, ``--coord-from-name``, ``--plot`` plus :func:`add_flag_options`, for every
    subcommand that fits."""
    p.add_argument("--dim", default=DEFAULT_DIM,
                   help=f"batch dimension name when several INPUTs are given (default {DEFAULT_DIM}; "
                        "--coord NAME=... names it NAME)")
    p.add_argument("--coord", action="append", metavar="NAME[UNIT]=V1,V2,...",
                   help="coordinate of the batch: one value per INPUT file, in order, e.g. "
                        "--coord etch_time[s]=0,30,60,120,300 (numbers give a numeric axis); repeatable")
    p.add_argument("--coord-from-name", action="append", metavar="NAME[UNIT]=REGEX",
                   help="coordinate read from each file name by a regular expression with one group, e.g. "
                        "--coord-from-name 'etch_time[s]=(\\d+)s'")
    if plot:
        p.add_argument("--plot", metavar="FIG.png",
                       help="also write the report figure (the same pages as 'specfit report RESULT --out FIG')")
    add_flag_options(p)


_COORD_NAME = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(?:\[([^\]]*)\])?\s*$")


def _coord_name(text: str, flag: str) -> tuple[str, str]:
    match = _COORD_NAME.match(text)
    if not match:
        raise OptionError(f"{flag}: {text!r} is not a coordinate name (letters, digits, _; optional [UNIT])")
    return match.group(1), match.group(2) or ""


def _typed(values: list[str]) -> list:
    """Numbers when every value is one, else the texts."""
    try:
        return [float(v) for v in values]
    except ValueError:
        return [v.strip() for v in values]


def file_coords(args, paths: list[str]) -> list[tuple[str, str, list]]:
    """``--coord`` and ``--coord-from-name`` as ``[(name, units, values-per-file)]``.

    Raises
    ------
    OptionError
        A count that differs from the number of files, a regular expression
        that does not match a file name (the message names the file).
    """
    out = []
    for item in getattr(args, "coord", None) or []:
        key, sep, text = item.partition("=")
        if not sep or not text.strip():
            raise OptionError(f"--coord: expected NAME=V1,V2,..., got {item!r}")
        name, units = _coord_name(key, "--coord")
        values = [v.strip() for v in text.split(",")]
        if len(values) != len(paths):
            raise OptionError(f"--coord {name}: {len(values)} values for {len(paths)} input files (one per file, "
                              "in order)")
        out.append((name, units, _typed(values)))
    for item in getattr(args, "coord_from_name", None) or []:
        key, sep, pattern = item.partition("=")
        if not sep or not pattern:
            raise OptionError(f"--coord-from-name: expected NAME=REGEX, got {item!r}")
        name, units = _coord_name(key, "--coord-from-name")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise OptionError(f"--coord-from-name {name}: bad regular expression {pattern!r}: {exc}") from None
        values = []
        for path in paths:
            match = regex.search(Path(path).name)
            if not match:
                raise OptionError(f"{path}: --coord-from-name {name}: {pattern!r} does not match the file name")
            values.append(match.group(1) if match.groups() else match.group(0))
        out.append((name, units, _typed(values)))
    names = [n for n, _, _ in out]
    if len(set(names)) < len(names):
        raise OptionError(f"coordinate given twice: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    return out


def batch_dim(args) -> str:
    """The batch dimension: ``--dim``, or the first ``--coord`` name when ``--dim`` was not given."""
    coords = [item.partition("=")[0] for item in (getattr(args, "coord", None) or [])]
    coords += [item.partition("=")[0] for item in (getattr(args, "coord_from_name", None) or [])]
    if args.dim == DEFAULT_DIM and coords:
        return _coord_name(coords[0], "--coord")[0]
    return args.dim


def assign_file_coords(da: xr.DataArray, dim: str, coords: list[tuple[str, str, list]],
                       order: list[int] | None = None) -> xr.DataArray:
    """Put ``coords`` (values per file) on ``da`` along ``dim``; ``order`` picks the files of ``da``'s steps."""
    for name, units, values in coords:
        values = [values[i] for i in order] if order is not None else values
        if da.sizes.get(dim) != len(values):
            raise OptionError(f"coordinate {name}: {len(values)} values for {da.sizes.get(dim, 1)} spectra along "
                              f"{dim!r}")
        da = da.assign_coords({name: (dim, np.asarray(values))})
        if units:
            da[name].attrs["units"] = units
    return da


def out_kind(out: str | None, *, table: bool = True) -> str | None:
    """What ``--out`` writes, by extension: ``"result"`` (.nc) or ``"table"`` (.csv/.tsv/.xlsx); anything else
    is refused (before any fitting) with a one-line error."""
    if out is None:
        return None
    ext = Path(out).suffix.lower()
    if ext in (".nc", ".nc4", ".h5", ".hdf5"):
        return "result"
    if table and ext in TABLE_EXTENSIONS:
        return "table"
    allowed = ".nc" + (" (the result) or .csv, .tsv, .xlsx (the peak table)" if table else " (the result)")
    raise OptionError(f"{out}: --out {ext or '(no extension)'} not understood; use {allowed}")


TABLE_EXTENSIONS = (".csv", ".tsv", ".xlsx")


def write_out(result, out: str, inputs: tuple) -> str:
    """Write ``result`` to ``out``: the result file (.nc) or its peak table (.csv/.tsv/.xlsx)."""
    if out_kind(out) == "table":
        from specfit.report import write_report

        write_report(result, out)
        return "peak table"
    from specfit.results.store import save

    save(result, out, protect=tuple(inputs))
    return "result"


def write_extras(result, args) -> None:
    """``--plot FIG`` (the report figures) and ``--curves FILE.csv`` when given."""
    plot = getattr(args, "plot", None)
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        from specfit.report import report_files

        for path in report_files(result, plot):
            print(f"figure -> {path}")
    curves = getattr(args, "curves", None)
    if curves:
        from specfit.report import write_curves

        for path in write_curves(result, curves):
            print(f"curves -> {path}")


def check_extras(args) -> None:
    """Refuse a bad ``--plot`` / ``--curves`` extension before any fitting."""
    from specfit.report import FIGURE_FORMATS

    plot = getattr(args, "plot", None)
    if plot and Path(plot).suffix.lower() not in FIGURE_FORMATS:
        raise OptionError(f"{plot}: --plot needs a figure file ({', '.join(FIGURE_FORMATS)})")
    curves = getattr(args, "curves", None)
    if curves and Path(curves).suffix.lower() not in TABLE_EXTENSIONS:
        raise OptionError(f"{curves}: --curves needs a table file ({', '.join(TABLE_EXTENSIONS)})")


def check_outputs(args) -> None:
    """Refuse every output a fitting subcommand was asked for (``--out``, ``--plot``, ``--curves``) by its
    extension, before any fitting: one line, exit 2."""
    out_kind(args.out)
    check_extras(args)


class progress_of_fits:  # noqa: N801 (a context manager used like a function)
    """A progress bar counting the fits a workflow makes (tqdm on stderr; shown on a terminal only).

    The workflows call :func:`specfit.fitting.api.fit` through their module's
    ``fit`` name; for the duration of the block each is wrapped to tick the bar.
    """

    def __init__(self, desc: str, modules: tuple, quiet: bool = False, total: int | None = None):
        self.desc, self.modules, self.quiet, self.total = desc, modules, quiet, total
        self.saved: list = []
        self.bar = None

    def __enter__(self):
        if self.quiet:
            return self
        from tqdm.auto import tqdm

        self.bar = tqdm(desc=self.desc, unit="fit", total=self.total, leave=False, disable=None, delay=0.5)
        bar = self.bar
        for module in self.modules:
            original = module.fit

            def counted(*a, _original=original, **k):
                try:
                    return _original(*a, **k)
                finally:
                    bar.update(1)

            self.saved.append((module, original))
            module.fit = counted
        return self

    def __exit__(self, *exc) -> None:
        for module, original in self.saved:
            module.fit = original
        if self.bar is not None:
            self.bar.close()


class _Silent:
    def write(self, text: str) -> None:
        pass


def finish(result: xr.Dataset | xr.DataTree, args) -> int:
    """Flag summary on stderr (unless ``--quiet``); exit 3 under ``--strict`` when anything is flagged,
    quiet or not."""
    flagged = summarise_flags(result, stream=_Silent() if args.quiet else None)
    return EXIT_FLAGGED if args.strict and flagged else 0
