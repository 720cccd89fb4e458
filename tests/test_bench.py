"""The bench scripts' own arithmetic: the attack plan and the addresses they speak from (bench/ is not run in CI)."""

from __future__ import annotations

import importlib
import ipaddress
import math
import sys
from collections import Counter
from pathlib import Path

import pytest

from incidents import conf

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def bench():
    """The bench modules as the scripts import them (with bench/ first on the path), forgotten afterwards."""
    sys.path.insert(0, str(BENCH))
    try:
        yield {name: importlib.import_module(name) for name in ("attack", "common", "load")}
    finally:
        sys.path.remove(str(BENCH))
        for name in ("attack", "common", "load", "benchdocs"):
            sys.modules.pop(name, None)


def test_paired_plan_publishes_exactly_the_reach_bound(bench):
    attack = bench["attack"]
    for groups in (2, 4, 6, 8):
        for reach in (1, 2, 3, 5):
            plan = attack.paired_plan(groups, per_group=reach + 7)
            assert attack.fakes_within_reach(plan, reach) == attack.reach_bound(groups, reach) == groups * reach // 2


def test_paired_plan_puts_two_networks_on_every_spot(bench):
    plan = bench["attack"].paired_plan(6, per_group=25)
    counts = Counter(spot for spots in plan for spot in spots)
    assert len(counts) == 75
    assert set(counts.values()) == {2}


def test_a_spread_plan_publishes_fewer_than_the_paired_one(bench):
    attack = bench["attack"]
    # Every network on spots of its own: each spot has one source, nothing is corroborated.
    alone = [[g * 10 + n for n in range(10)] for g in range(6)]
    assert attack.fakes_within_reach(alone, 3) == 0
    # All networks on the same spots: one weight per network per spot, three fakes from six networks' reach.
    together = [list(range(10)) for _ in range(6)]
    assert attack.fakes_within_reach(together, 3) == 3 < attack.reach_bound(6, 3)


def test_addresses_in_one_slash24_or_one_slash48_are_one_network(bench):
    attack = bench["attack"]
    assert {attack.network_group(f"203.0.113.{n}") for n in range(1, 11)} == {"203.0.113.0/24"}
    assert {attack.network_group(attack.ipv6_address(0x10, subnet)) for subnet in range(1, 11)} == {"2001:db8:10::/48"}
    groups = {attack.network_group(attack.ipv6_address(group)) for group in range(0x100, 0x140)}
    assert len(groups) == 0x40
    assert all(ipaddress.IPv6Network(g).subnet_of(ipaddress.IPv6Network("2001:db8::/32")) for g in groups)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def test_attack_spots_are_beyond_every_merge_radius(bench):
    spot = bench["attack"].spot
    widest = max(conf.kind_settings(kind).merge_radius_m for kind in conf.KINDS)
    spots = [spot(area, n) for area in range(11) for n in range(100)]
    assert len(set(spots)) == len(spots)
    # Neighbours on the grid, and the last row of an area against the first of the next.
    closest = min(_metres(spot(0, 0), spot(0, 1)), _metres(spot(0, 0), spot(0, 20)), _metres(spot(0, 80), spot(1, 0)))
    assert closest > widest


def test_load_bench_clients_are_each_in_a_network_group_of_their_own(bench):
    common, load = bench["common"], bench["load"]

    def group(address: str) -> str:
        return str(ipaddress.ip_network(f"{address}/24", strict=False))

    honest = [group(common.loopback_address(load.HONEST_BLOCK, n)) for n in range(1000)]
    senders = [group(common.loopback_address(load.SENDERS_BLOCK, n)) for n in range(100)]
    assert len(set(honest)) == 1000
    assert len(set(senders)) == 100
    others = {group(load.FLOODER), group(load.POLLERS.format(1))}
    assert len(others) == 2
    assert not (set(honest) & set(senders)) and not ((set(honest) | set(senders)) & others)
    assert ipaddress.ip_address(common.loopback_address(load.HONEST_BLOCK, 999)).is_loopback
    with pytest.raises(ValueError):
        common.loopback_address(250, 6 * 256)


def test_only_broken_bounds_are_reported(bench):
    attack = bench["attack"]
    rows = [
        attack.Row("held", bound="0 fakes public", ok=True),
        attack.Row("broke", bound="0 fakes public", ok=False),
        attack.Row("control"),
    ]
    assert attack.broken(rows) == ["broke: 0 fakes public"]
