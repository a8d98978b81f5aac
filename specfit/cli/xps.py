"""``specfit xps-profile FILES... --out profile.nc``: the depth-profile workflow on the command line.

Region names come from each file's region (a DataTree child or the ``region``
attr) or, failing that, the file name (``..._F_1s.csv`` -> ``F1s``); a region
maps to library ``xps/<Region>`` unless ``--library REGION=NAME_OR_PATH`` says
otherwise.  Core levels without a library (Sn 3d5, Ti 2p, Au 4f...) are quantified by their
Shirley-subtracted area; surveys and valence regions are left out with a note.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import xarray as xr

from specfit.cli.common import add_output_options, assignments, finish
from specfit.errors import FileFormatError, SpecfitError
from specfit.xps.naming import element_of, normalise_region, region_library

_NAME_IN_FILE = re.compile(r"([A-Z][a-z]?)[\s_]?(\d[spdf]\d?)(?:\D|$)")


def add_subcommands(sub) -> None:
    """Register ``xps-profile`` on the ``specfit`` subparsers object."""
    p = sub.add_parser("xps-profile", help="fit and quantify an XPS depth profile (all regions, one NetCDF)")
    p.add_argument("inputs", nargs="+", metavar="FILE", help="spectrum files (one or several regions each)")
    p.add_argument("--out", "-o", required=True,
                   help="result file (.nc, one group per region) or peak table (.csv/.tsv/.xlsx)")
    p.add_argument("--library", action="append", metavar="REGION=NAME_OR_PATH", help="library of a region")
    p.add_argument("--components", action="append", metavar="REGION=a,b", help="component subset of a region")
    p.add_argument("--share", help="parameters shared along the series, e.g. center,width (global fit)")
    p.add_argument("--charge-reference", "--reference", dest="reference", action="append",
                   metavar="COMPONENT@REGION=ENERGY",
                   help="charge reference, e.g. C-C@C1s=284.8 (default) or LiF@F1s=685.0; repeat to check one "
                        "reference against another (they must agree within 0.2 eV)")
    p.add_argument("--no-charge-reference", action="store_true", help="do not shift binding energies")
    p.add_argument("--charge-shift", action="append", metavar="[REGION=]EV[,EV...]",
                   help="known charge shift in eV added to the binding energies: one value for every step or one "
                        "per step in input order (--charge-shift=0.11,-2.43), for all regions or for one "
                        "(REGION=EV,...; naming C1s or the reference region sets every region's shift)")
    p.add_argument("--on-charge-error", choices=("raise", "flag"), default="raise",
                   help="charge reference at a range limit, minor, not found or disagreeing: stop with exit 2 "
                        "(raise, default) or go on and flag the steps (flag)")
    p.add_argument("--resample", action="store_true",
                   help="allow files of one region on different energy axes: interpolate onto the first file's "
                        "axis and flag those steps resampled_axis (default: refuse)")
    p.add_argument("--rsf", action="append", metavar="ELEMENT=VALUE", help="relative sensitivity factor")
    p.add_argument("--transmission", default="auto", metavar="FORM",
                   help="analyser transmission in quantification: auto (default: the file's when it has one, else "
                        "none), file, none, ke^-0.5, ke^-1, or the exponent n of KE^-n")
    p.add_argument("--imfp-exponent", type=float, default=0.75, metavar="M",
                   help="IMFP correction lambda ~ KE^M (default 0.75, TPP-2M energy dependence; 0: none)")
    p.add_argument("--photon-energy", type=float, metavar="EV",
                   help="photon energy (default: the files', else Al K-alpha 1486.6 eV)")
    p.add_argument("--background", help="background for every region (default: each library's)")
    add_output_options(p)
    p.set_defaults(func=run)


def _region_of(path: Path, da: xr.DataArray, child: str | None) -> str:
    if child:
        return normalise_region(child)
    label = da.attrs.get("region") or ""
    if label and re.match(r"^[A-Z][a-z]?\s*_?\d", str(label)):
        return normalise_region(label)
    match = _NAME_IN_FILE.search(path.stem)
    if match:
        return normalise_region(match.group(1) + match.group(2))
    raise FileFormatError(f"{path}: cannot tell which core level it holds (no region attribute, "
                          "no name like F1s / F_1s in the file name)")


def collect_regions(paths: list[str], dim: str = "step", resample: bool = False,
                    coords: list | None = None) -> tuple[dict[str, xr.DataArray], list[str]]:
    """Read files into region -> DataArray; a region found in several files is stacked along ``dim``.

    Files of one region must share the energy axis; with ``resample`` the
    later ones are interpolated onto the first one's axis and flagged (see
    :func:`specfit.xps.profile.stack_steps`), otherwise a ``DataError`` names
    both files and the difference.

    Returns
    -------
    regions : dict
        Region name -> spectra.
    notes : list of str
        Regions skipped (no library) or other remarks for the user.

    ``coords`` (``[(name, units, values-per-file)]``, from ``--coord``) are put
    on each region's steps from the files they came from.  Without them a step
    is labelled by its file name less the region's name (``C1s_030s`` ->
    ``030s``), so that one-region-per-file series line up.
    """
    from specfit.cli.common import assign_file_coords
    from specfit.io import read
    from specfit.xps.profile import stack_steps

    found: dict[str, list[tuple[Path, xr.DataArray]]] = {}
    index = {str(Path(p)): i for i, p in enumerate(paths)}
    for text in paths:
        path = Path(text)
        obj = read(path)
        items = ([(name, node.to_dataset()) for name, node in obj.children.items()] if isinstance(obj, xr.DataTree)
                 else [(None, obj)])
        for child, item in items:
            da = item if isinstance(item, xr.DataArray) else _only_variable(path, child, item)
            found.setdefault(_region_of(path, da, child), []).append((path, da))
    regions = {}
    for region, entries in found.items():
        order = [index[str(p)] for p, _ in entries]
        if len(entries) == 1 and not coords:
            regions[region] = entries[0][1]
            continue
        labels = _step_labels([p for p, _ in entries])
        regions[region] = stack_steps([da for _, da in entries], dim=dim, labels=labels,
                                      names=[str(p) for p, _ in entries], resample=resample)
        if coords:
            regions[region] = assign_file_coords(regions[region], dim, coords, order)
    return regions, []


def _step_labels(paths: list[Path]) -> list[str]:
    """Step labels: file names less the region name (``F1s_030s`` -> ``030s``); whole names if that is ambiguous."""
    labels = []
    for path in paths:
        match = _NAME_IN_FILE.search(path.stem)
        label = path.stem
        if match:
            label = path.stem[:match.start(1)] + path.stem[match.end(2):]
            label = label.strip(" _-.") or path.stem
        labels.append(label)
    return labels if len(set(labels)) == len(labels) else [p.stem for p in paths]


def _only_variable(path: Path, child: str, ds: xr.Dataset) -> xr.DataArray:
    names = list(ds.data_vars)
    if len(names) != 1:
        raise FileFormatError(f"{path}: region {child} holds {len(names)} variables, expected one spectrum")
    return ds[names[0]]


def run(args: argparse.Namespace) -> int:
    """Body of ``specfit xps-profile``."""
    import specfit.xps.profile as profile
    from specfit.cli.common import (
        batch_dim,
        check_outputs,
        file_coords,
        progress_of_fits,
        write_extras,
        write_out,
    )

    check_outputs(args)  # refused before any fitting
    coords = file_coords(args, args.inputs)
    args.dim = batch_dim(args)
    libraries = _by_region(args.library, "--library")
    components = _by_region(args.components, "--components")
    rsf = {k: _number(v, f"--rsf {k}") for k, v in _by_region(args.rsf, "--rsf").items()}
    regions, _ = collect_regions(args.inputs, args.dim, resample=args.resample, coords=coords)
    from specfit.xps.corelevels import subshell
    from specfit.xps.quant import is_core_level

    for region in list(regions):
        if region_library(region, libraries) is not None:
            continue
        if not is_core_level(region):  # fit_depth_profile leaves it out and records it (regions_left_out)
            print(f"leaving out region {region}: not a core level (survey or valence)", file=sys.stderr)
        elif subshell(region) is None and element_of(region) not in rsf:
            print(f"skipping region {region}: no library xps/{region} and no tabulated cross-section "
                  f"(use --library {region}=PATH or --rsf)", file=sys.stderr)
            del regions[region]
        else:
            print(f"region {region}: no species library, quantified by its Shirley-subtracted area",
                  file=sys.stderr)
    if not regions:
        raise FileFormatError(f"{args.inputs[0]}: no region with a library to fit")
    unknown = [r for r in list(libraries) + list(components) if r not in regions]
    if unknown:
        raise SpecfitError(f"--library/--components name region(s) {', '.join(sorted(set(unknown)))} "
                           f"not in the input (regions: {', '.join(regions)})")
    if args.no_charge_reference:
        reference = None
    elif args.reference:
        reference = args.reference
    else:
        reference = "auto"  # consensus of every region's reference lines
    charge_shift = _charge_shifts(args.charge_shift)
    options = {"background": args.background} if args.background else {}
    with progress_of_fits("xps-profile", (profile,), quiet=args.quiet):
        tree = profile.fit_depth_profile(regions, libraries={r: region_library(r, libraries) for r in regions},
                                         components=components, share=args.share, reference=reference, rsf=rsf,
                                         charge_shift=charge_shift, on_charge_error=args.on_charge_error,
                                         transmission=_transmission(args.transmission),
                                         imfp_exponent=args.imfp_exponent, photon_energy=args.photon_energy,
                                         **options)
    tree.attrs["inputs"] = [str(p) for p in args.inputs]
    what = write_out(tree, args.out, tuple(args.inputs))
    root = tree.to_dataset()
    done = list(tree.children)
    print(f"fitted {len(done)} regions ({', '.join(done)}), charge reference "
          f"{root.attrs['charge_reference']} -> {args.out} ({what})")
    write_extras(tree, args)
    return finish(tree, args)


def _charge_shifts(items: list[str] | None) -> float | list[float] | dict[str, float | list[float]] | None:
    """``--charge-shift`` values: EV or EV,EV,... (one per step) for every region, or REGION=EV[,EV...]."""
    if not items:
        return None
    bare = [i for i in items if "=" not in i]
    if bare:
        if len(items) > 1:
            raise SpecfitError(f"--charge-shift: give one EV[,EV...] for all regions or REGION=EV[,EV...] pairs, "
                               f"got {items}")
        return _numbers(bare[0], "--charge-shift")
    return {k: _numbers(v, f"--charge-shift {k}") for k, v in _by_region(items, "--charge-shift").items()}


def _numbers(text: str, what: str) -> float | list[float]:
    """``"0.11"`` -> 0.11, ``"0.11,-2.43"`` -> [0.11, -2.43] (one per step, input order)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) == 1:
        return _number(parts[0], what)
    return [_number(p, what) for p in parts]


def _transmission(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text


def _by_region(items: list[str] | None, what: str) -> dict[str, str]:
    """``["F1s=xps/F1s", "C 1s=my.toml"]`` -> ``{"F1s": "xps/F1s", "C1s": "my.toml"}``."""
    return assignments(items, what, key=normalise_region, name="REGION")


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpecfitError(f"{what}: {text!r} is not a number") from None
