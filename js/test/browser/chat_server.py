"""The Python end of the browser test: a real auracodec WebSocket server on
127.0.0.1, session mode, that plays the server's side of a conversation.

    python chat_server.py PROFILE_DIR SCRIPT_JSON

SCRIPT_JSON: ``[{"from": "client" | "server", "text": ...}, ...]``. On each
connection the server walks the script: a client turn must arrive and decode
to exactly its text (else the connection is closed with 4001 and the turn's
number), a server turn is sent through the connection's session. Each turn,
and what happened to each connection, is one JSON line on stdout.
"""

import asyncio
import json
import sys

from auracodec import Pipeline
from auracodec.core.errors import DecodeError
from auracodec.core.framing import SessionFrame
from auracodec.websocket import serve
from websockets.exceptions import ConnectionClosed

profile, script_path = sys.argv[1], sys.argv[2]
pipe = Pipeline.from_config(profile)
with open(script_path, encoding="utf-8") as f:
    script = json.load(f)


def say(**event):
    print(json.dumps(event), flush=True)


async def handler(conn):
    session = conn.session
    try:
        for i, turn in enumerate(script):
            data = turn["text"].encode("utf-8")
            if turn["from"] == "client":
                frame = await conn.recv_frame()
                try:
                    got = session.decode_bytes(frame)
                except DecodeError as exc:
                    say(event="refused", i=i, error=type(exc).__name__, message=str(exc))
                    await conn.close(1007, type(exc).__name__)
                    return
                ok = got == data
                say(event="turn", i=i, sender="client", ok=ok, size=len(got), frame=len(frame),
                    method=session.stats.name_of(SessionFrame.parse(frame).method_id),
                    isolated=frame[:1] == b"\xff" and frame[1:2] != b"\xff")
                if not ok:
                    await conn.close(4001, f"turn {i} differs")
                    return
            else:
                frame = session.encode(data)
                await conn.ws.send(frame)
                say(event="turn", i=i, sender="server", size=len(data), frame=len(frame),
                    method=session.stats.name_of(SessionFrame.parse(frame).method_id))
        async for _ in conn:  # the page closes
            pass
        say(event="closed", code=1000)
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        say(event="closed", code=rcvd.code if rcvd else None, reason=rcvd.reason if rcvd else None)


async def main():
    async with serve(handler, "127.0.0.1", 0, pipeline=pipe, mode="session") as server:
        port = server.sockets[0].getsockname()[1]
        say(event="listening", port=port, fingerprint=pipe.fingerprint, codecs=list(pipe.codecs))
        await asyncio.Future()


asyncio.run(main())
