"""Which browser origins may open ``/ws`` (PROTOCOL.md): the server's own origin always (the
board it serves at ``/``), plus those listed in ``PM_ALLOWED_ORIGINS``. A client that sends no
Origin is not a browser and is judged by its token alone.

The own origin is the scheme-less match of Origin's host and port against the request's Host
header: a page from another site can't forge its Origin, and the token still has to be valid
(a page of another origin has no access to the board's sessionStorage, where the token lives).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    if origin is None:
        return True
    if origin in allowed:
        return True
    return host is not None and _is_own(origin, host)


def _is_own(origin: str, host: str) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        return False
    return parts.netloc.lower() == host.strip().lower()
