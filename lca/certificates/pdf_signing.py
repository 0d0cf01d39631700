"""The certificate PDF's signature: PAdES baseline B-B (ETSI EN 319 142-1) made with pyHanko,
in an incremental update that leaves the PDF/A-2b page as drawn.

Whose certificate signs:
- an organisation certificate the operator configures (LCA_PDF_SIGNING_P12, a PKCS#12 file
  with the key, the certificate and its chain, and LCA_PDF_SIGNING_P12_PASSWORD_FILE, a file
  holding its passphrase), which PDF readers trust when it chains to a root they trust;
- otherwise LCA's own self-signed certificate in LCA_KEYS_DIR (LCA_DATA_DIR/keys), which
  ``ensure_self_signed`` makes (``flask --app wsgi lca keys generate``): readers then say the
  signature is valid and the document unchanged, but the signer unknown until they trust it.

The key is RSA-3072 (128-bit strength, NIST SP 800-57, acceptable beyond 2030), not ECDSA
P-256 of the same strength: RSA signatures are part of PDF 1.7 itself, while ECDSA in PDF is
ISO 32002, a PDF 2.0 extension, and pyHanko marks an ECDSA-signed file PDF 2.0, which a
PDF/A-2b file (PDF 1.7) must not claim to be; an organisation certificate must be RSA too.
The certificate runs until 9999-12-31 23:59:59 UTC, RFC 5280's "no well-defined expiration
date": a certificate must stay checkable for decades, and a B-B signature carries no
timestamp to prove it was made while its signer's certificate was valid. Rotating
(``force``) keeps the old certificate as retired-<fingerprint>.cert.pem.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from flask import current_app
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.sign import attributes, fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from lca.core.config import keys_folder_of, read_pkcs12

CERT_FILE = "pdf-signing.cert.pem"
KEY_FILE = "pdf-signing.key.pem"
FIELD_NAME = "LCA-Signature"
COMMON_NAME = "LCA certificate signing"
#: RFC 5280 §4.1.2.5: a certificate with no well-defined expiration date
NO_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


class PdfSigningCertificateMissing(RuntimeError):
    """No certificate to sign PDFs with: `flask --app wsgi lca keys generate` makes one."""


def keys_folder() -> Path:
    return keys_folder_of(current_app.config)


def require_signing_certificate() -> None:
    """PdfSigningCertificateMissing unless PDFs can be signed: an organisation certificate
    is configured (checked at start) or LCA's own is in the keys folder. Cheap: it reads no
    key, so a service may call it before it takes a serial number."""
    if current_app.config.get("LCA_PDF_SIGNING_P12"):
        return
    folder = keys_folder()
    if not (folder / CERT_FILE).exists() or not (folder / KEY_FILE).exists():
        raise PdfSigningCertificateMissing(
            "No certificate to sign certificate PDFs with. Run: flask --app wsgi lca keys "
            "generate (or set LCA_PDF_SIGNING_P12 to an organisation certificate)"
        )


def _fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def ensure_self_signed(folder: Path, issuer: dict, force: bool = False) -> Path:
    """LCA's self-signed PDF signing certificate in ``folder`` (its key beside it, mode 0600),
    made if absent; with ``force`` a new one, the old certificate kept as
    retired-<fingerprint>.cert.pem. Returns the certificate's path. ``issuer`` is
    ``load_issuer()["issuer"]``: its English name is the certificate's organisation."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if cert_path.exists() and key_path.exists() and not force:
        return cert_path
    if cert_path.exists():
        old = x509.load_pem_x509_certificate(cert_path.read_bytes())
        (folder / f"retired-{_fingerprint(old)}.cert.pem").write_bytes(cert_path.read_bytes())
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer["name_en"]),
            x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME),
        ]
    )
    now = datetime.now(UTC).replace(microsecond=0)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(NO_EXPIRY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    os.chmod(key_path, 0o600)  # an existing file keeps its mode through os.open
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _contents_space(signed: bytes) -> int:
    """How many hex digits the last signature's /Contents holds (between its ByteRanges)."""
    start = signed.rindex(b"/ByteRange")
    numbers = signed[start : signed.index(b"]", start)].split(b"[")[1].split()
    return int(numbers[2]) - int(numbers[1]) - 2  # less the < and >


class _EncodedOnce(attributes.CMSAttributeProvider):
    """A signed attribute whose value never changes, encoded once: read back from its DER
    encoding, asn1crypto keeps the bytes instead of encoding the value again."""

    def __init__(self, provider: attributes.CMSAttributeProvider) -> None:
        self.attribute_type = provider.attribute_type
        self._provider = provider
        self._der: bytes | None = None

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        return await self._provider.build_attr_value(dry_run=dry_run)

    async def get_attribute(self, dry_run: bool = False) -> Any:
        if self._der is None:
            attribute = await self._provider.get_attribute(dry_run=dry_run)
            if attribute is None:
                return None
            self._der = attribute.dump()
        return cms.CMSAttribute.load(self._der)


class _HeldKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner, signing with the key object it was given: SimpleSigner parses
    the key again for every signature (and its size estimate signs once more), and
    cryptography checks an RSA key as it parses it, a tenth of a second each time."""

    def __init__(self, key: rsa.RSAPrivateKey, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = key
        self._certificate_attribute: _EncodedOnce | None = None

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Any:
        """pyHanko's signed attributes, with the signing-certificate-v2 one encoded once: it
        is the same in every signature made with this certificate, and asn1crypto encodes a
        value built from Python objects anew each time (a quarter of a signature's time)."""
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if isinstance(provider, attributes.SigningCertificateV2Provider):
                if self._certificate_attribute is None:
                    self._certificate_attribute = _EncodedOnce(provider)
                yield self._certificate_attribute
            else:
                yield provider

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
        if dry_run:  # the size estimate: an RSA signature is as long as the modulus
            return bytes(self._key.key_size // 8)
        if digest_algorithm != "sha256":
            raise ValueError(f"LCA signs with SHA-256, not {digest_algorithm}")
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _run(coroutine: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run pyHanko's signing coroutine to its end. pyHanko's own sign_pdf starts an event loop,
    which fails where one is running already (a caller inside asyncio, or a test driving a
    browser): then the signature is made on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine())
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(coroutine())).result()


class PdfSigner:
    """Signs certificate PDFs with one key and certificate, loaded once (per renderer, that
    is per batch)."""

    def __init__(
        self, key: rsa.RSAPrivateKey, certificate: x509.Certificate, chain: list[x509.Certificate]
    ):
        self.certificate = certificate
        #: the hex digits kept for the signature, known after the first one
        self._reserved: int | None = None
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._signer = _HeldKeySigner(
            key,
            signing_cert=next(load_certs_from_pemder_data(_der(certificate))),
            signing_key=load_private_key_from_pemder_data(pkcs8, None),
            cert_registry=SimpleCertificateStore.from_certs(
                [next(load_certs_from_pemder_data(_der(member))) for member in chain]
            ),
        )

    @classmethod
    def from_app(cls) -> PdfSigner:
        """The organisation certificate if the operator configured one, else LCA's own."""
        configured = current_app.config.get("LCA_PDF_SIGNING_P12")
        if configured:
            key, certificate, chain = read_pkcs12(
                configured, current_app.config["LCA_PDF_SIGNING_P12_PASSWORD_FILE"]
            )
            return cls(key, certificate, chain)
        require_signing_certificate()
        folder = keys_folder()
        key = serialization.load_pem_private_key((folder / KEY_FILE).read_bytes(), None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise PdfSigningCertificateMissing(
                f"{folder / KEY_FILE} is not an RSA key. Run: flask --app wsgi lca keys generate"
            )
        certificate = x509.load_pem_x509_certificate((folder / CERT_FILE).read_bytes())
        return cls(key, certificate, [])

    def sign(self, pdf: bytes, issuer: dict | None = None) -> bytes:
        """``pdf`` with an invisible PAdES B-B signature (subfilter ETSI.CAdES.detached, SHA-256,
        no timestamp) over the whole file; ``issuer`` (the snapshot's) names who issued it in
        the signature's reason, Thai first."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        # pyHanko writes its name as the producer into the XMP (pdf:Producer) and appends it
        # to the Info dictionary's; PDF/A wants both the same, so both say pyHanko's name.
        info = writer.trailer["/Info"]
        info["/Producer"] = generic.TextStringObject(VENDOR)
        writer.update_container(info)
        reason = "Certificate of completion"
        if issuer:
            reason = (
                f"วุฒิบัตรที่{issuer['name_th']}ออกให้ / "
                f"Certificate of completion issued by {issuer['name_en']}"
            )
        metadata = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location="ประเทศไทย / Thailand",
        )
        signer = signers.PdfSigner(
            metadata, signer=self._signer, new_field_spec=fields.SigFieldSpec(FIELD_NAME)
        )
        signed = _run(lambda: signer.async_sign_pdf(writer, bytes_reserved=self._reserved))
        signed = signed.getvalue()
        if self._reserved is None:
            # pyHanko sized the signature's space with a trial signature (and half as much
            # again); the signature of one key and chain keeps its size, so the next ones
            # take the same space without the trial
            self._reserved = _contents_space(signed)
        return signed
