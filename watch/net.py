"""Outgoing webhook POSTs, guarded against being turned on our own network (SSRF).

A URL must be http(s) with a host name that resolves only to public addresses (loopback, private,
link-local, multicast, reserved and unspecified ones are refused, unless WEBHOOK_ALLOW_PRIVATE_TARGETS).
The connection goes to the address that was checked, not to a second lookup, so a name that changes its
answer in between (DNS rebinding) gains nothing; TLS still verifies the certificate for the host name.
Redirects are not followed, every socket operation has a timeout, the whole exchange a deadline, and
only the first bytes of the answer are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from watch import conf


class UrlRefused(Exception):
    """The URL may not receive webhooks; the message says why, for the consumer."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> Target:
    """Where `url` would be sent, or UrlRefused with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("The URL could not be read.") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("Only http:// and https:// URLs can receive webhooks.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if parts.username or parts.password:
        raise UrlRefused("The URL may not carry a user name or password; check the signature instead.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused(f"The host {parts.hostname} could not be resolved.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UrlRefused(f"The host {parts.hostname} could not be resolved.")
    if not conf.allow_private_targets():
        refused = [address for address in addresses if not _public(address)]
        if refused:
            raise UrlRefused(
                f"The host {parts.hostname} resolves to a loopback, private or reserved address; "
                "webhooks go to public addresses only."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` once. Never raises for the network: the failure is in the answer's `error`."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = check_url(url)
    except UrlRefused as exc:
        return Answer(None, f"refused: {exc}", elapsed())
    timeout = conf.timeout_s()
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers={**headers, "Content-Length": str(len(body))})
        response = connection.getresponse()
        # The answer is not needed; read a little so that the receiver sees the exchange finish.
        deadline = started + 2 * timeout
        remaining = conf.MAX_RESPONSE_BYTES
        while remaining > 0 and time.monotonic() < deadline:
            chunk = response.read(min(remaining, 512))
            if not chunk:
                break
            remaining -= len(chunk)
        return Answer(response.status, "", elapsed())
    except TimeoutError:
        return Answer(None, "timed out", elapsed())
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, f"{exc.__class__.__name__}: {exc}"[:300], elapsed())
    finally:
        connection.close()
