"""Pure domain layer: stdlib only, no I/O."""
