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

from juanzong.shared import tlsca
from juanzong.shared.durable import write_durable

CA_KEY, CA_CERT, TLS_KEY, TLS_CERT = "ca.key", "ca.crt", "tls.key", "tls.crt"


def server_names(host: str) -> list[str]:
    """Names the server certificate covers: the configured host, plus loopback
    when it listens on loopback or on every address."""
    names = [host] if host not in ("0.0.0.0", "::") else []
    try:
        loopback = ipaddress.ip_address(host).is_loopback or host in ("0.0.0.0", "::")
    except ValueError:
        loopback = host == "localhost"
    return names + [n for n in ("127.0.0.1", "localhost") if loopback and n not in names]


def create(keys_dir: Path, host: str) -> dict[str, str]:
    ca_key, ca_cert = tlsca.new_ca("卷宗 法院内部 CA")
    key, cert = tlsca.issue_server(ca_key, ca_cert, server_names(host))
    for name, pem, mode in ((CA_KEY, tlsca.key_pem(ca_key), 0o600), (CA_CERT, tlsca.cert_pem(ca_cert), 0o644),
                            (TLS_KEY, tlsca.key_pem(key), 0o600), (TLS_CERT, tlsca.cert_pem(cert), 0o644)):
        write_durable(keys_dir / name, pem, mode=mode)
    return public(keys_dir)


def public(keys_dir: Path) -> dict[str, str]:
    """What appliances need: the CA to verify central, the fingerprint to pin."""
    cert = tlsca.load_cert((keys_dir / TLS_CERT).read_bytes())
    return {"ca_cert": (keys_dir / CA_CERT).read_text("ascii"), "tls_fingerprint": tlsca.fingerprint(cert)}


def issue_client(keys_dir: Path, csr_pem: str, appliance_id: str) -> str:
    ca_key = tlsca.load_key((keys_dir / CA_KEY).read_bytes())
    ca_cert = tlsca.load_cert((keys_dir / CA_CERT).read_bytes())
    return tlsca.cert_pem(tlsca.issue_client(ca_key, ca_cert, csr_pem.encode("ascii"), appliance_id)).decode("ascii")


def server_context(keys_dir: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(keys_dir / TLS_CERT, keys_dir / TLS_KEY)
    ctx.load_verify_locations(keys_dir / CA_CERT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
