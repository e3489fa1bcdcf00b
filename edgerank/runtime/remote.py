"""The device side of ``python -m edgerank.serve``: models from the server, events back to it.

:class:`ServerSource` is a :class:`~edgerank.runtime.sources.ModelSource` like
:class:`~edgerank.runtime.sources.FixedArtifact` and ``StoreSource``, for either runtime.
``resolve(user)`` asks the server which version the user gets (``GET
/models/NAME/resolve?user=ID``), downloads a version it does not hold yet into a local cache
(``CACHE/NAME/vN/``), checks the model's sha256 and size against the resolve answer and the
manifest's own record before the files enter the cache, and hands the runtime that folder (the
runtime verifies the bytes again before loading them). It never raises and never blocks long:

- every HTTP exchange (``http.client``: no proxies from the environment, no redirects) is done
  within ``timeout_s`` in all, connecting and reading included, and reads at most what it
  expects; after a failure the server is left alone for ``retry_s`` (requests keep being served
  from the cache meanwhile), so a device offline pays one timeout per ``retry_s``, not per request;
- whatever goes wrong (server down, an error status, a garbled answer, a download that does not
  match its checksum) the user keeps the version they had (remembered in ``CACHE/NAME/users.json``
  across restarts), else the newest complete version in the cache, else a handle to nothing,
  on which the runtime falls back exactly as it does for a missing artifact;
- an answer is reused for ``ttl_s`` seconds, so a request costs a network round trip only that
  often; :meth:`ServerSource.refresh` asks at once (an app calls it off the request path).

:class:`EventUploader` is a monitor for the runtimes (``record``/``flush``/``close``) that posts
the events to ``POST /events`` in batches with stable batch ids, so a retry after a lost answer
is stored once. Standard library only (``http.client``): nothing to install on a device, no torch.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import threading
import time
import urllib.parse
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edgerank.core.manifest import MANIFEST_FILE, MODEL_FILE
from edgerank.core.names import url_name_problem
from edgerank.monitor.events import Event
from edgerank.runtime.sources import ModelHandle
from edgerank.staging import staged_file, staged_folder

SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_ANSWER = 64 * 1024
MAX_USERS = 1000  # remembered assignments per model (a phone has one user; a test bench many)


class RemoteError(Exception):
    """One exchange with the server failed; the source answers from its cache instead."""


def _fetch(url: str, timeout_s: float, limit: int, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """``(status, body)`` of one request: connecting, sending and every read within ``timeout_s``
    in all (the socket's timeout is cut to the time left before each read), at most ``limit`` bytes."""
    deadline = time.monotonic() + timeout_s

    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RemoteError(f"{url}: not answered within {timeout_s} s")
        return remaining

    connection = None
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteError(f"{url}: not an http(s) URL")
        kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = kind(parts.hostname, parts.port, timeout=left())
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET" if data is None else "POST", target, body=data,
                           headers={"User-Agent": "edgerank-device", "Connection": "close", **(headers or {})})
        sock = connection.sock  # kept: the connection lets go of it once the answer will close
        sock.settimeout(left())
        response = connection.getresponse()
        chunks, size = [], 0
        while True:
            sock.settimeout(left())
            chunk = response.read1(65536)
            if not chunk:
                return response.status, b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise RemoteError(f"{url}: answer larger than {limit} bytes")
            chunks.append(chunk)
    except RemoteError:
        raise
    except TimeoutError:
        raise RemoteError(f"{url}: not answered within {timeout_s} s") from None
    except Exception as exc:  # noqa: BLE001 - refused, reset, not HTTP, bad port ...
        raise RemoteError(f"{url}: {type(exc).__name__}: {exc}") from None
    finally:
        if connection is not None:
            connection.close()


def _answer(raw: bytes) -> dict[str, Any]:
    """The fields of a resolve answer this client relies on, checked; RemoteError otherwise."""
    try:
        data = json.loads(raw)
        answer = {"version": int(data["version"]), "group": str(data.get("group", ""))[:128], "sha256": str(data["sha256"]),
                  "size_bytes": int(data["size_bytes"]), "model_url": str(data["model_url"]), "manifest_url": str(data["manifest_url"])}
    except (ValueError, TypeError, KeyError) as exc:
        raise RemoteError(f"resolve answer is not a resolve answer ({type(exc).__name__}: {str(exc)[:80]})") from None
    if answer["version"] < 1 or not SHA256.fullmatch(answer["sha256"]) or answer["size_bytes"] < 0:
        raise RemoteError(f"resolve answer has an invalid version, sha256 or size: {str(data)[:200]}")
    return answer


