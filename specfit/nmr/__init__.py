"""NMR workflows: ⁷Li shift tracking and re-referencing (``specfit nmr-shifts``)."""

from __future__ import annotations

from specfit.nmr.shifts import DEFAULT_REFERENCE_COMPOUND, rereference, track_shifts

__all__ = ["DEFAULT_REFERENCE_COMPOUND", "rereference", "track_shifts"]
