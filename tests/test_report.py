"""Report figures and peak tables: layout, units, error bars, flags, file formats, CLI."""

from __future__ import annotations

import csv
import itertools

import matplotlib
import numpy as np
import pytest

import specfit
from specfit.cli.app import main
from specfit.examples import li7_series, raman_series, xps_series
from specfit.plotting.by_kind import figures
from specfit.plotting.panels import format_pm, plot_fractions, series_style, spectrum_flags
from specfit.report import peak_table, write_report

matplotlib.use("Agg")

COMPS = {"LiF": {"center": 685.0, "fwhm": 1.6}, "C-F": {"center": 688.6, "fwhm": 1.8}}


def _series(n: int, seed: int = 2):
    a = np.linspace(0.3, 0.8, n)
    fractions = np.stack([a, 1 - a], axis=1)
    times = [0.0, 30.0, 60.0, 120.0, 300.0][:n] if n <= 5 else list(np.arange(n) * 20.0)
    return xps_series(COMPS, fractions, etch_time=times, seed=seed, lineshape="gl")


@pytest.fixture(scope="module")
def f1s():
    da, truth = _series(5)
    return specfit.fit(da, "xps/F1s", components=["LiF", "C-F"], share="center,width"), truth


@pytest.fixture(scope="module")
def profile():
    from specfit.demo import depth_profile_example

    regions, truth = depth_profile_example(etch_time=(0.0, 60.0, 300.0))
    regions = {r: regions[r] for r in ("C1s", "F1s")}
    comps = {r: list(truth[r]["component"].values) for r in regions}
    return specfit.xps.fit_depth_profile(regions, components=comps), truth


