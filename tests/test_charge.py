"""Charge referencing that cannot silently fail: located lines, checked references, CasaXPS calibrations."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import specfit
from specfit.cli.app import main
from specfit.errors import DataError, SpecfitError
from specfit.examples import xps_series
from specfit.library.loader import load_library
from specfit.xps import apply_casa_calibration, casa_calibration, fit_depth_profile, measure_shift, parse_reference
from specfit.xps.charge import CODES, reference_candidates

C1S = {"C-C": {"center": 284.8, "fwhm": 1.3}, "C-O": {"center": 286.5, "fwhm": 1.4}}
F1S = {"LiF": {"center": 685.3, "fwhm": 1.7}, "C-F": {"center": 688.4, "fwhm": 1.9}}
CASE06 = "06-vamas-casa-range-calibration/c1s_casa_range_calib.vms"


def _charged(da: xr.DataArray, shift) -> xr.DataArray:
    """Spectra as measured when step i is charged by -shift[i] (so that E_true = E_measured + shift)."""
    x = da["binding_energy"].values[::-1]
    rows = [np.interp(x, x - s, row[::-1])[::-1] for row, s in zip(da.values, np.ravel(shift))]
    return da.copy(data=np.array(rows))


def _charge_codes(flags: str) -> list[str]:
    """The charge-referencing codes among a spectrum's flags (the fit adds its own codes beside them)."""
    return [c for c in str(flags).split(",") if c in CODES or c == "resampled_axis"]


def _cases():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1].parent / "shared" / "cases"
    if not path.is_dir():
        pytest.fail(f"{path} missing")
    return path


def test_candidates_find_peak_and_shoulder():
    x = np.arange(296.0, 276.0, -0.05)
    y = 100 + 1000 * np.exp(-0.5 * ((x - 282.5) / 0.6) ** 2) + 300 * np.exp(-0.5 * ((x - 284.2) / 0.6) ** 2)
    found = reference_candidates(x, y, 284.8)
    # strongest first; a shoulder too, coarsely (the fit refines it)
    assert abs(found[0] - 282.5) < 0.1 and abs(found[1] - 284.2) < 0.3
    assert reference_candidates(x, np.full_like(x, 5.0), 284.8) == []  # flat: nothing to call a line


@pytest.mark.parametrize("offset", [-4.5, 4.5])
def test_offsets_up_to_five_ev_are_found(offset):
    c1s, _ = xps_series(C1S, [[0.7, 0.3], [0.5, 0.5]], seed=3, x_range=(274.0, 300.0), etch_time=[0, 30])
    lib = load_library("xps/C1s").subset(["C-C", "C-O"])
    shift = np.array([offset, offset - 0.4])
    m = measure_shift(_charged(c1s, shift), parse_reference("C-C@C1s=284.8"), lib,
                      lambda da: specfit.fit(da, lib))
    np.testing.assert_allclose(m.shift.values, shift, atol=0.05)
    assert list(m.codes.values) == ["", ""] and m.messages == ()


def test_kratos_c1s_reference_is_located_not_left_at_its_bound(shared_data):
    """Kratos C 1s (PROVENANCE 2a) sits ~2.3 eV low: fitted as measured, C-C rests on its lower limit."""
    tree = specfit.read(shared_data("xps/vamas/lg4x_0-150W_kratos.vms"))
    c1s = tree["C1s"].to_dataset()["intensity"]
    lib = load_library("xps/C1s").subset(["C-C", "C-O", "C=O", "O-C=O"])
    ref = parse_reference("C-C@C1s=284.8")
    found = measure_shift(c1s, ref, lib, lambda da: specfit.fit(da, lib))
    assert 2.1 < float(found.shift) < 2.6 and str(found.codes.values) == ""
    assert float(found.fraction) > 0.5  # adventitious C-C is the main line once referenced
    old = measure_shift(c1s, ref, lib, lambda da: specfit.fit(da, lib), locate=False)
    assert str(old.codes.values) == "charge_reference_at_bound"
    assert "C-C center 284.20 eV rests on its range limit" in old.messages[0] and "region C1s" in old.messages[0]