class ServerSource:
    """Versions of ``model`` from the edgerank service at ``server``, cached in ``cache_dir``."""

    def __init__(self, server: str, model: str, cache_dir: str | Path, *, timeout_s: float = 2.0, ttl_s: float = 300.0,
                 retry_s: float = 30.0, max_model_bytes: int = 64 * 2**20) -> None:
        self.server = server.rstrip("/") + "/"
        self.model = model
        self.valid_name = url_name_problem(model) is None
        self.cache = Path(cache_dir).expanduser() / (model if self.valid_name else "_invalid")
        self.timeout_s, self.ttl_s, self.retry_s, self.max_model_bytes = timeout_s, ttl_s, retry_s, max_model_bytes
        self.last_error = "" if self.valid_name else f"invalid model name {model[:80]!r}"
        self._lock = threading.Lock()
        self._asked: dict[str, float] = {}  # user -> when the server last answered for them
        self._quiet_until = 0.0  # no server contact before this (after a failure)
        self._users: dict[str, dict[str, Any]] = self._load_users()

    # -- the ModelSource protocol -------------------------------------------------------------
    def resolve(self, user_id: str | int | None) -> ModelHandle:
        user = "" if user_id is None else str(user_id)
        try:
            now = time.monotonic()
            fresh = user in self._users and now - self._asked.get(user, -float("inf")) < self.ttl_s
            if not fresh and now >= self._quiet_until and self.valid_name:
                self.refresh(user_id)
            return self._cached(user)
        except Exception as exc:  # noqa: BLE001 - a source must never raise into the runtime
            self.last_error = f"{type(exc).__name__}: {exc}"
            return ModelHandle(self.model, "unavailable", "", self.cache / "unavailable")

    def refresh(self, user_id: str | int | None = None) -> bool:
        """Ask the server now; True when the user's version is in the cache afterwards."""
        user = "" if user_id is None else str(user_id)
        query = "" if user_id is None else "?" + urllib.parse.urlencode({"user": user})
        try:
            url = urllib.parse.urljoin(self.server, f"models/{urllib.parse.quote(self.model)}/resolve{query}")
            if not self.valid_name:
                raise RemoteError(self.last_error)
            status, body = _fetch(url, self.timeout_s, MAX_ANSWER)
            if status != 200:
                raise RemoteError(f"{url}: HTTP {status} {body[:200].decode('utf-8', 'replace')}")
            answer = _answer(body)
            self._download(answer)
        except Exception as exc:  # noqa: BLE001 - RemoteError, a full disk, ...: keep the cache
            self.last_error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, RemoteError) else str(exc)
            self._quiet_until = time.monotonic() + self.retry_s
            return False
        with self._lock:
            self._users[user] = {"version": answer["version"], "group": answer["group"], "sha256": answer["sha256"]}
            self._asked[user] = time.monotonic()
            self._save_users()
        self.last_error = ""
        return True

    # -- the cache ----------------------------------------------------------------------------
    def _cached(self, user: str) -> ModelHandle:
        """The user's last version, else the newest complete one in the cache, else nothing."""
        entry = self._users.get(user)
        if entry is not None and (self.cache / f"v{entry['version']}" / MODEL_FILE).is_file():
            return ModelHandle(self.model, f"v{entry['version']}", entry["group"], self.cache / f"v{entry['version']}", entry["sha256"])
        versions = sorted((int(p.name[1:]) for p in self.cache.glob("v*") if p.name[1:].isdigit() and (p / MANIFEST_FILE).is_file()), reverse=True)
        if versions:
            return ModelHandle(self.model, f"v{versions[0]}", "cached", self.cache / f"v{versions[0]}")
        return ModelHandle(self.model, "unavailable", "", self.cache / "unavailable")

    def _download(self, answer: dict[str, Any]) -> None:
        """Make ``CACHE/vN`` hold the answered version, checked; RemoteError when it cannot."""
        final = self.cache / f"v{answer['version']}"
        model_path = final / MODEL_FILE
        if model_path.is_file() and hashlib.sha256(model_path.read_bytes()).hexdigest() == answer["sha256"]:
            return
        if answer["size_bytes"] > self.max_model_bytes:
            raise RemoteError(f"model of {answer['size_bytes']} bytes is over this device's limit of {self.max_model_bytes}")
        model_url = urllib.parse.urljoin(self.server, answer["model_url"])
        status, data = _fetch(model_url, self.timeout_s, answer["size_bytes"])
        if status != 200:
            raise RemoteError(f"{model_url}: HTTP {status}")
        digest = hashlib.sha256(data).hexdigest()
        if digest != answer["sha256"] or len(data) != answer["size_bytes"]:
            raise RemoteError(f"{model_url}: downloaded bytes have sha256 {digest[:12]}... ({len(data)} bytes), "
                              f"not the published {answer['sha256'][:12]}...; refused")
        manifest_url = urllib.parse.urljoin(self.server, answer["manifest_url"])
        status, raw = _fetch(manifest_url, self.timeout_s, 16 * 2**20)
        try:
            manifest = json.loads(raw) if status == 200 else None
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("sha256") != answer["sha256"]:
            raise RemoteError(f"{manifest_url}: HTTP {status}, not the manifest of the published model; refused")
        with staged_folder(final) as stage:  # an incomplete or damaged copy already there is replaced whole
            (stage.path / MODEL_FILE).write_bytes(data)
            (stage.path / MANIFEST_FILE).write_bytes(raw)
            stage.commit()

    def _load_users(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.cache / "users.json").read_text())
            return {str(u): {"version": int(e["version"]), "group": str(e["group"]), "sha256": str(e["sha256"])} for u, e in data.items()}
        except Exception:  # noqa: BLE001 - missing or damaged: start without remembered users
            return {}

    def _save_users(self) -> None:
        while len(self._users) > MAX_USERS:
            self._users.pop(next(iter(self._users)))
        try:
            with staged_file(self.cache / "users.json") as stage:
                stage.path.write_text(json.dumps(self._users))
                stage.commit()
        except OSError:
            pass  # a read-only cache still serves from memory


