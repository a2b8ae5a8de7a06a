"""The appliance's firewall (nftables): egress only to the court, the printer and the court's resolvers.

Output policy is drop. Allowed: replies to what was allowed, the machine's own loopback
address (its services talking to each other), the court networks (sync, NTP, whatever the
court runs there), DNS to the configured resolvers only, the network printer's port, a
DHCP request and IPv6 neighbour discovery (without which the link does not work). Every
other packet is counted in the named counter `refused_egress` and dropped — silently, so
nothing outside learns the appliance exists. Input policy is drop too: only replies, the
loopback interface, and the kiosk port on the counter interface when one is configured.
Forwarding is off. The file starts with `flush ruleset`: the appliance owns its firewall.
"""

from __future__ import annotations

import ipaddress

from juanzong.edge.lockdown.inputs import IPAddress, IPNetwork, LockdownInputs
from juanzong.edge.lockdown.systemd import RenderedFile

TABLE = "juanzong"
REFUSED_COUNTER = "refused_egress"
TARGET = "/etc/nftables.conf"  # Debian's nftables.service loads this file at boot


def _elements(items: list[str]) -> str:
    return f"        elements = {{ {', '.join(items)} }}\n" if items else ""


def _set(name: str, family: int, items: list[str], interval: bool) -> str:
    kind = "ipv4_addr" if family == 4 else "ipv6_addr"
    flags = "        flags interval\n        auto-merge\n" if interval else ""
    return f"    set {name} {{\n        type {kind}\n{flags}{_elements(items)}    }}\n"


def _by_family(values: list[IPNetwork] | list[IPAddress], family: int) -> list[str]:
    return [str(v) for v in values if v.version == family]


def _sets(inp: LockdownInputs) -> str:
    court = list(inp.court_networks)
    dns = list(inp.dns)
    return "".join(
        (
            _set("court4", 4, _by_family(court, 4), True),
            _set("court6", 6, _by_family(court, 6), True),
            _set("dns4", 4, _by_family(dns, 4), False),
            _set("dns6", 6, _by_family(dns, 6), False),
        )
    )


def _family(address: IPAddress) -> str:
    return "ip" if isinstance(address, ipaddress.IPv4Address) else "ip6"


def _printer_rule(inp: LockdownInputs) -> list[str]:
    address = inp.printer.address
    if address is None:
        return []
    family = _family(address)
    return [f'{family} daddr {address} tcp dport {inp.printer.port} accept comment "receipt printer ({inp.printer_profile})"']


def _output(inp: LockdownInputs) -> list[str]:
    return [
        "ct state invalid drop",
        "ct state established,related accept",
        'oifname "lo" ip daddr 127.0.0.1 accept comment "the appliance\'s own services"',
        'oifname "lo" ip6 daddr ::1 accept',
        'ip daddr @court4 accept comment "court networks"',
        "ip6 daddr @court6 accept",
        'ip daddr @dns4 meta l4proto { tcp, udp } th dport 53 accept comment "court DNS resolvers only"',
        "ip6 daddr @dns6 meta l4proto { tcp, udp } th dport 53 accept",
        *_printer_rule(inp),
        'udp sport 68 udp dport 67 accept comment "DHCP request"',
        "icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } accept",
        f'counter name "{REFUSED_COUNTER}" drop',
    ]


def _input(inp: LockdownInputs) -> list[str]:
    kiosk = (
        [
            f'iifname "{inp.counter_interface}" {_family(inp.kiosk_host)} daddr {inp.kiosk_host} '
            f'tcp dport {inp.kiosk_port} accept comment "counter kiosk"'
        ]
        if inp.kiosk_on_counter
        else []
    )
    return [
        "ct state invalid drop",
        "ct state established,related accept",
        'iifname "lo" accept',
        "icmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
        *kiosk,
    ]


def _chain(name: str, hook: str, rules: list[str]) -> str:
    body = "".join(f"        {r}\n" for r in rules)
    return f"    chain {name} {{\n        type filter hook {hook} priority filter; policy drop;\n{body}    }}\n"


def render_text(inp: LockdownInputs) -> str:
    return (
        "#!/usr/sbin/nft -f\n"
        f"# 卷宗 appliance {inp.appliance_id}: egress only to the court networks, the printer and the court's\n"
        "# DNS resolvers. Rendered by `juanzong edge lockdown`; change the settings and render again.\n"
        "flush ruleset\n\n"
        f"table inet {TABLE} {{\n"
        f"    counter {REFUSED_COUNTER} {{\n    }}\n"
        + _sets(inp)
        + _chain("input", "input", _input(inp))
        + _chain("forward", "forward", [])
        + _chain("output", "output", _output(inp))
        + "}\n"
    )


def render(inp: LockdownInputs) -> RenderedFile:
    return RenderedFile(TARGET, render_text(inp), 0o644)
