"""The webhook door: signed POSTs of change-feed events to outside receivers.

    bus (a commit) ─ Deliverer (one loop per active webhook) ─ due events after the cursor
    ─ target pinned to checked addresses ─ signed POST (Standard Webhooks) ─ the attempt
    recorded (cursor, failures, log) ─ next event, or a retry after a backoff

Subscriptions are managed over /ws (pm.services.webhooks); this door only delivers, through
the service layer's background entries, and holds no rule of its own.
"""

from __future__ import annotations

from pm.webhooks.deliverer import Deliverer
from pm.wiring import Components


def install_webhooks(components: Components) -> Deliverer:
    """The deliverer of this process; the app's lifespan runs ``deliverer.running()``."""
    return Deliverer(components.services, components.settings)
