"""``specfit demo``: fit the bundled synthetic examples and write results and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_demo(out: Path) -> list[str]:
    """Write synthetic inputs, fitted results (.nc) and figures (.png) into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    from .cli import _save_figure
    from .examples import raman_series, xps_series
    from .fitting import fit
    from .plotting import report_figure
    from .results import save

    out.mkdir(parents=True, exist_ok=True)
    lines = []
    spectra, truth = raman_series(seed=1)
    spectra.to_netcdf(out / "raman_series.nc", engine="h5netcdf")
    ds = fit(spectra, "raman/fsi_tfsi", share=("center", "width"))
    save(ds, out / "raman_fit.nc")
    _save_figure(report_figure(ds), str(out / "raman_fit.png"))
    worst = float(np.abs(ds["fraction"].values - truth["fraction"].values).max() * 100)
    lines.append(f"Raman ion pairs (synthetic, 6 samples, global fit): worst fraction error {worst:.2f} pp "
                 f"-> {out / 'raman_fit.nc'}, {out / 'raman_fit.png'}")
    comps = {"LiF": {"center": 685.0, "fwhm": 1.6}, "C-F": {"center": 688.6, "fwhm": 1.8}}
    fractions = np.stack([np.linspace(0.3, 0.8, 5), 1 - np.linspace(0.3, 0.8, 5)], axis=1)
    xps, xtruth = xps_series(comps, fractions, etch_time=[0, 30, 60, 120, 300], seed=2, lineshape="gl")
    xps.to_netcdf(out / "xps_F1s_series.nc", engine="h5netcdf")
    dsx = fit(xps, "xps/F1s", components=["LiF", "C-F"], share=("center", "width"))
    save(dsx, out / "xps_F1s_fit.nc")
    _save_figure(report_figure(dsx), str(out / "xps_F1s_fit.png"))
    worst = float(np.abs(dsx["fraction"].values - xtruth["fraction"].values).max() * 100)
    lines.append(f"XPS F 1s etching series (synthetic, 5 steps, active Shirley): worst fraction error "
                 f"{worst:.2f} pp -> {out / 'xps_F1s_fit.nc'}, {out / 'xps_F1s_fit.png'}")
    return lines
