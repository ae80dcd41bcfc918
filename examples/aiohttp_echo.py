"""An echo handler in aiohttp that speaks auracodec (docs/servers.md).

Run it with ``python aiohttp_echo.py`` (port 8000); connect with
``auracodec.websocket.connect("ws://127.0.0.1:8000/chat", pipeline=...)``
or the JavaScript client's ``connect()``.
"""

from aiohttp import web

from auracodec import Pipeline
from auracodec.aiohttp import accept

PIPE = Pipeline.from_config()


async def chat(request: web.Request) -> web.StreamResponse:
    conn = await accept(request, PIPE)  # refused: raises HTTP 400 with the reason
    async for message in conn:
        await conn.send(f"echo: {message}")
    return conn.websocket


app = web.Application()
app.add_routes([web.get("/chat", chat)])

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=8000)
