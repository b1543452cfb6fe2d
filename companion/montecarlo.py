r"""Monte Carlo runner: replications x sample sizes x settings, parallel through joblib, cached on disk.

A :class:`Setting` pairs a :class:`~companion.designs.Design` with a fit: a *top-level* (picklable)
function ``fit_fn(X, y) -> coefficient vector`` or a scikit-learn-style estimator (wrapped by
:class:`EstimatorFit`, which returns ``(intercept_, coef_)`` when the estimator fits an intercept).

* **Seeds.**  Replication ``k`` at sample size ``n`` draws its data from
  :func:`~companion.designs.replication_rng` ``(design, n, k, seed)``: results are identical bit for
  bit whatever ``n_jobs``, backend or chunking, a replication does not depend on how many run, and
  settings sharing a design see the same data sets (common random numbers: paired comparisons).
* **Parallelism.**  Work is cut into chunks of ``chunk_size`` replications of one ``(setting, n)``;
  each chunk is one joblib task (so dispatch cost is amortized), run by ``joblib.Parallel``.  On a
  Dask distributed cluster: set ``COMPANION_DASK_SCHEDULER=tcp://host:8786`` (every run sends its
  chunks there, using all the cluster's workers), or use :func:`dask_backend` around a block.  The
  seeds and the cache are the same, so the results are identical to a sequential run, and chunks
  finished before a worker (or the whole cluster) is lost stay in the cache.

* **Cache.**  With ``cache_dir`` every finished chunk is written at once (atomically) to
  ``<cache_dir>/<key>.npz``, ``key`` = SHA-256 of the full configuration: design, fit identity
  (qualified name, parameters and source-code hash), ``add_intercept``, ``n``, replication range,
  seed, ``CACHE_VERSION``, the user ``salt`` and a hash of the package's fitting code
  (``package_code_hash``).  A rerun, or a run resumed after an
  interruption, computes only the missing chunks; any change of configuration is a different key.
  The stored configuration is checked on load.
* **Scale.**  ``scale="quick"`` (default; also ``COMPANION_SCALE`` in the environment) or
  ``"full"`` chooses default ``reps`` and ``ns`` (``SCALES``) when they are not given.
* **Progress.**  A tqdm bar when ``progress=True``, or with ``"auto"`` when stderr is a terminal
  (never in notebook outputs).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import joblib
import numpy as np

from .designs import Design, _key_words, canonical_config, check_count, config_hash

__all__ = ["Setting", "EstimatorFit", "MCResult", "run_experiment", "run_replications", "fit_identity",
           "SCALES", "CACHE_VERSION", "resolve_scale", "resolve_run", "default_cache_dir", "package_code_hash",
           "dask_backend"]

CACHE_VERSION = "mc-1"

#: Modules of the package that do not compute fits; the source of every other top-level module
#: (families, penalties, solver and its kernels, working sets, estimators, designs, ...) enters
#: every cache key, so a change to any of them invalidates cached fits even when the fit function
#: itself is unchanged.
_NON_FIT_MODULES = ("__init__", "book_index", "plotting", "report", "results")


def default_cache_dir() -> Path:
    """Where the book's experiments cache their chunks: ``$COMPANION_CACHE_DIR`` if set, else
    ``.mc_cache/`` at the root of the source tree (next to the ``companion`` package)."""
    env = os.environ.get("COMPANION_CACHE_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".mc_cache"


@functools.lru_cache(maxsize=1)
def package_code_hash() -> str:
    """SHA-256 (first 16 hex digits) of the source of the modules that compute the fits."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for f in sorted(here.glob("*.py")):
        if f.stem in _NON_FIT_MODULES:
            continue
        h.update(f.stem.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]
SCALES = {
    "quick": {"reps": 200, "ns": (100, 400)},
    "full": {"reps": 2000, "ns": (100, 400, 1600, 6400)},
}