def _overlaps(fig, tol_px: float = 4.0) -> list[tuple[int, int]]:
    """Pairs of axes whose drawn extents (labels, titles, ticks) overlap by more than ``tol_px``."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    bad = []
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > tol_px and h > tol_px:
            bad.append((i, j))
    return bad


def test_peak_table_matches_result_and_truth(f1s, tmp_path):
    ds, truth = f1s
    table = peak_table(ds)
    assert len(table) == 5 * 2
    assert list(table.columns[:2]) == ["etch_time (s)", "component"]
    lif = table[table["component"] == "LiF"]
    np.testing.assert_allclose(lif["fraction (%)"], 100 * truth["fraction"].sel(component="LiF").values, atol=2.0)
    np.testing.assert_allclose(lif["center (eV)"], ds["center"].sel(component="LiF").values)
    np.testing.assert_allclose(lif["fraction stderr (%)"], 100 * ds["fraction_stderr"].sel(component="LiF").values)
    out = write_report(ds, tmp_path / "peaks.csv")
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["flags"] == "" and rows[0]["success"] == "True"
    assert float(rows[0]["fwhm (eV)"]) == pytest.approx(float(ds["fwhm"].values[0, 0]), rel=1e-5)


def test_missing_stderr_is_na_in_table_and_figure(f1s, tmp_path):
    ds = f1s[0].copy(deep=True)
    ds["fraction_stderr"][1, 0] = np.nan
    ds["fraction_uncertainty"][1, 0] = np.nan  # the combined uncertainty (what figures quote) is unknown with it
    rows = list(csv.DictReader(write_report(ds, tmp_path / "t.csv").open()))
    assert rows[2]["fraction stderr (%)"] == "n/a" and rows[2]["fraction uncertainty (%)"] == "n/a"
    fig = figures(ds.isel(etch_time=1))[0]
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("± n/a" in t for t in texts)
    assert format_pm(41.234, 0.0123, "%") == "41.234 ± 0.012 %"


def test_series_figure_units_reversed_axis_numeric_time_no_version_title(f1s):
    ds, _ = f1s
    fig = specfit.plot(ds)
    labels = [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]
    assert "etch time (s)" in labels
    assert "binding energy (eV)" in labels
    assert "intensity\n(counts)" in labels  # two lines: clear of the residual label
    spectrum_axes = [ax for ax in fig.axes if ax.get_xlabel() == "binding energy (eV)"]
    assert len(spectrum_axes) == 5 and all(ax.get_xlim()[0] > ax.get_xlim()[1] for ax in spectrum_axes)
    overview = next(ax for ax in fig.axes if ax.get_xlabel() == "etch time (s)")
    xs = overview.get_lines()[0].get_xdata()
    np.testing.assert_allclose(xs, [0, 30, 60, 120, 300])  # numeric, not categories
    suptitles = [getattr(f, "_suptitle", None) for f in [fig, *fig.subfigs]]
    assert not any(t is not None and "specfit" in t.get_text() for t in suptitles)
    assert not _overlaps(fig)


@pytest.mark.parametrize("n, per_page, n_pages", [(1, 30, 1), (12, 30, 1), (7, 6, 2)])
def test_every_spectrum_drawn_on_pages_without_overlap(n, per_page, n_pages):
    da, _ = _series(n)
    ds = specfit.fit(da, "xps/F1s", components=["LiF", "C-F"], engine="batch")
    pages = figures(ds, per_page=per_page)
    drawn = sum(sum(ax.get_xlabel() == "binding energy (eV)" for ax in fig.axes) for fig in pages)
    assert drawn == n
    assert len(pages) == n_pages
    for fig in pages:
        assert not _overlaps(fig)
        matplotlib.pyplot.close(fig)


def test_fraction_error_bars_clipped_to_0_100(f1s):
    ds = f1s[0].copy(deep=True)
    ds["fraction_stderr"][:] = 0.6  # +-60 pp
    ax = plot_fractions(ds)
    for coll in ax.collections:
        for seg in coll.get_segments():
            ys = np.asarray(seg)[:, 1]
            assert ys.min() >= 0.0 and ys.max() <= 100.0


def test_fourteen_series_distinct():
    styles = [(s["color"], s["marker"]) for s in map(series_style, range(14))]
    assert len(set(styles)) == 14
    assert len({s["color"] for s in map(series_style, range(9))}) == 9


def test_flags_marked_and_derived_without_flags_variable(f1s):
    ds = f1s[0].copy(deep=True)
    ds["flags"] = ("etch_time", np.array(["", "at_bound", "", "", ""]))
    fig = specfit.plot(ds)
    assert any("AB" in ax._right_title.get_text() for ax in fig.axes)  # short code, right of the title
    assert "AB at_bound" in fig.subfigs[1]._supxlabel.get_text()  # the footnote spells it out
    legacy = ds.drop_vars("flags")
    legacy["success"][3] = False
    assert list(spectrum_flags(legacy).values) == ["", "", "", "not_converged", ""]


def test_depth_profile_report_has_every_region_and_step(profile, tmp_path):
    tree, truth = profile
    fig = specfit.plot(tree)
    fit_axes = [ax for ax in fig.axes if ax.get_xlabel() == "binding energy (eV)"]
    assert len(fit_axes) == 2 * 3
    assert not _overlaps(fig)
    table = peak_table(tree)
    assert set(table["region"]) == {"C1s", "F1s"}
    assert len(table) == 3 * (len(truth["C1s"]["component"]) + len(truth["F1s"]["component"]))
    f = table[(table["region"] == "F1s") & (table["component"] == "LiF")]["fraction (%)"].to_numpy()
    np.testing.assert_allclose(f, 100 * truth["F1s"]["fraction"].sel(component="LiF").values, atol=3.0)


def test_workflow_figures_raman_and_nmr(tmp_path):
    spectra, _ = raman_series(n_samples=3, seed=1)
    spec = specfit.raman.speciation(spectra, baselines=("quadratic", "linear"))
    fig = specfit.plot(spec)
    assert any("baseline spread" in t.get_text() for ax in fig.axes if ax.get_legend()
               for t in ax.get_legend().get_texts())
    li, truth = li7_series()
    shifts = specfit.nmr.track_shifts(li)
    fig = shifts.specfit.plot()
    overview = next(ax for ax in fig.axes if ax.get_ylabel().startswith("shift vs"))
    np.testing.assert_allclose(overview.get_lines()[0].get_ydata(), truth["center"].values - truth["center"].values[0],
                               atol=0.01)
    table = peak_table(shifts)
    assert table["shift vs reference (ppm)"].iloc[0] == 0.0


def test_cli_report_formats_and_refusals(f1s, profile, tmp_path, capsys):
    result = tmp_path / "fit.nc"
    specfit.save(f1s[0].isel(etch_time=0), result)  # one panel: the formats, not the drawing, are tested here
    tree = tmp_path / "profile.nc"
    specfit.save(profile[0], tree)
    magic = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}
    for ext, head in magic.items():
        assert main(["report", str(result), "--out", str(tmp_path / f"fig{ext}")]) == 0
        assert (tmp_path / f"fig{ext}").read_bytes()[:len(head)] == head
    assert main(["report", str(tree), "--out", str(tmp_path / "profile.csv")]) == 0
    assert (tmp_path / "profile.csv").read_text().startswith("region,")
    before = result.read_bytes()
    capsys.readouterr()
    assert main(["report", str(result), "--out", str(result)]) == 2
    assert main(["report", str(result), "--out", str(tmp_path / "x.docx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("specfit: error:") for line in err)
    assert result.read_bytes() == before
    assert not list(tmp_path.glob(".*tmp*"))


def test_cli_libraries_long(capsys):
    assert main(["libraries", "--long"]) == 0
    out = capsys.readouterr().out
    block = out.split("xps/F1s\n")[1].split("\n\n")[0]
    assert "technique: xps" in block and "window: 680 to 694 eV" in block
    assert "LiF" in block and "source: " in block


def test_result_without_stored_curves_gets_overview_only(f1s):
    ds = f1s[0].drop_vars(["data", "best_fit", "background", "residual", "component_curve"])
    fig = specfit.plot(ds)
    assert [ax.get_xlabel() for ax in fig.axes] == ["etch time (s)"]
    assert "specfit.curves" in fig._supxlabel.get_text()


# ------------------------------------------------------------------ fixes after viewing the PNGs (issue 12)
LONG_FLAGS = "at_bound,stderr_nan,insignificant,component_dropped,charge_reference_at_bound"


@pytest.fixture(scope="module")
def one_step(profile):
    """The depth profile at its first step only, with long flags, a dropped component and a -0.001 eV shift."""
    import xarray as xr

    tree = profile[0].isel(etch_time=0)
    c1s, f1s = tree["C1s"].to_dataset(), tree["F1s"].to_dataset()
    c1s["charge_shift"] = -0.001
    for ds in (c1s, f1s):
        ds["flags"] = LONG_FLAGS
    selected = np.ones(f1s.sizes["component"], bool)
    selected[list(f1s["component"].values).index("C-F")] = False
    f1s["selected"] = ("component", selected)
    return xr.DataTree.from_dict({"/": tree.to_dataset(), "C1s": c1s, "F1s": f1s})


def _title_boxes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title)
            if t.get_text()]


def test_flag_titles_wrapped_inside_figure_and_apart(one_step):
    fig = specfit.plot(one_step)
    flagged = [ax._right_title.get_text() for ax in fig.axes if ax._right_title.get_text()]
    assert len(flagged) == 2  # short codes, one line each; the footnote has the words
    from specfit.plotting.panels import flag_abbreviation

    assert all(flag_abbreviation(code) in flagged[0] for code in LONG_FLAGS.split(","))
    boxes = _title_boxes(fig)
    for box in boxes:
        assert box.x0 >= -0.5 and box.x1 <= fig.bbox.width + 0.5 and box.y1 <= fig.bbox.height + 0.5
    for a, b in itertools.combinations(boxes, 2):
        assert min(a.x1, b.x1) <= max(a.x0, b.x0) or min(a.y1, b.y1) <= max(a.y0, b.y0)
    assert not _overlaps(fig)
    matplotlib.pyplot.close(fig)


def test_single_step_profile_draws_bars_and_no_negative_zero(one_step):
    fig = specfit.plot(one_step)
    left = next(ax for ax in fig.axes if ax.get_ylabel() == "atomic concentration (at.%)")
    right = next(ax for ax in fig.axes if ax.get_ylabel() == "species share of its element (%)")
    root = one_step.to_dataset()
    heights = [p.get_height() for p in left.patches]
    np.testing.assert_allclose(heights, root["atomic_percent"].values)
    kept = [s for s in root["species"].values if s != "C-F@F1s"]
    assert [t.get_text() for t in right.get_xticklabels()] == [s.split("@")[0] for s in kept]
    np.testing.assert_allclose([p.get_height() for p in right.patches],
                               root["species_percent"].sel(species=kept).values)
    assert left.get_xlim()[1] - left.get_xlim()[0] > 1.0  # not the -0.05..0.05 axis of one point
    titles = " ".join(" ".join(ax.get_title(loc).split()) for ax in fig.axes for loc in ("left", "center", "right"))
    assert "charge shift 0.00 eV" in titles and "-0.00" not in titles
    assert specfit.plotting.panels.format_signed(-0.004) == "0.00"
    assert specfit.plotting.panels.format_signed(-1.17267) == "-1.17"
    assert specfit.plotting.panels.format_signed(0.3) == "+0.30"
    matplotlib.pyplot.close(fig)


def test_dropped_components_left_out_of_legends_kept_in_table(one_step, f1s, tmp_path):
    fig = specfit.plot(one_step)
    legends = [leg for f in fig.findobj(lambda a: hasattr(a, "legends")) for leg in f.legends]
    legend_texts = [t.get_text() for leg in legends for t in leg.get_texts()]
    assert "LiF" in legend_texts and "C-F" not in legend_texts
    matplotlib.pyplot.close(fig)
    ds = f1s[0].isel(etch_time=0).copy()
    ds["selected"] = ("component", np.array([True, False]))
    fig = specfit.plot(ds)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("LiF:") for t in texts) and not any(t.startswith("C-F") for t in texts)
    matplotlib.pyplot.close(fig)
    rows = list(csv.DictReader(write_report(ds, tmp_path / "sel.csv").open()))
    assert [(r["component"], r["selected"]) for r in rows] == [("LiF", "True"), ("C-F", "False")]
    table = peak_table(one_step)
    dropped = table[(table["region"] == "F1s") & (table["component"] == "C-F")]
    assert len(dropped) == 1 and not dropped["selected"].iloc[0]


def test_nmr_panels_share_one_ppm_range_and_label_the_reference():
    li, _ = li7_series()
    shifts = specfit.nmr.track_shifts(li)
    fig = specfit.plot(shifts)
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "chemical shift (ppm)"]
    assert len(panels) == shifts.sizes["sample"]
    fitted = np.isfinite(shifts["best_fit"]).any("sample")
    x = shifts["chemical_shift"].values[fitted.values]
    for ax in panels:  # union of the fitted windows, reversed ppm axis, the same in every panel
        np.testing.assert_allclose(ax.get_xlim(), (x.max(), x.min()))
    overview = next(ax for ax in fig.axes if ax.get_ylabel().startswith("shift vs"))
    assert overview.get_lines()[0].get_linestyle() == "None"  # points, no line through the labels
    labels = [t for t in overview.texts if t.get_text()]
    assert labels[0].get_text() == "reference" and not any(t.get_text().startswith("0 ±") for t in labels)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    points = overview.transData.transform(np.column_stack([overview.get_lines()[0].get_xdata(),
                                                           overview.get_lines()[0].get_ydata()]))
    for text in labels:
        box = text.get_window_extent(renderer)
        assert not any(box.contains(px, py) for px, py in points)
    matplotlib.pyplot.close(fig)
