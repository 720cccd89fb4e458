"""Abuse resistance on the report path (issue 3, part 6; architecture §6.1): rate limits per hashed network and
per device in the real Redis, X-Forwarded-For only from trusted proxies, the burst signal,
failing open without Redis, and no IP address kept anywhere."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from config.settings.base import _ip_networks, _rate_limits
from incidents import abuse, keys, services
from incidents.models import Incident, ModerationEvent, Report
from tests.conftest import free_port
from tests.factories import CARACAS, IncidentFactory, address, offset

pytestmark = pytest.mark.django_db

SAN_CRISTOBAL = (-72.2250, 7.7669)
# A Thursday morning in Caracas (UTC-4); any fixed instant would do.
MORNING = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def redis_db(redis_server):
    """The suite's private Redis, emptied: counts start from zero."""
    client = redis_server.client()
    client.flushdb()
    return client


@pytest.fixture
def clock():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def report_body(*, device: str | None = "phone-1", at: tuple[float, float] = CARACAS, **extra) -> dict:
    body = {
        "client_id": str(uuid.uuid4()),
        "kind": "checkpoint",
        "location": {"type": "Point", "coordinates": list(at)},
        **extra,
    }
    if device is not None:
        body["device"] = device
    return body


def post_report(api: APIClient, body: dict, *, ip: str = "192.0.2.10", forwarded: str | None = None):
    headers = {"REMOTE_ADDR": ip}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return api.post("/api/v1/reports", data=json.dumps(body), content_type="application/json", **headers)


