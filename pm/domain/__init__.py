"""The nouns of DOMAIN.md: tables, enumerations and value rules. Imports nothing above it."""
