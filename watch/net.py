"""Outgoing webhook POSTs, guarded against being turned on our own network (SSRF).

A URL must be http(s) with a host that resolves only to globally routable unicast addresses, as `judge`
says (unless WEBHOOK_ALLOW_PRIVATE_TARGETS). An IPv6 address that carries an IPv4 one (mapped, translated,
compatible, NAT64, 6to4, ISATAP) is judged as that IPv4, since that is where the packets end up; Teredo
and the local NAT64 prefix are refused, as their target cannot be known from here. The name is resolved
once and the socket connects to exactly the address that was judged, not to a second lookup, so a name
that changes its answer in between (DNS rebinding) gains nothing; TLS still verifies the certificate for
the host name.
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
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

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
    # Where the socket connects: the resolver's own answer for `address`, used as it is.
    family: int
    sockaddr: tuple[Any, ...]


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    duration_ms: int


_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# Checked in order; the first match is the reason. Written out rather than left to `is_global`, whose
# answer for several of these ranges changed between Python versions.
_REFUSED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/8"), gettext_noop("a “this network” address")),
    (_V4("10.0.0.0/8"), gettext_noop("a private address")),
    (_V4("100.64.0.0/10"), gettext_noop("a carrier-grade NAT address")),
    (_V4("127.0.0.0/8"), gettext_noop("a loopback address")),
    (_V4("169.254.0.0/16"), gettext_noop("a link-local address (where cloud metadata services answer)")),
    (_V4("172.16.0.0/12"), gettext_noop("a private address")),
    (_V4("192.0.0.0/24"), gettext_noop("an IETF protocol address")),
    (_V4("192.0.2.0/24"), gettext_noop("a documentation address")),
    (_V4("192.88.99.0/24"), gettext_noop("a 6to4 relay address")),
    (_V4("192.168.0.0/16"), gettext_noop("a private address")),
    (_V4("198.18.0.0/15"), gettext_noop("a benchmarking address")),
    (_V4("198.51.100.0/24"), gettext_noop("a documentation address")),
    (_V4("203.0.113.0/24"), gettext_noop("a documentation address")),
    (_V4("224.0.0.0/4"), gettext_noop("a multicast address")),
    (_V4("255.255.255.255/32"), gettext_noop("the broadcast address")),
    (_V4("240.0.0.0/4"), gettext_noop("a reserved address")),
)
_REFUSED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), gettext_noop("the unspecified address")),
    (_V6("::1/128"), gettext_noop("a loopback address")),
    (_V6("64:ff9b:1::/48"), gettext_noop("a local NAT64 address")),
    (_V6("2001::/32"), gettext_noop("a Teredo tunnel address")),
    (_V6("2001:db8::/32"), gettext_noop("a documentation address")),
    (_V6("3fff::/20"), gettext_noop("a documentation address")),
    (_V6("fc00::/7"), gettext_noop("a unique local (private) address")),
    (_V6("fe80::/10"), gettext_noop("a link-local address")),
    (_V6("fec0::/10"), gettext_noop("a site-local address")),
    (_V6("ff00::/8"), gettext_noop("a multicast address")),
)
# Only this block holds global unicast addresses; everything else in IPv6 is reserved or special.
_GLOBAL_UNICAST_V6 = _V6("2000::/3")
_NOT_GLOBAL = gettext_noop("an address that is not globally routable")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that packets to `ip` are delivered to, for the forms that carry one."""
    value = int(ip)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return ip.ipv4_mapped
    if value >> 32 == 0xFFFF0000:  # ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765)
        return low32
    if value >> 32 == 0:  # ::a.b.c.d, IPv4-compatible (deprecated); :: and ::1 are judged before
        return low32
    if value >> 32 == 0x0064FF9B << 64:  # 64:ff9b::a.b.c.d, the NAT64 well-known prefix (RFC 6052)
        return low32
    if ip.sixtofour is not None:  # 2002:aabb:ccdd::, 6to4
        return ip.sixtofour
    if (value >> 32) & 0xFDFFFFFF == 0x00005EFE:  # <prefix>:0:5efe:a.b.c.d or :200:5efe:, ISATAP
        return low32
    return None


def judge(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a webhook may not be sent to `address` (an untranslated phrase such as "a loopback address"),
    or None when it is a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        plain = ipaddress.IPv6Address(int(address))  # without a zone such as %eth0
        for network, reason in _REFUSED_V6:
            if plain in network:
                return reason
        embedded = _embedded_ipv4(plain)
        if embedded is not None:
            return judge(embedded)
        if plain not in _GLOBAL_UNICAST_V6 or not plain.is_global:
            return _NOT_GLOBAL
        return None
    for network4, reason in _REFUSED_V4:
        if address in network4:
            return reason
    return None if address.is_global else _NOT_GLOBAL


def check_url(url: str) -> Target:
    """Where `url` would be sent, or UrlRefused with the reason."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused(_("The URL could not be read.")) from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(_("Only http:// and https:// URLs can receive webhooks."))
    if not parts.hostname:
        raise UrlRefused(_("The URL has no host."))
    if parts.username or parts.password:
        raise UrlRefused(_("The URL may not carry a user name or password; check the signature instead."))
    port = port or (443 if parts.scheme == "https" else 80)
    private_allowed = conf.allow_private_targets()
    literal = _literal(parts.hostname)
    if literal is not None and not private_allowed:
        # Said at once and by name: the consumer wrote this address.
        reason = judge(literal)
        if reason is not None:
            raise UrlRefused(
                _("The address %(address)s is %(reason)s; webhooks go to public addresses only.")
                % {"address": parts.hostname, "reason": _(reason)}
            )
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused(_("The host %(host)s could not be resolved.") % {"host": parts.hostname}) from None
    if not infos:
        raise UrlRefused(_("The host %(host)s could not be resolved.") % {"host": parts.hostname})
    if not private_allowed and any(judge(ipaddress.ip_address(info[4][0])) for info in infos):
        # Which address and why are not said: that would map a network's internal names for anyone.
        raise UrlRefused(
            _(
                "The host %(host)s resolves to a loopback, private or reserved address; "
                "webhooks go to public addresses only."
            )
            % {"host": parts.hostname}
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    family, _type, _proto, _name, sockaddr = infos[0]
    return Target(parts.scheme, parts.hostname, port, path, str(sockaddr[0]), family, tuple(sockaddr))


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None  # a name (or a spelling such as 0x7f.1 that only the resolver reads: judged after it)


def _connect(target: Target, timeout: float | None) -> socket.socket:
    """A socket connected to the judged address itself: no second lookup, not even of a literal."""
    sock = socket.socket(target.family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(target.sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._target = target

    def connect(self) -> None:
        self.sock = _connect(self._target, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._target = target

    def connect(self) -> None:
        sock = _connect(self._target, self.timeout)
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
