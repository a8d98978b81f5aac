"""``specfit demo``: fit the bundled synthetic examples and write results, figures and peak tables.

Every input is synthetic (:mod:`specfit.examples`), built from known
components, so each line of the demo's output compares the fit with the truth.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr

#: Synthetic SEI depth profile: region -> (components, binding-energy range in eV, total counts scale,
#: fraction of the first component at the first and last etch step). Centers from the shipped libraries.
DEPTH_PROFILE_REGIONS: dict[str, tuple[dict, tuple[float, float], float, tuple[float, float]]] = {
    "C1s": ({"C-C": {"center": 284.8, "fwhm": 1.3}, "C-O": {"center": 286.5, "fwhm": 1.4},
             "Li2CO3": {"center": 290.0, "fwhm": 1.4}}, (280.0, 296.0), 2.0e5, (0.6, 0.2)),
    "O1s": ({"Li2O": {"center": 528.5, "fwhm": 1.3}, "Li2CO3": {"center": 531.5, "fwhm": 1.4},
             "C-O": {"center": 533.0, "fwhm": 1.5}}, (526.0, 538.0), 3.0e5, (0.1, 0.7)),
    "F1s": ({"LiF": {"center": 685.2, "fwhm": 1.6}, "C-F": {"center": 688.5, "fwhm": 1.8}},
            (680.0, 694.0), 4.0e5, (0.3, 0.9)),
    "Li1s": ({"Li2O": {"center": 53.8, "fwhm": 1.4}, "LiF": {"center": 56.0, "fwhm": 1.6}},
             (50.0, 62.0), 3.0e4, (0.2, 0.5)),
    "N1s": ({"Li3N": {"center": 398.3, "fwhm": 1.4}, "LiNO3": {"center": 407.5, "fwhm": 1.4}},
            (394.0, 410.0), 5.0e4, (0.3, 0.8)),
    "S2p": ({"Li2S": {"center": 160.5, "fwhm": 1.2, "splitting": 1.18, "ratio": 0.5},
             "Li2SO4": {"center": 168.7, "fwhm": 1.4, "splitting": 1.18, "ratio": 0.5}},
            (158.0, 174.0), 6.0e4, (0.2, 0.75)),
}
ETCH_TIMES = (0.0, 30.0, 60.0, 120.0, 300.0)


def depth_profile_example(seed: int = 3, etch_time=ETCH_TIMES) -> tuple[dict[str, xr.DataArray], dict[str, xr.Dataset]]:
    """Synthetic XPS depth profile: six SEI regions (C 1s, O 1s, F 1s, Li 1s, N 1s, S 2p) x etch steps.

    Built with :func:`specfit.examples.xps_series` (exact Shirley background,
    Poisson counts, GL(30) lines, S 2p as 2p3/2-2p1/2 doublets).

    Returns
    -------
    regions : dict of str -> xarray.DataArray
        Region name -> spectra (``etch_time`` in s, ``binding_energy`` in eV, high BE first).
    truth : dict of str -> xarray.Dataset
        Region name -> true ``fraction`` (etch_time, component).
    """
    from specfit.examples import xps_series

    regions, truth = {}, {}
    for i, (name, (comps, x_range, counts, (first, last))) in enumerate(DEPTH_PROFILE_REGIONS.items()):
        lead = np.linspace(first, last, len(etch_time))
        rest = (1.0 - lead)[:, None] * np.linspace(1.0, 0.6, len(comps) - 1)[None, :]
        rest *= ((1.0 - lead) / rest.sum(axis=1))[:, None]
        fractions = np.column_stack([lead, rest])
        regions[name], truth[name] = xps_series(comps, fractions, x_range=x_range, total_counts=counts,
                                                etch_time=list(etch_time), seed=seed + i, lineshape="gl")
    return regions, truth


def run_demo(out: Path, progress=None) -> list[str]:
    """Write synthetic inputs, fitted results (.nc), report figures (.png) and peak tables (.csv) into ``out``.

    ``progress``, if given, is called with one line before each workflow and
    with each workflow's result line as soon as it is done.

    Returns
    -------
    list of str
        One line per workflow: what was fitted, how close to the truth, which files.
    """
    say = progress or (lambda text: None)
    t0 = time.perf_counter()

    def step(text: str) -> None:
        say(f"[{time.perf_counter() - t0:5.1f} s] {text}")

    import matplotlib

    matplotlib.use("Agg")
    import specfit
    from specfit.atomicio import write_bytes
    from specfit.examples import li7_series, raman_series, xps_series
    from specfit.report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []

    def report(result, stem: str) -> str:
        specfit.save(result, out / f"{stem}.nc")
        fig = write_report(result, out / f"{stem}.png")
        table = write_report(result, out / f"{stem}.csv")
        return f"{out / f'{stem}.nc'}, {fig}, {table}"

    step("Raman ion pairs: 6 synthetic spectra, global fit ...")
    spectra, truth = raman_series(seed=1)
    write_bytes(out / "raman_series.nc", spectra.to_netcdf(engine="h5netcdf"))  # atomic, never over a device
    ds = specfit.raman.speciation(spectra, baselines=("quadratic", "linear"))
    worst = float(np.abs(ds["fraction"].values - truth["fraction"].values).max() * 100)
    lines.append(f"Raman ion pairs (synthetic, 6 samples, global fit): worst fraction error {worst:.2f} pp "
                 f"-> {report(ds, 'raman_fit')}")
    say(lines[-1])

    step("XPS F 1s etching series: 5 synthetic spectra, active Shirley ...")
    comps = {"LiF": {"center": 685.0, "fwhm": 1.6}, "C-F": {"center": 688.6, "fwhm": 1.8}}
    fractions = np.stack([np.linspace(0.3, 0.8, 5), 1 - np.linspace(0.3, 0.8, 5)], axis=1)
    xps, xtruth = xps_series(comps, fractions, etch_time=list(ETCH_TIMES), seed=2, lineshape="gl")
    write_bytes(out / "xps_F1s_series.nc", xps.to_netcdf(engine="h5netcdf"))  # atomic, never over a device
    dsx = specfit.fit(xps, "xps/F1s", components=["LiF", "C-F"], share=("center", "width"))
    worst = float(np.abs(dsx["fraction"].values - xtruth["fraction"].values).max() * 100)
    lines.append(f"XPS F 1s etching series (synthetic, 5 steps, active Shirley): worst fraction error "
                 f"{worst:.2f} pp -> {report(dsx, 'xps_F1s_fit')}")
    say(lines[-1])

    step("XPS depth profile: 6 regions x 5 etch steps, charge referencing ...")
    regions, rtruth = depth_profile_example()
    tree = specfit.xps.fit_depth_profile(regions, components={r: list(t["component"].values)
                                                              for r, t in rtruth.items()}, share="center,width")
    worst = max(float(np.abs(tree[r]["fraction"].values - t["fraction"].values).max()) for r, t in rtruth.items())
    lines.append(f"XPS depth profile (synthetic, 6 regions x 5 steps, charge-referenced to C-C 284.8 eV): "
                 f"worst fraction error {100 * worst:.2f} pp -> {report(tree, 'xps_depth_profile')}")
    say(lines[-1])

    step("7Li NMR shifts: 3 synthetic spectra ...")
    li, ltruth = li7_series()
    shifts = specfit.nmr.track_shifts(li)
    worst = float(np.abs(shifts["center"].values.ravel() - ltruth["center"].values).max())
    lines.append(f"7Li NMR shifts (synthetic, 3 samples): worst center error {worst * 1000:.1f} ppb "
                 f"-> {report(shifts, 'li7_shifts')}")
    say(lines[-1])
    step(f"done: {len(lines)} workflows -> {out}")
    return lines
