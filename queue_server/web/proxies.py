"""Behind a reverse proxy: the real client address from X-Forwarded-For, from trusted peers only.

Behind nginx every connection comes from 127.0.0.1, so per-address rate limits and login
throttling would count a whole district as one client, and /metrics would take every
proxied request for a local one. `[server] trusted_proxies` lists the proxies' addresses
(or networks); a request whose peer is one of them gets, as `request.remote`, the address
X-Forwarded-For names: read from the right (each proxy appends the address it was
reached from), the first entry that is not itself a trusted proxy. A peer that is not
listed is the client, whatever headers it sends — a client cannot choose its address.

`forwarded(request)` says whether a request says it came through a proxy at all: /metrics
never counts such a request as loopback (web/observe.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Headers by which a request says it was passed on by a proxy.
FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:5000"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted(peer: str | None, proxies: Sequence[Network]) -> bool:
    address = _address(peer or "")
    return address is not None and any(address in network for network in proxies)


def client_address(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str | None:
    """The client's address: `peer` unless it is a trusted proxy; then the rightmost address
    in the X-Forwarded-For values that is not a trusted proxy (all trusted: the leftmost).
    An entry that is not an address stops the walk at the last good one (a proxy that
    appends garbage is not believed further)."""
    if not proxies or not trusted(peer, proxies):
        return peer
    entries = [part for value in forwarded_for for part in value.split(",") if part.strip()]
    client = peer
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            break
        client = str(address)
        if not any(address in network for network in proxies):
            break
    return client


def forwarded(request: web.BaseRequest) -> bool:
    return any(name in request.headers for name in FORWARDING_HEADERS)


def proxies_middleware(proxies: Sequence[Network]) -> Any:
    """A middleware that puts the client's address in `request.remote` (first in the chain:
    rate limits, login throttling, /metrics and the log all see it)."""
    proxies = tuple(proxies)

    @web.middleware
    async def real_client(request: web.Request, handler: Any) -> web.StreamResponse:
        if proxies and trusted(request.remote, proxies):
            client = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), proxies)
            if client != request.remote:
                request = request.clone(remote=client)
        return await handler(request)

    return real_client
