"""The engine interface, its one result type, and the registry of engines by name.

An engine solves a :class:`~specfit.model.problem.FitProblem` from a start
``theta0`` and returns an :class:`EngineResult` (parameters, cost, model
evaluations, convergence, a message per spectrum).  Everything a user reads
about the quality of that answer is computed afterwards, once, for every
engine alike (:func:`specfit.engines.solution.finalize`).

Engines register themselves by name in :data:`ENGINES` with
:func:`register_engine` (astropy.modeling's ``Fitter`` pattern: one interface,
the same tests run over every engine); the option validation, the pipeline and
the command line read that one table.  A new engine is one module that
subclasses :class:`Engine`, decorated with ``@register_engine``, imported by
``specfit/engines/__init__.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from specfit.model.problem import FitProblem


class EngineOptions(Protocol):
    """What an engine reads of the validated :class:`specfit.options.FitOptions`."""

    max_nfev: int | None
    share: tuple[str, ...]
    engine: str

    @property
    def shared_groups(self) -> frozenset[str]: ...


@dataclass
class EngineResult:
    """What an engine found for ``N`` spectra of ``P`` parameters (every engine returns this type)."""

    theta: NDArray  # (N, P)
    cost: NDArray  # (N,) sum of squared weighted residuals
    nfev: NDArray  # (N,) model evaluations
    success: NDArray  # (N,) converged
    message: list[str]  # per spectrum, "" when converged cleanly
    hess: NDArray | None = None  # (N, P, P) J^T J at theta when the engine has it (finalize then re-uses it)
    #: the implementation that ran when it is not the one :meth:`Engine.path` names ("" when it is)
    path: str = ""


class Engine:
    """Interface of a fitting engine; subclasses implement :meth:`solve`."""

    #: registry name (``fit(engine=...)``, ``--engine``)
    name = ""
    #: fits parameters shared across the batch itself (``share=...``)
    shares = False
    #: ``share=...`` may be asked together with this engine (a global fit then runs)
    allows_share = True
    #: a user may choose it by name (the global engine is chosen by ``share=...`` instead)
    selectable = True
    #: a large batch may start from a pilot fit's median values (False keeps the library's values)
    uses_pilot_start = True

    def solve(self, problem: FitProblem, theta0: NDArray, options: EngineOptions) -> EngineResult:
        raise NotImplementedError

    def shared_mask(self, problem: FitProblem, options: EngineOptions) -> NDArray:
        """Parameters common to every spectrum (none for independent fits)."""
        return np.zeros(problem.spec.n_params, bool)

    def path(self, spec: object) -> str:
        """Which implementation fits models of ``spec`` (recorded as ``attrs["engine_path"]``)."""
        return self.name


#: Engine classes by name, filled by :func:`register_engine`.
ENGINES: dict[str, type[Engine]] = {}


def register_engine(cls: type[Engine]) -> type[Engine]:
    """Class decorator: add ``cls`` to :data:`ENGINES` under ``cls.name``."""
    if not cls.name or cls.name in ENGINES:
        raise ValueError(f"engine name {cls.name!r} is empty or taken")
    ENGINES[cls.name] = cls
    return cls


def selectable_engines() -> tuple[str, ...]:
    """Names a user may pass as ``engine=`` (the option validation reads this)."""
    return tuple(name for name, cls in ENGINES.items() if cls.selectable)


def engine_for(options: EngineOptions, n_spectra: int) -> Engine:
    """The engine that honours ``options`` (a shared parameter needs the engine that shares)."""
    if options.share and n_spectra > 1 and options.shared_groups:
        return next(cls for cls in ENGINES.values() if cls.shares)()
    return ENGINES[options.engine]()