def resolve_scale(scale: str | None = None) -> str:
    """``scale``, else ``$COMPANION_SCALE`` (or the older ``$COMPANION_MC_SCALE``), else ``"quick"``."""
    s = scale or os.environ.get("COMPANION_SCALE") or os.environ.get("COMPANION_MC_SCALE", "quick")
    if s not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {s!r}")
    return s


def resolve_run(scale=None, n_jobs=None, scales=None) -> tuple[str, int]:
    """``(scale, n_jobs)`` of an experiment run: ``scale`` (else ``$COMPANION_SCALE``, default
    ``"quick"``), which must be a key of ``scales`` (the experiment's own table, default
    ``SCALES``), and ``n_jobs`` (else ``$COMPANION_N_JOBS``, default 2)."""
    scales = SCALES if scales is None else scales
    scale = scale or os.environ.get("COMPANION_SCALE", "quick")
    if scale not in scales:
        raise ValueError(f"scale must be one of {sorted(scales)}, got {scale!r}")
    n_jobs = int(n_jobs if n_jobs is not None else os.environ.get("COMPANION_N_JOBS", 2))
    return scale, n_jobs


# --------------------------------------------------------------------------- fit identity
def _source_hash(obj) -> str | None:
    try:
        src = inspect.getsource(obj)
    except (OSError, TypeError):
        return None
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def _params_config(params: dict):
    out = {}
    for k, v in sorted(params.items()):
        try:
            out[k] = canonical_config(v)
            json.dumps(out[k])
        except TypeError:
            out[k] = {"__repr__": repr(v)}
    return out


def fit_identity(fit) -> dict:
    """JSON-able identity of a fit, used in cache keys: ``fit.cache_token()`` if defined; for
    ``functools.partial`` the function's identity plus its arguments; for a function its qualified
    name and source hash; for an estimator its class, ``get_params()`` and class source hash."""
    if hasattr(fit, "cache_token"):
        return {"token": canonical_config(fit.cache_token())}
    if isinstance(fit, functools.partial):
        return {"partial": fit_identity(fit.func), "args": _params_config(dict(enumerate(fit.args))),
                "kwargs": _params_config(fit.keywords)}
    if hasattr(fit, "get_params") and hasattr(fit, "fit"):
        cls = type(fit)
        return {"estimator": f"{cls.__module__}.{cls.__qualname__}", "params": _params_config(fit.get_params(deep=False)),
                "source": _source_hash(cls)}
    if inspect.isfunction(fit) or inspect.isbuiltin(fit):
        if "<lambda>" in fit.__qualname__ or "<locals>" in fit.__qualname__:
            raise ValueError("fit functions must be top-level (picklable) functions, not lambdas or closures")
        return {"function": f"{fit.__module__}.{fit.__qualname__}", "source": _source_hash(fit)}
    if callable(fit):
        cls = type(fit)
        state = getattr(fit, "__dict__", {})
        return {"callable": f"{cls.__module__}.{cls.__qualname__}", "state": _params_config(state),
                "source": _source_hash(cls)}
    raise TypeError(f"fit must be a function, an estimator or a callable, got {type(fit).__name__}")


class EstimatorFit:
    """Picklable ``fit_fn`` from a scikit-learn-style estimator: clones it, fits ``(X, y)`` and
    returns ``coef_`` (raveled), preceded by ``intercept_`` when ``include_intercept`` (default:
    the estimator's ``fit_intercept`` parameter, if it has one)."""

    def __init__(self, estimator, include_intercept: bool | None = None):
        self.estimator = estimator
        if include_intercept is None:
            include_intercept = bool(estimator.get_params().get("fit_intercept", False))
        self.include_intercept = include_intercept

    def __call__(self, X, y):
        from sklearn.base import clone
        est = clone(self.estimator).fit(X, y)
        coef = np.ravel(est.coef_)
        if self.include_intercept:
            return np.r_[np.ravel(est.intercept_), coef]
        return coef

    def cache_token(self):
        ident = fit_identity(self.estimator)
        return {"EstimatorFit": ident, "include_intercept": self.include_intercept}

    def __repr__(self):
        return f"EstimatorFit({self.estimator!r}, include_intercept={self.include_intercept})"


