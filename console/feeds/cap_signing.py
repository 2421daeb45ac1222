"""Signed CAP messages: an enveloped W3C XML Signature with the agency's X.509 certificate.

With CAP_SIGNING_KEY and CAP_SIGNING_CERT set, every CAP `<alert>` carries a `<ds:Signature>`
as its last child (CAP 1.2 §3.3.2.1 allows it there): RSA-SHA256 over the whole message
(Reference URI "", enveloped-signature and C14N 1.1 transforms), with the certificate in
`<ds:KeyInfo><ds:X509Data>`. RSA PKCS#1 v1.5 signatures are deterministic, so rendering an
unchanged message again gives the very same bytes. Without the two settings CAP files are
unsigned. Anyone can check a file with `xmlsec1 --verify` and the certificate published at
`/.well-known/incident-console/cap-signing.pem`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.exceptions import InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from console.files import create_atomically
from console.settings import Settings, SettingsError

CERT_PATH = "/.well-known/incident-console/cap-signing.pem"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


@dataclass(frozen=True)
class CapSigner:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_settings(cls, settings: Settings) -> CapSigner | None:
        if settings.cap_signing_key is None or settings.cap_signing_cert is None:
            return None
        try:
            key = serialization.load_pem_private_key(settings.cap_signing_key.read_bytes(), password=None)
            certificate = x509.load_pem_x509_certificate(settings.cap_signing_cert.read_bytes())
        except (OSError, ValueError) as exc:
            raise SettingsError(f"CAP_SIGNING_KEY / CAP_SIGNING_CERT cannot be read: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SettingsError("CAP_SIGNING_KEY must be an RSA private key (PEM)")
        public = certificate.public_key()
        if (
            not isinstance(public, rsa.RSAPublicKey)
            or public.public_numbers() != key.public_key().public_numbers()
        ):
            raise SettingsError("CAP_SIGNING_CERT is not the certificate of CAP_SIGNING_KEY")
        return cls(key, certificate)

    def sign(self, message: bytes) -> bytes:
        """`message` (a CAP `<alert>` document) with an enveloped signature as its last child."""
        root = etree.fromstring(message, parser=_PARSER)
        signed = XMLSigner(signature_algorithm="rsa-sha256", digest_algorithm="sha256").sign(
            root, key=self.key, cert=[self.certificate]
        )
        xml: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        return xml + b"\n"


def verify_cap(message: bytes, certificate: x509.Certificate) -> list[str]:
    """What is wrong with a signed CAP message, checked against `certificate` (empty: nothing)."""
    try:
        root = etree.fromstring(message, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        return [f"not XML ({exc})"]
    if root.find(f"{{{DSIG_NS}}}Signature") is None:
        return ["the CAP message carries no XML signature"]
    try:
        XMLVerifier().verify(
            root, x509_cert=certificate, expect_config=SignatureConfiguration(require_x509=True)
        )
    except InvalidSignature as exc:
        return [f"the CAP message's XML signature does not verify with the agency's certificate ({exc})"]
    return []


def cap_checker(certificate_path: Path | None):  # type: ignore[no-untyped-def]
    """For `console verify`: a check of one CAP file, or None when there is no certificate."""
    if certificate_path is None:
        return None
    certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())

    def check(path: Path, name: str) -> list[str]:
        return verify_cap(path.read_bytes(), certificate)

    return check


def create_test_certificate(settings: Settings, *, years: int = 5) -> x509.Certificate:
    """A self-signed RSA key and certificate at CAP_SIGNING_KEY and CAP_SIGNING_CERT, for testing
    (a real agency uses a certificate its alerting authority recognises)."""
    if settings.cap_signing_key is None or settings.cap_signing_cert is None:
        raise SettingsError("set CAP_SIGNING_KEY and CAP_SIGNING_CERT to where the key and certificate go")
    for path in (settings.cap_signing_key, settings.cap_signing_cert):
        if path.exists():
            raise FileExistsError(f"{path} already exists; remove it first to make a new test pair")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"{settings.cap_sender_id} CAP signing (test)")]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    create_atomically(settings.cap_signing_key, key_pem, mode=0o600)
    create_atomically(
        settings.cap_signing_cert, certificate.public_bytes(serialization.Encoding.PEM), mode=0o644
    )
    return certificate
