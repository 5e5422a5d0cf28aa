"""Tenancy: tenant id checks, per-tenant SQLite files, migration and the one-writer rule."""
