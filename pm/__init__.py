"""pm: a multi-tenant agile project board backend."""
