"""The public fit (stage 5): validated input and options through the pipeline to a result Dataset.

=================  ==============================================================
module             what it holds
=================  ==============================================================
``api``            :func:`fit`, :func:`check_data_matches`, stored calibrations
``prepare``        input validation: any accepted input becomes one (N, M) block
``pipeline``       prepared spectra + library + options -> a ``FitOutcome``
``selection``      ``components="auto"``: the components the data support
``uncertainty``    component quantities and their covariance-propagated errors
``montecarlo``     Monte Carlo / bootstrap errors on request
``dataset``        ``FitOutcome`` -> the result Dataset (:mod:`specfit.results.schema`)
``daskfit``        dask-backed data fitted chunk by chunk, lazily
=================  ==============================================================
"""

from __future__ import annotations

from specfit.fitting.api import check_data_matches, fit, register_calibration
from specfit.library.sources import resolve_library

__all__ = ["check_data_matches", "fit", "register_calibration", "resolve_library"]
