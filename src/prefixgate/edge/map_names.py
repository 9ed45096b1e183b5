"""The five HAProxy maps' file names, and the slot size their Spectrum keys share.

Stdlib only and importing nothing: both the compiler (render.py) and the map data module
(haproxy_maps.py) take them from here.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CDN_GRANT", "CDN_IP", "HOSTNAME", "MAP_NAMES", "SLOT_SIZE", "SPECTRUM_IP", "SPECTRUM_PORT"]

SPECTRUM_IP: Final = "spectrum_ip.map"
SPECTRUM_PORT: Final = "spectrum_port.map"
CDN_IP: Final = "cdn_ip.map"
CDN_GRANT: Final = "cdn_grant.map"
HOSTNAME: Final = "hostname.map"
MAP_NAMES: Final = (SPECTRUM_IP, SPECTRUM_PORT, CDN_IP, CDN_GRANT, HOSTNAME)
# A spectrum_port.map key is slot * SLOT_SIZE + port (or a range of them): one slot holds every port.
SLOT_SIZE: Final = 65536
