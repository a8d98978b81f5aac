"""The layout the README describes: layers one way, one package per stage, no shadowing, one home per concept."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import specfit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from import_graph import LAYERS, faults, layer_of  # noqa: E402


@pytest.mark.parametrize("kind", ["cycles", "private names imported across modules", "upward imports",
                                  "orphan modules"])
def test_import_graph_is_clean(kind):
    assert faults()[kind] == []


def test_every_module_has_a_layer():
    for info in pkgutil.walk_packages(specfit.__path__, "specfit."):
        assert layer_of(info.name) < len(LAYERS), info.name


def test_at_most_eight_flat_modules():
    flat = sorted(p.stem for p in (ROOT / "specfit").glob("*.py")
                  if p.stem not in ("__init__", "_version", "errors"))
    assert len(flat) <= 8, flat


def _packages() -> list[str]:
    return ["specfit"] + [i.name for i in pkgutil.walk_packages(specfit.__path__, "specfit.") if i.ispkg]


@pytest.mark.parametrize("package", _packages())
def test_no_submodule_is_shadowed_by_a_function(package):
    """``import specfit.x.y as m`` gives the module, never a function of the same name."""
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        value = getattr(pkg, info.name, None)
        assert value is None or inspect.ismodule(value), f"{package}.{info.name} is a {type(value).__name__}"


def test_one_engine_registry():
    from specfit.engines import ENGINES, selectable_engines
    from specfit.options import FitOptions

    assert set(selectable_engines()) <= set(ENGINES)
    assert "global" in ENGINES and "global" not in selectable_engines()
    for name in selectable_engines():
        assert FitOptions.build(specfit.load_library("raman/fsi_tfsi"), engine=name).engine == name


def test_every_in_fit_background_is_implemented_and_every_name_has_one_home():
    from specfit.backgrounds.registry import REGISTRY
    from specfit.model.infit import get_infit_background

    for name, kind in REGISTRY.items():
        if kind.in_fit:
            assert get_infit_background(name).name == name
        else:  # a subtracted background is computed by specfit.background under the same name
            assert callable(specfit.background) and kind.algorithm


def test_core_user_errors_are_specfit_errors():
    from specfit.errors import SpecfitError

    with pytest.raises(SpecfitError):
        specfit.plot(3)
    with pytest.raises(SpecfitError):
        specfit.compare(None, [], library="raman/fsi_tfsi")


def test_import_specfit_leaves_heavy_scipy_modules_for_first_use():
    """``import specfit`` (every CLI call, every build process) does not import scipy.signal or
    scipy.optimize (0.35 s and 0.2 s), nor compute the LA/LF tables: they load where first used."""
    code = ("import sys, specfit, specfit.lineshapes.profiles as p; "
            "print(sorted(m for m in ('scipy.signal', 'scipy.optimize', 'scipy.integrate') if m in sys.modules), "
            "p._casa_table.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] 0"
    # and the lazy LA/LF table is the same lineshape once used
    from specfit.lineshapes.profiles import LINESHAPE_TABLE, casa_fwhm_factor

    la = LINESHAPE_TABLE["la"]
    t = np.linspace(-60.0, 60.0, 24001)
    assert la.unit(np.array([0.0]))[0] > la.unit(np.array([1.0]))[0] > 0
    assert np.trapezoid(la.unit(t), t) == pytest.approx(1.0, abs=0.01)  # unit area (Lorentzian tails beyond)
    assert casa_fwhm_factor("la") > 0
