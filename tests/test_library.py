"""Peak libraries: shipped ones load; user files by path; every error names file, component and key."""

from __future__ import annotations

import pytest

import specfit

VALID = """
[library]
name = "user/test"
technique = "xps"
window = [680, 694]
sources = ["test"]
[[component]]
name = "LiF"
center = 685.0
center_range = [684.5, 685.8]
fwhm = 1.5
fwhm_range = [0.8, 2.5]
rsf = 4.43
"""


def test_shipped_libraries_load():
    names = specfit.list_libraries()
    for required in ("raman/fsi_tfsi", "xps/F1s", "xps/S2p", "nmr/li7"):
        assert required in names
    for name in names:
        lib = specfit.load_library(name)
        assert lib.name == name
        assert lib.sources, f"{name} has no sources"
        for comp in lib.components:
            assert comp.center_range[0] <= comp.center <= comp.center_range[1]
            if lib.window:
                assert lib.window[0] <= comp.center <= lib.window[1]


def test_pinned_component_names():
    assert specfit.load_library("raman/fsi_tfsi").component_names == ("free", "CIP", "AGG")
    f1s = specfit.load_library("xps/F1s").component_names
    assert "LiF" in f1s and "C-F" in f1s
    s2p = specfit.load_library("xps/S2p")
    for name in ("Li2S", "Li2SO3", "Li2SO4"):
        assert s2p.component(name).doublet is not None
        assert s2p.component(name).doublet.splitting == pytest.approx(1.18)


def test_user_library_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(VALID)
    lib = specfit.load_library(path)
    assert lib.technique == "xps" and lib.background == "shirley"
    assert lib.component("LiF").rsf == 4.43
    assert len(lib.content_hash) == 64


@pytest.mark.parametrize("edit,match", [
    (lambda t: t.replace("rsf = 4.43", "rsf = 4.43\ncolour = 'red'"), r"component 'LiF', key 'colour'.*unknown key"),
    (lambda t: t.replace("center = 685.0", "center = 690.0"), r"component 'LiF', key 'center'.*outside"),
    (lambda t: t.replace("[0.8, 2.5]", "[2.5, 0.8]"), r"component 'LiF', key 'fwhm_range'.*lo > hi"),
    (lambda t: t + "\nsame_width_as = 'Nope'\n", r"component 'LiF', key 'same_width_as'.*missing component 'Nope'"),
    (lambda t: t.replace('technique = "xps"', 'technique = "ir"'), r"\[library\], key 'technique'"),
    (lambda t: t.replace("center = 685.0\n", ""), r"component 'LiF', key 'center'.*required"),
    (lambda t: t + "\n[[component]]\nname = 'LiF'\ncenter = 685.2\ncenter_range = [684, 686]\n", "duplicated"),
])
def test_errors_name_file_component_key(tmp_path, edit, match):
    path = tmp_path / "bad.toml"
    path.write_text(edit(VALID))
    with pytest.raises(specfit.LibraryError, match=match) as info:
        specfit.load_library(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_library_name():
    with pytest.raises(specfit.LibraryError, match="unknown library 'raman/nope'"):
        specfit.load_library("raman/nope")


def test_invalid_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[library\nname=")
    with pytest.raises(specfit.LibraryError, match="not valid TOML"):
        specfit.load_library(path)
