"""How the appliance talks to central: one small interface, HTTP behind it.

`HttpTransport` re-checks the target on every request: the host must resolve
only into the configured court ranges (edge.netpolicy), and the connection
goes to the checked address itself with the original Host header, so DNS
rebinding cannot move it elsewhere. HTTPS is mutual TLS: central's certificate
must chain to the court's private CA, match the configured name and have the
pinned SHA-256 fingerprint, and the appliance presents its own client
certificate. Plain HTTP is refused except to a loopback address (a lab).
requests runs with `trust_env=False` (no proxy from the environment, no
.netrc) and never follows a redirect. Tests wrap or replace the interface at
the network edge.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from juanzong.edge.keys import TlsFiles
from juanzong.edge.netpolicy import Network, resolve_allowed
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import Signed

if TYPE_CHECKING:
    from juanzong.edge.config import EdgeSettings


class Transport(Protocol):
    def has_blob(self, sha256: str) -> bool: ...
    def put_blob(self, sha256: str, data: bytes) -> None: ...
    def post_manifest(self, signed: Signed) -> Signed: ...


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked address but verifies the certificate against the
    configured name, and against the pinned fingerprint."""

    def __init__(self, server_name: str, fingerprint: str) -> None:
        self.server_name, self.fingerprint = server_name, fingerprint
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kw) -> None:
        kw.update(server_hostname=self.server_name, assert_hostname=self.server_name, assert_fingerprint=self.fingerprint)
        super().init_poolmanager(*args, **kw)


class HttpTransport:
    def __init__(
        self, base_url: str, appliance_id: str, networks: tuple[Network, ...], timeout: float, tls: TlsFiles | None = None
    ) -> None:
        parts = urlsplit(base_url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host:
            raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"central_url 无效：{base_url!r}")
        if parts.scheme == "https" and tls is None:
            raise AppError(ErrorCode.SYNC_TLS_NOT_PAIRED)
        self.parts, self.host, self.appliance_id, self.networks, self.timeout = parts, host, appliance_id, networks, timeout
        self.session = requests.Session()
        self.session.trust_env = False
        if tls is not None and parts.scheme == "https":
            self.session.verify = str(tls.ca)
            self.session.cert = (str(tls.cert), str(tls.key))
            self.session.mount("https://", _PinnedAdapter(host, tls.fingerprint))

    def _request(self, method: str, path: str, **kw) -> requests.Response:
        host, port = self.host, self.parts.port or (443 if self.parts.scheme == "https" else 80)
        address = resolve_allowed(host, port, self.networks)
        if self.parts.scheme == "http" and not ipaddress.ip_address(address.split("%")[0]).is_loopback:
            raise AppError(ErrorCode.SYNC_TLS_REQUIRED, host=host, address=address)
        netloc = (f"[{address}]" if ":" in address else address) + f":{port}"
        url = urlunsplit((self.parts.scheme, netloc, path, "", ""))
        headers = {"Host": self.parts.netloc, "X-Appliance-Id": self.appliance_id, **kw.pop("headers", {})}
        try:
            return self.session.request(method, url, headers=headers, timeout=self.timeout, allow_redirects=False, **kw)
        except requests.exceptions.SSLError as exc:
            raise AppError(ErrorCode.SYNC_TLS_FAILED, host=host, detail=_ssl_reason(exc)) from exc
        except requests.RequestException as exc:
            raise AppError(ErrorCode.SYNC_NETWORK_DOWN, detail=type(exc).__name__) from exc

    def health(self) -> dict:
        resp = self._request("GET", "/api/health")
        if resp.status_code != 200:
            raise _rejected(resp)
        return resp.json()

    def has_blob(self, sha256: str) -> bool:
        resp = self._request("HEAD", f"/api/blobs/{sha256}")
        if resp.status_code in (200, 404):
            return resp.status_code == 200
        raise _rejected(resp)

    def put_blob(self, sha256: str, data: bytes) -> None:
        resp = self._request("PUT", f"/api/blobs/{sha256}", data=data, headers={"Content-Type": "application/octet-stream"})
        if resp.status_code not in (200, 201):
            raise _rejected(resp)

    def post_manifest(self, signed: Signed) -> Signed:
        resp = self._request("POST", "/api/manifests", json=signed.to_wire())
        if resp.status_code not in (200, 201):
            raise _rejected(resp)
        return Signed.from_wire(resp.json().get("receipt"))


class Rejected(AppError):
    """Central answered with an error: `code` is central's stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(ErrorCode.SYNC_REJECTED, batch_id="", detail=f"{status} {code} {message}")
        self.status, self.central_code = status, code


def _ssl_reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Fingerprints did not match", "CERTIFICATE_VERIFY_FAILED", "hostname", "certificate required", "alert"):
        if marker.lower() in text.lower():
            return marker
    return type(exc).__name__


def _rejected(resp: requests.Response) -> AppError:
    if resp.status_code >= 500 or resp.status_code in (301, 302, 307, 308):
        return AppError(ErrorCode.SYNC_NETWORK_DOWN, detail=f"HTTP {resp.status_code}")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    return Rejected(resp.status_code, str(body.get("error", "")), str(body.get("message", "")))


def transport_for(settings: EdgeSettings, networks: tuple[Network, ...] | None = None) -> HttpTransport:
    """The appliance's transport to central, with its TLS files when it is paired."""
    from juanzong.edge.keys import load_central, tls_files

    tls = tls_files(settings.keys_dir, load_central(settings.keys_dir))
    return HttpTransport(
        settings.central_url,
        settings.appliance_id,
        settings.court_networks if networks is None else networks,
        settings.sync_timeout_seconds,
        tls,
    )
