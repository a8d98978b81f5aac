"""Tougaard backgrounds with the universal inelastic cross-sections U2, U3 and U4.

Sources: S. Tougaard, Surf. Interface Anal. 25, 137 (1997) (universality classes:
two-parameter ``K = B T / (C + T^2)^2``, C = 1643 eV^2; three-parameter
``K = B T / ((C - T^2)^2 + D T^2)``, e.g. C = 551 eV^2, D = 436 eV^2 for polymers);
R. Hesse & R. Denecke, Surf. Interface Anal. 43, 1514 (2011) (four-parameter form: the
three-parameter cross-section cut below an energy gap ``T0``).  CasaXPS names these
"U 2 Tougaard", "U 3 Tougaard" and "U 4 Tougaard".  On a binding-energy axis the
background at ``E`` collects the intensity of lower binding energies:
``bg(E) = low + sum_{E' < E} K(E - E') (y(E') - low) dE'`` with ``low`` the end level
at the low-BE end.  ``B`` is either given or chosen so the background meets the
high-BE end level (least squares over the last ``n_average`` points).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specfit.backgrounds._validation import validate_axis
from specfit.backgrounds.shirley import end_level, region_indices
from specfit.errors import DataError

#: Universal cross-section constant C (eV^2) for most metals and oxides (Tougaard 1997).
TOUGAARD_C = 1643.0
#: Cross-section forms by name; U3 defaults are Tougaard's polymer class.
CROSS_SECTIONS = ("u2", "u3", "u4")
DEFAULT_CD = {"u2": (1643.0, 0.0), "u3": (551.0, 436.0), "u4": (551.0, 436.0)}


def tougaard_kernel(loss: ArrayLike, c: float = TOUGAARD_C, d: float = 0.0, *, cross_section: str = "u2",
                    t0: float = 0.0) -> NDArray:
    """Universal loss function per unit B (eV^-3) for energy loss ``T`` >= 0, 0 below.

    ``u2``: ``T / (C + T^2)^2``; ``u3``: ``T / ((C - T^2)^2 + D T^2)``; ``u4``: ``u3`` for ``T > t0``.
    """
    loss = np.asarray(loss, float)
    if cross_section == "u2":
        value = loss / (c + loss**2) ** 2
    elif cross_section in ("u3", "u4"):
        value = loss / ((c - loss**2) ** 2 + d * loss**2)
    else:
        raise DataError(f"Tougaard cross_section must be one of {', '.join(CROSS_SECTIONS)}, got {cross_section!r}")
    cut = t0 if cross_section == "u4" else 0.0
    return np.where(loss > cut, value, 0.0)


def loss_matrix(x: NDArray, *, c: float, d: float, cross_section: str, t0: float = 0.0) -> NDArray:
    """``M[i, j] = K(x_i - x_j) dx_j`` on ascending binding energy ``x``: ``M @ signal`` is the loss integral."""
    dx = np.gradient(x)
    return tougaard_kernel(x[:, None] - x[None, :], c, d, cross_section=cross_section, t0=t0) * dx[None, :]


def tougaard_background(x: ArrayLike, y: ArrayLike, *, cross_section: str = "u2", b: float | None = None,
                        c: float | None = None, d: float | None = None, t0: float = 0.0, n_average: int = 1,
                        region: tuple[float, float] | None = None, endpoints: str = "inward",
                        kinetic: bool = False) -> NDArray:
    """Tougaard background with the U2, U3 or U4 universal cross-section.

    Parameters
    ----------
    x, y : array_like
        Binding energy in eV (either order; kinetic energy with ``kinetic=True``) and intensity.
    cross_section : {"u2", "u3", "u4"}
        Number of parameters of the universal cross-section.
    b : float, optional
        Cross-section strength B (eV^2); default: fitted so the background meets the high-BE end level.
    c, d : float, optional
        C and D (eV^2); defaults 1643/0 for U2 and 551/436 for U3/U4.
    t0 : float
        Energy gap of U4 (eV).
    n_average, region, endpoints
        End levels as for the Shirley background (CasaXPS: ``endpoints="centred"``).
    kinetic : bool
        True when ``x`` is kinetic energy (losses then lie at lower x).

    Returns
    -------
    numpy.ndarray
        Background, same order as ``x``; outside ``region`` it stays at its end values.
    """
    x, y = validate_axis(x, y)
    cross_section = cross_section.lower()
    if cross_section not in CROSS_SECTIONS:
        raise DataError(f"Tougaard cross_section must be one of {', '.join(CROSS_SECTIONS)}, got {cross_section!r}")
    c0, d0 = DEFAULT_CD[cross_section]
    c = c0 if c is None else float(c)
    d = d0 if d is None else float(d)
    # work on an ascending binding-like axis u (losses at higher u)
    u = -x if kinetic else x
    order = np.argsort(u)
    u, yy = u[order], y[order]
    first, last = region_indices(u, None if region is None else tuple(-v if kinetic else v for v in region))
    low = end_level(u, yy, u[first], n_average, endpoints, (first, last))
    high = end_level(u, yy, u[last], n_average, endpoints, (first, last))
    us, ys = u[first:last + 1], yy[first:last + 1]
    integral = loss_matrix(us, c=c, d=d, cross_section=cross_section, t0=t0) @ (ys - low)
    if b is None:
        n = int(max(1, min(n_average, us.size // 4 or 1)))
        tail = integral[-n:]
        b = float(np.sum(tail * (high - low)) / np.sum(tail * tail)) if np.any(tail) else 0.0
    inner = low + float(b) * integral
    out = np.empty_like(yy)
    out[:first], out[first:last + 1], out[last + 1:] = inner[0], inner, inner[-1]
    result = np.empty_like(out)
    result[order] = out
    return result
