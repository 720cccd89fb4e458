"""A dump of Redis and the database together, at any moment, links no report and no vote to an address or a
network (issue 14 finding 3; architecture §8.6). The attacker here knows the code, holds both dumps and has
candidate addresses that include the true ones (as trying every IPv4 /24 would), and tries every way the
code derives something from an address. What the server's key adds, the threat model's "whole server" case,
is checked too: coarse networks, bounded in time, and never an address."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import uuid

import pytest
from rest_framework.test import APIClient

from incidents import abuse, keys, services
from incidents.models import Incident, Report
from tests.factories import CARACAS, offset
from tests.incidents.test_abuse import database_dump, redis_dump

pytestmark = pytest.mark.django_db(transaction=True)

PROXY = "127.0.0.1"
# The people who report, each behind the proxy and each in a network group of its own; and decoys the attacker
# also tries.
CLIENTS = ["198.51.100.23", "203.0.113.5", "2001:db8:aa:bb::1", "2001:db8:cc::9"]
DECOYS = [f"192.0.2.{n}" for n in range(1, 40)] + [f"2001:db8:{n:x}::1" for n in range(1, 40)]


def post(api: APIClient, path: str, body: dict, client: str):
    return api.post(
        path, data=json.dumps(body), content_type="application/json", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client
    )


def report(api: APIClient, client: str, device: str | None, at=CARACAS) -> str:
    body = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": list(at)},
    }
    if device:
        body["device"] = device
    response = post(api, "/api/v1/reports", body, client)
    assert response.status_code in (201, 429), response.content
    return response.json().get("id", "")


def materials(ip: str) -> list[bytes]:
    """Everything the code has ever hashed or kept of an address: the address, its group, their forms."""
    address = ipaddress.ip_address(ip)
    group = abuse.network_group(ip)
    out = [ip.encode(), address.packed, address.packed.hex().encode(), str(int(address)).encode(), group]
    prefix = 8 if address.version == 6 else 4  # the old keying: an IPv6 /64 or a whole IPv4 address
    out.append((b"6" if address.version == 6 else b"4") + address.packed[:prefix])
    return out


def attacker_guesses(secrets: list[bytes], ip: str) -> tuple[list[str], list[bytes]]:
    """What someone holding Redis's secrets (not the server's key) computes for a candidate address: hex
    digests (and the prefixes the code cuts) and raw ones."""
    texts, raws = [], []
    for secret in secrets:
        for material in materials(ip):
            for purpose in (b"", b"net", b"dev", b"reach", b"src"):
                message = purpose + b"\0" + material if purpose else material
                digest = hmac.new(secret, message, hashlib.sha256)
                texts += [digest.hexdigest()[:32], digest.hexdigest()[:16]]
                raws.append(digest.digest())
    return texts, raws


def hex_windows(blob: bytes) -> set[str]:
    """Every 16- and 32-character stretch of every run of hex digits in `blob`: where a hash could hide."""
    out: set[str] = set()
    for run in re.findall(rb"[0-9a-f]{16,}", blob):
        text = run.decode()
        for width in (16, 32):
            out.update(text[i : i + width] for i in range(len(text) - width + 1))
    return out


@pytest.fixture
def traffic(settings):
    """Reports and votes from the CLIENTS, a flood that hits the limits, and one report still waiting."""
    settings.TRUSTED_PROXIES = [PROXY]
    settings.RATE_LIMIT_REPORTS_PER_DEVICE = [(3, 600)]
    api = APIClient()
    ids = []
    for n, client in enumerate(CLIENTS):
        for k in range(4):  # the fourth is refused: the limits leave their traces too
            ids.append(report(api, client, f"phone-{n}", at=offset(*CARACAS, east_m=30 * n + k)))
    for k in range(3):
        ids.append(report(api, CLIENTS[0], None, at=offset(*CARACAS, north_m=5000 + k)))
    accepted = [i for i in ids if i]
    for report_id in accepted:
        services.report_process(report_id=report_id)
    incident = Incident.objects.get(pk=Report.objects.get(pk=accepted[0]).incident_id)
    for n, client in enumerate(CLIENTS):
        response = post(
            api, f"/api/v1/incidents/{incident.pk}/votes", {"still_there": n % 2 == 0, "device": f"v-{n}"}, client
        )
        assert response.status_code == 201, response.content
    waiting = report(api, CLIENTS[1], "phone-late", at=offset(*CARACAS, east_m=3000))  # not processed yet
    return {"incident": incident, "waiting": waiting}


def test_redis_and_the_database_together_link_no_report_or_vote_to_an_address_or_a_network(traffic, redis_server):
    client = redis_server.client()
    redis_items = redis_dump(client)
    db = database_dump().encode()
    haystack = b"\n".join(redis_items) + b"\n" + db
    secrets = [client.get(name) for name in client.scan_iter("alc:netkey:*")]
    assert secrets and all(len(secret) == 32 for secret in secrets)  # the attacker has Redis's secrets
    assert client.exists(f"alc:report-src:{traffic['waiting']}")  # and a report in transit

    windows = hex_windows(haystack)
    redis_blob = b"\n".join(redis_items)
    for ip in CLIENTS + DECOYS:
        for material in materials(ip)[:4]:
            assert material not in haystack, f"{ip} in a dump"
        texts, raws = attacker_guesses(secrets, ip)
        assert not windows.intersection(texts), f"a hash of {ip} under Redis's secret is in a dump"
        assert not any(raw in redis_blob for raw in raws), f"a hash of {ip} under Redis's secret is in Redis"

    # Nothing in Redis is an entry per request: counters hold counts, and the one time-scored set (a network's
    # reach) holds opaque entries scored by the minute, never a report's own time.
    times = set()
    for row in Report.objects.all():
        for value in (row.received_at, row.processed_at):
            if value is not None:
                times |= {int(value.timestamp() * 1000), int(value.timestamp())}
    for name in client.scan_iter():
        kind = client.type(name).decode()
        if name.startswith(b"alc:rl:"):
            assert kind == "string" and client.get(name).isdigit(), name
        if kind == "zset":
            for member, score in client.zrange(name, 0, -1, withscores=True):
                assert int(score) % 60_000 == 0 and int(score) not in times, name
                assert not any(str(r.pk).encode() in member for r in Report.objects.all())
    # The report in transit is known by its source pseudonym, which no secret in either dump opens.
    source = client.get(f"alc:report-src:{traffic['waiting']}")
    assert source == keys.source_key(abuse.network_group(CLIENTS[1])).encode()
    for ip in CLIENTS + DECOYS:
        texts, _raws = attacker_guesses(secrets, ip)
        assert source.decode()[:32] not in texts and source.decode()[:16] not in texts


def test_the_database_alone_keeps_only_tags_that_open_to_no_network_even_with_the_servers_key(traffic):
    db = database_dump()
    incident = traffic["incident"]
    tags = list(incident.source_rows.values_list("tag", flat=True))
    assert len(tags) == len(CLIENTS) and all(re.fullmatch(r"[0-9a-f]{3}", tag) for tag in tags)
    for ip in CLIENTS:
        source = keys.source_key(abuse.network_group(ip))
        assert source not in db and source[:16] not in db
    # Whoever also holds the server's key can compute each candidate's tag; 12 bits leave every tag to about
    # 4096 of the 2**24 IPv4 /24s, so a tag is a short list, not a network. Among our 80 candidates, many match
    # some tag by chance already, which is the point.
    candidate_tags = {keys.source_tag(keys.source_key(abuse.network_group(ip)), incident.pk) for ip in CLIENTS}
    assert candidate_tags == set(tags)
    assert 2**24 >> (4 * keys.SOURCE_TAG_HEX) == 4096


def test_with_the_servers_key_too_a_waiting_report_shows_its_network_group_never_its_address(traffic, redis_server):
    """The whole server seized at once (Redis, the database and the settings): the worst case, bounded."""
    client = redis_server.client()
    source = client.get(f"alc:report-src:{traffic['waiting']}").decode()
    matches = [ip for ip in CLIENTS + DECOYS if keys.source_key(abuse.network_group(ip)) == source]
    assert matches == [CLIENTS[1]]  # its /24 (every address of it matches alike); not the address itself
    same_block = "203.0.113.200"
    assert keys.source_key(abuse.network_group(same_block)) == source
    # Processing forgets it: then no dump links that report to anything at all.
    services.report_process(report_id=traffic["waiting"])
    assert not client.exists(f"alc:report-src:{traffic['waiting']}")
