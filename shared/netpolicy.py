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


def resolve_allowed(host: str, port: int, networks: Sequence[Network]) -> str:
    """The first resolved address of host, after checking all of them; else SYNC_TARGET_FORBIDDEN."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise AppError(ErrorCode.SYNC_NETWORK_DOWN, detail=f"无法解析 {host}: {exc}") from exc
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not any(ip in net for net in networks if net.version == ip.version):
            raise AppError(ErrorCode.SYNC_TARGET_FORBIDDEN, host=host, address=address)
    return addresses[0]
