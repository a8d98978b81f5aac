"""specfit against a peer: CasaXPS's own Shirley backgrounds and component areas (PROVENANCE 2b)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import trapezoid

import specfit
from specfit.backgrounds import shirley_step

STEM = "xps/casaxps_csv_tfsi_il/20240228_Au_MPPipTFSIIol3_"


def _region(shared_data, name):
    da = specfit.read(shared_data(STEM + name + ".csv"))
    y, bg = da.values, da["casaxps_background"].values
    inside = np.nonzero(bg != y)[0]  # outside its fitted region CasaXPS exports Background = CPS
    return da, slice(inside[0], inside[-1] + 1)


@pytest.mark.parametrize("name", ["C_1s", "F_1s", "O_1s", "Au_4f"])
def test_shirley_matches_casaxps_background(shared_data, name):
    da, sl = _region(shared_data, name)
    x, y, casa = da["binding_energy"].values[sl], da.values[sl], da["casaxps_background"].values[sl]
    ours = specfit.background(x, y, "shirley", n_average=3)
    height = np.max(y - casa)
    assert np.max(np.abs(ours - casa)) / height < 0.01


def _casaxps_like_shirley(x, y, sl, width):
    """Shirley over the region with end levels averaged over ``width`` points centred on each end point.

    Read off the exports: CasaXPS's end levels equal the mean of the CPS over
    3 (C, F, O, Au) or 7 (N, S) points centred on the region's end points.
    """
    h = width // 2
    lo = np.mean(y[max(sl.start - h, 0):sl.start + h + 1])
    hi = np.mean(y[sl.stop - 1 - h:sl.stop + h])
    xs, ys = x[sl][::-1], y[sl][::-1]  # ascending BE
    lo, hi = hi, lo  # sl.start is the high-BE end in the file's order
    bg = np.full_like(ys, lo)
    for _ in range(200):
        new = shirley_step(ys - bg, xs, lo, hi)
        if np.max(np.abs(new - bg)) < 1e-9 * np.ptp(ys):
            break
        bg = new
    return bg[::-1]


@pytest.mark.parametrize("name, library, components, width", [
    ("F_1s", "xps/F1s", "LiF,CF3", 3),
    ("S_2p", "xps/S2p", "Li2S2,SO2-N", 7),
])
def test_component_area_shares_match_casaxps(shared_data, name, library, components, width):
    da, sl = _region(shared_data, name)
    x, y = da["binding_energy"].values, da.values
    casa_bg = da["casaxps_background"].values
    n = len(da.attrs["casaxps_components"])
    casa = np.array([abs(trapezoid(da[f"casaxps_component_{i}"].values - casa_bg, x)) for i in range(n)])
    bg = _casaxps_like_shirley(x, y, sl, width)
    net = da.isel(binding_energy=sl) - bg
    # CasaXPS's default GL(30) (the export does not name the lineshape it used)
    ds = specfit.fit(net, library, components=components, background="none", lineshape="GL(30)",
                     window=(x[sl].min(), x[sl].max()))
    assert bool(ds["success"].all())
    ours = ds["area"].values
    if name == "F_1s":  # CasaXPS columns: CF3, fluoride
        casa_share = casa[1] / casa.sum()
    else:  # S 2p columns: low doublet (2 lines), high doublet (2 lines)
        casa_share = casa[:2].sum() / casa.sum()
    our_share = ours[0] / ours.sum()
    print(f"{name}: CasaXPS {100 * casa_share:.2f} %, specfit {100 * our_share:.2f} %")
    assert abs(our_share - casa_share) < 0.02
