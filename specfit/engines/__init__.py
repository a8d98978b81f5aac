"""Fitting engines: one interface (:class:`Engine`), one result type, one registry.

=====================  ==========================================================
module                 what it holds
=====================  ==========================================================
``base``               :class:`Engine`, :class:`EngineResult`, :data:`ENGINES`
``solution``           :func:`finalize`: bounds, free parameters, covariance
``numpy_lm``           vectorised Levenberg–Marquardt in numpy (the fallback)
``fused``              compiled model + Jacobian + normal equations (numba)
``compiled_lm``        Levenberg–Marquardt compiled per spectrum (numba)
``batch``              the ``batch`` engine (compiled, else numpy)
``global_lm``          the ``global`` engine: shared parameters, block-arrow LM
``lmfit_ref``          the ``lmfit`` engine: lmfit spectrum by spectrum
=====================  ==========================================================

Importing this package registers every engine (each module registers its own).
"""

from __future__ import annotations

from specfit.engines.base import ENGINES, Engine, EngineResult, engine_for, register_engine, selectable_engines
from specfit.engines.batch import BatchEngine, keep_better
from specfit.engines.global_lm import GlobalEngine
from specfit.engines.lmfit_ref import LmfitEngine
from specfit.engines.solution import BOUND_RTOL, Solution, at_bound, finalize

__all__ = ["BOUND_RTOL", "ENGINES", "BatchEngine", "Engine", "EngineResult", "GlobalEngine", "LmfitEngine", "Solution",
           "at_bound", "engine_for", "finalize", "keep_better", "register_engine", "selectable_engines"]