def post_vote(api: APIClient, incident_id: int, *, device: str, ip: str = "192.0.2.10", still_there: bool = True):
    return api.post(
        f"/api/v1/incidents/{incident_id}/votes",
        data=json.dumps({"still_there": still_there, "device": device}),
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def assert_throttled(response) -> int:
    """A 429 in the API's error shape with a whole-seconds Retry-After; returns it."""
    assert response.status_code == 429, response.content
    body = response.json()
    assert set(body) == {"error", "detail", "fields"}
    assert body["error"] == "throttled"
    assert body["fields"] == {}
    retry_after = response["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert "try again in" in body["detail"].lower()
    return int(retry_after)


# --- honest use and floods -----------------------------------------------------------------------


def test_a_person_reporting_a_few_times_an_hour_is_never_throttled(api, redis_db, clock):
    # Five reports an hour, every twelve minutes, for four hours, from one phone on one network.
    statuses = []
    for n in range(20):
        statuses.append(post_report(api, report_body(at=offset(*CARACAS, east_m=300 * n))).status_code)
        clock.shift(timedelta(minutes=12))
    assert statuses == [201] * 20
    assert Report.objects.count() == 20


def test_a_household_reporting_together_is_not_throttled(api, redis_db, clock):
    # Four phones behind one home router, each reporting twice within ten minutes.
    statuses = [post_report(api, report_body(device=f"phone-{n % 4}"), ip="192.0.2.44").status_code for n in range(8)]
    assert statuses == [201] * 8


def test_a_flood_from_one_client_gets_at_most_the_limit_and_the_rest_a_429_with_retry_after(
    api, redis_db, clock, settings
):
    limit = settings.RATE_LIMIT_REPORTS_PER_NETWORK[0][0]
    responses = [post_report(api, report_body(device=f"bot-{n}"), ip="192.0.2.66") for n in range(500)]
    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(accepted) == limit
    assert Report.objects.count() == limit
    assert len(refused) == 500 - limit
    waits = {assert_throttled(r) for r in refused}
    assert len(waits) == 1  # the same answer for everyone at this instant
    (wait,) = waits
    # In the next ten minutes this window's count fades out: one more fits once it has faded by one.
    assert wait == 600 + 600 // limit
    assert f"{-(-wait // 60)} minutes" in refused[0].json()["detail"]

    clock.shift(timedelta(seconds=wait - 1))
    assert_throttled(post_report(api, report_body(device="bot-late"), ip="192.0.2.66"))
    clock.shift(timedelta(seconds=1))
    assert post_report(api, report_body(device="bot-later"), ip="192.0.2.66").status_code == 201
    # Another address of the same /24 is the same network, and shares the limit.
    assert_throttled(post_report(api, report_body(device="bot-next-door"), ip="192.0.2.67"))
    assert post_report(api, report_body(device="elsewhere"), ip="198.51.100.1").status_code == 201


def test_the_hourly_limit_holds_in_every_hour_against_a_steady_trickle(api, redis_db, clock, settings):
    settings.RATE_LIMIT_REPORTS_PER_NETWORK = [(20, 600), (60, 3600)]
    accepted_at, statuses = [], []
    for n in range(180):  # one every 40 seconds for two hours: always under the ten-minute limit
        status = post_report(api, report_body(device=f"bot-{n}"), ip="192.0.2.67").status_code
        statuses.append(status)
        if status == 201:
            accepted_at.append(n * 40)
        clock.shift(timedelta(seconds=40))
    assert statuses[:60] == [201] * 60
    assert statuses[60] == 429
    assert max(sum(1 for t in accepted_at if end - 3600 < t <= end) for end in accepted_at) == 60
    assert len(accepted_at) > 60  # the hour slides: it lets reports in again as the old ones leave it


def test_one_device_is_limited_whatever_network_it_comes_from(api, redis_db, clock, settings):
    limit = settings.RATE_LIMIT_REPORTS_PER_DEVICE[0][0]
    statuses = [
        post_report(api, report_body(device="roaming-phone"), ip=address(n + 1)).status_code for n in range(limit + 5)
    ]
    assert statuses == [201] * limit + [429] * 5
    assert post_report(api, report_body(device="another-phone"), ip="198.51.100.1").status_code == 201


def test_retries_of_an_accepted_report_are_neither_limited_nor_counted(api, redis_db, clock, settings):
    settings.RATE_LIMIT_REPORTS_PER_DEVICE = [(2, 600)]
    first = report_body()
    assert post_report(api, first).status_code == 201
    # The offline queue missed the answer and sends the same report again, and again.
    assert [post_report(api, first).status_code for _ in range(5)] == [200] * 5
    assert post_report(api, report_body()).status_code == 201
    assert_throttled(post_report(api, report_body()))
    assert Report.objects.count() == 2


def test_votes_have_their_own_limits(api, redis_db, clock, settings):
    settings.RATE_LIMIT_VOTES_PER_DEVICE = [(3, 600)]
    incident = IncidentFactory()
    statuses = [post_vote(api, incident.pk, device="voter").status_code for _ in range(3)]
    assert statuses == [201] * 3
    retry_after = assert_throttled(post_vote(api, incident.pk, device="voter"))
    assert retry_after == 600 + 600 * (3 - 2) // 3  # the next window, once this one's count has faded enough
    assert "votes" in post_vote(api, incident.pk, device="voter").json()["detail"]
    # Reports from the same phone are counted apart.
    assert post_report(api, report_body(device="voter")).status_code == 201


def test_limits_set_to_off_are_not_applied(api, redis_db, clock, settings):
    settings.RATE_LIMIT_REPORTS_PER_NETWORK = []
    settings.RATE_LIMIT_REPORTS_PER_DEVICE = []
    statuses = {post_report(api, report_body(device="same")).status_code for _ in range(40)}
    assert statuses == {201}


def test_report_guard_raises_rate_limited_for_an_html_view_to_show(redis_db, clock, settings):
    settings.RATE_LIMIT_REPORTS_PER_DEVICE = [(2, 90)]
    request = RequestFactory().post("/report", REMOTE_ADDR="192.0.2.10")
    # What it returns is the network's source pseudonym, for the worker: the same for the whole /24.
    assert abuse.report_guard(request, device="phone") == keys.source_key(abuse.network_group("192.0.2.200"))
    clock.shift(timedelta(seconds=30))
    assert abuse.report_guard(request, device="phone") is not None
    with pytest.raises(abuse.RateLimited) as refused:
        abuse.report_guard(request, device="phone")
    # Two in this 90-second window: one more fits when, in the next, this one has faded to half.
    assert refused.value.retry_after == 90 + 45 - 30
    assert "2 minutes" in refused.value.detail
    clock.shift(timedelta(seconds=95))
    with pytest.raises(abuse.RateLimited) as refused:
        abuse.report_guard(request, device="phone")
    assert refused.value.retry_after == 10
    assert "10 seconds" in refused.value.detail
    clock.shift(timedelta(seconds=10))
    assert abuse.report_guard(request, device="phone") is not None


# --- the client's address ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "192.0.2.10", None, "192.0.2.10"),
        ([], "192.0.2.10", "198.51.100.23", "192.0.2.10"),  # nobody is trusted: the header is ignored
        (["10.0.0.0/8"], "192.0.2.10", "198.51.100.23", "192.0.2.10"),  # not from the proxy
        (["10.0.0.0/8"], "10.1.2.3", "198.51.100.23", "198.51.100.23"),
        (["10.0.0.0/8"], "10.1.2.3", "198.51.100.23, 10.0.0.7", "198.51.100.23"),  # a chain of proxies
        (["10.0.0.0/8"], "10.1.2.3", "6.6.6.6, 198.51.100.23", "198.51.100.23"),  # the client's own prefix
        (["10.0.0.0/8"], "10.1.2.3", "garbage", "10.1.2.3"),
        (["10.0.0.0/8"], "10.1.2.3", "198.51.100.23, garbage", "10.1.2.3"),  # a broken hop ends the walk
        (["10.0.0.0/8"], "10.1.2.3", "", "10.1.2.3"),
        (["10.0.0.0/8"], "10.1.2.3", "10.0.0.9", "10.1.2.3"),  # only proxies: the nearest one
        (["127.0.0.1"], "127.0.0.1", " 2001:db8::1 ", "2001:db8::1"),
        (["::1"], "::1", "::ffff:198.51.100.23", "198.51.100.23"),
        (["192.0.2.0/24"], "::ffff:192.0.2.5", "198.51.100.23", "198.51.100.23"),
    ],
)
def test_client_ip_believes_x_forwarded_for_only_from_trusted_proxies(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().post("/api/v1/reports", **meta)
    assert abuse.client_ip(request) == expected


def test_a_spoofed_x_forwarded_for_does_not_evade_the_limit(api, redis_db, clock, settings):
    settings.TRUSTED_PROXIES = []
    limit = settings.RATE_LIMIT_REPORTS_PER_NETWORK[0][0]
    statuses = [
        post_report(api, report_body(device=f"bot-{n}"), ip="192.0.2.66", forwarded=f"198.51.100.{n}").status_code
        for n in range(1, limit + 6)
    ]
    assert statuses == [201] * limit + [429] * 5


def test_clients_behind_a_trusted_proxy_have_separate_limits(api, redis_db, clock, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    limit = settings.RATE_LIMIT_REPORTS_PER_NETWORK[0][0]

    def from_client(client: str, n: int):
        return post_report(api, report_body(device=f"{client}-{n}"), ip="10.0.0.2", forwarded=client).status_code

    assert [from_client("198.51.100.23", n) for n in range(limit)] == [201] * limit
    assert from_client("198.51.100.23", limit) == 429
    assert from_client("198.51.100.24", limit) == 429  # the same /24: one network
    assert [from_client("203.0.113.24", n) for n in range(limit)] == [201] * limit
    # A client that writes its own X-Forwarded-For is still known by the address the proxy saw.
    spoofed = post_report(api, report_body(device="x"), ip="10.0.0.2", forwarded="203.0.113.1, 198.51.100.23")
    assert spoofed.status_code == 429


# --- the network key -----------------------------------------------------------------------------


def test_network_keys_group_an_ipv4_slash_24_and_an_ipv6_slash_48_and_rotate_every_utc_day(redis_db, clock):
    key = abuse.network_key("2001:db8:1:2::10")
    assert key == abuse.network_key("2001:db8:1:ffff:ffff:ffff:ffff:ffff")
    assert key != abuse.network_key("2001:db8:2::10")
    assert abuse.network_key("192.0.2.10") == abuse.network_key("192.0.2.255")
    assert abuse.network_key("192.0.2.10") != abuse.network_key("192.0.3.10")
    assert abuse.network_key("::ffff:192.0.2.10") == abuse.network_key("192.0.2.10")
    clock.shift(timedelta(hours=11, minutes=59))  # 23:59 UTC: the same day
    assert abuse.network_key("2001:db8:1:2::10") == key
    clock.shift(timedelta(minutes=2))  # the next day
    assert abuse.network_key("2001:db8:1:2::10") != key


def test_the_day_secret_lives_only_in_redis_and_expires_soon_after_its_day(redis_db, clock):
    abuse.network_key("192.0.2.10")
    names = sorted(name.decode() for name in redis_db.scan_iter("alc:netkey:*"))
    assert names == ["alc:netkey:2026-11-26"]
    assert len(redis_db.get(names[0])) == 32
    # Created at 12:00 UTC: it ends with its day plus an hour's grace.
    assert 12 * 3600 < redis_db.ttl(names[0]) <= 13 * 3600


def test_without_redis_there_is_no_network_key(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert abuse.network_key("192.0.2.10") is None


# --- Redis down ----------------------------------------------------------------------------------


def test_a_report_is_accepted_while_redis_is_unreachable(api, settings, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with caplog.at_level(logging.WARNING, logger="incidents.abuse"):
        response = post_report(api, report_body())
    assert response.status_code == 201, response.content
    report = Report.objects.get()
    assert str(report.pk) == response.json()["id"]
    assert "without rate limits" in caplog.text
    incident = IncidentFactory()
    assert post_vote(api, incident.pk, device="phone-1").status_code == 201
    # And the worker processes it without the burst signal.
    processed = services.report_process(report_id=report.pk)
    assert processed.state == "processed"


# --- the burst signal ----------------------------------------------------------------------------


def report_and_process(api: APIClient, *, ip: str, device: str, at: tuple[float, float]) -> Report:
    response = post_report(api, report_body(device=device, at=at), ip=ip)
    assert response.status_code == 201, response.content
    report = services.report_process(report_id=response.json()["id"])
    assert report is not None and report.state == "processed"
    return report


def test_a_burst_from_one_network_flags_the_incident_and_counts_as_one_source(api, redis_db, clock):
    for n in range(3):
        farmed_id = report_and_process(
            api, ip="192.0.2.66", device=f"farm-{n}", at=offset(*CARACAS, east_m=20 * n)
        ).incident_id
        clock.shift(timedelta(minutes=2))
    for n in range(3):
        honest_id = report_and_process(
            api, ip=address(n + 1), device=f"citizen-{n}", at=offset(*SAN_CRISTOBAL, east_m=20 * n)
        ).incident_id
        clock.shift(timedelta(minutes=2))

    assert Incident.objects.count() == 2
    farmed, honest = Incident.objects.get(pk=farmed_id), Incident.objects.get(pk=honest_id)
    assert (farmed.reporters, honest.reporters) == (3, 3)
    assert (farmed.sources, honest.sources) == (1, 3)
    assert (farmed.burst, farmed.contested) == (True, True)
    assert (honest.burst, honest.contested) == (False, False)
    assert farmed.confidence < honest.confidence
    event = ModerationEvent.objects.get(incident=farmed, action="burst")
    assert event.after == {"burst": True, "contested": True, "confidence": farmed.confidence}
    assert "3 reporters from 1 networks" in event.reason
    assert not ModerationEvent.objects.filter(incident=honest, action="burst").exists()
    # One network is one source: the farm is not public, the three citizens are.
    public = {f["id"] for f in api.get("/api/v1/incidents").json()["features"]}
    assert public == {honest.pk}
    # The worker took every report's source out of Redis.
    assert list(redis_db.scan_iter("alc:report-src:*")) == []


def test_reporters_from_one_network_spread_over_time_are_no_burst(api, redis_db, clock):
    for n in range(4):
        report_and_process(api, ip="192.0.2.66", device=f"neighbour-{n}", at=offset(*CARACAS, east_m=20 * n))
        clock.shift(timedelta(minutes=11))
    incident = Incident.objects.get()
    assert incident.reporters == 4
    assert incident.burst is False


def test_two_networks_for_four_reporters_is_a_burst_but_two_for_three_is_not(api, redis_db, clock):
    for n, ip in enumerate([address(1), address(1), address(2)]):
        report_and_process(api, ip=ip, device=f"a-{n}", at=CARACAS)
    assert Incident.objects.get().burst is False
    report_and_process(api, ip=address(2), device="a-3", at=CARACAS)
    assert Incident.objects.get().burst is True


def test_network_keys_and_sources_are_kept_out_of_the_database(api, redis_db, clock):
    for n in range(3):
        report_and_process(api, ip="192.0.2.66", device=f"farm-{n}", at=CARACAS)
    secret = next(redis_db.scan_iter("alc:netkey:*"))
    key, source = abuse.network_key("192.0.2.66"), keys.source_key(abuse.network_group("192.0.2.66"))
    assert Incident.objects.get().burst is True
    for model in apps.get_models():
        for row in model.objects.values():
            assert key not in str(row) and source not in str(row) and source[:16] not in str(row), model
    assert redis_db.get(secret) is not None


def test_without_redis_the_worker_processes_reports_with_no_burst_signal_and_no_weight(api, redis_db, clock, settings):
    reports = [post_report(api, report_body(device=f"farm-{n}"), ip=address(n)).json()["id"] for n in range(3)]
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    states = {services.report_process(report_id=report_id).state for report_id in reports}
    assert states == {"processed"}
    incident = Incident.objects.get()
    # Kept and counted as devices, for moderators; but what could not be counted by network weighs nothing.
    assert (incident.burst, incident.reporters, incident.sources) == (False, 3, 0)


def test_a_burst_scales_confidence_down_but_a_verification_still_sets_its_floor():
    plain = IncidentFactory.build(reporters=3, sources_confirming=3)
    flagged = IncidentFactory.build(reporters=3, sources_confirming=3, burst=True)
    assert services.confidence_for(flagged) == pytest.approx(services.confidence_for(plain) * 0.5, abs=0.01)
    verified = IncidentFactory.build(reporters=3, sources_confirming=3, burst=True, verified_at=MORNING)
    assert services.confidence_for(verified) >= 0.9


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("20/10m,60/1h", [(20, 600), (60, 3600)]),
        ("5/s", [(5, 1)]),
        (" 3 / 30s ", [(3, 30)]),
        ("off", []),
        ("OFF", []),
    ],
)
def test_rate_limit_settings_are_counts_per_window(value, parsed):
    assert _rate_limits("X", value) == parsed


@pytest.mark.parametrize("value", ["", "20", "20/10", "20/10d", "0/1m", "20/0m", "-1/1m", "20/10m;60/1h", "lots"])
def test_malformed_rate_limit_settings_stop_the_start(value):
    with pytest.raises(ImproperlyConfigured):
        _rate_limits("X", value)


def test_trusted_proxies_must_be_addresses_or_networks():
    assert _ip_networks("X", "127.0.0.1, 10.0.0.0/8,::1") == ["127.0.0.1", "10.0.0.0/8", "::1"]
    assert _ip_networks("X", None) == []
    with pytest.raises(ImproperlyConfigured):
        _ip_networks("X", "127.0.0.1,proxy.local")


# --- no IP address anywhere (architecture §6.1) --------------------------------------------------------

PROXY_IP = "203.0.113.77"
CLIENT_IP = "198.51.100.23"


def forms_of(ip: str) -> list[str]:
    address = ipaddress.ip_address(ip)
    return [ip, str(int(address)), address.packed.hex()]


def database_dump() -> str:
    if connection.vendor == "postgresql":
        data = connection.settings_dict
        result = subprocess.run(
            [
                "pg_dump",
                "--data-only",
                "--no-owner",
                "-h",
                data.get("HOST") or "127.0.0.1",
                "-p",
                str(data.get("PORT") or 5432),
                "-U",
                data.get("USER") or "postgres",
                data["NAME"],
            ],
            capture_output=True,
            text=True,
            env={"PGPASSWORD": data.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout
    connection.ensure_connection()  # Django's connection has SpatiaLite's virtual tables loaded
    return "\n".join(connection.connection.iterdump())


def redis_dump(client) -> list[bytes]:
    """Every key's name, its serialized value (DUMP) and its readable contents."""
    out = []
    for name in client.scan_iter(count=1000):
        out.append(name)
        out.append(client.dump(name) or b"")
        kind = client.type(name).decode()
        if kind == "string":
            out.append(client.get(name) or b"")
        elif kind == "list":
            for item in client.lrange(name, 0, -1):
                out.append(item)
                try:  # Celery's messages carry their body in base64
                    out.append(base64.b64decode(json.loads(item)["body"]))
                except (ValueError, KeyError, TypeError):
                    pass
        elif kind == "set":
            out.extend(client.smembers(name))
        elif kind == "zset":
            out.extend(member for member, _score in client.zrange(name, 0, -1, withscores=True))
        elif kind == "hash":
            for field, value in client.hgetall(name).items():
                out.extend([field, value])
        else:
            raise AssertionError(f"unexpected Redis type {kind} at {name!r}")
    return out


@pytest.mark.django_db(transaction=True)
def test_the_reporters_address_appears_nowhere(api, redis_db, settings, caplog):
    caplog.set_level(logging.DEBUG)
    settings.PUBLISH_POLICY = "open"  # one network's incident is public, so that it can be voted on
    settings.TRUSTED_PROXIES = [PROXY_IP]
    settings.RATE_LIMIT_REPORTS_PER_DEVICE = [(4, 600)]
    ids = []
    for n in range(6):  # four accepted, then the device limit: both paths leave their traces
        body = report_body(device="the-phone", description=f"report {n}", at=offset(*CARACAS, east_m=10 * n))
        response = post_report(api, body, ip=PROXY_IP, forwarded=CLIENT_IP)
        if response.status_code == 201:
            ids.append(response.json()["id"])
        else:
            assert_throttled(response)
    assert len(ids) == 4
    for n in range(2):  # two more phones on the same network: a burst
        response = post_report(api, report_body(device=f"phone-{n}"), ip=PROXY_IP, forwarded=CLIENT_IP)
        ids.append(response.json()["id"])
    honeypot = {"client_id": str(uuid.uuid4()), "kind": "checkpoint", "place": "Petare", "website": "spam"}
    Client().post("/report", honeypot, REMOTE_ADDR=PROXY_IP, HTTP_X_FORWARDED_FOR=CLIENT_IP)
    for report_id in ids:
        services.report_process(report_id=report_id)
    incident = Incident.objects.get()
    assert incident.burst is True
    assert post_vote(api, incident.pk, device="the-phone", ip=PROXY_IP).status_code == 201
    # A direct client too, with its address as REMOTE_ADDR.
    settings.TRUSTED_PROXIES = []
    assert post_report(api, report_body(device="direct"), ip=CLIENT_IP).status_code == 201

    dump = database_dump()
    assert "the-phone" not in dump and "report 3" in dump  # the dump sees the rows
    keys = redis_dump(redis_db)
    assert any(name.startswith(b"alc:rl:") for name in keys) and any(b"alc:netkey:" in k for k in keys)
    logs = caplog.text + "\n".join(repr(record.__dict__) for record in caplog.records)
    assert "honeypot" in logs and "Too Many Requests" in logs  # the logs saw what happened
    for ip in (PROXY_IP, CLIENT_IP):
        packed = ipaddress.ip_address(ip).packed
        for form in forms_of(ip):
            assert form not in dump, f"{form} in the database"
            assert form not in logs, f"{form} in the logs"
            assert not any(form.encode() in value for value in keys), f"{form} in Redis"
        assert not any(packed in value for value in keys), f"{ip} (packed) in Redis"
