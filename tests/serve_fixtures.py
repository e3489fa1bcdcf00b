"""The cloud side on the loopback interface: a store with two versions and a running service.

Every test starts its own service (uvicorn in a thread, 127.0.0.1, an ephemeral port) over its
own store and monitoring file, and stops it when done. ``Tamper`` is an ASGI middleware placed
between the service and the device: a corrupting proxy or CDN, for the tests of what the device
does with bad answers. The ``run`` (a tiny trained product run, float and int8 artifacts) and
``cloud`` fixtures are imported by the product ``test_serve_*`` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appside_fixtures import tiny_run
from edgerank.modelstore import ModelStore, Rollout
from edgerank.serve import BackgroundServer, create_app

USER = {"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"}
STATIC = [100007, 100003, 100011, 100001, 100020, 100030, 100002]


@dataclass
class Cloud:
    store: ModelStore
    db: Path

    def rollout(self, *splits: str) -> None:
        self.store.set_rollout("product_topk", Rollout.parse(list(splits), "product_topk"))


def make_cloud(run: Any, tmp_path: Path) -> Cloud:
    """v1 = the float artifact, v2 = the int8 one; no rollout yet (everyone gets v2)."""
    store = ModelStore(tmp_path / "store")
    store.publish(run.artifact)
    store.publish(run.int8)
    return Cloud(store, tmp_path / "monitor.sqlite")


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


@pytest.fixture
def cloud(run, tmp_path):
    return make_cloud(run, tmp_path)


class Tamper:
    """Passes requests to ``app``; ``rule(path) -> None | callable(body) -> body`` rewrites answers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rule: Callable[[str], Callable[[bytes], bytes] | None] = lambda path: None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        rewrite = self.rule(scope.get("path", "")) if scope["type"] == "http" else None
        if rewrite is None:
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body = bytearray()

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                new = rewrite(bytes(body))
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(new)).encode())]})
                await send({"type": "http.response.body", "body": new})

        await self.app(scope, receive, capture)


def flip_middle_byte(body: bytes) -> bytes:
    data = bytearray(body)
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


@contextmanager
def serving(cloud: Cloud, tamper: bool = False) -> Iterator[tuple[BackgroundServer, Tamper | None]]:
    app = create_app(cloud.store.root, cloud.db)
    proxy = Tamper(app) if tamper else None
    with BackgroundServer(proxy or app) as server:
        yield server, proxy
