"""Issue 19: one charge shift per etch step by consensus of every region's reference lines."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import specfit
from specfit.cli.app import main
from specfit.errors import SpecfitError
from specfit.examples import xps_series
from specfit.xps import fit_depth_profile
from specfit.xps.consensus import consensus_shifts, features

# An SEI on Li metal: lithiated carbon 2 eV below C-C, carbonate in C 1s and O 1s, LiF and C-F in F 1s.
C1S = {"Li-C": {"center": 282.8, "fwhm": 1.2}, "C-C": {"center": 284.8, "fwhm": 1.3},
       "C-O": {"center": 286.5, "fwhm": 1.4}, "Li2CO3": {"center": 290.0, "fwhm": 1.4}}
O1S = {"Li2O": {"center": 528.5, "fwhm": 1.3}, "Li2CO3": {"center": 531.5, "fwhm": 1.5},
       "C-O": {"center": 533.0, "fwhm": 1.6}}
F1S = {"LiF": {"center": 685.2, "fwhm": 1.7}, "C-F": {"center": 688.5, "fwhm": 1.9}}


def _charged(da: xr.DataArray, shift) -> xr.DataArray:
    """Spectra as measured when step i is charged by -shift[i] (E_true = E_measured + shift)."""
    x = da["binding_energy"].values[::-1]
    rows = [np.interp(x, x - s, row[::-1], left=np.nan, right=np.nan)[::-1] for row, s in zip(da.values, shift)]
    rows = [np.where(np.isfinite(r), r, np.nanmedian(r[:20]) if np.isfinite(r[:20]).any() else np.nanmin(r))
            for r in rows]
    return da.copy(data=np.array(rows))


def sei_series(seed: int, n: int = 5, offset: float = 5.0):
    """Regions (charged), the true per-step shifts: C 1s dominated by Li-C in some steps."""
    rng = np.random.default_rng(seed)
    shifts = rng.uniform(-offset, offset, n)
    times = np.arange(n) * 60.0
    lic = np.linspace(0.15, 0.55, n)
    c = np.stack([lic, 0.55 - 0.6 * lic + 0.1, np.full(n, 0.15), 1 - (lic + 0.55 - 0.6 * lic + 0.1 + 0.15)], axis=1)
    o = np.stack([np.linspace(0.2, 0.6, n), np.linspace(0.6, 0.3, n), np.linspace(0.2, 0.1, n)], axis=1)
    f = np.stack([np.linspace(0.5, 0.8, n), np.linspace(0.5, 0.2, n)], axis=1)
    out = {}
    for name, comps, frac, rng_x, s in (("C1s", C1S, c, (270.0, 304.0), 1), ("O1s", O1S, o, (515.0, 548.0), 2),
                                        ("F1s", F1S, f, (672.0, 704.0), 3)):
        da, _ = xps_series(comps, frac, seed=seed * 10 + s, x_range=rng_x, etch_time=times, total_counts=1e5)
        out[name] = _charged(da, shifts)
    return out, shifts


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sei_series_shift_within_0p1_ev_without_refusal(seed):
    """Issue 19 must-show: C 1s + O 1s + F 1s, offsets in -5...+5 eV, Li-C 2 eV below C-C, default libraries."""
    regions, truth = sei_series(seed)
    tree = fit_depth_profile(regions)
    found = tree["C1s"]["charge_shift"].values
    print("truth", np.round(truth, 2), "found", np.round(found, 2))
    np.testing.assert_allclose(found, truth, atol=0.1)
    for region in regions:  # one shift per step, shared by every region
        np.testing.assert_array_equal(tree[region]["charge_shift"].values, found)
    u = tree["/"]["charge_shift_uncertainty"].values
    assert np.all((u > 0) & (u < 0.3))
    note = str(tree["F1s"]["note_message"].values[0])
    assert "by consensus of" in note and "LiF@F1s" in note
    assert "charge_shift_applied" in str(tree["F1s"]["notes"].values[0])


def test_consensus_c1s_alone_with_li_c_as_largest_line():
    """One region only: C-C is found by its line and the range coverage even when Li-C is larger."""
    regions, truth = sei_series(4, n=3, offset=2.0)
    from specfit.library.loader import load_library

    out = consensus_shifts({"C1s": regions["C1s"], "F1s": regions["F1s"]},
                           {"C1s": load_library("xps/C1s"), "F1s": load_library("xps/F1s")})
    np.testing.assert_allclose([o.shift for o in out], truth, atol=0.15)
    assert all(o.code == "" for o in out)


def test_features_peak_and_shoulder():
    x = np.arange(296.0, 276.0, -0.05)
    y = 100 + 1000 * np.exp(-0.5 * ((x - 282.5) / 0.6) ** 2) + 300 * np.exp(-0.5 * ((x - 284.6) / 0.6) ** 2)
    found = features(x, y)
    assert abs(found[0][0] - 282.5) < 0.05 and found[0][1] == 1.0
    assert abs(found[1][0] - 284.6) < 0.2


def test_equally_good_shifts_refused_briefly():
    """C 1s says +1.0 eV (its only line, C-C), F 1s says -1.0 eV (its only line, LiF): nothing decides."""
    def region(x, center):
        y = 200 + 1000 * np.exp(-0.5 * ((x - center) / 0.6) ** 2)
        return xr.DataArray(np.stack([y, y]), dims=("etch_time", "binding_energy"),
                            coords={"etch_time": [0.0, 30.0], "binding_energy": x})

    regions = {"C1s": region(np.arange(296.0, 274.0, -0.05), 283.8),
               "F1s": region(np.arange(698.0, 674.0, -0.05), 686.2)}
    comps = {"C1s": "C-C", "F1s": "LiF"}
    with pytest.raises(SpecfitError) as err:
        fit_depth_profile(regions, components=comps)
    text = str(err.value)
    assert "+1.00 eV (C-C@C1s)" in text and "-1.00 eV (LiF@F1s)" in text and "equally well" in text
    assert all(len(part) < 200 for part in text.split("; "))
    flagged = fit_depth_profile(regions, components=comps, on_charge_error="flag")
    assert "charge_reference_ambiguous" in str(flagged["F1s"]["flags"].values[0])
    assert "equally well" in str(flagged["F1s"]["note_message"].values[0])  # the details, in the notes


def test_per_step_charge_shift_python_and_cli(tmp_path):
    regions, truth = sei_series(5, n=3, offset=3.0)
    given = np.round(truth, 2)
    tree = fit_depth_profile({"F1s": regions["F1s"]}, charge_shift=list(given), components={"F1s": "LiF,C-F"})
    np.testing.assert_allclose(tree["F1s"]["charge_shift"].values, given)
    da = xr.DataArray(given, dims="etch_time", coords={"etch_time": regions["F1s"]["etch_time"].values})
    tree = fit_depth_profile({"F1s": regions["F1s"]}, charge_shift={"F1s": da}, components={"F1s": "LiF,C-F"})
    np.testing.assert_allclose(tree["F1s"]["charge_shift"].values, given)
    with pytest.raises(SpecfitError, match="2 shifts given for 3 steps"):
        fit_depth_profile({"F1s": regions["F1s"]}, charge_shift=[0.1, 0.2])
    for i in range(3):
        regions["F1s"].isel(etch_time=i).to_netcdf(tmp_path / f"s{i}_F1s.nc")
    files = [str(tmp_path / f"s{i}_F1s.nc") for i in range(3)]
    text = ",".join(f"{v:g}" for v in given)
    for k, option in enumerate(([f"--charge-shift={text}"], ["--charge-shift", f"F1s={text}"])):
        out = tmp_path / f"p{k}.nc"
        assert main(["xps-profile", *files, *option, "--components", "F1s=LiF,C-F", "--out", str(out)]) == 0
        np.testing.assert_allclose(specfit.open_results(out)["F1s"]["charge_shift"].values, given)


def _libs(data):
    from specfit.library.loader import load_library
    from specfit.xps.naming import region_library

    return {r: (load_library(region_library(r)) if region_library(r) else None) for r in data}


def test_charged_oxide_ceramic_shift_from_bi_na_c_o(shared_data):
    """Case 29 (PHI, Mg Ka; Bi 4f, Ti 2p, Na 1s...): charged by ~+3.9 eV; the minor 285.2 eV C 1s line
    (what single C-C referencing took, -0.45 eV) never anchors the shift."""
    tree = specfit.read(shared_data("../cases/29-phi-spe-float64/BN-BS-1_multiplex.spe"))
    data = {n: tree[n].to_dataset()["intensity"] for n in tree.children}
    (step,) = consensus_shifts(data, _libs(data))
    assert -4.0 < step.shift < -3.5 and 0.0 < step.uncertainty < 0.3 and step.code == ""
    assert {"C-C@C1s", "Bi3+ 4f7/2@Bi4f", "Na+ 1s@Na1s"} <= set(step.agreed)


def test_ionic_liquid_cf3_lines_agree(shared_data):
    folder = "xps/casaxps_csv_tfsi_il/20240228_Au_MPPipTFSIIol3_{}.csv"
    data = {r: specfit.read(shared_data(folder.format(t))) for r, t in (("C1s", "C_1s"), ("F1s", "F_1s"),
                                                                       ("N1s", "N_1s"), ("Au4f", "Au_4f"))}
    (step,) = consensus_shifts(data, _libs(data))
    assert abs(step.shift) < 0.1 and {"CF3@C1s", "CF3@F1s", "Au 4f7/2@Au4f"} <= set(step.agreed)


def test_sno2_profile_referenced_at_every_cycle(shared_data):
    """PHI SnO2 on Si (21 cycles; C 1s fades after the first): no cycle refused, shifts smooth within 1 eV."""
    tree = specfit.read(shared_data("xps/depth_profile_phi_SnO2/SnO2_10nm_1.pro"))
    data = {r: tree[r].to_dataset()["intensity"] for r in ("C1s", "Si2p", "Sn3d5")}
    steps = consensus_shifts(data, _libs(data))
    shifts = np.array([s.shift for s in steps])
    assert all(s.code == "" for s in steps) and np.all(np.isfinite(shifts))
    assert np.all((shifts > 0.8) & (shifts < 2.4)) and np.max(np.abs(np.diff(shifts))) < 0.5


@pytest.mark.slow
def test_sno2_profile_quantifies_sn_si_c(shared_data, tmp_path):
    """Issue 19 must-show: default xps-profile on the .pro file: Sn (integrated), Si and C at every cycle."""
    out = tmp_path / "sno2.nc"
    assert main(["xps-profile", str(shared_data("xps/depth_profile_phi_SnO2/SnO2_10nm_1.pro")), "--out",
                 str(out)]) == 0
    root = specfit.open_results(out).to_dataset()
    ap = root["atomic_percent"]
    assert set(ap["element"].values) == {"C", "Si", "Sn"} and bool(np.isfinite(ap).all())
    si = ap.sel(element="Si").values
    assert si[-3:].mean() > 5 * max(si[:3].mean(), 1.0) and np.polyfit(np.arange(si.size), si, 1)[0] > 0
    # a one-element list attribute comes back from netCDF as a string
    assert list(np.atleast_1d(root.attrs["regions_integrated"])) == ["Sn3d5"]
    assert "Survey" in str(root.attrs["regions_left_out"])
