"""A small, fast feed server for the ingest benchmark (run as its own process).

    python benchmarks/_ingest_server.py DIR PORT [PORT ...]

Serves every ``DIR/<name>.xml`` at ``/<name>.xml`` over HTTP/1.1 with keep-alive,
an ETag per file and ``304 Not Modified`` for a matching ``If-None-Match``. It is
asyncio on one thread with no framework, so that it takes as little CPU as
possible from the two readers being measured. Several ports make several hosts as
the per-host gate sees them (one process serves them all). Prints ``ready`` when
listening.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path


def _load(folder: Path) -> dict[bytes, tuple[bytes, bytes]]:
    files = {}
    for path in folder.glob("*.xml"):
        body = path.read_bytes()
        etag = b'"' + hashlib.sha1(body).hexdigest().encode() + b'"'
        files[f"/{path.name}".encode()] = (body, etag)
    return files


async def _serve(files: dict[bytes, tuple[bytes, bytes]], ports: list[int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                path = lines[0].split(b" ")[1].split(b"?")[0]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(b":") for line in lines[1:] if line)
                }
                found = files.get(path)
                if found is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif headers.get(b"if-none-match") == found[1]:
                    writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + found[1] + b"\r\n\r\n")
                else:
                    body, etag = found
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                        b"ETag: "
                        + etag
                        + b"\r\nContent-Length: "
                        + str(len(body)).encode()
                        + b"\r\n\r\n"
                        + body
                    )
                await writer.drain()
                if headers.get(b"connection", b"").lower() == b"close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = [
        await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024) for port in ports
    ]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


def main() -> None:
    folder, ports = Path(sys.argv[1]), [int(port) for port in sys.argv[2:]]
    asyncio.run(_serve(_load(folder), ports))


if __name__ == "__main__":
    main()