def _as_fit(fit):
    if hasattr(fit, "get_params") and hasattr(fit, "fit") and not callable(fit):
        return EstimatorFit(fit)
    if not callable(fit):
        raise TypeError(f"fit must be callable or an estimator, got {type(fit).__name__}")
    return fit


@dataclass(frozen=True)
class Setting:
    """One Monte Carlo setting: a design and a fit (``fit_fn(X, y) -> vector`` or an estimator).
    ``add_intercept=True`` passes ``X`` with a leading column of ones to the fit."""

    name: str
    design: Design
    fit: Any
    add_intercept: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        _check_design(self.design)
        if not isinstance(self.add_intercept, (bool, np.bool_)):
            raise TypeError(f"add_intercept must be True or False, got {self.add_intercept!r}")
        object.__setattr__(self, "fit", _as_fit(self.fit))

    def config(self) -> dict:
        return {"design": self.design.config(), "fit": fit_identity(self.fit),
                "add_intercept": bool(self.add_intercept)}


@contextlib.contextmanager
def dask_backend(address: str):
    """Run every :func:`run_experiment` inside the block on the Dask distributed cluster whose
    scheduler listens at ``address`` (e.g. ``"tcp://host:8786"``): one joblib task per chunk, the
    same seeds and the same disk cache (written by this process as chunks come back)."""
    if not isinstance(address, str) or not address:
        raise ValueError(f"address must be a scheduler address such as 'tcp://host:8786', got {address!r}")
    from distributed import Client

    with Client(address) as client, joblib.parallel_config(backend="dask"):
        yield client


# --------------------------------------------------------------------------- workers
def run_replications(design: Design, n: int, reps, fit_fn: Callable, seed: int = 0, *,
                     add_intercept: bool = False, on_error: str = "raise", return_times: bool = False):
    """Generate data and fit in a tight loop: replications ``reps`` (an int ``R`` for ``0..R-1`` or an
    iterable of replication indices) of ``design`` at sample size ``n``.

    Returns an array ``(len(reps), d)`` of fitted vectors (rows of NaN for failed fits when
    ``on_error="nan"``); with ``return_times=True`` also ``(fit_seconds, total_seconds)``.
    """
    t_start = time.perf_counter()
    _check_design(design)
    idx = _check_reps(reps)
    fit_fn = _as_fit(fit_fn)
    n = check_count(n, "n")
    seed = check_count(seed, "seed", low=0)
    _check_on_error(on_error)
    entropy = [int(seed), *_key_words(design.key()), n]   # = designs.replication_seedsequence
    SS, PCG, Gen = np.random.SeedSequence, np.random.PCG64, np.random.Generator
    rows = []
    fit_seconds = 0.0
    clock = time.perf_counter
    for k in idx:
        rng = Gen(PCG(SS(entropy, spawn_key=(k,))))
        X, y = design.sample(n, rng, add_intercept)
        t0 = clock()
        try:
            b = fit_fn(X, y)
        except Exception:
            if on_error == "raise":
                raise
            b = None
        fit_seconds += clock() - t0
        rows.append(b)
    dims = {np.size(b) for b in rows if b is not None}
    if len(dims) > 1:
        raise ValueError(f"fit returned vectors of different lengths {sorted(dims)}")
    d = dims.pop() if dims else 0
    out = np.full((len(rows), d), np.nan)
    for i, b in enumerate(rows):
        if b is not None:
            out[i] = np.ravel(np.asarray(b, float))
    if return_times:
        return out, (fit_seconds, time.perf_counter() - t_start)
    return out


_ON_ERROR = ("raise", "nan")
_DESIGN_API = ("sample", "key", "config", "theta0", "dim", "p", "beta")


