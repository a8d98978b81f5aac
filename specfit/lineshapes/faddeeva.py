"""The Faddeeva function ``w(z) = exp(-z^2) erfc(-iz)`` and the unit Voigt profile built on it.

Two implementations of the same mathematics:

* compiled (numba, a dependency): Weideman's rational
  approximation with ``N = 32`` terms, J. A. C. Weideman, "Computation of the
  complex error function", SIAM J. Numer. Anal. 31, 1497-1518 (1994), eq. (38-39),
  and for ``|z| >= 50`` the asymptotic (Laplace) series
  ``w = i / (sqrt(pi) z) * sum_k (2k-1)!! / (2 z^2)^k`` (Abramowitz & Stegun 7.1.23).
  Relative error below 1e-12 of ``scipy.special.wofz`` over the upper half
  plane (tested in ``tests/test_lineshapes_faddeeva.py``); about 10x faster per point, and the
  Voigt value, its ``t``- and shape derivatives come out of one pass without
  complex temporaries;
* numpy (always available): ``scipy.special.wofz`` (Poppe & Wijers / Johnson's
  Faddeeva package), used when numba is absent or broken, while the compiled
  kernel is being compiled for the first time (:func:`kernel_ready`), or with
  ``SPECFIT_NO_NUMBA=1``.

:func:`voigt_unit_all` is the lineshape kernel: the unit-area, unit-FWHM
Voigt of Lorentzian fraction ``r = fL / fV`` (Gaussian and Lorentzian widths
from the Olivero–Longbothum relation, see :mod:`specfit.lineshapes`) and its
derivatives with respect to ``t`` and ``r``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import wofz as _scipy_wofz

__all__ = ["HAVE_NUMBA", "voigt_kernel", "voigt_unit_all", "weideman_coefficients", "wofz", "wofz_weideman"]

# Olivero & Longbothum, J. Quant. Spectrosc. Radiat. Transfer 17, 233 (1977) (same constants as lineshapes)
OLIVERO_A = 0.5346
OLIVERO_B = 0.2166
SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
#: Below this Gaussian sigma (FWHM units) the Voigt is its Lorentzian limit plus the sigma^2 correction.
LORENTZ_LIMIT = 2e-3
#: ``|z|`` from which the asymptotic series replaces Weideman's approximation.
ASYMPTOTIC_RADIUS = 50.0
_SQRT_PI = float(np.sqrt(np.pi))
_INV_SQRT_PI = 1.0 / _SQRT_PI
_N_TERMS = 32


def weideman_coefficients(n: int = _N_TERMS) -> tuple[float, NDArray]:
    """Scale ``L`` and polynomial coefficients (highest power first) of Weideman's approximation.

    Weideman (1994), Table/program of section 5: ``L = sqrt(N / sqrt(2))``,
    coefficients from the FFT of ``exp(-t^2) (L^2 + t^2)`` at ``t = L tan(theta / 2)``.
    """
    m = 2 * n
    k = np.arange(-m + 1, m)
    big_l = np.sqrt(n / np.sqrt(2.0))
    t = big_l * np.tan(k * np.pi / m / 2.0)
    f = np.concatenate([[0.0], np.exp(-t * t) * (big_l * big_l + t * t)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return float(big_l), np.ascontiguousarray(a[1:n + 1][::-1])


_L, _A = weideman_coefficients()


def wofz_weideman(z: ArrayLike) -> NDArray:
    """Faddeeva function by Weideman's ``N = 32`` approximation in numpy (reference; slower than scipy's).

    Valid on the whole complex plane: the lower half plane uses
    ``w(z) = 2 exp(-z^2) - w(-z)``.
    """
    z = np.asarray(z, complex)
    lower = z.imag < 0
    zu = np.where(lower, -z, z)
    iz = 1j * zu
    d = _L - iz
    big_z = (_L + iz) / d
    p = np.full(zu.shape, _A[0], complex)
    for c in _A[1:]:
        p = p * big_z + c
    w = 2.0 * p / (d * d) + _INV_SQRT_PI / d
    far = np.abs(zu) >= ASYMPTOTIC_RADIUS
    if np.any(far):
        w = np.where(far, _asymptotic(np.where(far, zu, 1.0)), w)
    if np.any(lower):
        w = np.where(lower, 2.0 * np.exp(-z * z) - w, w)
    return w


def _asymptotic(z: NDArray) -> NDArray:
    u = 1.0 / (2.0 * z * z)
    series = 1.0 + u * (1.0 + u * (3.0 + u * (15.0 + u * (105.0 + u * 945.0))))
    return 1j * _INV_SQRT_PI / z * series


def _near_lorentz(t, g, s2, dq):
    """Unit Voigt near the Lorentzian limit and its ``t`` and ``r`` derivatives (scalars or arrays).

    ``L(t) + s2/2 L''(t)``, the Lorentzian ``L`` of half width ``g`` with the
    Gaussian variance ``s2`` as a second-order correction: the Faddeeva
    derivative cancels catastrophically below a sigma of ``LORENTZ_LIMIT`` FWHM.
    ``dq`` is ``dq/dr`` of Olivero's ``q`` (``sigma^2 = q * SIGMA_PER_FWHM^2``).
    """
    d2 = t * t + g * g
    lor_tt = g * (6.0 * t * t - 2.0 * g * g) / (np.pi * d2 ** 3)
    value = g / (np.pi * d2) + 0.5 * s2 * lor_tt
    lor_t = -2.0 * g * t / (np.pi * d2 ** 2)
    lor_ttt = 24.0 * g * t * (g * g - t * t) / (np.pi * d2 ** 4)
    lor_g = (t * t - g * g) / (np.pi * d2 ** 2)
    lor_tt_g = (6.0 * t * t - 6.0 * g * g) / (np.pi * d2 ** 3) - 6.0 * g * g * (
        6.0 * t * t - 2.0 * g * g) / (np.pi * d2 ** 4)
    d_t = lor_t + 0.5 * s2 * lor_ttt
    d_r = 0.5 * lor_g + 0.25 * s2 * lor_tt_g + 0.5 * lor_tt * (SIGMA_PER_FWHM * SIGMA_PER_FWHM) * dq
    return value, d_t, d_r


def _numba_disabled() -> bool:
    return os.environ.get("SPECFIT_NO_NUMBA", "").strip() not in ("", "0")


#: Why the numpy path runs instead of numba ("" when numba is in use).
NUMBA_MISSING = ""
try:  # compiled kernels (numba is a dependency; the numpy path is the tested fallback)
    if _numba_disabled():
        raise ImportError("disabled by SPECFIT_NO_NUMBA")
    import numba

    # the kernels are cached (compiled once per machine): numba refuses that, at definition, when no cache
    # folder is writable (a read-only install and home); probed here so that the numpy path runs instead
    numba.njit(cache=True)(_numba_disabled)
    HAVE_NUMBA = True
except Exception as exc:  # numpy fallback: numba not installed, or installed but broken
    numba = None
    HAVE_NUMBA = False
    if _numba_disabled():
        NUMBA_MISSING = "numba disabled by SPECFIT_NO_NUMBA"
    elif isinstance(exc, ModuleNotFoundError):
        NUMBA_MISSING = f"numba is not installed ({exc})"
    elif "no locator" in str(exc):
        NUMBA_MISSING = ("numba has no writable cache folder for the compiled engine (set NUMBA_CACHE_DIR to a "
                         "writable folder)")
    else:
        NUMBA_MISSING = f"numba cannot be used ({exc})"

LOG = logging.getLogger("specfit")
_SAID: set[str] = set()


def say_once(text: str) -> None:
    """Log ``text`` once per process (WARNING of logger ``specfit``: one line on stderr unless configured)."""
    if text not in _SAID:
        _SAID.add(text)
        LOG.warning("specfit: %s", text)


def numpy_path_reason(reason: str) -> None:
    """Say once why a fit runs on the numpy path (numba missing/broken, or ``reason``)."""
    say_once(f"{NUMBA_MISSING or reason}: fits run on the numpy path (same answers, several times slower)"
             + (" -- pip install numba" if NUMBA_MISSING.startswith("numba is not installed") else ""))


_READY: dict = {}  # (dispatcher, signature) -> True (compiled here) | False (being built by a build process)
_READY_LOCK = threading.Lock()
_PENDING: list = []  # (dispatcher, signature) waiting for the next build process, in order
_LOOKED: dict = {}  # (dispatcher, signature) -> when its cache was last looked at while it was being built
_BUILD: list = []  # [Popen, keys, log path] of the running build process started by this process
#: Set in a build process (it compiles in the foreground and never starts another one).
BUILD_CHILD_ENV = "SPECFIT_BUILD_CHILD"
#: A build lock older than this is taken over (a build takes 10-30 s; the pid may have been reused).
STALE_LOCK_SECONDS = 600.0


def _forget_builds_after_fork() -> None:
    """In a forked child (a multiprocessing worker): the parent's build process is not this process's
    child (it cannot be waited for here) -- forget it; the kernels it builds are found in the cache."""
    global _READY_LOCK
    _READY_LOCK = threading.Lock()  # another thread of the parent may have held it at the fork
    _POOL.clear()  # the parent's pool threads do not exist here: a new pool when first needed
    _BUILD.clear()
    _PENDING.clear()
    for key in [k for k, v in _READY.items() if v is False]:
        del _READY[key]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_builds_after_fork)


def _wait() -> bool:
    """``SPECFIT_COMPILE=wait``: compile in the foreground when nothing is cached (no numpy path meanwhile)."""
    return os.environ.get("SPECFIT_COMPILE", "").strip().lower() == "wait"


def _n_threads() -> int:
    """Threads for a batch: numba's thread count (``NUMBA_NUM_THREADS``, default the number of cores)."""
    import numba

    return max(1, int(numba.config.NUMBA_NUM_THREADS))


