"""Running the app: uvicorn in the foreground (the CLI) or in a background thread (tests, bench).

One uvicorn process (``h11`` HTTP, the asyncio loop) serves the app; SQLite work runs in
Starlette's thread pool. More throughput comes from more processes over the same store (the
app keeps no state of its own), behind any load balancer, not from anything in here.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class BackgroundServer:
    """``app`` served by uvicorn on ``host:port`` in a daemon thread; ``port=0`` picks a free one.

    ``with BackgroundServer(app) as server: server.url`` — started on entry, stopped on exit;
    :meth:`stop` can also be called early (a test stopping the service mid-run).
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        config = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 5, **config}
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **config))
        self.host = host
        self.thread = threading.Thread(target=self.server.run, name="edgerank-serve", daemon=True)
        self.port: int | None = None

    def start(self, timeout_s: float = 20.0) -> "BackgroundServer":
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.host} within {timeout_s} s")
            time.sleep(0.01)
        self.port = bound_port(self.server)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bound_port(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])
