"""THE service layer: one plain synchronous function per command or query, run whole on a tenant
connection by ``ServiceRunner``. Doors call only this package; it never sees a transport.

    kernel/        what every service function stands on: the runner (one transaction per
                   call, idempotency, publishing), the unit of work (commands) and the reader
                   (queries) with their repositories, the caller, authorization, pagination,
                   validation, field merges, ids and the clock
    work_items, sprints, comments, time_entries, dependencies, swim_lanes, members, users,
    activity, changes, llm_context
                   one module per aggregate: its commands and queries, its rules only (SQL lives
                   in pm.repositories)
    read_models/   reads across aggregates in one snapshot: the board's project snapshot, the
                   agent's project context, one item in full, a sprint report
    views          the public shape of each entity, the same for every door
    tenant_admin   operator work on whole tenant files (pm tenants)

A command is ``fn(uow, *, ...) -> Outcome``; a query is ``fn(read, *, ...) -> a view``. Each
authorizes once, then reads and writes through the repositories of its transaction.
"""
