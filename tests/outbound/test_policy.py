import pytest

from bot.errors import FetchRefused
from bot.outbound import OutboundPolicy


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "ftp://images.example.com/a.png",
        "file:///etc/passwd",
        "http://user:pw@images.example.com/a.png",
        "http://127.0.0.1/a.png",
        "http://[::1]:8080/a.png",
        "http://localhost/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://images.example.com:notaport/a.png",
        "http://images.example.com:6379/a.png",
        "https://images.example.com:22/a.png",
    ],
)
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(FetchRefused):
        OutboundPolicy().check_url(url)


def test_check_url_accepts_a_public_name_and_an_allowed_host() -> None:
    assert OutboundPolicy().check_url("https://images.example.com/a.png") == "images.example.com"
    assert OutboundPolicy(["127.0.0.1"]).check_url("http://127.0.0.1:9/a.png") == "127.0.0.1"
    assert OutboundPolicy().check_url("https://cdn.example.com:8443/a.png") == "cdn.example.com"


async def test_a_name_with_any_private_address_is_refused() -> None:
    policy = OutboundPolicy(resolve=resolver({"mixed.example": ["93.184.216.34", "10.0.0.7"]}))
    with pytest.raises(FetchRefused, match="private"):
        await policy.addresses("mixed.example", 443)


async def test_a_name_with_only_public_addresses_passes() -> None:
    policy = OutboundPolicy(resolve=resolver({"ok.example": ["93.184.216.34", "2606:4700::1"]}))
    assert await policy.addresses("ok.example", 443) == ["93.184.216.34", "2606:4700::1"]


async def test_an_allowed_host_skips_the_address_rules() -> None:
    policy = OutboundPolicy(["cdn.corp"], resolve=resolver({"cdn.corp": ["10.0.0.7"]}))
    assert await policy.addresses("cdn.corp", 443) == ["10.0.0.7"]


async def test_the_system_resolver_refuses_localhost_by_address() -> None:
    # Not by name: "localhost" reached here only if a syntactic check were skipped.
    with pytest.raises(FetchRefused, match="loopback"):
        await OutboundPolicy().addresses("localhost", 80)


def test_allowed_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("TESSERA_OUTBOUND__ALLOWED_HOSTS", '["cdn.corp", "127.0.0.1"]')
    assert Settings().outbound.allowed_hosts == ("cdn.corp", "127.0.0.1")
