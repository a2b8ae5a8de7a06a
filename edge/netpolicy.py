"""Internal network only: a sync target must resolve inside the court's ranges.

Every address a name resolves to must lie in an explicit allow-list of court
CIDRs; `ipaddress.is_private` is not used (it is true for 169.254/16 and
198.18/15 and false for 100.64/10). The caller then connects to the checked
address itself, so a second DNS answer (rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

from juanzong.shared.errors import AppError, ErrorCode

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
MIN_V4_PREFIX, MIN_V6_PREFIX = 8, 16  # wider than a /8 (or an IPv6 /16) is not a court's network
_ULA = ipaddress.ip_network("fc00::/7")
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """The court's ranges from settings; a catch-all (0.0.0.0/0, ::/0) or very wide prefix is refused."""
    networks = []
    for text in values:
        try:
            net = ipaddress.ip_network(str(text), strict=False)
        except ValueError as exc:
            raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"court_networks: {exc}") from exc
        if _too_wide(net):
            raise AppError(ErrorCode.COURT_NETWORK_TOO_WIDE, network=str(net), v4=MIN_V4_PREFIX, v6=MIN_V6_PREFIX)
        networks.append(net)
    return tuple(networks)


def _too_wide(net: Network) -> bool:
    if net.version == 4:
        return net.prefixlen < MIN_V4_PREFIX
    if net.overlaps(_MAPPED) and net.prefixlen <= 96:  # would admit every IPv4 address in mapped form
        return True
    return net.prefixlen < (_ULA.prefixlen if net.subnet_of(_ULA) else MIN_V6_PREFIX)  # type: ignore[arg-type]  # IPv6 only here


def resolve_allowed(host: str, port: int, networks: Sequence[Network]) -> str:
    """The first resolved address of host, after checking all of them; else SYNC_TARGET_FORBIDDEN."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AppError(ErrorCode.SYNC_NETWORK_DOWN, detail=f"无法解析 {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]  # AF_INET/AF_INET6: the host is a str
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not any(ip in net for net in networks if net.version == ip.version):
            raise AppError(ErrorCode.SYNC_TARGET_FORBIDDEN, host=host, address=address)
    return addresses[0]