def test_minor_reference_and_missing_reference_are_errors_or_flags():
    c1s, _ = xps_series(C1S, [[0.3, 0.7], [0.3, 0.7]], seed=4, x_range=(274.0, 300.0), etch_time=[0, 30])
    lib = load_library("xps/C1s").subset(["C-C", "C-O"])
    m = measure_shift(c1s, parse_reference("C-C@C1s=284.8"), lib, lambda da: specfit.fit(da, lib), minor=0.5)
    assert list(m.codes.values) == ["charge_reference_minor"] * 2
    assert "C-C is a minor component (29.7 % of the region, below 50 %" in m.messages[0]  # truth 30 %
    # a step whose C 1s holds no line: error naming region, step and reference, or a flag on request
    noise = c1s.copy(data=np.stack([c1s.values[0], np.random.default_rng(0).normal(500.0, 1.0, c1s.shape[1])]))
    f1s, _ = xps_series(F1S, [[0.5, 0.5], [0.5, 0.5]], seed=5, etch_time=[0, 30])
    regions = {"C1s": noise, "F1s": f1s}
    comps = {"C1s": "C-C,C-O", "F1s": "LiF,C-F"}
    # issue 19: by default the shift is a consensus of every region's lines, so F 1s LiF references the step
    # whose C 1s is empty; the single-reference checks hold for a reference given explicitly
    consensus = fit_depth_profile(regions, components=comps)
    assert "LiF@F1s" in str(consensus["C1s"]["note_message"].values[1])
    np.testing.assert_allclose(consensus["F1s"]["charge_shift"].values, [0.0, 0.0], atol=0.12)
    ref = "C-C@C1s=284.8"
    with pytest.raises(SpecfitError, match=r"C-C@C1s=284.8: region C1s, etch_time=30.0: no C-C line found"):
        fit_depth_profile(regions, components=comps, reference=ref)
    tree = fit_depth_profile(regions, components=comps, on_charge_error="flag", reference=ref)
    for region in ("C1s", "F1s"):
        assert [_charge_codes(f) for f in tree[region]["flags"].values] == [[], ["charge_reference_not_found"]]
        assert tree[region]["charge_shift"].values[1] == 0.0
    assert abs(tree["F1s"]["charge_shift"].values[0]) < 0.05


def test_two_references_must_agree():
    shift = np.array([0.4, -0.6])
    c1s, _ = xps_series(C1S, [[0.6, 0.4], [0.6, 0.4]], seed=6, x_range=(274.0, 300.0), etch_time=[0, 30])
    f1s, _ = xps_series(F1S, [[0.6, 0.4], [0.6, 0.4]], seed=7, x_range=(674.0, 700.0), etch_time=[0, 30])
    regions = {"C1s": _charged(c1s, shift), "F1s": _charged(f1s, shift)}
    comps = {"C1s": "C-C,C-O", "F1s": "LiF,C-F"}
    agree = fit_depth_profile(regions, components=comps, reference=["C-C@C1s=284.8", "LiF@F1s=685.3"])
    np.testing.assert_allclose(agree["F1s"]["charge_shift"].values, shift, atol=0.05)
    assert [_charge_codes(f) for f in agree["F1s"]["flags"].values] == [[], []]
    with pytest.raises(SpecfitError, match=r"disagree in etch_time=0.0: C-C@C1s=284.8 gives \+0.4\d eV, "
                                           r"LiF@F1s=685.8 gives \+0.[89]\d eV"):
        fit_depth_profile(regions, components=comps, reference="C-C@C1s=284.8; LiF@F1s=685.8")


def test_casa_calibration_case06_applied():
    """Case 06: `Calib M = 283.2,283.4 A = 284.8 BE ADD` moves the maximum in 283.2-283.4 eV to 284.8 eV."""
    da = specfit.read(_cases() / CASE06)
    shift = casa_calibration(da)
    assert 1.4 <= shift <= 1.5
    moved, applied = apply_casa_calibration(da)
    assert applied == shift and "Calib M = 283.2,283.4" in moved.attrs["casaxps_calibration"]
    np.testing.assert_allclose(moved["binding_energy"].values, da["binding_energy"].values + shift)
    res = specfit.fit(moved, "xps/C1s", components="C-C,C-O,O-C=O")
    assert abs(float(res["center"].sel(component="C-C")) - 284.8) < 0.1
    np.testing.assert_allclose(res["fraction"].values, [0.68, 0.21, 0.10], atol=0.03)
    # the depth-profile workflow uses it as the step's shift instead of measuring one
    tree = fit_depth_profile({"C1s": da}, components={"C1s": "C-C,C-O,O-C=O"})
    assert float(tree["C1s"]["charge_shift"]) == pytest.approx(shift)
    assert "CasaXPS calibration" in tree["C1s"].attrs["charge_shift_source"]


