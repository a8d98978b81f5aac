"""Peak lineshapes with area, center and FWHM parameters (stage 1 of the data flow).

``profiles`` holds every lineshape as a unit profile with its derivatives and
the registry of names (:data:`LINESHAPES`, :func:`get_lineshape`,
:func:`register_lineshape`); ``faddeeva`` the Faddeeva function behind the
exact Voigt profile (numpy and compiled).
"""

from __future__ import annotations

from specfit.lineshapes.profiles import (
    LINESHAPE_TABLE,
    LINESHAPES,
    Lineshape,
    canonical_lineshape,
    casa_fwhm_factor,
    casa_la,
    casa_lf,
    casa_parameters,
    doniach_sunjic,
    gaussian,
    get_lineshape,
    gl,
    is_lineshape,
    lorentzian,
    parse_lineshape,
    peak_height,
    profile,
    profile_gradients,
    pseudo_voigt,
    register_lineshape,
    sgl,
    voigt,
    voigt_fwhm,
    voigt_widths,
)

__all__ = ["LINESHAPES", "LINESHAPE_TABLE", "Lineshape", "canonical_lineshape", "casa_fwhm_factor", "casa_la",
           "casa_lf", "casa_parameters", "doniach_sunjic", "gaussian", "get_lineshape", "gl", "is_lineshape",
           "lorentzian", "parse_lineshape", "peak_height", "profile", "profile_gradients", "pseudo_voigt",
           "register_lineshape", "sgl", "voigt", "voigt_fwhm", "voigt_widths"]
