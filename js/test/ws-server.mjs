// Shared by the WebSocket tests: a real Python auracodec server on 127.0.0.1.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pythonServer, tempDir } from "./helpers.mjs";

// An echo server: every message comes back through the connection's session
// (or pipeline). A few commands make it misbehave, to test the client's
// refusals; what happens to each connection is one JSON line on stdout.
const SERVER = `
import asyncio, json, sys
from auracodec import Pipeline
from auracodec.websocket import serve
from auracodec.core.errors import DecodeError
from websockets.exceptions import ConnectionClosed

config, mode, max_connections = sys.argv[1] or None, sys.argv[2], int(sys.argv[3]) or None
pipe = Pipeline.from_config(config)

def say(**event):
    print(json.dumps(event), flush=True)

async def handler(conn):
    try:
        while True:
            data = await conn.recv_bytes()
            if data == b"!garbage":
                await conn.ws.send(b"\\xfe\\x01\\x02")   # no such method
            elif data == b"!text":
                await conn.ws.send("a text frame")
            elif data.startswith(b"!big "):
                await conn.send(b"x" * int(data[5:]))
            elif data.startswith(b"!close "):
                await conn.close(int(data[7:]), "closing as asked")
                return
            else:
                await conn.send(data)
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        say(event="closed", code=rcvd.code if rcvd else None, reason=rcvd.reason if rcvd else None)
    except DecodeError as exc:
        say(event="refused", error=type(exc).__name__, message=str(exc))
        raise

async def main():
    async with serve(handler, "127.0.0.1", 0, pipeline=pipe, mode=mode, max_connections=max_connections) as server:
        port = server.sockets[0].getsockname()[1]
        say(event="listening", port=port, fingerprint=pipe.fingerprint, codecs=list(pipe.codecs))
        await asyncio.Future()

asyncio.run(main())
`;

/** Profiles shared with the Python server: [pipeline] codecs lists exactly what both ends have. */
export function writeProfiles(dir = tempDir("auracodec-ws-")) {
  const files = {
    identity: '[pipeline]\ncodecs = ["identity"]\n',
    templates: '[pipeline]\ncodecs = ["identity", "binary_semantic"]\n',
    // The Python venv may hold third-party codecs (auracodec-lz4): name the built-ins.
    full: '[pipeline]\ncodecs = ["binary_semantic", "brio", "brotli", "identity", "zstd"]\n',
    small: '[pipeline]\ncodecs = ["identity"]\nmax_message_size = 1000\n',
  };
  const paths = {};
  for (const [name, text] of Object.entries(files)) {
    paths[name] = join(dir, `${name}.toml`);
    writeFileSync(paths[name], text);
  }
  return paths;
}

/**
 * Start a Python auracodec echo server; resolves with `{ url, port,
 * fingerprint, events, next(), stop() }` once it listens. `events` collects
 * its JSON lines; `next(pred)` waits for one.
 */
export async function startServer({ config = "", mode = "session", maxConnections = 0 } = {}) {
  const server = await pythonServer(["-c", SERVER, config, mode, String(maxConnections)], { listenTimeout: 30_000 });
  const { port, fingerprint } = server.listening;
  return { ...server, url: `ws://127.0.0.1:${port}/`, port, fingerprint };
}