def _check_design(design):
    """A :class:`~companion.designs.Design`, or any object with the same interface (``sample(n, rng,
    add_intercept)``, ``key()``, ``config()``, ``theta0``, ``dim``, ``p``, ``beta``), e.g. a design
    that resamples a data set."""
    missing = [a for a in _DESIGN_API if not hasattr(design, a)]
    if missing:
        raise TypeError(f"design must be a companion.designs.Design (or have its interface: "
                        f"{', '.join(_DESIGN_API)}); {type(design).__name__} lacks {', '.join(missing)}")


def _check_on_error(on_error):
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be one of {_ON_ERROR}, got {on_error!r}")


def _check_reps(reps) -> list[int] | range:
    """``reps``: a positive count ``R`` (replications ``0..R-1``) or a non-empty iterable of distinct
    non-negative replication indices."""
    if np.ndim(reps) == 0:
        return range(check_count(reps, "reps"))
    try:
        idx = [check_count(k, "reps entries", low=0) for k in reps]
    except TypeError as exc:
        raise TypeError(f"reps must be a positive integer or an iterable of replication indices ({exc})") from exc
    if not idx:
        raise ValueError("reps is empty; give a positive count or at least one replication index")
    if len(set(idx)) != len(idx):
        raise ValueError("reps contains repeated replication indices")
    return idx


def _chunk_task(task_id, design, n, start, stop, fit, seed, add_intercept, on_error):
    est, times = run_replications(design, n, range(start, stop), fit, seed, add_intercept=add_intercept,
                                  on_error=on_error, return_times=True)
    return task_id, est, times


def _truth_for(des: Design, d: int):
    if d == des.dim:
        return des.theta0
    if d == des.p:
        return des.beta.copy()
    if d == des.p + 1:                      # an intercept fitted on a design without one: truth 0
        return np.r_[0.0, des.beta]
    return None


# --------------------------------------------------------------------------- result
@dataclass
class MCResult:
    """Estimates ``estimates[name]`` of shape ``(len(ns), reps, d)`` per setting, with the truth
    ``truth[name]``: ``design.theta0`` if ``d`` matches it, ``beta0`` if ``d == p``, ``(0, beta0)`` if
    an intercept was fitted on a design without one, else ``None``."""

    settings: list
    ns: np.ndarray
    reps: int
    seed: int
    scale: str
    estimates: dict
    truth: dict
    designs: dict
    fit_seconds: dict
    worker_seconds: dict
    chunks_computed: int = 0
    chunks_cached: int = 0
    wall_seconds: float = 0.0
    info: dict = field(default_factory=dict)

    def errors(self, name: str) -> np.ndarray:
        """``estimate - truth``, shape ``(len(ns), reps, d)``."""
        if self.truth[name] is None:
            raise ValueError(f"no truth known for setting {name!r}")
        return self.estimates[name] - self.truth[name]

    def scaled_errors(self, name: str) -> np.ndarray:
        r""":math:`\sqrt n(\hat\theta - \theta_0)`, shape ``(len(ns), reps, d)``."""
        return np.sqrt(self.ns)[:, None, None] * self.errors(name)

    def summary(self, name: str, scaled: bool = True) -> dict:
        """Per ``n`` (rows) and coordinate: ``bias``, ``variance``, ``mse``, ``p_zero`` and ``bias_se``
        of the (root-``n`` scaled by default) errors; NaN rows (failed fits) are ignored."""
        E = self.scaled_errors(name) if scaled else self.errors(name)
        est = self.estimates[name]
        cnt = np.sum(~np.isnan(E), axis=1)
        return {"n": self.ns, "bias": np.nanmean(E, axis=1), "variance": np.nanvar(E, axis=1, ddof=1),
                "mse": np.nanmean(E ** 2, axis=1), "p_zero": np.nanmean(np.where(np.isnan(est), np.nan, est == 0), axis=1),
                "bias_se": np.nanstd(E, axis=1, ddof=1) / np.sqrt(cnt), "count": cnt}

    def to_records(self) -> np.ndarray:
        """Tidy structured array, one row per (setting, n, replication): fields ``setting``, ``n``,
        ``rep`` and ``coef`` (needs equal ``d`` across settings)."""
        ds = {self.estimates[s].shape[-1] for s in self.settings}
        if len(ds) != 1:
            raise ValueError("settings have different coefficient dimensions; use .estimates")
        d = ds.pop()
        width = max(len(s) for s in self.settings)
        dt = np.dtype([("setting", f"U{width}"), ("n", np.int64), ("rep", np.int64), ("coef", np.float64, (d,))])
        out = np.empty(len(self.settings) * len(self.ns) * self.reps, dt)
        i = 0
        for s in self.settings:
            for a, n in enumerate(self.ns):
                sl = slice(i, i + self.reps)
                out["setting"][sl] = s
                out["n"][sl] = n
                out["rep"][sl] = np.arange(self.reps)
                out["coef"][sl] = self.estimates[s][a]
                i += self.reps
        return out


