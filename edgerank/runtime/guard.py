"""The app-side contract shared by every scenario: resolve, load once, infer, never raise.

:class:`GuardedRuntime` does for each request: resolve the user's version (rollout), load and
verify that version's artifact (once; a failure is cached too, so a corrupt file costs one hash,
not one per request), run the scenario's inference, and record the outcome to monitoring. Any
exception on that path - a missing or corrupt model, a bad input, a LiteRT error - becomes a
recorded failure and the scenario's documented fallback result. An app must keep showing
*something*: a crash in the recommendation slot is worse than an unpersonalised list.

Scenarios subclass it with ``_build`` (artifact -> model) and a public method that calls
``_serve(user_id, infer, fallback)``: :class:`~edgerank.runtime.product.ProductRuntime` ranks SKUs
with a static-list fallback; a video runtime plugs in the same way with the server order as its
fallback. One instance serves one app thread (the model cache and the interpreter are not
shared across threads).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from edgerank.monitor.events import Event, EventLog
from edgerank.runtime.artifact import VerifiedArtifact, open_artifact
from edgerank.runtime.input_check import check_scores
from edgerank.runtime.sources import ModelHandle, ModelSource

M = TypeVar("M")


@dataclass(kw_only=True)
class Ranking:
    """What the business logic gets back.

    ``source`` is ``"model"`` or ``"fallback"``; on fallback ``error`` says why and ``scores`` is
    None. ``unknown`` names the inputs whose raw value was unknown or missing (they still got a
    model result, through their block's ``unknown`` slot). ``model``, ``version``, ``group`` and
    ``latency_ms`` are filled in by the runtime that served it.
    """

    items: list[Any]
    labels: list[str] | None
    scores: list[float] | None
    source: str
    model: str = ""
    version: str = ""
    group: str = ""
    latency_ms: float = 0.0
    error: str = ""
    unknown: list[str] = field(default_factory=list)
    fields: int = 0

    @property
    def ok(self) -> bool:
        return self.source == "model"


class GuardedRuntime(Generic[M]):
    def __init__(self, source: ModelSource, monitor: EventLog | None = None, num_threads: int | None = None) -> None:
        self.source = source
        self.monitor = monitor
        self.num_threads = num_threads
        self._models: dict[tuple[str, str, str], M | Exception] = {}
        self._sha256: dict[tuple[str, str, str], str] = {}  # of each loaded model file, for monitoring

    # -- to implement -------------------------------------------------------------------------
    def _build(self, artifact: VerifiedArtifact) -> M:
        raise NotImplementedError

    # -- shared machinery ---------------------------------------------------------------------
    def model(self, handle: ModelHandle) -> M:
        """The loaded model of ``handle`` (cached), or the cached load error raised again."""
        key = (handle.model, handle.version, str(handle.path))
        if key not in self._models:
            try:
                artifact = open_artifact(handle.path, handle.expected_sha256)
                self._sha256[key] = str(artifact.manifest["sha256"])
                self._models[key] = self._build(artifact)
            except Exception as exc:  # noqa: BLE001 - cached and reported per request
                self._models[key] = exc
        cached = self._models[key]
        if isinstance(cached, Exception):
            raise cached
        return cached

    def reload(self) -> None:
        """Forget loaded models and cached load failures (after a new version was delivered)."""
        self._models.clear()
        self._sha256.clear()

    def _serve(
        self,
        user_id: Any,
        infer: Callable[[M, ModelHandle], Ranking],
        fallback: Callable[[ModelHandle | None, str], Ranking],
    ) -> Ranking:
        """Run ``infer(model, handle) -> Ranking``; on any exception ``fallback(handle, error)``."""
        start_wall, start = time.time(), time.perf_counter()
        handle: ModelHandle | None = None
        try:
            handle = self.source.resolve(user_id)
            result = infer(self.model(handle), handle)
            check_scores(result.scores)  # never a NaN score, whatever the model computed
        except Exception as exc:  # noqa: BLE001 - the documented contract: never raise into the app
            error = f"{type(exc).__name__}: {exc}"
            try:
                result = fallback(handle, error)
            except Exception as inner:  # noqa: BLE001 - even a broken fallback must not crash the app
                result = Ranking(items=[], labels=None, scores=None, source="fallback", error=f"{error}; fallback failed: {inner}")
        sha = ""
        if handle is not None:
            result.model, result.version, result.group = handle.model, handle.version, handle.group
            sha = self._sha256.get((handle.model, handle.version, str(handle.path))) or handle.expected_sha256 or ""
        result.latency_ms = (time.perf_counter() - start) * 1000.0  # what the caller waited, as recorded
        self._record(start_wall, result, sha)
        return result

    def _record(self, ts: float, result: Ranking, sha256: str) -> None:
        """Hand the event to the monitor's queue (it never blocks: see :class:`EventLog`)."""
        if self.monitor is None:
            return
        try:
            self.monitor.record(
                Event(ts, result.model or "?", result.version or "unresolved", result.group, result.ok,
                      result.latency_ms, len(result.unknown), result.fields, result.error[:500], sha256)
            )
        except Exception:  # noqa: BLE001 - monitoring must never break serving
            pass

    def close(self) -> None:
        """Write what monitoring still holds; never raises (a broken log only loses its events)."""
        if self.monitor is not None:
            try:
                self.monitor.flush()
            except Exception:  # noqa: BLE001 - see above
                pass
