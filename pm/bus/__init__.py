"""Publish/subscribe of committed events: in-process now, Redis across nodes later."""
