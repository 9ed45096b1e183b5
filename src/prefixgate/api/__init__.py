"""The Cloudflare-compatible HTTP API."""
