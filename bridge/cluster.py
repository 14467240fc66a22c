"""Ray, behind one module: a session, pipeline work run as Ray tasks, a model actor.

The only module that imports ``ray`` (lazily; it is the optional ``.[cluster]`` extra).

- :func:`ray_session` starts a local Ray (and stops it afterwards) or joins a cluster at an
  address; a Ray already initialised in this process is used as it is and left running.
- :func:`run_on_ray` runs one job's work function ``(progress, cancel, workdir) -> dict``
  (the same functions the bridge's :class:`~bridge.jobs.JobManager` runs in-process) as one
  Ray task. The task is a streaming generator: the work runs in a thread of the worker and
  the generator yields its progress (throttled), then its result or its error. A worker
  lost mid-task is retried by Ray (``max_retries``); Ray keeps the events already
  delivered and skips them when the retry yields them again. The bridge's staging folders
  make a retry safe: the lost attempt never committed, and its staging folder belongs to a
  dead process, which the next result in that folder removes. Cancelling the
  :class:`~bridge.progress.CancelToken` cancels the Ray task; Ray interrupts the worker,
  which sets the work's own token so the pipeline stops and removes what it was writing.
- :class:`ModelPool` keeps a model in a Ray actor (one per GPU, ``num_gpus``) so many tasks
  share one load instead of each loading weights.

Paths travel as they are: on a cluster, timelines, media and output folders must be at the
same path on every node (a shared volume), as for a bridge shared over the network.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bridge.errors import BackendUnavailableError, BridgeError, CancelledError
from bridge.progress import CancelToken, ProgressFn

WorkFn = Callable[[ProgressFn, CancelToken, Path], dict[str, Any]]

DEFAULT_RETRIES = 3  # a lost worker (killed, OOM, node gone) is retried this many times
WORKER_STAGE = "worker"  # the first event of every attempt: where it runs
_PROGRESS_EVERY_S = 0.25  # at most this often per task, besides each stage's start and end
_CANCEL_POLL_S = 0.2


class ClusterError(BridgeError):
    """Ray is missing, cannot start, or the cluster at the given address cannot be reached."""


class WorkerLostError(BridgeError):
    """The worker running a task died more often than the task may be retried."""


def _ray():
    try:
        import ray
    except ImportError as err:
        raise ClusterError(
            "Ray is not installed; install the cluster extra: pip install 'scorebridge[cluster]'",
            field="ray") from err
    return ray


def ray_available() -> str | None:
    """None when Ray can be imported, else why not (for `backends` and `doctor`)."""
    try:
        _ray()
    except ClusterError as err:
        return err.message
    return None


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                num_gpus: int | None = None) -> Iterator[dict[str, float]]:
    """Ray for the length of the block; yields the cluster's resources (CPU, GPU ...).

    ``address`` None starts a local Ray with ``num_cpus`` (default: this machine's) and
    stops it afterwards; an address (``ray://host:10001``, ``host:6379`` or ``auto``)
    joins that cluster and only disconnects. A Ray this process already initialised is
    used as it is and left running (tests start one per module).
    """
    ray = _ray()
    if ray.is_initialized():
        yield dict(ray.cluster_resources())
        return
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address:
        kwargs["address"] = address
    else:
        kwargs.update(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False)
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as err:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ClusterError(f"cannot start or reach {where}: {first}", field="ray") from err
    try:
        yield dict(ray.cluster_resources())
    finally:
        ray.shutdown()


# ---------------------------------------------------------------- work as Ray tasks


def _work_events(work: WorkFn, workdir: str) -> Iterator[tuple]:
    """The body of the Ray task (a streaming generator); see the module docstring.

    Yields ``("worker", host, pid)`` first, then ``("progress", stage, fraction, message)``
    and finally ``("result", dict)`` or ``("error", exception)``.
    """
    events: queue.Queue = queue.Queue()
    token = CancelToken()
    outcome: dict[str, Any] = {}

    def progress(stage: str, fraction: float, message: str = "") -> None:
        events.put((stage, float(fraction), message))

    def run() -> None:
        try:
            outcome["result"] = work(progress, token, Path(workdir))
        except BaseException as exc:  # reported to the driver, which raises it there
            outcome["error"] = exc
        finally:
            events.put(None)

    thread = threading.Thread(target=run, name="scorebridge-work", daemon=True)
    yield (WORKER_STAGE, socket.gethostname(), os.getpid())
    thread.start()
    try:
        last_sent = 0.0
        while True:
            try:
                # A timeout, so Ray's cancellation (an interrupt of this thread) gets in.
                item = events.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                break
            stage, fraction, message = item
            now = time.monotonic()
            if fraction in (0.0, 1.0) or now - last_sent >= _PROGRESS_EVERY_S:
                last_sent = now
                yield ("progress", stage, fraction, message)
    except BaseException:
        # Cancelled by Ray (KeyboardInterrupt here): stop the work the pipeline's way, so it
        # removes its staging folder before this task ends.
        token.cancel()
        thread.join()
        raise
    thread.join()
    if "error" in outcome:
        yield ("error", outcome["error"])
    else:
        yield ("result", outcome["result"])


_remote_cache: dict[str, Any] = {}


def _remote_work():
    if "work" not in _remote_cache:
        ray = _ray()
        _remote_cache["work"] = ray.remote(num_returns="streaming")(_work_events)
    return _remote_cache["work"]


def run_on_ray(work: WorkFn, progress: ProgressFn, cancel: CancelToken, workdir: Path, *,
               max_retries: int = DEFAULT_RETRIES, num_cpus: float = 1,
               on_worker: Callable[[str, int], None] | None = None) -> dict[str, Any]:
    """Run ``work`` as one Ray task and return its result; the signature of an in-process run.

    Progress arrives as the task yields it; ``on_worker(host, pid)`` hears where the task
    runs (each attempt that gets that far). A cancel of ``cancel`` cancels the task and
    raises CancelledError; a BridgeError of the work is raised here as it was raised there;
    a worker lost more than ``max_retries`` times raises WorkerLostError.
    """
    ray = _ray()
    from ray import exceptions as rx

    cancel.raise_if_cancelled()
    task = _remote_work().options(max_retries=max_retries, num_cpus=num_cpus,
                                  name="scorebridge-job").remote(work, str(workdir))
    done = threading.Event()

    def watch_cancel() -> None:
        while not done.wait(_CANCEL_POLL_S):
            if cancel.cancelled:
                ray.cancel(task)
                return

    watcher = threading.Thread(target=watch_cancel, name="ray-cancel-watch", daemon=True)
    watcher.start()
    try:
        for ref in task:
            kind, *rest = ray.get(ref)
            if kind == WORKER_STAGE:
                host, pid = rest
                progress(WORKER_STAGE, 0.0, f"running on {host} (pid {pid})")
                if on_worker is not None:
                    on_worker(host, pid)
            elif kind == "progress":
                progress(*rest)
            elif kind == "error":
                raise rest[0]
            elif kind == "result":
                return rest[0]
    except rx.TaskCancelledError as err:
        raise CancelledError("cancelled") from err
    except (rx.WorkerCrashedError, rx.NodeDiedError, rx.OwnerDiedError) as err:
        if cancel.cancelled:
            raise CancelledError("cancelled") from err
        raise WorkerLostError(f"the worker running it was lost {max_retries + 1} times "
                              "(killed, out of memory, or its node left)") from err
    except rx.RayTaskError as err:
        if cancel.cancelled:
            raise CancelledError("cancelled") from err
        raise WorkerLostError(f"the Ray task failed: {type(err.cause).__name__}: {err.cause}"
                              ) from err
    finally:
        done.set()
    if cancel.cancelled:
        raise CancelledError("cancelled")
    raise WorkerLostError("the Ray task ended without a result")


class RayRunner:
    """The JobManager's runner for ``serve --ray``: each job's work becomes one Ray task."""

    def __init__(self, *, max_retries: int = DEFAULT_RETRIES) -> None:
        self.max_retries = max_retries

    def __call__(self, work: WorkFn, progress: ProgressFn, cancel: CancelToken,
                 workdir: Path) -> dict[str, Any]:
        return run_on_ray(work, progress, cancel, workdir, max_retries=self.max_retries)


# ---------------------------------------------------------------- shared models


class _ModelHost:
    """Inside the actor: builds the model once, then answers calls on it one at a time."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self.model = build()
        self.loads = 1
        self.calls = 0

    def call(self, method: str, args: tuple, kwargs: dict) -> Any:
        self.calls += 1
        return getattr(self.model, method)(*args, **kwargs)

    def stream(self, method: str, args: tuple, kwargs: dict) -> Iterator[Any]:
        self.calls += 1
        yield from getattr(self.model, method)(*args, **kwargs)

    def stats(self) -> dict[str, int]:
        return {"loads": self.loads, "calls": self.calls, "pid": os.getpid()}


class ModelPool:
    """One model in a named Ray actor that every task of the cluster can reach.

    ``build`` (picklable: a module-level callable or a ``functools.partial`` of one) loads
    the model inside the actor, once. Tasks call :meth:`call` (or :meth:`stream` for a
    method that yields, e.g. windows of audio as they are generated) with a method name of
    the model and its arguments; the actor serves one call at a time, so a GPU holds one
    copy of the weights however many tasks ask. ``num_gpus=1`` pins the actor to a GPU of
    its own; on a CPU-only cluster pass 0. A task finds the pool by ``name`` with
    :meth:`attach`.
    """

    def __init__(self, name: str, build: Callable[[], Any], *, num_gpus: float = 0,
                 num_cpus: float = 0) -> None:
        ray = _ray()
        self.name = name
        actor_class = ray.remote(_ModelHost)
        self._actor = actor_class.options(name=name, num_gpus=num_gpus, num_cpus=num_cpus,
                                          get_if_exists=True).remote(build)

    @classmethod
    def attach(cls, name: str) -> ModelPool:
        """The pool named ``name`` (created by the driver), from inside any task."""
        ray = _ray()
        pool = cls.__new__(cls)
        pool.name = name
        try:
            pool._actor = ray.get_actor(name)
        except ValueError as err:
            raise BackendUnavailableError(f"no model pool named {name!r} on this cluster",
                                          field="music_backend") from err
        return pool

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        ray = _ray()
        return ray.get(self._actor.call.remote(method, args, kwargs))

    def stream(self, method: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        ray = _ray()
        refs = self._actor.stream.options(num_returns="streaming").remote(method, args, kwargs)
        for ref in refs:
            yield ray.get(ref)

    def stats(self) -> dict[str, int]:
        """How often the model was loaded (1 for the pool's life) and called, and where."""
        ray = _ray()
        return ray.get(self._actor.stats.remote())

    def close(self) -> None:
        ray = _ray()
        ray.kill(self._actor)


class MusicgenWindows:
    """The musicgen backend's model as a pool serves it: loaded once, windows on request.

    Loads with the backend's own ``load_model`` (same model, adapter, device and dtype
    options) when the actor starts; this module imports neither torch nor transformers.
    ``windows`` yields each window's new audio (mono, the model's rate) in order, exactly
    as the in-process backend generates them for the same settings and seed.
    """

    def __init__(self, model: str, *, device: str = "auto", dtype: str | None = None,
                 adapter: str | None = None, plan_guided: bool = False) -> None:
        from bridge.music.musicgen import load_model

        self.bundle, self.adapter = load_model(model, device=device, dtype=dtype,
                                               adapter=Path(adapter) if adapter else None,
                                               plan_guided=plan_guided)

    def sampling_rate(self) -> int:
        return self.bundle.sampling_rate

    def windows(self, *, text: str, duration_s: float, valence=None, arousal=None,
                hop_s: float = 1.0, settings=None, melody_audio=None) -> Iterator[Any]:
        from bridge.render.musicgen.generate import GenerationSettings, generate_long

        for result in generate_long(self.bundle, text=text, duration_s=duration_s,
                                    valence=valence, arousal=arousal, hop_s=hop_s,
                                    adapter=self.adapter if valence is not None else None,
                                    settings=settings or GenerationSettings(),
                                    melody_audio=melody_audio):
            yield result.audio


class PooledWindows:
    """What the musicgen backend draws windows from inside a task: a pool, by name."""

    def __init__(self, pool_name: str) -> None:
        self.pool = ModelPool.attach(pool_name)

    def describe(self) -> str:
        return f"Ray model pool {self.pool.name}"

    def sampling_rate(self) -> int:
        return self.pool.call("sampling_rate")

    def windows(self, **kwargs: Any) -> Iterator[Any]:
        return self.pool.stream("windows", **kwargs)


def musicgen_pools(options: dict[str, Any], resources: dict[str, float], *,
                   prefix: str = "scorebridge-musicgen") -> list[ModelPool]:
    """One musicgen pool per GPU of the cluster (one on the CPUs when it has none).

    ``options`` are the musicgen backend's parsed options (model, adapter, device, dtype,
    plan_guided); the pools load that model, each once.
    """
    import functools
    import uuid

    gpus = int(resources.get("GPU", 0))
    build = functools.partial(MusicgenWindows, options.get("model"),
                              device=options.get("device", "auto"), dtype=options.get("dtype"),
                              adapter=str(options["adapter"]) if options.get("adapter") else None,
                              plan_guided=bool(options.get("plan_guided", False)))
    tag = uuid.uuid4().hex[:8]
    return [ModelPool(f"{prefix}-{tag}-{i}", build, num_gpus=1 if gpus else 0)
            for i in range(max(1, gpus))]
