"""An echo endpoint in FastAPI that speaks auracodec (docs/servers.md).

Run it with ``uvicorn fastapi_echo:app`` from this directory; connect with
``auracodec.websocket.connect("ws://127.0.0.1:8000/chat", pipeline=...)``
or the JavaScript client's ``connect()``.
"""

from fastapi import FastAPI, WebSocket

from auracodec import Pipeline
from auracodec.asgi import accept

app = FastAPI()
PIPE = Pipeline.from_config()


@app.websocket("/chat")
async def chat(websocket: WebSocket) -> None:
    conn = await accept(websocket, PIPE)
    if conn is None:  # refused: the client got HTTP 400 and the reason
        return
    async for message in conn:
        await conn.send(f"echo: {message}")
