"""Metrics, traces and structured logs, shared by every layer (imports no door)."""
