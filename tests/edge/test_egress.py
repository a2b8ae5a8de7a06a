"""No stray egress (issue 9, point 8): no catch-all court network, and the receipt printer obeys sync's policy."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_printer import network_printer, receipt

from juanzong.edge.devices.printer import probe, render_receipt, send
from juanzong.edge.netpolicy import LOOPBACK, parse_networks
from juanzong.shared.errors import AppError, ErrorCode


@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0", "0.0.0.0/1", "10.0.0.0/7", "2000::/3", "::ffff:0:0/96", "::/1"])
def test_catch_all_networks_are_refused(network: str) -> None:
    with pytest.raises(AppError) as err:
        parse_networks(["10.20.0.0/16", network])
    assert err.value.code is ErrorCode.COURT_NETWORK_TOO_WIDE and network.split("/")[0] in err.value.message


def test_court_sized_networks_are_accepted() -> None:
    nets = parse_networks(["10.0.0.0/8", "192.168.10.0/24", "fd00::/8", "2001:db8:100::/48", "127.0.0.0/8", "::1/128"])
    assert len(nets) == 6


def test_an_appliance_configured_with_a_catch_all_does_not_start(tmp_path: Path) -> None:
    from juanzong.edge.tooling import demo

    result = demo.juanzong(
        "edge", "init", "--home", str(tmp_path / "a"), "--profile", "simulated", "--court-network", "0.0.0.0/0", check=False
    )
    assert result.returncode == 1 and "COURT_NETWORK_TOO_WIDE" in result.stderr and "过宽" in result.stderr


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    received: list[bytes] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            received.append(self.request.recv(65536))

    server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def test_a_network_printer_outside_the_court_networks_gets_nothing(listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    p = network_printer(port)
    data = render_receipt(receipt(), p)
    with pytest.raises(AppError) as err:
        send(data, p, Path("/nonexistent"), parse_networks(["10.0.0.0/8"]))
    assert err.value.code is ErrorCode.PRINTER_TARGET_FORBIDDEN and "127.0.0.1" in err.value.message
    assert probe(p, Path("/nonexistent"), parse_networks(["10.0.0.0/8"]))["ok"] is False
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # the listener was up all along
        s.sendall(b"ping")
    send(data, p, Path("/nonexistent"), LOOPBACK)  # inside the ranges: delivered
    for _ in range(100):  # the handler thread records what it got a moment after the sender is done
        if len(received) >= 2:
            break
        threading.Event().wait(0.05)
    assert b"ping" in received and any(chunk.startswith(data[:32]) for chunk in received if chunk != b"ping")
