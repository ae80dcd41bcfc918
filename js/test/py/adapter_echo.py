"""Python's side of adapters.test.mjs: an echo example of ours on 127.0.0.1.

    python adapter_echo.py fastapi   examples/fastapi_echo.py under uvicorn
    python adapter_echo.py aiohttp   examples/aiohttp_echo.py on aiohttp's runner

Either listens on a free port and prints one JSON line, ``{"event":
"listening", "port", "fingerprint", "codecs"}``, then serves until killed.
The example's ``PIPE`` is rebuilt on the built-in codecs first: the venv may
hold third-party ones (auracodec-lz4) that the JavaScript client does not
have, and the example would offer them. Its policy is ``smallest``: the
``cost`` policy's choice hangs on CPU timings, and the test's check that the
echoes share one session context (the same echo costs less the second time)
must not.
"""

import asyncio
import importlib.util
import json
import sys
from pathlib import Path

from auracodec import Pipeline
from auracodec.core.config import Config

BUILTIN = ["binary_semantic", "brio", "brotli", "identity", "zstd"]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = Config.from_mapping({"selector": {"policy": "smallest"}})
    module.PIPE = Pipeline.from_config(config, codecs=BUILTIN)
    return module


def listening(port, pipe):
    print(json.dumps({"event": "listening", "port": port, "fingerprint": pipe.fingerprint,
                      "codecs": list(pipe.codecs)}), flush=True)


async def fastapi():
    import uvicorn

    example = load("fastapi_echo")
    config = uvicorn.Config(example.app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            return await task
        await asyncio.sleep(0.01)
    listening(server.servers[0].sockets[0].getsockname()[1], example.PIPE)
    await task


async def aiohttp():
    from aiohttp import web

    example = load("aiohttp_echo")
    runner = web.AppRunner(example.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    listening(runner.addresses[0][1], example.PIPE)
    await asyncio.Future()


asyncio.run({"fastapi": fastapi, "aiohttp": aiohttp}[sys.argv[1]]())
