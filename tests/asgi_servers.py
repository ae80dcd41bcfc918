"""A real uvicorn server on 127.0.0.1, in a thread, for the ASGI tests and benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def uvicorn_server(app: Any, ws: str = "websockets-sansio") -> Iterator[int]:
    """Serve ``app`` with uvicorn on 127.0.0.1, on a free port; yields the port."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, ws=ws, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(20)