@pytest.mark.parametrize("line, expected", [("Calib M = 283.3 A = 284.8 BE ADD", 1.5),
                                            ("Calib M = 1203.3 A = 1201.8 KE ADD", 1.5)])
def test_casa_calibration_forms(line, expected):
    x = np.arange(290.0, 280.0, -0.1)
    da = xr.DataArray(np.exp(-0.5 * ((x - 283.3) / 0.5) ** 2), dims="binding_energy", coords={"binding_energy": x},
                      attrs={"casaxps_comment": f"Casa Info Follows\n{line}\n", "photon_energy": 1486.6})
    assert casa_calibration(da) == pytest.approx(expected)
    assert casa_calibration(da.assign_attrs(casaxps_comment="Casa Info Follows\n0\n")) is None
    with pytest.raises(DataError, match="not understood"):
        casa_calibration(da.assign_attrs(casaxps_comment="Calib M = 283.3 A = 284.8 BE MULT"))


def test_charge_shift_per_region():
    f1s, _ = xps_series(F1S, [[0.6, 0.4], [0.3, 0.7]], seed=8, etch_time=[0, 30])
    c1s, _ = xps_series(C1S, [[0.6, 0.4], [0.6, 0.4]], seed=9, x_range=(274.0, 300.0), etch_time=[0, 30])
    regions = {"F1s": _charged(f1s, [0.7, 0.7]), "C1s": _charged(c1s, [1.2, 1.2])}
    comps = {"C1s": "C-C,C-O", "F1s": "LiF,C-F"}
    tree = fit_depth_profile(regions, components=comps, charge_shift={"F1s": 0.7})
    np.testing.assert_allclose(tree["F1s"]["charge_shift"].values, 0.7)
    np.testing.assert_allclose(tree["C1s"]["charge_shift"].values, 1.2, atol=0.05)  # measured: C-C reference
    np.testing.assert_allclose(tree["F1s"]["center"].values, [[685.3, 688.4]] * 2, atol=0.1)
    # naming the reference region sets every region's shift
    tree = fit_depth_profile(regions, components=comps, charge_shift={"C1s": 1.2})
    np.testing.assert_allclose(tree["F1s"]["charge_shift"].values, 1.2)


def test_etch_series_with_charging_through_cli(tmp_path, capsys):
    """Issue 9 must-show: C 1s + F 1s etch series, a different offset (-3...+3 eV) per step, shared centers."""
    times = [0, 30, 60, 120, 300]
    offsets = np.array([-3.0, 1.5, 3.0, -1.5, 0.6])
    frac_f = np.stack([np.linspace(0.25, 0.8, 5), np.linspace(0.75, 0.2, 5)], axis=1)
    frac_c = np.stack([np.linspace(0.7, 0.4, 5), np.linspace(0.3, 0.6, 5)], axis=1)
    f1s, _ = xps_series(F1S, frac_f, seed=21, etch_time=times, x_range=(674.0, 700.0))
    c1s, _ = xps_series(C1S, frac_c, seed=22, etch_time=times, x_range=(274.0, 300.0))
    _charged(f1s, offsets).to_netcdf(tmp_path / "etch_F1s.nc")
    _charged(c1s, offsets).to_netcdf(tmp_path / "etch_C1s.nc")
    out = tmp_path / "profile.nc"
    assert main(["xps-profile", str(tmp_path / "etch_C1s.nc"), str(tmp_path / "etch_F1s.nc"),
                 "--components", "C1s=C-C,C-O", "--components", "F1s=LiF,C-F", "--reference", "C-C@C1s=284.8",
                 "--share", "center,width", "--out", str(out)]) == 0
    tree = specfit.open_results(out)
    np.testing.assert_allclose(tree["C1s"]["charge_shift"].values, offsets, atol=0.05)
    np.testing.assert_array_equal(tree["F1s"]["charge_shift"].values, tree["C1s"]["charge_shift"].values)
    np.testing.assert_allclose(tree["F1s"]["fraction"].values, frac_f, atol=0.02)
    np.testing.assert_allclose(tree["F1s"]["center"].values, [[685.3, 688.4]] * 5, atol=0.05)
    # the DataTree's `element` (root dimension) no longer clashes with the children's, also after save/open
    assert tree["F1s"]["center"].sel(component="LiF").shape == (5,)
    assert list(tree["F1s"]["component_element"].values) == ["F", "F"]
    assert tree["/"]["atomic_percent"].sel(element="F").shape == (5,)


