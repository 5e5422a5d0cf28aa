"""The streams of the change feed: each event belongs to one.

A project's events are in the project's stream (its id); events about the tenant itself in
``TENANT_WIDE`` (pm.services.webhooks); a user's own events (their notifications, their read
marks, their watches) in the user's stream, ``@`` and the user id. Project ids are UUIDs, so
no project stream starts with ``@``: a user's stream is read by that user alone (GetChanges
adds the caller's own stream to the projects asked for) and delivered live to that user's
sockets alone (pm.ws.hub), and no project subscriber, webhook or feed reader of a project
ever sees it.
"""

from __future__ import annotations

USER_STREAM_PREFIX = "@"


def user_stream(user_id: str) -> str:
    return USER_STREAM_PREFIX + user_id


def is_user_stream(stream: str) -> bool:
    return stream.startswith(USER_STREAM_PREFIX)
