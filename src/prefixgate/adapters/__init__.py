"""Adapters: the outside world (databases) behind the service layer's ports."""
