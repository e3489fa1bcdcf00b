"""The HTTP surface of the cloud side (a Starlette ASGI app, served by uvicorn).

    GET  /                                     dashboard (HTML): ``?model=NAME`` one model, ``?hours=H`` window (24)
    GET  /healthz                              liveness and ingestion counters (JSON)
    GET  /models                               published models, versions and rollouts (JSON)
    GET  /models/{name}                        one model's versions and rollout (JSON)
    GET  /models/{name}/resolve?user=ID        the version ``ID`` gets: sha256, size, download URLs
    GET  /models/{name}/v{version}/{file}      ``model.tflite`` / ``manifest.json``, strong ETag = sha256
    POST /events                               a device's batch of inference events (idempotent)

Resolve and downloads run on the event loop (answers from memory: the index and the verified
bytes are cached, see :mod:`edgerank.serve.catalog`); the SQLite writes of ``POST /events`` and
the dashboard's plots run in Starlette's thread pool. Reads need no secret; there are no write endpoints for models: publishing and rollouts stay on
the ``python -m edgerank.registry`` CLI, against the store. File URLs mirror the store's own
layout (``models/NAME/vN/FILE``), so a CDN or object store holding a copy of the store's
``models/`` folder can serve downloads instead (``files_url``), with the same paths.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from edgerank.core.manifest import MODEL_FILE
from edgerank.errors import EdgeRankError
from edgerank.monitor import EventLog
from edgerank.serve.catalog import Catalog, NotServed, check_name
from edgerank.serve.dashboard import model_section, page
from edgerank.serve.ingest import BadBatch, IngestStore

MAX_BODY = 1 << 20
DASHBOARD_HOURS = 24.0  # the window the dashboard shows by default (?hours=0: everything)
DASHBOARD_TTL_S = 5.0  # a page is rendered at most this often (several people watching a canary)
DASHBOARD_PAGES = 32  # rendered pages kept: every ?hours= / ?model= value is a page, and reads need no secret
MAX_USER = 256
IMMUTABLE = "public, max-age=31536000, immutable"  # a published version never changes
VERSION = re.compile(r"v([1-9][0-9]{0,8})")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in candidates or etag in candidates


def create_app(store: str | Path, monitor_db: str | Path, files_url: str = "/models") -> Starlette:
    """The service over the model store at ``store`` and the monitoring SQLite file ``monitor_db``."""
    catalog = Catalog(store)
    ingest = IngestStore(monitor_db)
    log = EventLog(monitor_db)
    files_url = files_url.rstrip("/")
    # Threads waiting for the group commit: each device's batch waits in one, and the more wait,
    # the more batches share a commit; a pool of its own, so ingestion never starves the dashboard.
    writers = anyio.CapacityLimiter(256)
    rendered: dict[tuple[str | None, float], tuple[float, str]] = {}  # the dashboard, for DASHBOARD_TTL_S
    rendered_lock = threading.Lock()  # pages are rendered in Starlette's thread pool

    def version_json(record: Any) -> dict[str, Any]:
        return {**record.summary(), "sha256": record.sha256, "manifest_sha256": record.manifest_sha256, "served": catalog.verified(record)}

    def model_json(name: str) -> dict[str, Any]:
        return {"name": name, "versions": [version_json(r) for r in catalog.records(name).values()], "rollout": catalog.rollout(name)}

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"models": [model_json(n) for n in catalog.names()]})

    async def model(request: Request) -> JSONResponse:
        return JSONResponse(model_json(request.path_params["name"]))

    async def resolve(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        user = request.query_params.get("user")
        if user is not None and not 0 < len(user) <= MAX_USER:
            raise NotServed(400, f"query parameter 'user': 1-{MAX_USER} characters")
        record, group = catalog.resolve(name, user)
        base = f"{files_url}/{record.name}/{record.label}"
        return JSONResponse(
            {"model": record.name, "version": record.version, "label": record.label, "group": group, "user": user,
             "sha256": record.sha256, "size_bytes": record.size_bytes, "manifest_sha256": record.manifest_sha256,
             "variant": record.variant, "model_url": f"{base}/{MODEL_FILE}", "manifest_url": f"{base}/manifest.json"},
            headers={"Cache-Control": "no-store"},  # per user, and changes with the rollout
        )

    async def file(request: Request) -> Response:
        match = VERSION.fullmatch(request.path_params["version"])
        if match is None:
            raise NotServed(404, f"no version {request.path_params['version'][:40]!r}; versions are v1, v2, ...")
        record = catalog.record(check_name(request.path_params["name"]), int(match.group(1)))
        verified = catalog.file(record, request.path_params["file"])
        etag = f'"{verified.sha256}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        media = "application/octet-stream" if request.path_params["file"] == MODEL_FILE else "application/json"
        return Response(verified.data, media_type=media, headers=headers)

    async def events(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return _error(413, f"a batch body is at most {MAX_BODY} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _error(413, f"a batch body is at most {MAX_BODY} bytes")
        try:
            payload = json.loads(body)
        except ValueError:
            return _error(400, "the body is not JSON; send a batch {\"batch_id\": \"...\", \"events\": [...]}")
        try:
            receipt = await anyio.to_thread.run_sync(ingest.write, payload, limiter=writers)
        except BadBatch as exc:
            return _error(exc.status, str(exc))
        return JSONResponse(receipt.to_dict())

    def healthz(request: Request) -> JSONResponse:  # reads the monitoring file: in the thread pool
        return JSONResponse({"ok": True, "models": catalog.names(), "ingestion": ingest.stats()})

    def dashboard(request: Request) -> HTMLResponse:  # plots take a while: Starlette runs it in its thread pool
        only = request.query_params.get("model")
        try:
            hours = float(request.query_params.get("hours", DASHBOARD_HOURS))
        except ValueError:
            hours = -1.0
        if not 0 <= hours <= 24 * 366:
            raise NotServed(400, "query parameter 'hours': a number of hours, 0 for all events")
        key = (only, hours)
        cached = rendered.get(key)
        if cached is not None and time.monotonic() - cached[0] < DASHBOARD_TTL_S:
            return HTMLResponse(cached[1], headers={"Cache-Control": "no-store"})
        all_events: dict[str, list] = {}
        since = time.time() - hours * 3600 if hours else None
        for event in log.events(model=check_name(only) if only else None, since=since):
            all_events.setdefault(event.model, []).append(event)
        names = [only] if only else sorted(set(catalog.names()) | set(all_events))
        sections = {}
        for name in names:
            try:
                records = list(catalog.records(name).values())
                rollout = catalog.rollout(name)
            except NotServed:
                records, rollout = [], None
            served = {r.version: catalog.verified(r) for r in records}
            sections[name] = model_section(name, all_events.get(name, []), records, served, rollout)
        html = page(sections, ingest.stats(), str(catalog.root), str(log.path), hours)
        with rendered_lock:
            rendered.pop(key, None)
            rendered[key] = (time.monotonic(), html)
            while len(rendered) > DASHBOARD_PAGES:  # the oldest rendered goes first
                del rendered[next(iter(rendered))]
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        ingest.close()

    async def not_served(request: Request, exc: Exception) -> JSONResponse:
        return _error(exc.status, str(exc))

    async def store_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(503, f"the model store cannot answer: {exc}")

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    app = Starlette(
        routes=[
            Route("/", dashboard),
            Route("/healthz", healthz),
            Route("/models", models),
            Route("/models/{name}", model),
            Route("/models/{name}/resolve", resolve),
            Route("/models/{name}/{version}/{file}", file),
            Route("/events", events, methods=["POST"]),
        ],
        exception_handlers={NotServed: not_served, EdgeRankError: store_error, sqlite3.DatabaseError: store_error,
                            HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.catalog, app.state.ingest, app.state.dashboard_pages = catalog, ingest, rendered
    return app
