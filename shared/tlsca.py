"""The court's private CA for mutual TLS between appliances and central.

Central holds the CA (or the court's own CA is installed in its place): it
issues central's server certificate at `central init` and an appliance's client
certificate at `central enroll`, from a CSR the appliance made itself, so the
appliance's TLS private key never leaves it. ECDSA P-256 keys: every TLS stack
the court's network gear runs accepts them. Appliances also pin the server
certificate's SHA-256 fingerprint, so even a certificate the CA mis-issued
for the same name is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from juanzong.shared import clock
from juanzong.shared.errors import AppError, ErrorCode

CA_YEARS, LEAF_YEARS = 10, 3


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    return serialization.load_pem_private_key(pem, password=None)  # type: ignore[return-value]  # our keys are EC (new_key)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "卷宗 Juanzong"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key: CertificatePublicKeyTypes, years: int) -> x509.CertificateBuilder:
    now = clock.now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
    )


# RFC 5280 profile that strict verifiers (Python's VERIFY_X509_STRICT, the default from 3.13;
# sslyze; cryptography's verifier) require: Subject and Authority Key Identifiers on every
# certificate, critical BasicConstraints and KeyUsage, an EKU and a SAN on the server leaf.
_CA_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # keyCertSign, cRLSign
_LEAF_USAGE = x509.KeyUsage(True, False, False, False, False, False, False, False, False)  # digitalSignature


def new_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = new_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        _builder(_name(common_name), _name(common_name), key.public_key(), CA_YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    builder: x509.CertificateBuilder, ca_cert: x509.Certificate, public_key: Any, usage: x509.ObjectIdentifier
) -> x509.CertificateBuilder:
    return (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_LEAF_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(authority_key_id(ca_cert), critical=False)
    )


def authority_key_id(ca_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:  # an imported CA without SKI: derive it from its key
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())  # type: ignore[arg-type]  # a CA key signs


def check_ca(ca_key: Any, ca_cert: x509.Certificate) -> None:
    """An imported court CA: a CA certificate whose key is the one given, allowed to sign certificates."""
    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise AppError(ErrorCode.CA_INVALID, detail="证书不是 CA 证书（缺少 BasicConstraints CA:TRUE）")
    try:
        usage = ca_cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.key_cert_sign:
            raise AppError(ErrorCode.CA_INVALID, detail="CA 证书的 KeyUsage 不允许签发证书")
    except x509.ExtensionNotFound:
        pass
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    if ca_key.public_key().public_bytes(serialization.Encoding.DER, pub) != ca_cert.public_key().public_bytes(
        serialization.Encoding.DER, pub
    ):
        raise AppError(ErrorCode.CA_INVALID, detail="私钥与 CA 证书不匹配")


def issue_server(
    ca_key: CertificateIssuerPrivateKeyTypes, ca_cert: x509.Certificate, hosts: list[str]
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = new_key()
    builder = _builder(_name(hosts[0]), ca_cert.subject, key.public_key(), LEAF_YEARS).add_extension(
        x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False
    )
    cert = _leaf(builder, ca_cert, key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH).sign(ca_key, hashes.SHA256())
    return key, cert


def crl(ca_key: Any, ca_cert: x509.Certificate, revoked: dict[int, dt.datetime]) -> bytes:
    """The CA's certificate revocation list (PEM): every revoked serial with its date."""
    now = clock.now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(authority_key_id(ca_cert), critical=False)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
    )
    for serial, when in sorted(revoked.items()):
        builder = builder.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def revoked_serials(crl_pem: bytes) -> dict[int, dt.datetime]:
    loaded = x509.load_pem_x509_crl(crl_pem)
    return {r.serial_number: r.revocation_date_utc for r in loaded}


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def new_csr(key: ec.EllipticCurvePrivateKey, appliance_id: str) -> bytes:
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(appliance_id)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def issue_client(
    ca_key: CertificateIssuerPrivateKeyTypes, ca_cert: x509.Certificate, csr_pem: bytes, appliance_id: str
) -> x509.Certificate:
    """A client certificate for exactly the appliance that asked, after checking its CSR."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise AppError(ErrorCode.APPLIANCE_IDENTITY_INVALID, path=appliance_id, detail="TLS 证书申请无法解析") from exc
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not csr.is_signature_valid or not names or names[0].value != appliance_id:
        raise AppError(ErrorCode.APPLIANCE_IDENTITY_INVALID, path=appliance_id, detail="TLS 证书申请与设备编号不符")
    builder = _builder(_name(appliance_id), ca_cert.subject, csr.public_key(), LEAF_YEARS).add_extension(
        x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"urn:juanzong:appliance:{appliance_id}")]), critical=False
    )
    return _leaf(builder, ca_cert, csr.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH).sign(ca_key, hashes.SHA256())
