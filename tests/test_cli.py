"""Issue 20: the lab's command line (constraints, coordinates, outputs by extension, curves, methods), figures
without overlapping text at 1, 5 and 40 spectra, one colour per species."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import specfit
from specfit.cli.app import main
from specfit.errors import LibraryError
from specfit.examples import li7_series, raman_series, xps_series
from specfit.plotting.by_kind import figures
from specfit.plotting.panels import SPECIES_PALETTE, species_colors
from specfit.report import methods_text

sys.path.insert(0, str(Path(__file__).parent))
from figure_text import text_overlaps, texts_outside  # noqa: E402

COMPS = {"LiF": {"center": 685.0, "fwhm": 1.6}, "C-F": {"center": 688.6, "fwhm": 1.8}}
TIMES = (0.0, 30.0, 60.0)


def _f1s(n: int, seed: int = 2):
    fr = np.stack([np.linspace(0.3, 0.8, n), 1 - np.linspace(0.3, 0.8, n)], axis=1)
    return xps_series(COMPS, fr, etch_time=list(np.arange(n) * 30.0), seed=seed, lineshape="gl")


@pytest.fixture(scope="module")
def f1s_files(tmp_path_factory):
    """Three single-spectrum F 1s files named like an instrument's export: F1s_000s.nc, F1s_030s.nc, F1s_060s.nc."""
    folder = tmp_path_factory.mktemp("f1s")
    da, _ = _f1s(3)
    paths = []
    for i, t in enumerate(TIMES):
        one = da.isel(etch_time=i).drop_vars("etch_time")
        path = folder / f"F1s_{int(t):03d}s.nc"
        one.to_netcdf(path, engine="h5netcdf")
        paths.append(str(path))
    return paths


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ constraints
def test_constrained_library_fixes_ranges_links_and_adds():
    lib = specfit.load_library("xps/F1s").subset(["LiF", "C-F"])
    new = lib.constrained(fix={"LiF.center": 685.1}, range={"C-F.fwhm": (1.5, 2.0)},
                          link={"C-F.shape": "LiF.shape"}, add=["LiOH@686.8:gl"])
    assert new is not lib and lib.component("LiF").center_range != (685.1, 685.1)  # the original is untouched
    assert new.component("LiF").center_range == (685.1, 685.1)
    assert new.component("C-F").fwhm_range == (1.5, 2.0)
    assert new.component("C-F").same_shape_as == "LiF"
    assert new.component("LiOH").lineshape.startswith("gl")
    assert new.content_hash != lib.content_hash and len(new.constraints) == 4
    assert any("fixed LiF.center = 685.1" in n for n in new.notes)


def test_fixed_center_is_exact_and_not_flagged():
    da, _ = _f1s(3)
    lib = specfit.load_library("xps/F1s").constrained(fix={"LiF.center": 685.0})
    ds = specfit.fit(da, lib, components=["LiF", "C-F"])
    np.testing.assert_array_equal(ds["center"].sel(component="LiF").values, 685.0)
    np.testing.assert_array_equal(ds["center_stderr"].sel(component="LiF").values, 0.0)  # fixed: exact
    assert all(f == "" for f in ds["flags"].values)  # a fixed value is not a parameter on its bound
    assert "fixed LiF.center" in " ".join(ds.attrs["library_notes"])


def test_linked_center_offset_and_area_ratio():
    da, _ = _f1s(3)
    lib = specfit.load_library("xps/F1s").subset(["LiF", "C-F"]).constrained(
        link={"C-F.center": "LiF.center+3.6", "C-F.area": "LiF.area*0.5"})
    ds = specfit.fit(da, lib)
    diff = ds["center"].sel(component="C-F") - ds["center"].sel(component="LiF")
    np.testing.assert_allclose(diff.values, 3.6, atol=1e-9)
    ratio = ds["area"].sel(component="C-F") / ds["area"].sel(component="LiF")
    np.testing.assert_allclose(ratio.values, 0.5, rtol=1e-9)


