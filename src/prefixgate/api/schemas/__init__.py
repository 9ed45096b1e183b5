"""Pydantic request and response bodies, named after Cloudflare's OpenAPI groups."""