class EventUploader:
    """A runtime monitor that sends events to ``POST /events`` in batches; never raises.

    ``record`` only appends to memory (nothing on the request path touches the network);
    ``flush`` (called by the runtime's ``close``, or by the app on a timer) posts full batches of
    at most ``batch_size`` events. A batch keeps its id until the server has answered it, so a
    retry after a timeout is stored once; an answer of 4xx (the server will never take it) drops
    it, counted in ``dropped``. At most ``max_pending`` events wait; the oldest go first.
    """

    def __init__(self, server: str, *, batch_size: int = 200, timeout_s: float = 2.0, max_pending: int = 10_000) -> None:
        self.url = server.rstrip("/") + "/events"
        self.batch_size, self.timeout_s, self.max_pending = max(1, batch_size), timeout_s, max_pending
        self.device = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time: two would post, and remove, the same batch
        self._events: list[Event] = []
        self._batches: list[tuple[str, list[Event]]] = []  # cut, not yet acknowledged
        self._seq = 0
        self.sent = self.dropped = self.rejected = 0
        self.last_error = ""

    def record(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)
            if len(self._events) > self.max_pending:
                del self._events[0]
                self.dropped += 1

    def flush(self) -> bool:
        """Post what is pending; True when nothing is left waiting. A flush already under way is waited for."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> bool:
        with self._lock:
            while self._events:
                self._seq += 1
                self._batches.append((f"{self.device}-{self._seq}", self._events[: self.batch_size]))
                self._events = self._events[self.batch_size :]
            batches = list(self._batches)
        for batch_id, events in batches:
            body = json.dumps({"batch_id": batch_id, "events": [asdict(e) for e in events]}).encode()
            try:
                status, answer = _fetch(self.url, self.timeout_s, MAX_ANSWER, body, {"Content-Type": "application/json"})
            except RemoteError as exc:
                self.last_error = str(exc)
                break  # the server is away: keep this and later batches for the next flush
            if status >= 500:
                self.last_error = f"{self.url}: HTTP {status}"
                break
            with self._lock:
                self._batches.remove((batch_id, events))
            if status == 200:
                try:
                    receipt = json.loads(answer)
                    self.sent += int(receipt["accepted"])
                    self.rejected += int(receipt["rejected"])
                except Exception:  # noqa: BLE001 - acknowledged all the same
                    self.sent += len(events)
            else:
                self.dropped += len(events)
                self.last_error = f"{self.url}: HTTP {status} {answer[:200].decode('utf-8', 'replace')}"
        with self._lock:
            return not self._batches and not self._events

    def close(self) -> None:
        self.flush()
