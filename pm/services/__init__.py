"""THE service layer: one plain synchronous function per command or query, run whole on a tenant
connection by ``ServiceRunner``. Doors call only this package; it never sees a transport."""
