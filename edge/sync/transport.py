"""How the appliance talks to central: one small interface, HTTP behind it.

`HttpTransport` re-checks the target on every request: the host must resolve
only into the configured court ranges (shared.netpolicy), and the connection
goes to the checked address itself with the original Host header, so DNS
rebinding cannot move it elsewhere. requests runs with `trust_env=False`
(no proxy from the environment, no .netrc) and never follows a redirect.
Tests wrap or replace the interface at the network edge.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import requests

from shared.errors import AppError, ErrorCode
from shared.manifest import Signed
from shared.netpolicy import Network, resolve_allowed


class Transport(Protocol):
    def has_blob(self, sha256: str) -> bool: ...
    def put_blob(self, sha256: str, data: bytes) -> None: ...
    def post_manifest(self, signed: Signed) -> Signed: ...


class HttpTransport:
    def __init__(self, base_url: str, appliance_id: str, networks: tuple[Network, ...], timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AppError(ErrorCode.SETTINGS_INVALID, detail=f"central_url 无效：{base_url!r}")
        self.parts, self.appliance_id, self.networks, self.timeout = parts, appliance_id, networks, timeout
        self.session = requests.Session()
        self.session.trust_env = False

    def _request(self, method: str, path: str, **kw) -> requests.Response:
        host, port = self.parts.hostname, self.parts.port or (443 if self.parts.scheme == "https" else 80)
        address = resolve_allowed(host, port, self.networks)
        netloc = (f"[{address}]" if ":" in address else address) + f":{port}"
        # https keeps the name (certificate check); http is pinned to the checked address
        url = urlunsplit((self.parts.scheme, self.parts.netloc if self.parts.scheme == "https" else netloc, path, "", ""))
        headers = {"Host": self.parts.netloc, "X-Appliance-Id": self.appliance_id, **kw.pop("headers", {})}
        try:
            return self.session.request(method, url, headers=headers, timeout=self.timeout, allow_redirects=False, **kw)
        except requests.RequestException as exc:
            raise AppError(ErrorCode.SYNC_NETWORK_DOWN, detail=type(exc).__name__) from exc

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


def _rejected(resp: requests.Response) -> AppError:
    if resp.status_code >= 500 or resp.status_code in (301, 302, 307, 308):
        return AppError(ErrorCode.SYNC_NETWORK_DOWN, detail=f"HTTP {resp.status_code}")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    return Rejected(resp.status_code, str(body.get("error", "")), str(body.get("message", "")))
