"""Pieces every ``specfit`` subcommand shares: argument types, the flag summary, exit codes."""

from __future__ import annotations

import argparse
import sys

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


def add_output_options(p) -> None:
    """``--dim`` plus :func:`add_flag_options`, for every subcommand that fits."""
    p.add_argument("--dim", default=DEFAULT_DIM,
                   help=f"batch dimension name when several INPUTs are given (default {DEFAULT_DIM})")
    add_flag_options(p)


class _Silent:
    def write(self, text: str) -> None:
        pass


def finish(result: xr.Dataset | xr.DataTree, args) -> int:
    """Flag summary on stderr (unless ``--quiet``); exit 3 under ``--strict`` when anything is flagged,
    quiet or not."""
    flagged = summarise_flags(result, stream=_Silent() if args.quiet else None)
    return EXIT_FLAGGED if args.strict and flagged else 0
