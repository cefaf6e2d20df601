"""Schema extensions attached to resource types; each module registers itself through an entry point."""
