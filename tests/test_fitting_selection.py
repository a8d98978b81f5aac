"""Component selection (specfit.fitting.selection): the rule on a scripted fitter, then on real fits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import specfit
from specfit.examples import xps_series
from specfit.fitting.selection import FLAG_NOTHING, NOTE_DROPPED, select_components

CANDIDATES = ("A", "B", "C")


def scripted(truth: list[set[str]], calls: list) -> callable:
    """A fake ``fit_subset``: true components have area 10 ± 1, absent ones 0.5 ± 1.

    BIC(S) = 100 - 20 x (true components in S) + 3 x |S|: dropping an absent
    component lowers BIC by 3, dropping a true one raises it by 17.  Curves
    and covariances encode (spectrum, component, subset) so the assembly can
    be checked cell by cell.
    """
    def fit_subset(names):
        calls.append(names)
        n, c, m = len(truth), len(names), 4
        area = np.array([[10.0 if k in t else 0.5 for k in names] for t in truth])
        code = float(sum(2 ** CANDIDATES.index(k) for k in names))  # which subset
        cov = np.array([[[100 * i + 10 * CANDIDATES.index(a) + CANDIDATES.index(b) + code / 100
                          for b in names] for a in names] for i in range(n)])
        bic = np.array([100.0 - 20 * len(t & set(names)) + 3 * c for t in truth])
        curve = np.broadcast_to(area[:, :, None], (n, c, m)) + code / 100
        ds = xr.Dataset(
            {"area": (("sample", "component"), area), "area_stderr": (("sample", "component"), np.ones((n, c))),
             "center": (("sample", "component"), np.tile(np.arange(c, dtype=float) * 5, (n, 1))),
             "fwhm": (("sample", "component"), np.ones((n, c))),
             "at_bound": (("sample", "component"), np.zeros((n, c), bool)),
             "area_covariance": (("sample", "component", "component_2"), cov),
             "bic": ("sample", bic), "success": ("sample", np.ones(n, bool)),
             "fit_message": ("sample", np.array([""] * n)),
             "best_fit": (("sample", "x"), np.full((n, m), code)),
             "component_curve": (("sample", "component", "x"), curve)},
            coords={"sample": [f"s{i}" for i in range(n)], "component": list(names),
                    "component_2": list(names), "label": ("component", [k.lower() for k in names]),
                    "x": np.arange(m)})
        return ds
    return fit_subset


def test_scripted_independent_choice_and_assembly():
    truth = [{"A", "C"}, {"B"}, {"A", "B", "C"}]
    calls: list = []
    ds = select_components(scripted(truth, calls), CANDIDATES)
    assert [set(np.array(CANDIDATES)[row]) for row in ds["selected"].values] == truth
    assert len(calls) == len(set(calls)) <= 1 + 2 * len(CANDIDATES)  # each subset fitted once
    # dropped rows: area 0, stderr NaN, center NaN, curve 0; kept rows from the spectrum's own subset
    area = ds["area"].values
    np.testing.assert_array_equal(area, [[10, 0, 10], [0, 10, 0], [10, 10, 10]])
    assert np.isnan(ds["area_stderr"].values[0, 1]) and np.isnan(ds["center"].values[1, 0])
    assert ds["area_stderr"].values[0, 0] == 1.0
    codes = {0: 1 + 4, 1: 2, 2: 7}
    for i, code in codes.items():
        assert ds["best_fit"].values[i, 0] == code
        names = [k for k in CANDIDATES if k in truth[i]]
        for a in CANDIDATES:
            for b in CANDIDATES:
                got = ds["area_covariance"].sel(sample=f"s{i}", component=a, component_2=b).item()
                want = 100 * i + 10 * CANDIDATES.index(a) + CANDIDATES.index(b) + code / 100 \
                    if a in names and b in names else 0.0
                assert got == pytest.approx(want)
        curve = ds["component_curve"].values[i, :, 0]
        np.testing.assert_allclose(curve, [10 + code / 100 if k in names else 0.0 for k in CANDIDATES])
    assert list(ds["label"].values) == ["a", "b", "c"]  # coordinates of every candidate
    dropped = json.loads(ds.attrs["components_dropped"])
    assert dropped == {"s0": {"B": dropped["s0"]["B"]}, "s1": dropped["s1"]}
    assert set(dropped["s1"]) == {"A", "C"} and "below 2 stderr; ΔBIC -3.0" in dropped["s0"]["B"]
    assert list(ds["notes"].values) == [NOTE_DROPPED, NOTE_DROPPED, ""]  # a note, not a flag (issue 18)
    assert list(ds["flags"].values) == ["", "", ""]
    assert ds["note_message"].values[0].startswith("dropped B: area 0.5 ± 1 below 2 stderr")
    assert ds.attrs["components_selected"] == "auto"


def test_scripted_shared_one_set_for_the_series():
    truth = [{"A"}, {"A", "C"}, {"A"}]  # C only in one spectrum: kept for the series
    ds = select_components(scripted(truth, []), CANDIDATES, shared=True)
    assert ds["selected"].values.tolist() == [[True, False, True]] * 3
    dropped = json.loads(ds.attrs["components_dropped"])
    assert set(dropped) == {"s0", "s1", "s2"} and all(set(v) == {"B"} for v in dropped.values())
    assert "ΔBIC -9.0" in dropped["s0"]["B"]  # sum over the three spectra


def test_scripted_strong_bic_protects_an_insignificant_component():
    calls: list = []
    base = scripted([{"A"}], calls)

    def fit_subset(names):  # B insignificant, but removing it costs 40 in BIC
        ds = base(names)
        return ds.assign(bic=ds["bic"] - (40.0 if "B" in names else 0.0))

    ds = select_components(fit_subset, CANDIDATES)
    assert ds["selected"].values.tolist() == [[True, True, False]]
    assert "kept B" in ds["note_message"].item() and "raises BIC by 37.0" in ds["note_message"].item()


def test_scripted_budget_and_single_component():
    calls: list = []
    ds = select_components(scripted([set()], calls), CANDIDATES)  # nothing is there
    assert ds["selected"].values.sum() == 1  # a fit needs one peak: the last one is kept and flagged
    assert FLAG_NOTHING in ds["flags"].item() and "no component is significant" in ds["fit_message"].item()
    calls.clear()
    ds = select_components(scripted([{"A"}, {"B"}, {"C"}], calls), CANDIDATES, max_fits=2)
    assert len(calls) <= 2 and "budget" in ds["fit_message"].values[0]


# ------------------------------------------------------------------ real fits
C1S6 = ("C-C", "C-O", "C=O", "O-C=O", "Li2CO3", "CF3")


@pytest.fixture(scope="module")
def c1s6():
    return specfit.load_library("xps/C1s").subset(C1S6)


@pytest.mark.slow  # long: a statistical check or CLI subprocesses
def test_right_set_kept_on_seeded_c1s_series(c1s6):
    """Two true species (C-C, Li2CO3) of six, a 3-step series at typical counts, plus one pure-noise spectrum."""
    comps = {"C-C": {"center": 284.9, "fwhm": 1.4}, "Li2CO3": {"center": 289.9, "fwhm": 1.6}}
    frac = np.array([[0.7, 0.3], [0.5, 0.5], [0.3, 0.7]])
    da, truth = xps_series(comps, frac, x_range=(280.0, 296.0), step=0.1, total_counts=2e5, seed=3)
    rng = np.random.default_rng(5)
    noise = xr.full_like(da.isel(etch_time=[0]), 0.0).copy(data=rng.poisson(600.0, (1, da.sizes["binding_energy"])))
    noise = noise.assign_coords(etch_time=[999.0])
    batch = xr.concat([da, noise.astype(float)], "etch_time")
    ds = select_components(lambda names: specfit.fit(batch, c1s6, components=list(names)), C1S6)
    kept = ds["selected"].values
    want = [c in comps for c in C1S6]
    assert kept[:3].tolist() == [want] * 3
    np.testing.assert_allclose(ds["fraction"].sel(component=list(comps)).values[:3], frac, atol=0.02)
    assert (ds["area"].values[:3][:, ~np.array(want)] == 0).all()
    assert np.isnan(ds["area_stderr"].values[:3][:, ~np.array(want)]).all()
    assert all(NOTE_DROPPED in f for f in ds["notes"].values[:3])
    # the noise spectrum: nothing significant is kept, and it says so
    noisy = ds.isel(etch_time=3)
    sig = (noisy["area"] >= 2 * noisy["area_stderr"]) & noisy["selected"]
    assert not bool(sig.any()) and FLAG_NOTHING in noisy["flags"].item()
    assert set(json.loads(ds.attrs["components_dropped"])) == {"0.0", "30.0", "60.0", "999.0"}