_POOL: list = []


def for_chunks(work, n: int, size: int | None = None) -> None:
    """Call ``work(start, stop)`` over chunks of ``range(n)`` (of ``size``, default as below).

    From the main thread the chunks run on a pool of :func:`_n_threads`
    threads (the compiled kernels release the GIL); from any other thread (a
    dask worker, already one of several) in order on that thread.  A chunk
    holds at most 256 spectra and there are about 8 per thread, so slow
    spectra do not leave a thread idle at the end.
    """
    threads = _n_threads() if threading.current_thread() is threading.main_thread() else 1
    if threads < 2 or n < 2 or (size and size >= n):
        work(0, n)
        return
    from concurrent.futures import ThreadPoolExecutor

    if not _POOL or _POOL[0][0] != threads:
        _POOL[:] = [(threads, ThreadPoolExecutor(threads, thread_name_prefix="specfit-fused"))]
    size = size or max(1, min(256, -(-n // (8 * threads))))
    for future in [_POOL[0][1].submit(work, s, min(s + size, n)) for s in range(0, n, size)]:
        future.result()


def _cached_on_disk(dispatcher, sig: tuple) -> bool:
    """Whether numba's cache holds ``dispatcher`` compiled for ``sig`` (read from the index, nothing compiled)."""
    try:
        cache = dispatcher._cache
        key = cache._index_key(sig, dispatcher.targetctx.codegen())
        return cache._cache_file._load_index().get(key) is not None
    except Exception:  # another numba's internals: treat as cached (compile or load in the foreground)
        return True


def kernel_ready(dispatcher, args: tuple, start: bool = True, now: bool = False) -> bool:
    """Whether the numba ``dispatcher`` can run ``args`` now without compiling.

    Compiled in this process: yes.  In numba's on-disk cache: loaded now
    (a fraction of a second), yes.  Neither (the first run on this machine):
    it is queued for a *build process* -- a separate, detached Python process
    that compiles it into numba's cache (:func:`build_kernels`) -- and this
    returns False until that process has finished: the caller uses the numpy
    path meanwhile, on its own core and without sharing the interpreter lock
    with numba's compiler (a compiler thread in this process slowed a first
    8-spectrum fit 6x), and the process can exit at any time: the build goes
    on and later runs load the cache.  While another process's build holds
    the lock (:func:`build_lock_path`), nothing is queued here: its kernels
    appear in the cache.  ``SPECFIT_COMPILE=wait`` compiles in the foreground
    instead.  With ``start=False`` nothing is queued: False unless compiled or
    cached; with ``now=True`` it is compiled here, now.  The whole engine
    takes about 10-20 s of one core to compile, once per machine and specfit
    version.
    """
    sig = tuple(numba.typeof(a) for a in args)
    key = (dispatcher, sig)
    if _READY.get(key):
        return True
    with _READY_LOCK:
        _poll_build()
        state = _READY.get(key)
        if state:
            return True
        if state is False and not now:  # this process's build has it: look in the cache at most once a second
            if time.monotonic() - _LOOKED.get(key, 0.0) < 1.0 or not _cached_on_disk(dispatcher, sig):
                _LOOKED[key] = time.monotonic()
                return False
        if (_cached_on_disk(dispatcher, sig) or _wait() or now or os.environ.get(BUILD_CHILD_ENV)
                or dispatcher.py_func.__module__ == "__main__"):  # a script's kernel: no other process finds it
            dispatcher.compile(sig)  # loaded from the cache, or compiled here
            _READY[key] = True
            return True
        if not start:  # not to be queued
            return False
        if not _BUILD and _lock_held():  # another process builds: its kernels will be in the cache
            return False
        _READY[key] = False
        _PENDING.append(key)
        if not _EXIT_NOTE:  # the first kernel queued in this process: one line
            say_once("compiling the fast engine for this machine in a background process (once per machine and "
                     f"version, about 10-20 s; numba's cache in {os.path.dirname(_cache_path(dispatcher))}); fits "
                     "run on the numpy path until it is ready")
        _start_build()
        return False


def _cache_path(dispatcher) -> str:
    return str(getattr(getattr(dispatcher, "_cache", None), "_cache_path", "numba's cache"))


def build_lock_path() -> str:
    """The lock file of the build process: one build at a time for everything specfit compiles into this
    cache (in the cache folder numba chose for the Voigt kernel, so where the cache is writable)."""
    return os.path.join(_cache_path(_voigt_kernel), "specfit-build.lock")


def _lock_held() -> bool:
    path = build_lock_path()
    return os.path.exists(path) and not _stale(path)


def _poll_build() -> None:
    """A finished build process: its kernels are loaded from the cache at their next use (or, if it failed,
    stay on the numpy path, said once); the next queued kernels go to a new build process."""
    if _BUILD and _BUILD[0].poll() is not None:
        proc, keys, log = _BUILD
        _BUILD.clear()
        for key in keys:
            if proc.returncode == 0 and _cached_on_disk(*key):
                _READY.pop(key, None)  # cached now: loaded where it is next asked for
            else:
                numpy_path_reason(f"the background build of {key[0].py_func.__name__} failed "
                                  f"({_last_line(log) or f'exit {proc.returncode}'})")
        try:
            os.remove(log)
        except OSError:
            pass
    if _PENDING and not _BUILD:
        _start_build()


def _last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [line.strip() for line in fh if line.strip()]
        return lines[-1][:200] if lines else ""
    except OSError:
        return ""


def _search_path() -> str:
    """This process's module search path for the build process (absolute; the current folder only if it
    is on this process's path, and only while it exists)."""
    import sys

    try:
        here = os.getcwd()
    except OSError:  # the current folder was deleted
        here = None
    entries = [os.path.abspath(p) if p else here for p in sys.path] if here else [p for p in sys.path if p]
    return os.pathsep.join(p for p in entries if p)


def _start_build() -> None:
    """Start a detached build process for the queued kernels (one at a time; more queue behind it), and a
    thread that waits for it, so the next queued kernels go to the next build at once."""
    import pickle
    import subprocess
    import sys
    import tempfile

    if _BUILD or not _PENDING:
        return
    keys = list(_PENDING)
    _PENDING.clear()
    # the build process imports this process's modules, found where this process found them (a kernel
    # defined outside an installed package included); -P: not the current folder first, which in a source
    # checkout holds another copy of specfit whose cache this process would never read
    env = dict(os.environ, **{BUILD_CHILD_ENV: "1", "SPECFIT_COMPILE": "wait", "PYTHONPATH": _search_path()})
    job = None
    try:
        fd, job = tempfile.mkstemp(prefix="specfit-build-", suffix=".pkl")
        log = job[:-4] + ".log"
        with os.fdopen(fd, "wb") as fh:
            pickle.dump({"lock": build_lock_path(), "log": log,
                         "kernels": [(d.py_func.__module__, d.py_func.__name__, sig, d.py_func.__code__.co_filename)
                                     for d, sig in keys]}, fh)
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-P", "-c", "import sys; from specfit.lineshapes.faddeeva import "
                                     "build_kernels; sys.exit(build_kernels(sys.argv[1]))", job],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    cwd=tempfile.gettempdir(),
                                    start_new_session=True)  # Ctrl-C or the end of this process leave it running
    except OSError as exc:  # no process can be started: compile here, in the foreground, when next asked
        numpy_path_reason(f"no background build process ({exc})")
        if job:
            for path in (job, job[:-4] + ".log"):
                try:
                    os.remove(path)
                except OSError:
                    pass
        os.environ["SPECFIT_COMPILE"] = "wait"
        for key in keys:
            _READY.pop(key, None)
        return
    _BUILD[:] = [proc, keys, log]
    threading.Thread(target=_watch, args=(proc,), name="specfit-build-watch", daemon=True).start()
    if not _EXIT_NOTE:
        _EXIT_NOTE.append(True)
        atexit.register(_note_at_exit)


def _watch(proc) -> None:
    """Wait for a build process (no compiling here: the interpreter lock stays free), then hand the queued
    kernels to the next one -- a long-lived process (a notebook) gets the engine as soon as it is built."""
    proc.wait()
    with _READY_LOCK:
        _poll_build()


_EXIT_NOTE: list = []


def _note_at_exit() -> None:
    """At interpreter exit: queued kernels go to a build process (it waits for the running build's lock,
    then compiles them); one line says a build goes on."""
    with _READY_LOCK:
        _poll_build()
        running = _BUILD[:]
        if _PENDING and running:
            _BUILD.clear()
            _start_build()
            running = _BUILD[:] or running
        if running:
            LOG.warning("specfit: the one-time build of the fast engine goes on in the background (process %d); "
                        "later runs start compiled", running[0].pid)


def build_kernels(job: str) -> int:
    """Entry point of a build process: compile the kernels listed in the pickled ``job`` into numba's cache.

    One build runs at a time per cache (the lock file :func:`build_lock_path`; a stale lock, of a
    process that no longer runs or older than :data:`STALE_LOCK_SECONDS`, is taken over): a second
    process's build then finds the kernels cached and ends at once.  Returns 0 when every kernel is
    compiled or cached.
    """
    import importlib
    import pickle

    with open(job, "rb") as fh:
        task = pickle.load(fh)
    os.remove(job)
    lock = task["lock"]
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            break
        except FileExistsError:
            if _stale(lock):
                try:
                    os.remove(lock)
                except OSError:
                    pass
                continue
            time.sleep(0.5)
    try:
        status = 0
        for module, name, sig, source in task["kernels"]:
            try:
                dispatcher = getattr(importlib.import_module(module), name)
                found = dispatcher.py_func.__code__.co_filename
                if os.path.realpath(found) != os.path.realpath(source):  # its cache would not be the parent's
                    raise ImportError(f"the build process found {found}, the fitting process uses {source}")
                dispatcher.compile(sig)
            except Exception as exc:  # reported by the parent from the log's last line
                print(f"{module}.{name}: {type(exc).__name__}: {exc}".replace("\n", " "), flush=True)
                status = 1
        if status == 0 and task.get("log"):  # nothing to report (a failure's log is read by the parent)
            try:
                os.remove(task["log"])
            except OSError:
                pass
        return status
    finally:
        try:
            os.remove(lock)
        except OSError:
            pass


def _stale(lock: str) -> bool:
    """A lock of a process that no longer runs, or older than :data:`STALE_LOCK_SECONDS`."""
    try:
        with open(lock, encoding="ascii") as fh:
            pid = int(fh.read().strip() or 0)
        if time.time() - os.path.getmtime(lock) > STALE_LOCK_SECONDS or pid <= 0:
            return True
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False  # unreadable (being written) or another user's process: wait


def voigt_ready() -> bool:
    """Whether the compiled Voigt kernel runs now.  If not, it is queued first for the build process: it
    takes about 2 s there, and the numpy path uses it from the moment it is ready, long before the whole
    engine is (compiled here instead, it held a first 2 000-spectrum fit up by those 2 s: 4.0 s against 3.4 s)."""
    if not HAVE_NUMBA:
        return False
    z = np.zeros(1)
    return kernel_ready(_voigt_kernel, (z, z, z, z, z, True))


#: Compiled ``(t, r, value, d_t, d_r, derivatives) -> None`` on 1-D arrays (numba only, else ``None``):
#: the kernel behind :func:`voigt_unit_all`, callable from other compiled code.
voigt_kernel = None


if HAVE_NUMBA:
    _near_lorentz_c = numba.njit(cache=True)(_near_lorentz)
    _A_ARRAY = _A.copy()
    # points per block: the Horner recursion is latency-bound point by point, so a block's points run as
    # independent chains in SIMD lanes; 128 keeps enough of them in flight (Voigt kernel, 321 points:
    # 19.4 ns/point at 32, 14.5 at 128, with the branch-free loops below)
    _BLOCK = 128
    _SQRT2 = float(np.sqrt(2.0))

    @numba.njit(cache=True, fastmath={"contract", "arcp", "reassoc"})  # not nnan/ninf: NaN must propagate
    def _weideman_block(zr, zi, m, wr, wi, s_zr, s_zi, s_ir, s_ii):  # pragma: no cover - compiled
        """``w`` of ``zr[:m] + i zi[:m]`` (upper half plane) into ``wr, wi``; ``s_*`` are scratch arrays."""
        for j in range(m):
            # d = L - i z = (L + y) - i x ;  n = L + i z = (L - y) + i x ;  Z = n / d
            dr = _L + zi[j]
            di = -zr[j]
            nr = _L - zi[j]
            ni = zr[j]
            inv = 1.0 / (dr * dr + di * di)
            s_zr[j] = (nr * dr + ni * di) * inv
            s_zi[j] = (ni * dr - nr * di) * inv
            s_ir[j] = dr * inv
            s_ii[j] = -di * inv
            wr[j] = _A_ARRAY[0]
            wi[j] = 0.0
        for k in range(1, _N_TERMS):
            a = _A_ARRAY[k]
            for j in range(m):
                pr = wr[j] * s_zr[j] - wi[j] * s_zi[j] + a
                wi[j] = wr[j] * s_zi[j] + wi[j] * s_zr[j]
                wr[j] = pr
        far = 0
        for j in range(m):  # branch-free (vectorised); the rare far points are redone below
            ir = s_ir[j]
            ii = s_ii[j]
            i2r = ir * ir - ii * ii
            i2i = 2.0 * ir * ii
            pr = wr[j]
            pi = wi[j]
            wr[j] = 2.0 * (pr * i2r - pi * i2i) + _INV_SQRT_PI * ir
            wi[j] = 2.0 * (pr * i2i + pi * i2r) + _INV_SQRT_PI * ii
            far += zr[j] * zr[j] + zi[j] * zi[j] >= ASYMPTOTIC_RADIUS * ASYMPTOTIC_RADIUS
        if far == 0:
            return
        for j in range(m):
            x = zr[j]
            y = zi[j]
            if x * x + y * y >= ASYMPTOTIC_RADIUS * ASYMPTOTIC_RADIUS:
                z = complex(x, y)
                u = 1.0 / (2.0 * z * z)
                w = 1j * _INV_SQRT_PI / z * (1.0 + u * (1.0 + u * (3.0 + u * (15.0 + u * (105.0 + u * 945.0)))))
                wr[j] = w.real
                wi[j] = w.imag

    @numba.njit(cache=True)
    def _wofz_kernel(z, out):  # pragma: no cover - compiled
        b = _BLOCK
        zr = np.empty(b)
        zi = np.empty(b)
        wr = np.empty(b)
        wi = np.empty(b)
        s1, s2, s3, s4 = np.empty(b), np.empty(b), np.empty(b), np.empty(b)
        for start in range(0, z.size, b):
            m = min(b, z.size - start)
            for j in range(m):
                zj = z[start + j]
                sign = 1.0 if zj.imag >= 0 else -1.0  # lower half plane: w(z) = 2 exp(-z^2) - w(-z)
                zr[j] = sign * zj.real
                zi[j] = sign * zj.imag
            _weideman_block(zr, zi, m, wr, wi, s1, s2, s3, s4)
            for j in range(m):
                zj = z[start + j]
                if zj.imag >= 0:
                    out[start + j] = complex(wr[j], wi[j])
                else:
                    out[start + j] = 2.0 * np.exp(-zj * zj) - complex(wr[j], wi[j])

    @numba.njit(cache=True, nogil=True)  # nogil: voigt_unit_all splits large arrays over threads
    def _voigt_kernel(t, r, value, d_t, d_r, derivatives):  # pragma: no cover - compiled
        b = _BLOCK
        c2 = SIGMA_PER_FWHM * SIGMA_PER_FWHM
        zr, zi, wr, wi = np.empty(b), np.empty(b), np.empty(b), np.empty(b)
        s1, s2, s3, s4 = np.empty(b), np.empty(b), np.empty(b), np.empty(b)
        scale, sig_true, dqs = np.empty(b), np.empty(b), np.empty(b)
        for start in range(0, t.size, b):
            m = min(b, t.size - start)
            # every loop over a block is branch-free, so that it runs in SIMD lanes; the points near the
            # Lorentzian limit or far out (|z| >= ASYMPTOTIC_RADIUS) are redone one by one after them
            for j in range(m):
                ri = min(max(r[start + j], 0.0), 1.0)
                q = (1.0 - OLIVERO_A * ri) ** 2 - OLIVERO_B * ri * ri
                dqs[j] = -2.0 * OLIVERO_A * (1.0 - OLIVERO_A * ri) - 2.0 * OLIVERO_B * ri
                st = np.sqrt(max(q, 0.0)) * SIGMA_PER_FWHM
                sig_true[j] = st
                sc = 1.0 / (max(st, LORENTZ_LIMIT) * _SQRT2)
                scale[j] = sc
                zr[j] = t[start + j] * sc
                zi[j] = 0.5 * ri * sc
            _weideman_block(zr, zi, m, wr, wi, s1, s2, s3, s4)
            if derivatives:
                for j in range(m):
                    i = start + j
                    sc = scale[j]
                    norm = sc * _INV_SQRT_PI
                    v = wr[j] * norm
                    value[i] = v
                    x_ = zr[j]
                    y_ = zi[j]
                    dwr = -2.0 * (x_ * wr[j] - y_ * wi[j])  # dw/dz = -2 z w + 2i / sqrt(pi)
                    dwi = -2.0 * (x_ * wi[j] + y_ * wr[j]) + 2.0 * _INV_SQRT_PI
                    sn = sc * norm
                    inv_sigma = 1.0 / max(sig_true[j], LORENTZ_LIMIT)  # as 1 / sigma, not sc * sqrt(2): one rounding
                    d_t[i] = dwr * sn
                    d_gamma = -dwi * sn
                    d_sigma = -(dwr * x_ - dwi * y_) * inv_sigma * norm - v * inv_sigma
                    d_r[i] = d_sigma * c2 * dqs[j] * 0.5 * inv_sigma + 0.5 * d_gamma
            else:
                for j in range(m):
                    value[start + j] = wr[j] * (scale[j] * _INV_SQRT_PI)
            special = 0
            for j in range(m):
                special += ((zr[j] * zr[j] + zi[j] * zi[j] >= ASYMPTOTIC_RADIUS * ASYMPTOTIC_RADIUS)
                            | (sig_true[j] < LORENTZ_LIMIT))
            if special == 0:
                continue
            for j in range(m):
                i = start + j
                x_ = zr[j]
                y_ = zi[j]
                if sig_true[j] < LORENTZ_LIMIT:
                    gam = 0.5 * min(max(r[i], 0.0), 1.0)
                    v, dv_t, dv_r = _near_lorentz_c(t[i], max(gam, 1e-12), sig_true[j] * sig_true[j], dqs[j])
                    value[i] = v
                    if derivatives:
                        d_t[i] = dv_t
                        d_r[i] = dv_r
                elif derivatives and x_ * x_ + y_ * y_ >= ASYMPTOTIC_RADIUS * ASYMPTOTIC_RADIUS:
                    z = complex(x_, y_)
                    u = 1.0 / (z * z)  # -2 z w + 2i/sqrt(pi) cancels out here: use the series
                    dw = -1j * _INV_SQRT_PI * u * (1.0 + u * (1.5 + u * (3.75 + u * (13.125 + u * 59.0625))))
                    sc = scale[j]
                    norm = sc * _INV_SQRT_PI
                    sn = sc * norm
                    inv_sigma = 1.0 / max(sig_true[j], LORENTZ_LIMIT)  # as 1 / sigma, not sc * sqrt(2): one rounding
                    v = value[i]
                    d_t[i] = dw.real * sn
                    d_gamma = -dw.imag * sn
                    d_sigma = -(dw.real * x_ - dw.imag * y_) * inv_sigma * norm - v * inv_sigma
                    d_r[i] = d_sigma * c2 * dqs[j] * 0.5 * inv_sigma + 0.5 * d_gamma

    voigt_kernel = _voigt_kernel


def wofz(z: ArrayLike) -> NDArray:
    """Faddeeva function ``w(z)`` of a complex array (compiled Weideman-32 when numba is present).

    Parameters
    ----------
    z : array_like of complex

    Returns
    -------
    ndarray of complex, same shape as ``z``.
    """
    z = np.asarray(z, complex)
    if not HAVE_NUMBA:
        return _scipy_wofz(z)
    flat = np.ascontiguousarray(z).ravel()
    out = np.empty_like(flat)
    _wofz_kernel(flat, out)
    return out.reshape(z.shape)


def _voigt_numpy(t: NDArray, r: NDArray, derivatives: bool) -> tuple[NDArray, NDArray | None, NDArray | None]:
    """numpy path of :func:`voigt_unit_all` (scipy's ``wofz``); the Lorentzian limit only where it applies."""
    q = (1.0 - OLIVERO_A * r) ** 2 - OLIVERO_B * r**2
    dq = -2.0 * OLIVERO_A * (1.0 - OLIVERO_A * r) - 2.0 * OLIVERO_B * r
    sigma_true = np.sqrt(np.maximum(q, 0.0)) * SIGMA_PER_FWHM
    gamma = 0.5 * r
    sigma = np.maximum(sigma_true, LORENTZ_LIMIT)
    scale = 1.0 / (sigma * np.sqrt(2.0))
    z = (t + 1j * gamma) * scale
    w = _scipy_wofz(z)
    norm = scale * _INV_SQRT_PI
    value = w.real * norm
    d_t = d_r = None
    if derivatives:
        dw = -2.0 * z * w + 2j * _INV_SQRT_PI
        far = np.abs(z) >= ASYMPTOTIC_RADIUS  # the line above cancels out there: use the series
        if np.any(far):
            u = 1.0 / (z[far] ** 2)
            dw[far] = -1j * _INV_SQRT_PI * u * (1.0 + u * (1.5 + u * (3.75 + u * (13.125 + u * 59.0625))))
        d_t = (dw * scale).real * norm
        d_gamma = -(dw.imag * scale) * norm
        d_sigma = (dw * (-z / sigma)).real * norm - value / sigma
        d_r = d_sigma * SIGMA_PER_FWHM**2 * dq / (2.0 * sigma) + 0.5 * d_gamma
    near = np.broadcast_to(sigma_true < LORENTZ_LIMIT, value.shape)
    if np.any(near):
        tn = np.broadcast_to(t, value.shape)[near]
        g = np.maximum(np.broadcast_to(gamma, value.shape)[near], 1e-12)
        s2 = np.broadcast_to(sigma_true, value.shape)[near] ** 2
        v, dv_t, dv_r = _near_lorentz(tn, g, s2, np.broadcast_to(dq, value.shape)[near])
        value[near] = v
        if derivatives:
            d_t[near] = dv_t
            d_r[near] = dv_r
    return value, d_t, d_r


def voigt_unit_all(t: ArrayLike, r: ArrayLike, derivatives: bool = True,
                   *, compiled: bool | None = None) -> tuple[NDArray, NDArray | None, NDArray | None]:
    """Unit Voigt profile ``g(t, r)``, ``dg/dt`` and ``dg/dr`` in one pass.

    Parameters
    ----------
    t : array_like
        Reduced coordinate ``(x - center) / fwhm``.
    r : array_like
        Lorentzian fraction ``fL / fV`` (clipped to [0, 1]); broadcasts with ``t``.
    derivatives : bool
        Also return ``dg/dt`` and ``dg/dr`` (else ``None``).
    compiled : bool, optional
        Force the numba (True) or numpy (False) path; default: numba when installed.

    Returns
    -------
    value, d_t, d_r : ndarray
        Arrays of the broadcast shape of ``t`` and ``r`` (unit area, unit FWHM).
        Below a Gaussian sigma of ``LORENTZ_LIMIT`` FWHM the Lorentzian limit
        with its ``sigma^2`` correction is used (the Faddeeva derivative
        cancels catastrophically there).
    """
    t = np.asarray(t, float)
    r = np.clip(np.asarray(r, float), 0.0, 1.0)
    use_numba = HAVE_NUMBA if compiled is None else compiled
    if use_numba and not HAVE_NUMBA:
        raise ImportError(f"{NUMBA_MISSING} (pip install numba)")
    if not use_numba:
        return _voigt_numpy(t, r, derivatives)
    shape = np.broadcast_shapes(t.shape, r.shape)
    # writable C arrays whatever the input: one compiled signature (numba types read-only arrays apart)
    tf = np.require(np.broadcast_to(t, shape).ravel(), float, ["C", "W"])
    rf = np.require(np.broadcast_to(r, shape).ravel(), float, ["C", "W"])
    value = np.empty(tf.size)
    d_t = np.empty(tf.size) if derivatives else value
    d_r = np.empty(tf.size) if derivatives else value
    args = (tf, rf, value, d_t, d_r, bool(derivatives))
    if compiled is None and not kernel_ready(_voigt_kernel, args):  # compiling: numpy path meanwhile
        return _voigt_numpy(t, r, derivatives)

    def work(s, e):
        _voigt_kernel(tf[s:e], rf[s:e], value[s:e], d_t[s:e], d_r[s:e], args[5])

    for_chunks(work, tf.size, size=max(1 << 15, -(-tf.size // (2 * _n_threads()))))
    if not derivatives:
        return value.reshape(shape), None, None
    return value.reshape(shape), d_t.reshape(shape), d_r.reshape(shape)
