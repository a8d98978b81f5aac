"""Synthetic example spectra with known components (demo, notebooks, tests).

Every generator returns the spectra *and* the truth they were built from, so
results can be checked against it.  These data are synthetic by design: no
public LiFSI/LiTFSI Raman or 7Li NMR spectra with a free licence exist.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from specfit.backgrounds.shirley import cumulative_trapezoid
from specfit.lineshapes.profiles import lorentzian, profile, voigt


def raman_series(n_samples: int = 6, *, seed: int = 0, snr: float = 150.0, n_points: int = 301,
                 centers=(737.0, 743.0, 748.0), fwhm=(5.0, 7.0, 4.5), lorentz_fraction=(0.4, 0.5, 0.3),
                 x_range=(715.0, 775.0)) -> tuple[xr.DataArray, xr.Dataset]:
    """Series of S–N–S Raman bands: free / CIP / AGG Voigts on a quadratic baseline.

    The free fraction falls from 34 % to 14.5 % across the series (the typical
    PE → IGE trend); noise is Gaussian with sigma = max(peaks) / ``snr``.

    Returns
    -------
    spectra : DataArray (sample, raman_shift)
    truth : Dataset with ``fraction`` (sample, component), ``center``, ``fwhm``, ``area``.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(*x_range, n_points)
    free = np.linspace(0.341, 0.145, n_samples)
    cip = np.linspace(0.40, 0.48, n_samples)
    fractions = np.stack([free, cip, 1.0 - free - cip], axis=1)
    total_area = rng.uniform(800.0, 1200.0, n_samples)
    spectra = []
    for i in range(n_samples):
        peaks = sum(voigt(x, a, c, w, r) for a, c, w, r in
                    zip(fractions[i] * total_area[i], centers, fwhm, lorentz_fraction))
        u = (x - x.mean()) / (x[-1] - x[0])
        baseline = 20.0 + rng.uniform(-5, 5) * u + rng.uniform(0, 10) * u**2
        spectra.append(peaks + baseline + rng.normal(0.0, peaks.max() / snr, x.size))
    samples = [f"S{i + 1}" for i in range(n_samples)]
    da = xr.DataArray(np.array(spectra), dims=("sample", "raman_shift"),
                      coords={"sample": samples, "raman_shift": x}, name="intensity",
                      attrs={"units": "counts", "description": "synthetic Raman series (specfit.examples)"})
    da["raman_shift"].attrs["units"] = "cm-1"
    comps = ["free", "CIP", "AGG"]
    truth = xr.Dataset({"fraction": (("sample", "component"), fractions),
                        "area": (("sample", "component"), fractions * total_area[:, None]),
                        "center": ("component", np.array(centers)), "fwhm": ("component", np.array(fwhm))},
                       coords={"sample": samples, "component": comps})
    return da, truth


def xps_series(components: dict[str, dict], fractions: np.ndarray, *, x_range=(680.0, 694.0), step: float = 0.05,
               total_counts: float = 2e5, background_level: float = 500.0, shirley_k: float = 0.15,
               seed: int = 0, etch_time=None, lineshape: str = "voigt",
               shape: float = 0.3) -> tuple[xr.DataArray, xr.Dataset]:
    """XPS etching series with an exact Shirley background and Poisson counts.

    ``components`` maps a name to ``{"center", "fwhm"}`` and optionally
    ``{"splitting", "ratio"}`` for a doublet; ``fractions`` is ``(n_steps,
    n_components)``.  The axis is stored high-binding-energy first, as
    instruments do.  Background = level + k x cumulative peak area (exact Shirley).
    """
    rng = np.random.default_rng(seed)
    x = np.arange(x_range[0], x_range[1] + step / 2, step)
    fractions = np.asarray(fractions, float)
    n_steps = fractions.shape[0]
    etch_time = np.asarray(etch_time if etch_time is not None else np.arange(n_steps) * 30.0, float)
    spectra = []
    for i in range(n_steps):
        peaks = np.zeros_like(x)
        for frac, c in zip(fractions[i], components.values()):
            area = frac * total_counts * step
            ratio = c.get("ratio", 0.0)
            main = area / (1.0 + ratio)
            peaks += profile(lineshape, x, main, c["center"], c["fwhm"], shape)
            if "splitting" in c:
                peaks += profile(lineshape, x, main * ratio, c["center"] + c["splitting"], c["fwhm"], shape)
        expected = peaks + background_level + shirley_k * cumulative_trapezoid(peaks, x)
        spectra.append(rng.poisson(expected).astype(float))
    da = xr.DataArray(np.array(spectra)[:, ::-1], dims=("etch_time", "binding_energy"),
                      coords={"etch_time": etch_time, "binding_energy": x[::-1]}, name="intensity",
                      attrs={"units": "counts", "description": "synthetic XPS series (specfit.examples)"})
    da["binding_energy"].attrs["units"] = "eV"
    da["etch_time"].attrs["units"] = "s"
    truth = xr.Dataset({"fraction": (("etch_time", "component"), fractions)},
                       coords={"etch_time": etch_time, "component": list(components)})
    return da, truth


def li7_series(shifts=(-0.4, -0.85, -1.3), fwhm=(0.3, 0.4, 0.5), *, seed: int = 0, n_points: int = 1024,
               snr: float = 200.0) -> tuple[xr.DataArray, xr.Dataset]:
    """7Li NMR spectra: one Lorentzian per sample on a flat baseline, 1024 points over ±10 ppm."""
    rng = np.random.default_rng(seed)
    x = np.linspace(10.0, -10.0, n_points)  # NMR convention: ppm decreasing
    spectra = []
    for c, w in zip(shifts, fwhm):
        peak = lorentzian(x, 1.0, c, w)
        spectra.append(peak + rng.normal(0.0, peak.max() / snr, x.size))
    samples = [f"sample{i + 1}" for i in range(len(shifts))]
    da = xr.DataArray(np.array(spectra), dims=("sample", "chemical_shift"),
                      coords={"sample": samples, "chemical_shift": x}, name="intensity",
                      attrs={"description": "synthetic 7Li NMR series (specfit.examples)", "nucleus": "7Li"})
    da["chemical_shift"].attrs["units"] = "ppm"
    truth = xr.Dataset({"center": ("sample", np.array(shifts)), "fwhm": ("sample", np.array(fwhm))},
                       coords={"sample": samples})
    return da, truth
