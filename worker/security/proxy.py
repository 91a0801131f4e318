"""Connections through a proxy: HTTP(S) proxies and SOCKS5 with remote DNS (``socks5h``).

Polling a watched site from the NGO's own address tells the site who watches
it. Through a proxy the feed's host name is resolved and connected to by the
proxy, never here (for ``socks5h`` the name travels as a SOCKS DOMAINNAME), so
nothing of the poll leaves this machine except towards the proxy. Unless the
proxy URL names a user, each feed sends its own SOCKS username so that Tor
(``IsolateSOCKSAuth``, on by default) keeps every feed on a separate circuit.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import ssl
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit

from worker.core.errors import FetchError

SCHEMES = ("http", "https", "socks5h")
_SOCKS_ERRORS = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


def check_proxy_url(value: str) -> str:
    """Validate a proxy URL for the configuration (``ValueError`` with the reason)."""
    parts = urlsplit(value)
    if parts.scheme == "socks5":
        raise ValueError(
            "socks5:// would resolve feed host names locally: use socks5h:// "
            "(DNS through the proxy)"
        )
    if parts.scheme not in SCHEMES:
        raise ValueError(f"a proxy URL must start with {', '.join(s + '://' for s in SCHEMES)}")
    try:
        port = parts.port
    except ValueError as e:
        raise ValueError("invalid proxy port") from e
    if not parts.hostname or port is None:
        raise ValueError("a proxy URL needs a host and a port, e.g. socks5h://127.0.0.1:9050")
    return value


@dataclass(frozen=True, slots=True)
class Proxy:
    """A parsed proxy URL; credentials are never shown in its repr."""

    scheme: str
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> Proxy:
        try:
            check_proxy_url(url)
        except ValueError as e:
            raise FetchError(f"invalid proxy: {e}") from e
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def for_feed(self, feed_id: str | None) -> Proxy:
        """A SOCKS proxy with no user of its own gets one derived from the feed id."""
        if self.scheme != "socks5h" or self.username is not None or feed_id is None:
            return self
        circuit = hashlib.sha256(f"rightswatch feed {feed_id}".encode()).hexdigest()[:16]
        return replace(self, username=f"rw-{circuit}", password="rightswatch")

    @property
    def absolute_uri(self) -> bool:
        """HTTP proxies are sent ``GET http://host/path`` for plain-HTTP targets."""
        return self.scheme in ("http", "https")

    def authorization(self) -> dict[str, str]:
        """The Proxy-Authorization header of an HTTP proxy with credentials."""
        if self.scheme == "socks5h" or self.username is None:
            return {}
        token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
        return {"Proxy-Authorization": f"Basic {token}"}


def connect_through(
    proxy: Proxy,
    scheme: str,
    host: str,
    port: int,
    *,
    timeout: float,
    tls: ssl.SSLContext,
) -> http.client.HTTPConnection:
    """A connected HTTP(S) connection to ``host:port`` through ``proxy``.

    Plain-HTTP targets behind an HTTP proxy talk to the proxy itself (the
    caller sends absolute URIs); HTTPS targets are tunnelled with CONNECT.
    Through SOCKS, the tunnel is opened here and TLS (if any) runs inside it.
    """
    connection: http.client.HTTPConnection
    if proxy.scheme == "socks5h":
        sock = _socks5_connect(proxy, host, port, timeout)
        return _over(sock, scheme, host, port, timeout=timeout, tls=tls)
    if proxy.scheme == "https":
        if scheme == "https":
            raise FetchError(
                "an https:// proxy carries only http:// feeds here: use an http:// or "
                "socks5h:// proxy for https:// feeds"
            )
        connection = http.client.HTTPSConnection(proxy.host, proxy.port, timeout=timeout)
    elif scheme == "https":
        connection = http.client.HTTPSConnection(
            proxy.host, proxy.port, timeout=timeout, context=tls
        )
        connection.set_tunnel(host, port, headers=proxy.authorization())
    else:
        connection = http.client.HTTPConnection(proxy.host, proxy.port, timeout=timeout)
    return connect(connection, timeout, " through the proxy")


