"""The sync listener's connections: TLS, limits and deadlines in front of the ASGI app.

uvicorn alone holds a socket that never sends a ClientHello for 60 s, a slowly
dripped header or body for ever, and hands the verified client certificate to
nobody. So `central serve` accepts plain TCP with `Gate`, one per socket:

- over `max_connections` open sockets in all, or `max_connections_per_address`
  from one address, the new socket is closed at once (nothing is read);
- the TLS handshake (mutual, TLS 1.3, court CA) must finish within
  `request_timeout_seconds`, or the socket is closed;
- the handshake's client certificate names the appliance (its CN); a revoked
  appliance (`central revoke`) is cut off right after the handshake and audited,
  also before the CRL in the TLS context is reloaded at the next start;
- `TimedHttp` (uvicorn's httptools protocol) then closes a connection whose
  request headers are not complete within the timeout (idle TLS included), or
  whose body delivers less than `min_body_bytes_per_second` over a timeout window.

The application reads the verified appliance id from the ASGI scope:
`scope["extensions"]["tls"]["client_cert_name"]` (the ASGI TLS extension's key).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("juanzong.central.serve")


@dataclass(frozen=True)
class Limits:
    timeout: float  # seconds: TLS handshake, request headers, idle, a body window
    max_connections: int
    max_per_address: int
    min_body_rate: int  # bytes per second a request body must keep up (over one window)


def tls_identity(scope: Any) -> str | None:
    """The appliance id the TLS client certificate names, when the connection had one."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    name = tls.get("client_cert_name")
    return name if isinstance(name, str) and name else None


class Gate(asyncio.Protocol):
    """uvicorn builds one per accepted socket; `configure` sets what every gate of this process uses.
    `refused(name, serial)` is True for a revoked or unknown certificate (it audits the attempt)."""

    limits: Limits = Limits(timeout=30, max_connections=256, max_per_address=32, min_body_rate=1024)
    ssl_context: ssl.SSLContext | None = None
    refused: Callable[[str, str], bool] = staticmethod(lambda name, serial: False)
    counts: Counter[str] = Counter()
    open_gates: set[Gate] = set()

    @classmethod
    def configure(cls, limits: Limits, ssl_context: ssl.SSLContext | None, refused: Callable[[str, str], bool]) -> None:
        cls.limits, cls.ssl_context, cls.refused = limits, ssl_context, staticmethod(refused)

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any], _loop: Any = None) -> None:
        self._http_args = (config, server_state, app_state)
        self.loop = _loop or asyncio.get_event_loop()
        self.http: TimedHttp | None = None
        self.raw: asyncio.Transport | None = None
        self.address = ""
        self.closed = False
        self.early: list[bytes] = []  # TLS 1.3: the request can arrive with the client's Finished

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):  # a stream server hands a stream transport
            raise TypeError(f"not a stream transport: {transport!r}")
        self.raw = transport
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if peer else ""
        if len(self.open_gates) >= self.limits.max_connections or self.counts[self.address] >= self.limits.max_per_address:
            log.warning("connection from %s refused: %d open (%d from it)", self.address, len(self.open_gates), self.counts[self.address])
            self.closed = True
            transport.abort()
            return
        self.open_gates.add(self)
        self.counts[self.address] += 1
        if self.ssl_context is None:
            self._start_http(transport)
            return
        transport.pause_reading()  # the ClientHello must reach TLS, not this protocol
        self.loop.create_task(self._handshake(transport, self.ssl_context))

    async def _handshake(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        try:
            tls = await self.loop.start_tls(raw, self, context, server_side=True, ssl_handshake_timeout=self.limits.timeout)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError, RuntimeError) as exc:
            log.info("TLS handshake with %s failed: %s", self.address, type(exc).__name__)
            self._release()
            raw.abort()
            return
        if tls is None:
            self._release()
            return
        name, serial = _peer(tls)
        if name is None or self.refused(name, serial):
            log.warning("connection from %s refused after the handshake: certificate %s (%s)", self.address, name, serial)
            self._release()
            tls.abort()
            return
        self._start_http(tls, name)

    def _start_http(self, transport: asyncio.Transport, tls_name: str | None = None) -> None:
        config, server_state, app_state = self._http_args
        self.http = TimedHttp(config=config, server_state=server_state, app_state=app_state, _loop=self.loop)
        self.http.limits, self.http.tls_name = self.limits, tls_name
        self.http.connection_made(transport)
        for data in self.early:
            self.http.data_received(data)
        self.early.clear()

    def _release(self) -> None:
        if self in self.open_gates:
            self.open_gates.discard(self)
            self.counts[self.address] -= 1
            if self.counts[self.address] <= 0:
                del self.counts[self.address]

    # forwarded to the HTTP protocol once it runs
    def data_received(self, data: bytes) -> None:
        if self.http is not None:
            self.http.data_received(data)
        elif sum(map(len, self.early)) < 1 << 20:
            self.early.append(data)

    def eof_received(self) -> bool | None:
        if self.http is not None:
            self.http.eof_received()
        return None  # close the transport: the HTTP protocol keeps no half-open connection either

    def pause_writing(self) -> None:
        if self.http is not None:
            self.http.pause_writing()

    def resume_writing(self) -> None:
        if self.http is not None:
            self.http.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        if self.http is not None and not self.closed:
            self.closed = True
            self.http.connection_lost(exc)


def _peer(tls: asyncio.BaseTransport) -> tuple[str | None, str]:
    sslobj = tls.get_extra_info("ssl_object")
    cert = sslobj.getpeercert() if sslobj is not None else None
    if not cert:
        return None, ""
    names = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
    return (names[0] if names else None), str(cert.get("serialNumber", "")).lower()


class TimedHttp(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with deadlines: headers within the timeout, a body that keeps coming."""

    limits: Limits
    tls_name: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's own narrowing
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_bytes = 0
        self._arm_headers()

    def _arm_headers(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.limits.timeout, self._cut, "request headers not complete in time")

    def _cut(self, why: str) -> None:
        if not self.transport.is_closing():
            self.logger.info("closing %s: %s", self.client, why)
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self._body_bytes += len(data)
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm_headers()  # the first bytes of a next request on a kept-alive connection
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.tls_name is not None:
            self.scope["extensions"] = {"tls": {"client_cert_name": self.tls_name}}
        self._arm_headers()

    def on_headers_complete(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().on_headers_complete()
        self._body_bytes = 0
        self._body_timer = self.loop.call_later(self.limits.timeout, self._check_body)

    def _check_body(self) -> None:
        self._body_timer = None
        if self.cycle is None or not self.cycle.more_body or self.transport.is_closing():
            return
        if self._body_bytes < self.limits.min_body_rate * self.limits.timeout and not self.flow.read_paused:
            self._cut("request body too slow")
            return
        self._body_bytes = 0
        self._body_timer = self.loop.call_later(self.limits.timeout, self._check_body)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)
