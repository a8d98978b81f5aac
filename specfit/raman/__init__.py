"""Raman workflows: ion-pair speciation with baseline and shape-model spreads (``specfit raman-speciation``)."""

from __future__ import annotations

from specfit.raman.ion_pairs import BASELINES, DEFAULT_BASELINES, SPREADS, speciation

__all__ = ["BASELINES", "DEFAULT_BASELINES", "SPREADS", "speciation"]
