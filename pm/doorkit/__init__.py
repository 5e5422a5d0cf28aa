"""The door kit: what every door (WebSocket, REST, CLI, and the doors to come) needs, written once.

A door reads: parse, call one service entry, encode. Around that it needs the same few things,
which live here so that no door writes them again:

- ``asgi``: the ASGI app, carrying the components (pm.wiring) as a typed attribute;
- ``caller``: the ``RequestContext`` of a verified ``Principal``;
- ``events``: the one public view of a committed event (live, replayed, delivered);
- ``statuses``: the HTTP status of each domain error code (REST answers, WebSocket handshakes);
- ``limits``: the per-user request budget.
"""
