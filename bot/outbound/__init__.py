"""Fetching on a member's behalf: one URL policy and one fetcher for every such download.

``OutboundPolicy`` (``policy``) says which URLs and addresses may be fetched;
``OutboundFetcher`` (``fetch``) GETs under it and returns a ``FetchedResource``; the errors
are ``bot.errors.FetchError`` and its subclasses. ``hosts`` holds the pure rules that the
prompt validator also uses.
"""

from bot.outbound.fetch import FetchedResource, GuardedBackend, GuardedTransport, OutboundFetcher
from bot.outbound.policy import OutboundPolicy, Resolver, system_resolver

__all__ = [
    "FetchedResource",
    "GuardedBackend",
    "GuardedTransport",
    "OutboundFetcher",
    "OutboundPolicy",
    "Resolver",
    "system_resolver",
]
