"""Tiny real proxies for the tests: an HTTP forward proxy and a SOCKS5 server.

Both resolve the test-only host name ``feeds.invalid`` (which the system
resolver cannot) to 127.0.0.1, so a poll through them succeeds only if the
name was resolved at the proxy, never by rightswatch itself.
"""

from __future__ import annotations

import http.client
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO
from urllib.parse import urlsplit

from tests.support.network import serving

FAKE_HOST = "feeds.invalid"


def _resolve(host: str) -> str:
    return "127.0.0.1" if host == FAKE_HOST else host


@dataclass
class Seen:
    requests: list[str] = field(default_factory=list)
    """HTTP proxy: request targets (absolute URIs). SOCKS: "host:port" asked for."""
    address_types: list[int] = field(default_factory=list)
    usernames: list[str | None] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def http_proxy() -> Iterator[tuple[str, Seen]]:
    """A forward proxy: ``GET http://host/path`` for HTTP, CONNECT tunnels for HTTPS."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.requests.append(self.path)
            seen.headers.append(dict(self.headers.items()))
            parts = urlsplit(self.path)
            assert parts.hostname is not None
            upstream = http.client.HTTPConnection(_resolve(parts.hostname), parts.port or 80)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-authorization"}
            upstream.request(
                "GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers
            )
            reply = upstream.getresponse()
            body = reply.read()
            self.send_response(reply.status, reply.reason)
            for key, value in reply.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            upstream.close()

        def do_CONNECT(self) -> None:
            seen.requests.append(f"CONNECT {self.path}")
            seen.headers.append(dict(self.headers.items()))
            host, _, port = self.path.rpartition(":")
            upstream = socket.create_connection((_resolve(host), int(port)), timeout=5)
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            back = threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True)
            back.start()
            _pipe(self.connection, upstream)
            back.join(5)
            upstream.close()
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as port:
        yield f"http://127.0.0.1:{port}", seen


def _exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise ConnectionError("client went away")
    return bytes(data)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@contextmanager
def socks5_proxy() -> Iterator[tuple[str, Seen]]:
    """RFC 1928 CONNECT with "no auth" or RFC 1929 username/password (any accepted)."""
    seen = Seen()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            client: socket.socket = self.request
            read = self.rfile
            _version, count = _exactly(read, 2)
            methods = _exactly(read, count)
            username: str | None = None
            if 2 in methods:
                client.sendall(b"\x05\x02")
                _exactly(read, 1)
                username = _exactly(read, _exactly(read, 1)[0]).decode()
                _exactly(read, _exactly(read, 1)[0])
                client.sendall(b"\x01\x00")
            else:
                client.sendall(b"\x05\x00")
            _v, _cmd, _rsv, atyp = _exactly(read, 4)
            if atyp == 3:
                host = _exactly(read, _exactly(read, 1)[0]).decode()
            elif atyp == 1:
                host = socket.inet_ntoa(_exactly(read, 4))
            else:
                host = socket.inet_ntop(socket.AF_INET6, _exactly(read, 16))
            (port,) = struct.unpack("!H", _exactly(read, 2))
            seen.requests.append(f"{host}:{port}")
            seen.address_types.append(atyp)
            seen.usernames.append(username)
            try:
                upstream = socket.create_connection((_resolve(host), port), timeout=5)
            except OSError:
                client.sendall(b"\x05\x04\x00\x01" + bytes(6))
                return
            client.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + b"\x00\x00")
            back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            back.start()
            _pipe(client, upstream)
            back.join(5)
            upstream.close()

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with serving(Server(("127.0.0.1", 0), Handler)) as port:
        yield f"127.0.0.1:{port}", seen