@pytest.mark.parametrize("kwargs, words", [
    ({"fix": {"LiF.width": 1.0}}, ["LiF", "width"]),
    ({"fix": {"LiX.center": 1.0}}, ["LiX", "no component"]),
    ({"fix": {"LiF.area": 1.0}}, ["LiF.area", "not supported"]),
    ({"range": {"LiF.fwhm": (2.0, 1.0)}}, ["LiF.fwhm", "lo > hi"]),
    ({"link": {"LiF.center": "C-F.fwhm"}}, ["LiF.center", "same parameter"]),
    ({"link": {"LiF.center": "LiF.center"}}, ["LiF.center", "itself"]),
    ({"add": ["Bad@9999"]}, ["Bad", "outside the library window"]),
    ({"fix": {"LiF.shape": 7.0}}, ["LiF", "shape"]),
])
def test_constraint_errors_name_component_and_parameter(kwargs, words):
    with pytest.raises(LibraryError) as info:
        specfit.load_library("xps/F1s").constrained(**kwargs)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_cli_constraints_recorded_and_coordinates_numeric(f1s_files, tmp_path, capsys):
    out = tmp_path / "r.nc"
    code, text, err = _run(capsys, "fit", *f1s_files, "--library", "xps/F1s", "--components", "LiF,C-F",
                           "--fix", "LiF.center=685.0", "--range", "C-F.fwhm=1.5:2.2", "--link", "C-F.shape=LiF.shape",
                           "--coord", "etch_time[s]=0,30,60", "--out", out, "--curves", tmp_path / "curves.csv",
                           "--plot", tmp_path / "fig.png", "--quiet")
    assert code == 0, err
    ds = specfit.open_results(out)
    assert list(ds["etch_time"].values) == [0.0, 30.0, 60.0] and ds["etch_time"].attrs["units"] == "s"
    assert ds["center"].dims[0] == "etch_time"
    assert len(ds.attrs["constraints"]) == 3 and "fixed LiF.center = 685" in ds.attrs["constraints"][1]
    np.testing.assert_array_equal(ds["center"].sel(component="LiF").values, 685.0)
    rows = list(csv.reader((tmp_path / "curves.csv").open()))
    assert rows[0][0] == "binding energy (eV)" and "etch time 30 s: C-F" in rows[0]
    assert {"etch time 0 s: data", "etch time 0 s: fit", "etch time 0 s: background"} <= set(rows[0])
    assert (tmp_path / "fig.png").stat().st_size > 10_000  # --plot: the report figure, same pages as report


def test_cli_coord_from_name_and_errors(f1s_files, tmp_path, capsys):
    table = tmp_path / "peaks.csv"
    code, _, err = _run(capsys, "fit", *f1s_files, "--library", "xps/F1s", "--components", "LiF,C-F",
                        "--coord-from-name", r"etch_time[s]=_(\d+)s", "--out", table, "--quiet")
    assert code == 0, err
    rows = list(csv.DictReader(table.open()))  # .csv: the peak table, not an HDF5 file named .csv
    assert rows[0]["etch_time (s)"] == "0" and rows[-1]["etch_time (s)"] == "60" and rows[0]["component"] == "LiF"
    for argv, words in [
        (["--coord", "etch_time=0,30"], "2 values for 3 input files"),
        (["--coord-from-name", r"etch_time=(\d+)min"], "does not match the file name"),
        (["--fix", "LiX.center=685"], "no component 'LiX'"),
        (["--fix", "LiF.center"], "expected COMP.PARAM=VALUE"),
        (["--range", "LiF.fwhm=abc:2"], "not a number"),
        (["--add", "LiOH@686:nonsense"], "unknown lineshape"),
    ]:
        code, _, err = _run(capsys, "fit", *f1s_files, "--library", "xps/F1s", "--out", tmp_path / "x.nc", *argv)
        assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)


@pytest.mark.parametrize("name", ["peaks.png", "peaks.txt", "peaks"])
def test_cli_out_other_extension_refused_before_fitting(f1s_files, tmp_path, capsys, name):
    code, _, err = _run(capsys, "fit", *f1s_files, "--library", "xps/F1s", "--out", tmp_path / name)
    assert code == 2 and "not understood" in err and not (tmp_path / name).exists()


def test_cli_xlsx_peak_table(f1s_files, tmp_path, capsys):
    pytest.importorskip("openpyxl")
    import pandas as pd

    code, _, err = _run(capsys, "fit", *f1s_files, "--library", "xps/F1s", "--components", "LiF,C-F",
                        "--out", tmp_path / "peaks.xlsx", "--quiet")
    assert code == 0, err
    assert list(pd.read_excel(tmp_path / "peaks.xlsx")["component"])[:2] == ["LiF", "C-F"]


