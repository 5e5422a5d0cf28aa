"""Publish/subscribe of committed events and presence: in-process, or across processes and nodes
through Redis (``PM_REDIS_URL``). The rest of the code sees only ``pm.bus.base.Bus``."""
