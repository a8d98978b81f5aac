"""One plain model description compiled from a library (stage 3), and the problem every engine solves.

``spec`` compiles a library + options into a :class:`ModelSpec` (parameter
layout, bounds, ties) with pure model and Jacobian functions; ``problem`` is
the weighted least-squares problem of a batch; ``initial`` gives starting
values; ``shapetie`` one shape parameter for all bands or one per band.
"""

from __future__ import annotations

from specfit.model.problem import FitProblem
from specfit.model.spec import ModelSpec, compile_model, evaluate, evaluate_with_jacobian

__all__ = ["FitProblem", "ModelSpec", "compile_model", "evaluate", "evaluate_with_jacobian"]
