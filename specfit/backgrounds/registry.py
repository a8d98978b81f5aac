"""The one table of background names: where each runs, its options and their defaults.

Read by the library loader (allowed names), the model compiler (in-fit
backgrounds), the fit pipeline (pre-subtracted backgrounds and the algorithm
behind them), the CLI help and the docs.  Adding a background is one entry here
plus its algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

IN_FIT = "in_fit"
SUBTRACTED = "subtracted"


@dataclass(frozen=True)
class BackgroundKind:
    """One background: name, ``stage`` (``"in_fit"`` or ``"subtracted"``), options with defaults, help."""

    name: str
    stage: str
    help: str
    options: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    algorithm: str = ""  # for subtracted backgrounds: the ``specfit.background`` kind that computes it

    @property
    def in_fit(self) -> bool:
        return self.stage == IN_FIT


def _kind(name: str, stage: str, help: str, algorithm: str = "", **options) -> BackgroundKind:
    return BackgroundKind(name, stage, help, MappingProxyType(options), algorithm)


_SHIRLEY_OPTIONS = dict(n_average=1, region=None, endpoints="inward", quadrature="trapezoid", unstable="linear")
_TOUGAARD_OPTIONS = dict(cross_section="u2", b=None, c=None, d=None, t0=0.0, n_average=1, region=None,
                         endpoints="inward")

REGISTRY: MappingProxyType = MappingProxyType({k.name: k for k in (
    _kind("none", IN_FIT, "no background"),
    _kind("linear", IN_FIT, "straight line refined in the fit"),
    _kind("polynomial", IN_FIT, "polynomial refined in the fit (fit option degree)", degree=2),
    _kind("shirley", IN_FIT, "active Shirley: low level + step x running integral of the fitted peaks"),
    _kind("tougaard_active", IN_FIT, "active Tougaard: level + B x universal loss integral of the fitted peaks",
          cross_section="u2", c=None, d=None, t0=0.0),
    _kind("shirley_fixed", SUBTRACTED, "converged iterative Shirley subtracted before the fit (CasaXPS style)",
          "shirley", **_SHIRLEY_OPTIONS),
    _kind("tougaard", SUBTRACTED, "Tougaard U2/U3/U4 subtracted before the fit, B given or fitted to the end",
          "tougaard", **_TOUGAARD_OPTIONS),
    _kind("als", SUBTRACTED, "asymmetric least squares baseline (pybaselines asls)", "als", lam=1e5, p=0.01),
    _kind("arpls", SUBTRACTED, "arPLS baseline (pybaselines)", "arpls", lam=1e5),
)})

#: Every background name a library or ``fit(background=...)`` may use.
BACKGROUND_NAMES: tuple[str, ...] = tuple(REGISTRY)
#: Backgrounds refined inside the model.
IN_FIT_NAMES: tuple[str, ...] = tuple(n for n, k in REGISTRY.items() if k.in_fit)
#: Subtracted backgrounds -> the ``specfit.background`` algorithm that computes them.
SUBTRACTED_ALGORITHMS: MappingProxyType = MappingProxyType(
    {n: k.algorithm for n, k in REGISTRY.items() if not k.in_fit})


def get_background(name: str) -> BackgroundKind:
    """The registry entry ``name``.

    Raises
    ------
    KeyError
        Unknown name (the message lists the choices).
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown background {name!r}; choose one of {', '.join(BACKGROUND_NAMES)}") from None


def help_text() -> str:
    """One line per background, for the CLI help and the docs."""
    return "; ".join(f"{k.name}: {k.help}" for k in REGISTRY.values())


def check_options(name: str, options: dict) -> dict:
    """``options`` merged over the defaults of ``name``; unknown option names raise ``KeyError``."""
    kind = get_background(name)
    unknown = sorted(set(options) - set(kind.options))
    if unknown:
        raise KeyError(f"background {name!r} has no option {unknown[0]!r}; "
                       f"options: {', '.join(kind.options) or 'none'}")
    return {**kind.options, **options}
