"""Issue 19: every core level quantified (integration without a library), IMFP / transmission, cross-region checks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from specfit.errors import SpecfitError
from specfit.examples import xps_series
from specfit.xps import fit_depth_profile, quantify
from specfit.xps.crossregion import cross_region_checks, formula_elements
from specfit.xps.quant import integrate_region


def _fake(areas, errors, components, elements, rsf, centers):
    dims = ("etch_time", "component")
    areas = np.atleast_2d(areas)
    ds = xr.Dataset({"area": (dims, areas), "area_stderr": (dims, np.atleast_2d(errors)),
                     "center": (dims, np.atleast_2d(centers))},
                    coords={"etch_time": [0.0, 30.0][:areas.shape[0]], "component": components,
                            "element": ("component", elements), "rsf": ("component", rsf)})
    ds["fraction"] = ds["area"] / ds["area"].sum("component")
    ds["fraction_stderr"] = xr.zeros_like(ds["fraction"]) + 0.01
    return ds


def test_imfp_and_transmission_factors_match_hand_calculation():
    f1s = _fake([[400.0]], [[5.0]], ["LiF"], ["F"], [4.43], [[685.0]])
    n1s = _fake([[100.0]], [[2.0]], ["N-SO2"], ["N"], [1.80], [[399.5]])
    results = {"F1s": f1s, "N1s": n1s}
    ke_f, ke_n = 1486.6 - 685.0, 1486.6 - 399.5
    bare = 400.0 / 4.43 / (100.0 / 1.80)
    q = quantify(results)  # default: IMFP KE^0.75, no transmission, Al K-alpha assumed (no photon energy given)
    ratio = q["atomic_percent"].sel(element="F").item() / q["atomic_percent"].sel(element="N").item()
    assert ratio == pytest.approx(bare * (ke_n / ke_f) ** 0.75, rel=1e-9)
    assert "Al Kα" in q.attrs["photon_energy_source"] and "KE^0.75" in q.attrs["imfp_correction"]
    q = quantify(results, transmission="ke^-1")
    ratio = q["atomic_percent"].sel(element="F").item() / q["atomic_percent"].sel(element="N").item()
    assert ratio == pytest.approx(bare * (ke_n / ke_f) ** 0.75 * (ke_f / ke_n), rel=1e-9)
    assert "KE^-1" in q.attrs["transmission_correction"]
    q = quantify(results, imfp_exponent=0, photon=1253.6)
    ratio = q["atomic_percent"].sel(element="F").item() / q["atomic_percent"].sel(element="N").item()
    assert ratio == pytest.approx(bare, rel=1e-12) and q.attrs["photon_energy"] == 1253.6
    with pytest.raises(SpecfitError, match="carries no transmission"):
        quantify(results, transmission="file")
    assert set(q) >= {"atomic_percent_uncertainty", "species_percent_uncertainty", "region_imfp"}


def test_region_without_library_is_integrated_doublet_summed():
    ti = {"Ti2p3/2": {"center": 458.6, "fwhm": 1.2, "splitting": 5.7, "ratio": 0.5}}
    da, _ = xps_series(ti, [[1.0], [1.0]], x_range=(450.0, 475.0), total_counts=2e5, seed=3, etch_time=[0, 30],
                       lineshape="gaussian")  # no Lorentzian tails beyond the window: the integral is exact
    ds = integrate_region("Ti2p", da)
    expected = 2e5 * 0.05 * 1.0  # generator: frac * total_counts * step, both lines together
    area, err = ds["area"].values[:, 0], ds["area_stderr"].values[:, 0]
    assert np.all(np.abs(area - expected) < 3 * err) and np.all(err < 0.05 * expected)
    assert ds["rsf"].item() == pytest.approx(7.81) and ds["element"].item() == "Ti"
    assert np.all(ds["area_stderr"].values > 0)
    # Sn 3d5/2 alone in its window (3d3/2 at ~495 eV outside): the main line's cross-section
    sn = da.assign_coords(binding_energy=da["binding_energy"].values + 25.0)  # 475-500 eV: partner inside
    assert integrate_region("Sn3d5", sn)["rsf"].item() == pytest.approx(24.8)
    sn = da.assign_coords(binding_energy=da["binding_energy"].values + 30.0)  # 480-505: inside too
    assert integrate_region("Sn3d5", sn.sel(binding_energy=slice(492.0, 480.0)))["rsf"].item() == pytest.approx(14.8)


def test_profile_quantifies_every_core_level_and_leaves_survey_out():
    f1s, _ = xps_series({"LiF": {"center": 685.2, "fwhm": 1.7}}, [[1.0], [1.0]], x_range=(676.0, 694.0), seed=4,
                        etch_time=[0, 30])
    ti, _ = xps_series({"Ti": {"center": 458.6, "fwhm": 1.2, "splitting": 5.7, "ratio": 0.5}}, [[1.0], [1.0]],
                       x_range=(450.0, 475.0), seed=5, etch_time=[0, 30])
    survey = f1s.copy()
    tree = fit_depth_profile({"F1s": f1s, "Ti2p": ti, "Survey": survey}, components={"F1s": "LiF"})
    root = tree.to_dataset()
    assert set(root["element"].values) == {"F", "Ti"} and "Survey" in root.attrs["regions_left_out"][0]
    np.testing.assert_allclose(root["atomic_percent"].sum("element").values, 100.0)
    assert np.all(root["atomic_percent_uncertainty"].values > 0)
    assert root.attrs["regions_integrated"] == ["Ti2p"]


def test_formula_elements():
    assert formula_elements("Li2CO3") == {"Li", "C", "O"}
    assert formula_elements("M-O") == {"O"} and formula_elements("N-SO2") == {"N", "S", "O"}


def _root(results):
    return quantify(results, imfp_exponent=0)


def test_cross_region_li2co3_partners_and_absent_lithium():
    c1s = _fake([[100.0, 0.0]], [[2.0, 0.0]], ["C-C", "Li2CO3"], ["C", "C"], [1.0, 1.0], [[284.8, 290.0]])
    c1s = c1s.isel(component=[0])  # Li2CO3 dropped from the C 1s fit
    o1s = _fake([[120.0, 140.0]], [[4.0, 4.0]], ["Li2CO3", "C-O"], ["O", "O"], [2.93, 2.93], [[531.5, 533.0]])
    li1s = _fake([[0.001]], [[0.01]], ["Li2CO3"], ["Li"], [0.0568], [[55.2]])
    results = {"C1s": c1s, "O1s": o1s, "Li1s": li1s}
    checks = cross_region_checks(results, _root(results))
    note = str(checks.note.values[0])
    assert "Li2CO3 partners disagree" in note and "Li2CO3@O1s 46 % of its element" in note
    assert "but Li was measured at 0.0" in note
    assert set(checks.region_flags) >= {"C1s", "O1s"}
    # consistent: C 1s 1 : O 1s 3 in formula units (normalised areas 30 and 90)
    c1s = _fake([[100.0, 30.0]], [[2.0, 2.0]], ["C-C", "Li2CO3"], ["C", "C"], [1.0, 1.0], [[284.8, 290.0]])
    o1s = _fake([[90.0 * 2.93, 140.0]], [[4.0, 4.0]], ["Li2CO3", "C-O"], ["O", "O"], [2.93, 2.93],
                [[531.5, 533.0]])
    results = {"C1s": c1s, "O1s": o1s}
    checks = cross_region_checks(results, _root(results))
    assert "disagree" not in str(checks.note.values[0]) and checks.region_flags == {}


def test_cross_region_unmeasured_element_is_named_not_flagged():
    o1s = _fake([[650.0, 350.0]], [[5.0, 5.0]], ["Li2O", "M-O"], ["O", "O"], [2.93, 2.93], [[529.0, 529.6]])
    ti = _fake([[900.0]], [[9.0]], ["Ti2p"], ["Ti"], [7.81], [[458.6]])
    results = {"O1s": o1s, "Ti2p": ti}
    checks = cross_region_checks(results, _root(results))
    assert "Li2O is 65 % of O in O1s; Li was not measured" in str(checks.note.values[0])
    assert checks.region_flags == {}


def test_tfsi_ionic_liquid_f_to_n_with_imfp(shared_data):
    """MPPip-TFSI (C11H20F6N2O4S2, F/N = F/S = 3; PROVENANCE 2b): bare Scofield gives F/N 2.43; the default
    IMFP correction (KE^0.75, published, no per-file tuning) brings it to ~3.1."""
    import specfit

    folder = "xps/casaxps_csv_tfsi_il/20240228_Au_MPPipTFSIIol3_{}.csv"
    regions = {r: specfit.read(shared_data(folder.format(t))) for r, t in (("C1s", "C_1s"), ("F1s", "F_1s"),
                                                                          ("N1s", "N_1s"), ("S2p", "S_2p"))}
    tree = fit_depth_profile(regions)
    results = {r: tree[r].to_dataset() for r in tree.children}

    def ratio(q, a, b):
        return q["atomic_percent"].sel(element=a).item() / q["atomic_percent"].sel(element=b).item()

    bare, default = quantify(results, imfp_exponent=0), tree.to_dataset()
    assert 2.3 < ratio(bare, "F", "N") < 2.6 and 2.8 < ratio(default, "F", "N") < 3.3
    assert ratio(default, "F", "S") > ratio(bare, "F", "S") + 0.5
    assert "KE^0.75" in default.attrs["imfp_correction"] and abs(float(default["charge_shift"])) < 0.15


def test_fit_of_unreferenced_xps_region_says_so(shared_data):
    """`specfit fit` on a raw O 1s of the charged ceramic (case 29): note axis_not_referenced and attrs."""
    import specfit

    tree = specfit.read(shared_data("../cases/29-phi-spe-float64/BN-BS-1_multiplex.spe"))
    o1s = tree["O1s"].to_dataset()["intensity"]
    raw = specfit.fit(o1s, "xps/O1s", components="M-O,C-O")
    assert "axis_not_referenced" in str(raw["notes"].values) and "not charge referenced" in str(
        raw["note_message"].values)
    assert raw.attrs["charge_reference"].startswith("none")
    shifted = specfit.fit(o1s, "xps/O1s", components="M-O,C-O", charge_shift=-3.9)
    assert "axis_not_referenced" not in str(shifted["notes"].values)
    assert float(shifted["fraction"].sel(component="M-O")) > 0.5  # the lattice oxide, once referenced
