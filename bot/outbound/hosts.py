"""Host names and addresses that must never be fetched on a member's behalf (pure rules).

No I/O here: ``refused_host`` judges a URL's host as written (literal addresses, ``localhost``,
names under internal-only suffixes), ``refused_address`` judges one resolved address. The
DNS-resolving check that uses them lives in ``bot.outbound.policy``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Container, Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that only ever mean this machine or a private network (RFC 6761, 6762, 8375 and the
# suffixes clouds and home routers use for internal names).
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_LOCAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".internal",
    ".intranet",
    ".lan",
    ".home",
    ".home.arpa",
    ".corp",
    ".private",
    ".localdomain",
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


def normalise_host(host: str) -> str:
    """A host as compared against rules and allow lists: lower case, no brackets, no end dot."""
    return host.strip().strip("[]").rstrip(".").lower()


def host_names(hosts: Iterable[str]) -> frozenset[str]:
    """Hosts as an operator wrote them (``outbound.allowed_hosts``), in the form rules compare."""
    return frozenset(normalise_host(host) for host in hosts)


def literal_address(host: str) -> IPAddress | None:
    """The address a host is written as (``10.0.0.1``, ``[::1]``), or None for a name."""
    try:
        return ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return None


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # An IPv6 address that carries an IPv4 one reaches that IPv4 host: judge that one.
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refused_address(address: IPAddress) -> str | None:
    """Why this address must not be fetched from (loopback, private...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded is not None:
            return refused_address(embedded)
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "shared (CGNAT)"),
        (not address.is_global, "not public"),
    )
    return next((reason for refused, reason in checks if refused), None)


def refused_host(host: str, allowed_hosts: Container[str] = ()) -> str | None:
    """Why a URL host as written must not be fetched from, or None; allowed hosts pass."""
    name = normalise_host(host)
    if not name:
        return "it has no host"
    if name in allowed_hosts:
        return None
    if literal_address(name) is not None:
        return "it names an address instead of a host name"
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        return "it names a local or internal host"
    if "." not in name:
        return "it names a host without a domain"
    return None
