"""The sign-in link of the board: the token travels in the URL fragment, which a browser never
sends to the server (so no access log or proxy sees it), never in the query string."""

from __future__ import annotations


def board_url(base: str, token: str) -> str:
    """``base`` is ``host:port`` (or a full ``http(s)://`` origin)."""
    origin = base if base.startswith(("http://", "https://")) else f"http://{base}"
    return f"{origin.rstrip('/')}/#token={token}"
