"""Reads across aggregates, each in one read snapshot, authorized once: the board's project
snapshot, the agent's project context, one work item in full, a sprint report. They call the
repositories (and the aggregates' view helpers), never another public query."""
