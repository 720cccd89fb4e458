"""The webhook guard against SSRF: every spelling of a forbidden address is refused before any connection,
and the socket connects to exactly the address that was judged.

No test here sends a packet anywhere but loopback: forbidden and public addresses are only judged, host
names are answered by a fake resolver, and every socket connect is recorded and, unless it goes to
loopback, refused by the test itself.
"""

from __future__ import annotations

import ipaddress
import json
import socket

import pytest

from tests.watch.receiver import Receiver
from tests.watch.test_webhooks import keyed, moderation_verify_near_caracas
from watch import net, services
from watch.models import WebhookAttempt, WebhookSubscription

METADATA = "169.254.169.254"
# Teredo: server 65.54.227.120, client METADATA (stored as its bits inverted: a9fe:a9fe ^ ffff:ffff).
TEREDO_METADATA = "2001:0:4136:e378:8000:63bf:5601:5601"

REFUSED = [
    # The forms that were accepted and connected to.
    ("::127.0.0.1", "loopback"),
    ("::ffff:0:7f00:1", "loopback"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::10.0.0.1", "private"),
    ("64:ff9b:1::7f00:1", "local NAT64"),
    ("64:ff9b:1:7f00:1::", "local NAT64"),
    ("fec0::1", "site-local"),
    ("feff::1", "site-local"),
    # The metadata address in each embedding.
    (METADATA, "metadata"),
    ("::ffff:a9fe:a9fe", "metadata"),
    ("::ffff:0:a9fe:a9fe", "metadata"),
    ("::a9fe:a9fe", "metadata"),
    ("64:ff9b::a9fe:a9fe", "metadata"),
    ("2002:a9fe:a9fe::", "metadata"),
    ("2002:a9fe:a9fe:1::5", "metadata"),
    (TEREDO_METADATA, "Teredo"),
    ("::5efe:a9fe:a9fe", "metadata"),
    ("2a00:1450:4001:1:200:5efe:a9fe:a9fe", "metadata"),
    # Other embeddings of our own network.
    ("::ffff:127.0.0.1", "loopback"),
    ("2002:7f00:1::", "loopback"),
    ("2002:a00:1::1", "private"),
    ("::5efe:7f00:1", "loopback"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),  # Teredo with a public client: refused all the same
    # IPv6 ranges.
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "not globally routable"),
    ("5f00::1", "not globally routable"),
    ("4000::1", "not globally routable"),
    ("2001:2::1", "not globally routable"),
    # IPv4 ranges.
    ("0.0.0.0", "this network"),
    ("0.1.2.3", "this network"),
    ("10.1.2.3", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("127.0.0.2", "loopback"),
    ("172.16.0.1", "private"),
    ("192.0.0.9", "IETF protocol"),
    ("192.0.0.170", "IETF protocol"),
    ("192.0.2.1", "documentation"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
]

# Public addresses, and public IPv4 in the forms that embed one: still allowed (only judged here).
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",  # what DNS64 answers an IPv6-only server for a public IPv4 host
    "2002:808:808::1",
    "::8.8.8.8",
    "2a00:1450:4001:1:0:5efe:808:808",
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_every_spelling_of_a_forbidden_address_is_refused_for_what_it_reaches(address, reason):
    assert reason in (net.judge(ipaddress.ip_address(address)) or "allowed")


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed_in_every_form(address):
    assert net.judge(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", ["2001:4860:4860::8888", "64:ff9b::808:808", "::ffff:8.8.8.8"])
def test_a_public_literal_url_is_accepted_and_pinned_to_that_address(address):
    # A numeric host is read by getaddrinfo without any lookup or packet.
    target = net.check_url(f"https://[{address}]:8443/hook?x=1")
    assert (target.host, target.port, target.path) == (address, 8443, "/hook?x=1")
    assert target.family == socket.AF_INET6 and target.sockaddr[:2] == (address, 8443)


# --- the API -------------------------------------------------------------------------------------


def post_webhook(client, url: str, **headers):
    return client.post("/api/v1/webhooks", data=json.dumps({"url": url}), content_type="application/json", **headers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[::ffff:0:7f00:1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b::a9fe:a9fe]",
        "[::ffff:0:a9fe:a9fe]",
        "[::a9fe:a9fe]",
        "[::5efe:7f00:1]",
        "[fec0::1]",
        "192.0.0.9",
        "192.88.99.1",
    ],
)
def test_a_webhook_on_a_forbidden_address_in_any_spelling_is_a_clear_400(host):
    client, _ = keyed()
    response = post_webhook(client, f"https://{host}/hook", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "url_not_allowed" and "url" in body["fields"]
    assert host.strip("[]") in body["detail"] and "webhooks go to public addresses only" in body["detail"]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_the_refusal_is_said_in_spanish():
    client, _ = keyed()
    response = post_webhook(client, "https://[64:ff9b::a9fe:a9fe]/hook", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "La dirección 64:ff9b::a9fe:a9fe es una dirección de enlace local (donde responden los servicios de "
        "metadatos de la nube); los webhooks solo van a direcciones públicas."
    )


# --- the address connected to --------------------------------------------------------------------


class FakeResolver:
    """Answers getaddrinfo for the names it was given, and keeps every question."""

    def __init__(self, answers: dict[str, list[str]]):
        self.answers = answers
        self.questions: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.questions.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos = []
        for address in self.answers[host]:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos


@pytest.fixture
def resolver(monkeypatch):
    fake = FakeResolver({})
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def connections(monkeypatch):
    """Every connect a socket attempts; only loopback ones are let through, the rest fail here."""
    attempted: list[tuple] = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        attempted.append(tuple(address))
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError("the test lets no connection leave loopback")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        attempted.append(tuple(address))
        raise ConnectionRefusedError("the test lets no connection leave loopback")

    def create_connection(address, *args, **kwargs):
        attempted.append(tuple(address))
        raise ConnectionRefusedError("the test lets no connection leave loopback")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempted


@pytest.mark.parametrize(
    "answer",
    [
        ["64:ff9b::7f00:1"],
        ["64:ff9b::a9fe:a9fe"],
        ["::ffff:0:a9fe:a9fe"],
        ["::127.0.0.1"],
        ["fec0::1"],
        ["::5efe:a9fe:a9fe"],
        ["2001:4860:4860::8888", "64:ff9b::a9fe:a9fe"],  # one bad answer among good ones is enough
    ],
)
def test_a_name_that_resolves_to_a_forbidden_address_is_never_connected_to(resolver, connections, answer):
    resolver.answers["hooks.newsroom.example"] = answer
    sent = net.post("https://hooks.newsroom.example/hook", body=b"{}", headers={})
    assert sent.status_code is None and sent.error.startswith("refused:")
    assert "resolves to a loopback, private or reserved address" in sent.error
    assert answer[-1] not in sent.error  # what a name resolves to is not told back
    assert connections == []
    assert resolver.questions == ["hooks.newsroom.example"]


@pytest.mark.django_db
def test_a_name_that_turns_to_a_forbidden_address_after_registration_is_not_delivered_to(resolver, connections):
    # Public when registered (only judged), the metadata address in NAT64 form when the worker sends.
    resolver.answers["hooks.newsroom.example"] = ["2001:4860:4860::8888"]
    client, _ = keyed()
    response = post_webhook(client, "https://hooks.newsroom.example/hook")
    assert response.status_code == 201, response.content
    resolver.answers["hooks.newsroom.example"] = ["64:ff9b::a9fe:a9fe"]
    moderation_verify_near_caracas()
    (delivery_id,) = services.events_fan_out()[1]
    services.delivery_attempt(delivery_id=delivery_id)
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and attempt.error.startswith("refused:")
    assert connections == []


def test_the_name_is_resolved_once_and_the_socket_connects_to_that_answer(settings, resolver, connections):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the receiver is on loopback
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        resolver.answers["hooks.newsroom.example"] = ["127.0.0.1"]
        sent = net.post(f"http://hooks.newsroom.example:{port}/hook", body=b"{}", headers={})
    assert sent.status_code == 200, sent.error
    assert resolver.questions == ["hooks.newsroom.example"]  # not again for the address it gave
    assert connections == [("127.0.0.1", port)]
    (received,) = receiver.requests
    assert received.headers["Host"] == f"hooks.newsroom.example:{port}"
