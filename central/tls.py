"""Central's side of mutual TLS: the private CA, the server certificate, client certificates.

    keys/ca.key, keys/ca.crt     the court's private CA (generated at init)
    keys/tls.key, keys/tls.crt   central's server certificate, issued by that CA

`central enroll` issues an appliance's client certificate from the CSR in its
identity file. `central serve` requires a client certificate from this CA on
every connection (TLS 1.3 only); which appliance sent a batch is still proven
by its Ed25519 signature, because ASGI servers do not reliably hand the
verified client certificate to the application.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from juanzong.shared import clock, tlsca
from juanzong.shared.durable import write_durable
from juanzong.shared.errors import AppError, ErrorCode

CA_KEY, CA_CERT, TLS_KEY, TLS_CERT, CA_CRL = "ca.key", "ca.crt", "tls.key", "tls.crt", "ca.crl"


def server_names(host: str) -> list[str]:
    """Names the server certificate covers: the configured host, plus loopback
    when it listens on loopback or on every address."""
    names = [host] if host not in ("0.0.0.0", "::") else []
    try:
        loopback = ipaddress.ip_address(host).is_loopback or host in ("0.0.0.0", "::")
    except ValueError:
        loopback = host == "localhost"
    return names + [n for n in ("127.0.0.1", "localhost") if loopback and n not in names]


def create(keys_dir: Path, host: str, court_ca: tuple[Path, Path] | None = None) -> dict[str, str]:
    """The CA (generated, or the court's own: `court_ca` = (certificate, key) PEM files), an empty
    CRL and the server certificate."""
    ca_key, ca_cert = load_court_ca(*court_ca) if court_ca else tlsca.new_ca("卷宗 法院内部 CA")
    ca_key_pem = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for name, pem, mode in (
        (CA_KEY, ca_key_pem, 0o600),
        (CA_CERT, tlsca.cert_pem(ca_cert), 0o644),
        (CA_CRL, tlsca.crl(ca_key, ca_cert, {}), 0o644),
    ):
        write_durable(keys_dir / name, pem, mode=mode)
    renew_server(keys_dir, host)
    return public(keys_dir)


def load_court_ca(cert_path: Path, key_path: Path) -> tuple[Any, x509.Certificate]:
    try:
        ca_cert = tlsca.load_cert(cert_path.read_bytes())
        ca_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise AppError(ErrorCode.CA_INVALID, detail=f"无法读取 {cert_path} / {key_path}：{exc}") from exc
    tlsca.check_ca(ca_key, ca_cert)
    return ca_key, ca_cert


def _ca(keys_dir: Path) -> tuple[Any, x509.Certificate]:
    ca_key = serialization.load_pem_private_key((keys_dir / CA_KEY).read_bytes(), password=None)
    return ca_key, tlsca.load_cert((keys_dir / CA_CERT).read_bytes())


def renew_server(keys_dir: Path, host: str) -> str:
    """A new server key and certificate from the CA; returns the new fingerprint (appliances re-pin it)."""
    ca_key, ca_cert = _ca(keys_dir)
    key, cert = tlsca.issue_server(ca_key, ca_cert, server_names(host))
    write_durable(keys_dir / TLS_KEY, tlsca.key_pem(key), mode=0o600)
    write_durable(keys_dir / TLS_CERT, tlsca.cert_pem(cert), mode=0o644)
    return tlsca.fingerprint(cert)


def revoke(keys_dir: Path, serials: list[int]) -> int:
    """Add serials to the CRL (kept with every earlier entry); returns how many it lists."""
    ca_key, ca_cert = _ca(keys_dir)
    path = keys_dir / CA_CRL
    revoked = tlsca.revoked_serials(path.read_bytes()) if path.exists() else {}
    now = clock.now()
    for serial in serials:
        revoked.setdefault(serial, now)
    write_durable(path, tlsca.crl(ca_key, ca_cert, revoked), mode=0o644)
    return len(revoked)


def public(keys_dir: Path) -> dict[str, str]:
    """What appliances need: the CA to verify central, the fingerprint to pin."""
    cert = tlsca.load_cert((keys_dir / TLS_CERT).read_bytes())
    return {"ca_cert": (keys_dir / CA_CERT).read_text("ascii"), "tls_fingerprint": tlsca.fingerprint(cert)}


def issue_client(keys_dir: Path, csr_pem: str, appliance_id: str) -> str:
    ca_key, ca_cert = _ca(keys_dir)
    return tlsca.cert_pem(tlsca.issue_client(ca_key, ca_cert, csr_pem.encode("ascii"), appliance_id)).decode("ascii")


def serial_of(cert_pem: str) -> int:
    return tlsca.load_cert(cert_pem.encode("ascii")).serial_number


def server_context(keys_dir: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(keys_dir / TLS_CERT, keys_dir / TLS_KEY)
    ctx.load_verify_locations(keys_dir / CA_CERT)
    if (keys_dir / CA_CRL).exists():  # revoked appliances fail the handshake itself
        ctx.load_verify_locations(keys_dir / CA_CRL)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