def test_compare_no_preference_for_equal_bic(f1s_files, capsys):
    code, out, _ = _run(capsys, "compare", *f1s_files, "--library", "xps/F1s", "--models", "LiF,C-F", "C-F,LiF",
                        "--quiet")
    assert code == 0 and "no preference" in out and "best (" not in out


def test_methods_paragraph_of_a_fit(f1s_files, tmp_path, capsys):
    out = tmp_path / "r.nc"
    assert _run(capsys, "fit", *f1s_files, "--library", "xps/F1s", "--components", "LiF,C-F", "--fix",
                "LiF.fwhm=1.6", "--out", out, "--quiet")[0] == 0
    code, _, err = _run(capsys, "report", out, "--out", tmp_path / "methods.md")
    assert code == 0, err
    text = (tmp_path / "methods.md").read_text()
    lib = specfit.load_library("xps/F1s")
    for words in (f"specfit {specfit.__version__}", "xps/F1s", "LiF", "Shirley", "680 to 694 eV",
                  "fixed LiF.fwhm = 1.6", "covariance", "| item | value |"):
        assert words in text, words
    assert lib.content_hash[:12] in text  # the library file's hash (before the constraints)


# ------------------------------------------------------------------ every kind: methods and figures
@pytest.fixture(scope="module")
def kinds():
    """Results of every kind at 1, 5 and 40 spectra (the depth profile at 1 and 5 here; 40 is slow)."""
    from specfit.demo import depth_profile_example

    out = {}
    for n in (1, 5, 40):
        da, _ = _f1s(n)
        out[("series" if n > 1 else "single", n)] = specfit.fit(da if n > 1 else da.isel(etch_time=0), "xps/F1s",
                                                                 components=["LiF", "C-F"])
        raman, _ = raman_series(n_samples=max(n, 2), seed=1)
        out[("raman", n)] = specfit.raman.speciation(raman.isel(sample=slice(0, n)), baselines=("quadratic",))
        shifts = tuple(np.linspace(-0.4, -1.3, max(n, 2)))
        li, _ = li7_series(shifts=shifts, fwhm=tuple(np.full(len(shifts), 0.4)))
        out[("nmr", n)] = specfit.nmr.track_shifts(li.isel({li.dims[0]: slice(0, n)}))
    for n in (1, 5):
        times = tuple(np.arange(n) * 30.0)
        regions, truth = depth_profile_example(etch_time=times)
        keep = ("C1s", "F1s", "S2p")
        out[("profile", n)] = specfit.xps.fit_depth_profile(
            {r: regions[r] for r in keep}, components={r: list(truth[r]["component"].values) for r in keep})
    return out


def test_methods_for_every_kind(kinds):
    for (kind, _n), result in kinds.items():
        text = methods_text(result)
        assert text.startswith("# Methods") and f"specfit {specfit.__version__}" in text and "library |" in text
        if kind == "profile":
            assert "charge reference" in text and "charge shift per step" in text and "S2p: components" in text
            assert "spin-orbit doublet" in text  # S 2p
        if kind == "nmr":
            assert "0 ppm =" in text
        if kind == "raman":
            assert "baseline spread" in text


def _check_figures(result, label):
    pages = figures(result)
    try:
        for i, fig in enumerate(pages):
            assert not text_overlaps(fig), (label, i, text_overlaps(fig))
            assert not texts_outside(fig), (label, i, texts_outside(fig))
    finally:
        for fig in pages:
            matplotlib.pyplot.close(fig)


@pytest.mark.parametrize("kind", ["single", "series", "raman", "nmr", "profile"])
@pytest.mark.parametrize("n", [1, 5])
def test_no_overlapping_text(kinds, kind, n):
    key = ("single" if kind == "series" and n == 1 else "series" if kind == "single" and n > 1 else kind, n)
    _check_figures(kinds[key], key)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["series", "raman", "nmr"])
def test_no_overlapping_text_40(kinds, kind):
    ds = kinds[(kind, 40)].copy()
    flags = ds["flags"].values.astype(object)
    flags[[2, 17]] = "at_bound,poor_fit"  # flagged panels and the footnote on a crowded page
    ds["flags"] = (ds["flags"].dims, flags.astype(str))
    _check_figures(ds, (kind, 40))


