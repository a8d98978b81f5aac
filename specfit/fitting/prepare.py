"""Input validation at the boundary: any accepted input becomes one (N, M) block.

``specfit.fit`` accepts a DataArray (last dimension = spectral axis, every
other dimension a batch dimension) or an ``(x, y)`` pair.  Problems of the
whole input raise :class:`~specfit.errors.DataError`; problems of single
spectra (NaN points, constant or empty spectra) are recorded per spectrum so
the rest of the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from specfit.errors import DataError
from specfit.library.loader import Library


@dataclass
class Prepared:
    """Validated data of one fit, axis ascending, batch flattened."""

    x: NDArray  # (M,) ascending
    y: NDArray  # (N, M), NaN points replaced by 0 and given weight 0
    weights: NDArray  # (N, M)
    usable: NDArray  # (N,) bool
    messages: list[str]
    axis_dim: str
    descending: bool  # input axis was descending: curves are flipped back on output
    batch_dims: tuple[str, ...]
    batch_shape: tuple[int, ...]
    batch_coords: dict  # coordinates of the input that live on batch dims only
    original: xr.DataArray  # input restricted to the window, original order
    attrs: dict = field(default_factory=dict)
    window: tuple[float, float] = (0.0, 0.0)


def as_dataarray(data: object, library: Library | None = None) -> xr.DataArray:
    """Accept a DataArray or an ``(x, y)`` pair of 1-D arrays."""
    if isinstance(data, xr.DataArray):
        return data
    if isinstance(data, xr.Dataset):
        names = list(data.data_vars)
        if len(names) != 1:
            raise DataError(f"Dataset holds {len(names)} variables ({', '.join(names)}); pass one DataArray")
        return data[names[0]]
    if isinstance(data, (tuple, list)) and len(data) == 2:
        for part, name in ((data[0], "x"), (data[1], "intensities")):
            _refuse_complex(np.asarray(part).dtype, name, "")
        x = np.asarray(data[0], float)
        y = np.asarray(data[1], float)
        if x.ndim != 1:
            raise DataError(f"x must be 1-D, got shape {x.shape}")
        if y.shape[-1:] != x.shape:
            raise DataError(f"length mismatch: x has {x.size} points, y has {y.shape[-1] if y.ndim else 0}")
        dim = library.axis if library is not None else "x"
        dims = tuple(f"spectrum_{i}" if i else "spectrum" for i in range(y.ndim - 1)) + (dim,)
        return xr.DataArray(y, dims=dims, coords={dim: x})
    if isinstance(data, xr.DataTree):
        names = list(data.children)
        first = data[names[0]].to_dataset() if names else None
        var = list(first.data_vars)[0] if first is not None and first.data_vars else "intensity"
        source = data.attrs.get("source_file")
        where = f"{source}: " if source else ""
        raise DataError(f"{where}data is a DataTree of {len(names)} regions ({', '.join(names)}) with different "
                        f"axes; fit one region, e.g. specfit.fit(tree[{names[0]!r}].to_dataset()[{var!r}], ...), or "
                        "all of them with specfit.xps.fit_depth_profile")
    raise DataError(f"data must be an xarray.DataArray or an (x, y) pair, got {type(data).__name__}")


def _refuse_complex(dtype: np.dtype, what: str, where: str) -> None:
    """Complex numbers are refused: casting kept the real part and dropped the imaginary part silently."""
    if np.issubdtype(dtype, np.complexfloating):
        raise DataError(f"{where}{what} are complex ({dtype}); specfit fits real spectra: phase the spectrum and "
                        "pass its real part (e.g. da.real), or its magnitude (abs(da)) if that is what you mean")


def _axis_values(da: xr.DataArray) -> NDArray:
    dim = da.dims[-1]
    x = np.asarray(da[dim].values if dim in da.coords else np.arange(da.shape[-1]), float)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{_source(da)}spectral axis {dim!r} contains NaN or inf")
    step = np.diff(x)
    if np.any(step == 0):
        raise DataError(f"{_source(da)}spectral axis {dim!r} has duplicated values (first at {x[1:][step == 0][0]:g})")
    if x.size > 1 and not (np.all(step > 0) or np.all(step < 0)):
        raise DataError(f"{_source(da)}spectral axis {dim!r} is not monotonic")
    return x


def _source(da: xr.DataArray) -> str:
    source = da.attrs.get("source_file")
    return f"{source}: " if source else ""


def prepare(data: object, library: Library, *, window: tuple[float, float] | None = None,
            weights: str | None = None, min_points: int = 5) -> Prepared:
    """Validate, window, flatten and sort ``data`` for fitting with ``library``."""
    da = as_dataarray(data, library)
    if da.ndim == 0 or da.shape[-1] == 0:
        raise DataError("data are empty")
    _refuse_complex(da.dtype, "intensities", _source(da))
    if da.dims[-1] in da.coords:
        _refuse_complex(da[da.dims[-1]].dtype, f"axis values of {da.dims[-1]!r}", _source(da))
    axis_dim = da.dims[-1]
    x_full = _axis_values(da)
    lo_data, hi_data = float(np.min(x_full)), float(np.max(x_full))
    lo, hi = window if window is not None else (library.window or (lo_data, hi_data))
    if lo > hi:
        raise DataError(f"window lower limit {lo:g} > upper limit {hi:g}")
    inside = (x_full >= lo) & (x_full <= hi)
    if x_full.size < min_points:
        raise DataError(f"{_source(da)}only {x_full.size} points in the spectrum; a fit needs at least {min_points}")
    if inside.sum() < min_points and (hi < lo_data or lo > hi_data):
        whose = "the window given" if window is not None else "library window"  # say whose window it is
        raise DataError(f"{_source(da)}{whose} {lo:g}–{hi:g} does not overlap the data range "
                        f"{lo_data:g}–{hi_data:g}")
    if inside.sum() < min_points:
        raise DataError(f"{_source(da)}only {int(inside.sum())} points of the data ({lo_data:g}–{hi_data:g}) lie "
                        f"inside the window {lo:g}–{hi:g}; a fit needs at least {min_points}")
    idx = np.nonzero(inside)[0]
    # the window of a monotonic axis is contiguous: a slice keeps a view (no copy of a large map)
    da = da.isel({axis_dim: slice(int(idx[0]), int(idx[-1]) + 1) if idx[-1] - idx[0] + 1 == idx.size else idx})
    x = x_full[inside]
    batch_dims = tuple(da.dims[:-1])
    batch_shape = tuple(da.shape[:-1])
    source_values = da.values
    y = np.asarray(source_values, float).reshape(-1, x.size)
    descending = bool(x.size > 1 and x[0] > x[-1])
    if descending:
        x, y = x[::-1].copy(), y[:, ::-1].copy()
    finite = np.isfinite(y)
    all_finite = bool(finite.all())
    # a map of finite spectra with unit weights keeps one read-only row of ones, not an (N, M) copy
    w = np.broadcast_to(np.ones(y.shape[1]), y.shape) if all_finite else finite.astype(float)
    if weights == "poisson":
        w = np.where(finite, 1.0 / np.sqrt(np.maximum(np.where(finite, y, 1.0), 1.0)), 0.0)
    elif weights not in (None, "none", "uniform"):
        raise DataError(f"unknown weights {weights!r}; use None or 'poisson'")
    if not all_finite:
        y = np.where(finite, y, 0.0)
    n_ok = finite.sum(axis=1)
    with np.errstate(invalid="ignore"):
        spread = (np.max(np.where(finite, y, -np.inf), axis=1) - np.min(np.where(finite, y, np.inf), axis=1)
                  if not all_finite else np.ptp(y, axis=1))
        negative = (np.sum(finite & (y < 0), axis=1) if library.technique == "xps"
                    else np.zeros(y.shape[0], int))
    usable = (n_ok >= min_points) & (spread > 0)
    messages = [""] * y.shape[0]
    # one pass over the map above; words only for the spectra that need them
    for i in np.nonzero(~usable | (n_ok < y.shape[1]) | (negative > 0))[0]:
        if n_ok[i] < min_points:
            messages[i] = f"only {int(n_ok[i])} finite points in the window"
        elif not spread[i] > 0:
            messages[i] = "constant spectrum"
        elif n_ok[i] < y.shape[1]:
            messages[i] = f"{y.shape[1] - int(n_ok[i])} NaN/inf points ignored"
        if usable[i] and negative[i]:
            # counts cannot be negative: a background-subtracted or corrupted file; fit, but say so
            note = f"{int(negative[i])} negative counts (XPS counts cannot be negative)"
            messages[i] = f"{messages[i]}; {note}" if messages[i] else note
    if np.shares_memory(y, source_values):
        y = y.view()
        y.flags.writeable = False  # a view of the caller's data (no copy of a large map): never written through
    batch_coords = {name: coord.variable for name, coord in da.coords.items()
                    if set(coord.dims) <= set(batch_dims)}
    return Prepared(x=x, y=y, weights=w, usable=usable, messages=messages, axis_dim=axis_dim,
                    descending=descending, batch_dims=batch_dims, batch_shape=batch_shape,
                    batch_coords=batch_coords, original=da,
                    attrs=dict(da.attrs), window=(float(lo), float(hi)))


def shift_axis(data: xr.DataArray, shift: xr.DataArray | float) -> xr.DataArray:
    """Shift every spectrum of ``data`` by its own ``shift`` (axis units) on one common axis.

    Used for XPS charge referencing (``fit(charge_shift=...)``,
    :mod:`specfit.xps.charge`): the shift is added to the binding energy.

    The common part (median shift) moves the axis itself, exactly; only the
    step-to-step differences are resampled by linear interpolation.  Points
    shifted in from outside the measured range are NaN (the fit gives them
    zero weight).

    Parameters
    ----------
    data : xarray.DataArray
        Spectra, last dimension the binding-energy axis (either order).
    shift : xarray.DataArray or float
        Shift per step (dims = batch dims of ``data``), or one shift for all.

    Returns
    -------
    xarray.DataArray
        Same dims and batch coordinates, axis = original axis + median shift.
    """
    axis = data.dims[-1]
    shift = xr.DataArray(shift) if not isinstance(shift, xr.DataArray) else shift
    shift = shift.fillna(0.0)
    common = float(np.median(shift.values)) if shift.size else 0.0
    x = np.asarray(data[axis].values, float)
    out = data.assign_coords({axis: (axis, x + common, data[axis].attrs)})
    residual = (shift - common).broadcast_like(data.isel({axis: 0}, drop=True))
    if np.allclose(residual.values, 0.0):
        return out
    order = np.argsort(x)
    xs = x[order]

    def _resample(y: np.ndarray, delta: float) -> np.ndarray:
        # Spectrum measured at x belongs at x + delta; read it back on the grid x.
        return np.interp(xs, xs + delta, y[order], left=np.nan, right=np.nan)[np.argsort(order)]

    values = xr.apply_ufunc(_resample, data.drop_vars(axis), residual, input_core_dims=[[axis], []],
                            output_core_dims=[[axis]], vectorize=True)
    out = out.copy(data=values.transpose(*data.dims).values)
    return out
