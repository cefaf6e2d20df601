"""Resource types served by the SCIM server; each module registers itself through an entry point."""