def connect_pinned(
    addresses: Sequence[str],
    scheme: str,
    host: str,
    port: int,
    *,
    timeout: float,
    tls: ssl.SSLContext,
) -> http.client.HTTPConnection:
    """A connection to ``host:port`` made to one of ``addresses`` (those a check resolved
    it to), tried in order: a DNS answer that changes after the check cannot move it,
    while the Host header and the TLS server name (SNI and certificate check) stay
    ``host``."""
    failure: OSError = OSError("no addresses")
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except TimeoutError as e:
            raise FetchError(f"timed out after {timeout:g}s connecting") from e
        except OSError as e:
            failure = e
            continue
        return _over(sock, scheme, host, port, timeout=timeout, tls=tls)
    raise FetchError(f"cannot connect: {failure.strerror or failure}")


def _over(
    sock: socket.socket, scheme: str, host: str, port: int, *, timeout: float, tls: ssl.SSLContext
) -> http.client.HTTPConnection:
    """An HTTP(S) connection to ``host`` over an already connected socket (TLS started
    here, for the name ``host``)."""
    connection: http.client.HTTPConnection
    if scheme == "https":
        try:
            sock = tls.wrap_socket(sock, server_hostname=host)
        except ssl.SSLError as e:
            sock.close()
            raise FetchError(f"TLS failed: {e.reason or e}") from e
        except OSError as e:
            sock.close()
            raise FetchError(f"TLS failed: {e.strerror or e}") from e
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.sock = sock
    return connection


def connect(
    connection: http.client.HTTPConnection, timeout: float, via: str = ""
) -> http.client.HTTPConnection:
    """Open ``connection``, turning what can go wrong into a FetchError an operator reads."""
    try:
        connection.connect()
    except TimeoutError as e:
        connection.close()
        raise FetchError(f"timed out after {timeout:g}s connecting{via}") from e
    except ssl.SSLError as e:
        connection.close()
        raise FetchError(f"TLS failed: {e.reason or e}") from e
    except OSError as e:
        connection.close()
        raise FetchError(f"cannot connect{via}: {e.strerror or e}") from e
    return connection


def _socks5_connect(proxy: Proxy, host: str, port: int, timeout: float) -> socket.socket:
    """RFC 1928/1929: greet, authenticate, CONNECT by DOMAINNAME (the proxy resolves)."""
    try:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=timeout)
    except TimeoutError as e:
        raise FetchError(f"timed out after {timeout:g}s connecting to the SOCKS proxy") from e
    except OSError as e:
        raise FetchError(f"cannot connect to the SOCKS proxy: {e.strerror or e}") from e
    try:
        # With a username, offer it alongside "none": Tor picks it (and isolates by it).
        methods = b"\x00" if proxy.username is None else b"\x00\x02"
        sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
        version, method = _read(sock, 2)
        if version != 5 or method == 0xFF:
            raise FetchError("the SOCKS proxy accepts none of our authentication methods")
        if method == 2:
            user = (proxy.username or "").encode()[:255]
            password = (proxy.password or "").encode()[:255]
            sock.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password)
            if _read(sock, 2)[1] != 0:
                raise FetchError("the SOCKS proxy refused our username and password")
        name = host.encode("idna")
        if len(name) > 255:
            raise FetchError("host name too long for SOCKS")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack("!H", port))
        version, reply, _, atyp = _read(sock, 4)
        if reply != 0:
            raise FetchError(f"SOCKS proxy: {_SOCKS_ERRORS.get(reply, f'error {reply}')}")
        address_length = {1: 4, 4: 16}.get(atyp) or _read(sock, 1)[0]
        _read(sock, address_length + 2)
    except FetchError:
        sock.close()
        raise
    except TimeoutError as e:
        sock.close()
        raise FetchError(f"timed out after {timeout:g}s talking to the SOCKS proxy") from e
    except (OSError, UnicodeError) as e:
        sock.close()
        raise FetchError(f"SOCKS handshake failed: {e}") from e
    return sock


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise FetchError("the SOCKS proxy closed the connection during the handshake")
        data += chunk
    return data
