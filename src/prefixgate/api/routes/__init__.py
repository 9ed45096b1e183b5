"""One router module per URL collection."""
