import ipaddress

import pytest

from bot.outbound.hosts import refused_address, refused_host

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::",
]
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("text", REFUSED)
def test_non_public_addresses_are_refused(text: str) -> None:
    assert refused_address(ipaddress.ip_address(text)) is not None


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_pass(text: str) -> None:
    assert refused_address(ipaddress.ip_address(text)) is None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "169.254.169.254",
        "localhost",
        "LOCALHOST.",
        "printer.local",
        "metadata.google.internal",
        "db.home.arpa",
        "intranet",
        "a.localhost",
    ],
)
def test_local_hosts_are_refused_as_written(host: str) -> None:
    assert refused_host(host) is not None


def test_an_allowed_host_passes_as_written() -> None:
    assert refused_host("cdn.internal", {"cdn.internal"}) is None
    assert refused_host("127.0.0.1", {"127.0.0.1"}) is None
    assert refused_host("images.example.com") is None
