"""DNS adapter: gathers what custom-hostname validation needs (TXT token, CNAME chain, addresses,
the HTTP token) with dnspython and the standard library's HTTP client."""

from .http_check import may_connect
from .inspector import SYSTEM_RESOLV_CONF, DnsInspector
from .lookup import MAX_CNAME_DEPTH
from .servers import DnsServer, format_dns_server, parse_dns_server

__all__ = [
    "MAX_CNAME_DEPTH",
    "SYSTEM_RESOLV_CONF",
    "DnsInspector",
    "DnsServer",
    "format_dns_server",
    "may_connect",
    "parse_dns_server",
]