# --------------------------------------------------------------------------- cache
def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.npz"


def _cache_load(path: Path, config_json: str):
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["config"]) != config_json:
                return None
            return z["est"], float(z["fit_seconds"]), float(z["worker_seconds"])
    except (OSError, KeyError, ValueError, EOFError):
        return None


def _cache_save(path: Path, config_json: str, est, fit_seconds, worker_seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, est=est, config=np.str_(config_json), fit_seconds=fit_seconds,
                     worker_seconds=worker_seconds)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _show_progress(progress) -> bool:
    if progress == "auto":
        if "ipykernel" in sys.modules:
            return False
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False
    return bool(progress)


# --------------------------------------------------------------------------- runner
def run_experiment(settings: Sequence[Setting] | Setting, ns: Sequence[int] | None = None,
                   reps: int | None = None, *, seed: int = 0, scale: str | None = None,
                   n_jobs: int | None = None, chunk_size: int = 50, cache_dir=None, salt: str = "",
                   progress="auto", on_error: str = "raise") -> MCResult:
    """Run every setting at every ``n`` for ``reps`` replications.

    ``ns`` / ``reps`` default to ``SCALES`` ``[scale]``.  ``n_jobs=None`` leaves the choice to
    joblib (1, unless inside ``joblib.parallel_config(...)``); ``n_jobs=-1`` uses every core.
    ``chunk_size`` replications form one task and one cache file.  ``salt`` is mixed into every
    cache key (bump it when code the fit calls has changed).  ``on_error="nan"`` records failed fits
    as rows of NaN instead of raising.
    """
    t_wall = time.perf_counter()
    if isinstance(settings, Setting):
        settings = [settings]
    try:
        settings = list(settings)
    except TypeError as exc:
        raise TypeError(f"settings must be a Setting or a sequence of Setting, got {type(settings).__name__}") from exc
    if not settings:
        raise ValueError("settings is empty")
    for s in settings:
        if not isinstance(s, Setting):
            raise TypeError(f"settings must contain Setting objects, got {type(s).__name__}")
    _check_on_error(on_error)
    seed = check_count(seed, "seed", low=0)
    chunk_size = check_count(chunk_size, "chunk_size")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a nonzero integer, got {n_jobs!r}")
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a string, got {type(salt).__name__}")
    names = [s.name for s in settings]
    if len(set(names)) != len(names):
        raise ValueError(f"setting names must be unique, got {names}")
    scale = resolve_scale(scale)
    if ns is None:
        ns = SCALES[scale]["ns"]
    ns = np.array([check_count(n, "ns entries") for n in np.atleast_1d(ns)], dtype=np.int64).reshape(-1)
    if ns.size == 0:
        raise ValueError("ns is empty; give at least one sample size")
    reps = check_count(SCALES[scale]["reps"] if reps is None else reps, "reps")
    cache = Path(cache_dir) if cache_dir is not None else None

    # one entry per chunk: (setting index, n index, start, stop, key, config json)
    chunks = []
    for si, s in enumerate(settings):
        scfg = s.config()
        for ni, n in enumerate(ns):
            for start in range(0, reps, chunk_size):
                stop = min(reps, start + chunk_size)
                cfg = {"setting": scfg, "n": int(n), "start": start, "stop": stop, "seed": int(seed),
                       "version": CACHE_VERSION, "salt": str(salt), "code": package_code_hash()}
                cj = json.dumps(canonical_config(cfg), sort_keys=True, separators=(",", ":"))
                chunks.append((si, ni, start, stop, config_hash(cfg), cj))

    results: dict[int, np.ndarray] = {}
    fit_sec = np.zeros((len(settings), ns.size))
    work_sec = np.zeros((len(settings), ns.size))
    pending = []
    for ci, ch in enumerate(chunks):
        hit = _cache_load(_cache_path(cache, ch[4]), ch[5]) if cache is not None else None
        if hit is None:
            pending.append(ci)
        else:
            results[ci] = hit[0]
            fit_sec[ch[0], ch[1]] += hit[1]
            work_sec[ch[0], ch[1]] += hit[2]
    n_cached = len(chunks) - len(pending)

    from tqdm.auto import tqdm
    bar = tqdm(total=len(settings) * ns.size * reps, disable=not _show_progress(progress), unit="rep",
               desc="Monte Carlo", leave=False)
    bar.update(sum(chunks[c][3] - chunks[c][2] for c in results))
    try:
        if pending:
            tasks = (joblib.delayed(_chunk_task)(ci, settings[chunks[ci][0]].design, int(ns[chunks[ci][1]]),
                                                 chunks[ci][2], chunks[ci][3], settings[chunks[ci][0]].fit,
                                                 seed, settings[chunks[ci][0]].add_intercept, on_error)
                     for ci in pending)
            address = os.environ.get("COMPANION_DASK_SCHEDULER", "").strip()
            cluster = dask_backend(address) if address else contextlib.nullcontext()
            with cluster:
                par = joblib.Parallel(n_jobs=-1 if address else n_jobs, return_as="generator_unordered")
                for ci, est, (fs, ws) in par(tasks):
                    si, ni, start, stop, key, cj = chunks[ci]
                    if cache is not None:
                        _cache_save(_cache_path(cache, key), cj, est, fs, ws)
                    results[ci] = est
                    fit_sec[si, ni] += fs
                    work_sec[si, ni] += ws
                    bar.update(stop - start)
    finally:
        bar.close()

    estimates, truth = {}, {}
    for si, s in enumerate(settings):
        parts = [[] for _ in range(ns.size)]
        for ci, ch in enumerate(chunks):
            if ch[0] == si:
                parts[ch[1]].append(results[ci])
        dims = {p.shape[1] for blocks in parts for p in blocks if p.shape[1] > 0}
        d = dims.pop() if len(dims) == 1 else (0 if not dims else None)
        if d is None:
            raise ValueError(f"setting {s.name!r}: fits returned vectors of different lengths")
        arr = np.full((ns.size, reps, d), np.nan)
        for ni, blocks in enumerate(parts):
            row = 0
            for b in blocks:
                if b.shape[1] == d:
                    arr[ni, row:row + b.shape[0]] = b
                row += b.shape[0]
        estimates[s.name] = arr
        des = s.design
        truth[s.name] = _truth_for(des, d)
    return MCResult(settings=names, ns=ns, reps=reps, seed=int(seed), scale=scale, estimates=estimates,
                    truth=truth, designs={s.name: s.design for s in settings},
                    fit_seconds={s.name: fit_sec[i] for i, s in enumerate(settings)},
                    worker_seconds={s.name: work_sec[i] for i, s in enumerate(settings)},
                    chunks_computed=len(pending), chunks_cached=n_cached,
                    wall_seconds=time.perf_counter() - t_wall)