@pytest.mark.slow
def test_depth_profile_40_steps_no_overlapping_text():
    from specfit.demo import depth_profile_example

    regions, truth = depth_profile_example(etch_time=tuple(np.arange(40) * 30.0))
    keep = ("C1s", "F1s")
    tree = specfit.xps.fit_depth_profile({r: regions[r] for r in keep},
                                         components={r: list(truth[r]["component"].values) for r in keep})
    _check_figures(tree, ("profile", 40))


# ------------------------------------------------------------------ colours
def test_species_colours_stable_and_distinct_in_one_figure():
    names = ["LiF", "C-F", "C-C", "C-O", "Li2CO3", "Li2O", "Li3N", "LiNO3", "Li2S", "Li2SO4"]
    first = species_colors(names)
    assert first == species_colors(list(reversed(names)))  # not the order of appearance
    assert len(set(first.values())) == len(names) and set(first.values()) <= set(SPECIES_PALETTE)
    alone = species_colors(["LiF"])["LiF"]
    assert alone == species_colors(["LiF"])["LiF"]  # between runs and figures


def test_depth_profile_same_colour_for_a_species_in_every_panel(kinds):
    tree = kinds[("profile", 5)]
    fig = figures(tree)[0]
    colours: dict[str, set] = {}
    for ax in fig.findobj(matplotlib.axes.Axes):
        for line in ax.get_lines():
            label = line.get_label()
            if label and not label.startswith("_") and label not in ("data", "fit", "background"):
                colours.setdefault(label, set()).add(matplotlib.colors.to_hex(line.get_color()))
        for coll in ax.collections:
            label = coll.get_label()
            if label and not label.startswith("_"):
                colours.setdefault(label, set()).add(matplotlib.colors.to_hex(coll.get_facecolor()[0][:3]))
    assert colours["LiF"] and len(colours["LiF"]) == 1, colours["LiF"]  # overview line = fit panels' fill
    matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------ real data
def test_real_xps_text_file_with_fixed_center(shared_data, tmp_path, capsys):
    path = shared_data("xps", "text_formats", "lg4x_C1s_sample.csv")
    code, out, err = _run(capsys, "fit", path, "--library", "xps/C1s", "--fix", "C-C.center=284.8",
                          "--out", tmp_path / "c1s.csv", "--quiet")
    assert code in (0, 3), err
    rows = list(csv.DictReader((tmp_path / "c1s.csv").open()))
    cc = [r for r in rows if r["component"] == "C-C"]
    assert cc and float(cc[0]["center (eV)"]) == pytest.approx(284.8)


@pytest.mark.slow
def test_xps_profile_any_dim_coordinates_from_names_report_and_plot(tmp_path, capsys):
    """One file per region and step (C1s_030s.nc ...): --dim etch_time with and without numeric coordinates,
    then report (figure, table, methods) on the file: no 'could not convert string to float'."""
    from specfit.demo import depth_profile_example

    regions, _ = depth_profile_example(etch_time=TIMES)
    paths = []
    for region in ("C1s", "F1s"):
        for i, t in enumerate(TIMES):
            one = regions[region].isel(etch_time=i).drop_vars("etch_time")
            one.attrs["region"] = region
            path = tmp_path / f"{region}_{int(t):03d}s.nc"
            one.to_netcdf(path, engine="h5netcdf")
            paths.append(path)
    out = tmp_path / "profile.nc"
    code, _, err = _run(capsys, "xps-profile", *paths, "--dim", "etch_time", "--out", out, "--quiet",
                        "--plot", tmp_path / "plain.png")
    assert code == 0, err
    assert [str(v) for v in specfit.open_results(out)["F1s"]["etch_time"].values] == ["000s", "030s", "060s"]
    for name in ("r.png", "r.csv", "methods.md"):
        assert _run(capsys, "report", out, "--out", tmp_path / name)[0] == 0
    code, _, err = _run(capsys, "xps-profile", *paths, "--coord-from-name", r"etch_time[s]=_(\d+)s",
                        "--out", tmp_path / "numeric.nc", "--plot", tmp_path / "numeric.png", "--quiet")
    assert code == 0, err
    f1s = specfit.open_results(tmp_path / "numeric.nc")["F1s"].to_dataset()
    assert list(f1s["etch_time"].values) == list(TIMES) and f1s["etch_time"].attrs["units"] == "s"
