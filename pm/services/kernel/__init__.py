"""The kernel of the service layer: what every command and query stands on, and nothing of any
one aggregate."""