def test_cli_charge_options_and_errors(tmp_path, capsys):
    c1s, _ = xps_series(C1S, [[0.6, 0.4]], seed=23, x_range=(274.0, 300.0), etch_time=[0])
    c1s.isel(etch_time=0).to_netcdf(tmp_path / "a_C1s.nc")
    out = tmp_path / "p.nc"
    assert main(["xps-profile", str(tmp_path / "a_C1s.nc"), "--components", "C1s=C-C,C-O", "--charge-shift",
                 "C1s=0.25", "--out", str(out)]) == 0
    assert float(specfit.open_results(out)["C1s"]["charge_shift"]) == 0.25
    assert main(["xps-profile", str(tmp_path / "a_C1s.nc"), "--charge-shift", "C1s=abc", "--out", str(out)]) == 2
    assert main(["xps-profile", str(tmp_path / "a_C1s.nc"), "--reference", "C-C@C1s=290", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'abc' is not a number" in err and "290 eV lies outside the range [284.2, 285.4] eV of C-C" in err


def test_profile_refuses_different_axes_unless_resample(tmp_path, capsys):
    """Two F 1s files 0.3 eV apart: refused as `specfit fit` refuses them, or resampled on request and flagged."""
    frac = np.array([[0.3, 0.7], [0.6, 0.4]])
    a, _ = xps_series(F1S, frac[:1], seed=31, etch_time=[0])
    b, _ = xps_series(F1S, frac[1:], seed=32, etch_time=[0], x_range=(680.3, 694.3))
    a.isel(etch_time=0).to_netcdf(tmp_path / "s1_F1s.nc")
    b.isel(etch_time=0).to_netcdf(tmp_path / "s2_F1s.nc")
    files = [str(tmp_path / "s1_F1s.nc"), str(tmp_path / "s2_F1s.nc")]
    out = tmp_path / "p.nc"
    common = ["--components", "F1s=LiF,C-F", "--no-charge-reference", "--out", str(out)]
    assert main(["xps-profile", *files, *common]) == 2
    err = capsys.readouterr().err
    assert "s2_F1s.nc: spectral axis differs from" in err and "s1_F1s.nc" in err and "offset by +0.3 eV" in err
    assert main(["xps-profile", *files, *common, "--resample"]) == 0
    tree = specfit.open_results(out)
    assert [_charge_codes(f) for f in tree["F1s"]["flags"].values] == [[], ["resampled_axis"]]
    np.testing.assert_allclose(tree["F1s"]["fraction"].values, frac, atol=0.02)
    assert "1 of 2 spectra flagged resampled_axis" in capsys.readouterr().err
    # after save/open: the children's per-component element does not clash with the root's `element`
    assert float(tree["F1s"]["area"].sel(component="LiF", spectrum="s2")) > 0  # labelled by file name minus region


def test_ionic_liquid_c_n_line_is_not_taken_for_c_c(shared_data):
    """MPPip-TFSI (Heubach CasaXPS set): the cation's C-N line is the largest C 1s line; taking it for C-C
    would shift everything by -1.17 eV and turn TFSI's CF3 into S-F and its N into Li3N.  The shift must be
    refused, naming the CF3 line it would push off its range."""
    folder = "xps/casaxps_csv_tfsi_il/20240228_Au_MPPipTFSIIol3_{}.csv"
    regions = {name: specfit.read(shared_data(folder.format(tag))) for name, tag in (("C1s", "C_1s"),
                                                                                    ("F1s", "F_1s"))}
    ref = "C-C@C1s=284.8"  # the single C-C reference is refused (issue 9) ...
    with pytest.raises(SpecfitError, match=r"pushes CF3 .* onto its range limit"):
        fit_depth_profile(regions, reference=ref)
    flagged = fit_depth_profile(regions, on_charge_error="flag", reference=ref)
    assert "charge_reference_at_bound" in str(flagged["F1s"]["flags"].values)
    # ... while the default consensus (issue 19: CF3 in C 1s and F 1s agree) needs no refusal at all
    tree = fit_depth_profile(regions)
    assert abs(float(tree["F1s"]["charge_shift"])) < 0.3
    assert "CF3@F1s" in str(tree["F1s"]["note_message"].values) and "CF3@C1s" in str(tree["F1s"]["note_message"].values)
    assert abs(float(tree["F1s"]["center"].sel(component="CF3")) - 688.8) < 0.3
