"""prefixgate: a control plane for BYOIP address space with a Cloudflare-compatible API."""

__version__ = "0.1.0"
