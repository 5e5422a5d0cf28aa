"""Where the deliverer may post: every address a host resolves to is checked at every attempt,
and the request is pinned to the address that was checked."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest

from pm.services.webhooks import address_refusal
from pm.webhooks.deliverer import backoff_seconds
from pm.webhooks.targets import TargetRefused, pin


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), ()) is not None


def test_a_public_address_passes_and_an_allowed_network_lets_a_private_one_in() -> None:
    assert address_refusal(ipaddress.ip_address("93.184.216.34"), ()) is None
    assert address_refusal(ipaddress.ip_address("10.0.0.7"), ("10.0.0.0/24",)) is None
    assert address_refusal(ipaddress.ip_address("10.0.1.7"), ("10.0.0.0/24",)) is not None


async def test_a_name_is_refused_if_any_address_it_resolves_to_is() -> None:
    with pytest.raises(TargetRefused, match="localhost resolves to"):
        await pin("http://localhost:9/hook", (), seconds=5)
    # localhost is 127.0.0.1 and ::1 here: allowing one of them is not enough
    both = await pin("http://localhost:9/hook", ("127.0.0.0/8", "::1/128"), seconds=5)
    assert both.host_header == "localhost:9"


async def test_the_request_is_pinned_to_the_checked_address() -> None:
    pinned = await pin("http://127.0.0.1:8080/a/b?c=d", ("127.0.0.1/32",), seconds=5)
    assert pinned.url == "http://127.0.0.1:8080/a/b?c=d"
    assert pinned.host_header == "127.0.0.1:8080" and pinned.server_name is None
    with pytest.raises(TargetRefused, match="does not resolve"):
        await pin("http://no-such-host.invalid/", (), seconds=5)


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    for failures, low, high in ((1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (10, 5.0, 10.0)):
        waits = [backoff_seconds(failures, base=1.0, cap=10.0) for _ in range(50)]
        assert all(low <= wait <= high for wait in waits)
        assert len(set(waits)) > 1  # jittered


async def test_one_deliverer_per_data_folder_holds_the_lock(tmp_path: Path) -> None:
    """Two processes' deliverers on one folder (workers): the second delivers nothing until
    the first lets go."""
    from pm.config import load_settings
    from pm.webhooks.deliverer import Deliverer
    from pm.wiring import build_components

    settings = load_settings(
        data_dir=tmp_path / "data", jwt_secret="x" * 40, webhook_poll_seconds=0.05
    )
    first, second = (build_components(settings) for _ in range(2))
    a, b = Deliverer(first.services, settings), Deliverer(second.services, settings)
    try:
        async with a.running():
            async with asyncio.timeout(30):
                while not a.holds_lock:
                    await asyncio.sleep(0.01)
            async with b.running():
                await asyncio.sleep(0.2)  # several of b's polls
                assert a.holds_lock and not b.holds_lock
        async with b.running():
            async with asyncio.timeout(30):
                while not b.holds_lock:
                    await asyncio.sleep(0.01)
    finally:
        first.tenants.close()
        second.tenants.close()
