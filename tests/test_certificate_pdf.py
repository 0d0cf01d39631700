"""The certificate PDF as archives and PDF readers see it: PDF/A-2b structures (checked with
pikepdf: veraPDF is not available here), and a PAdES B-B signature that poppler's pdfsig
validates, with LCA's self-signed certificate or an organisation certificate."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image
from sqlalchemy import select

from lca.certificates import pdf_signing
from lca.certificates.issuer import load_issuer
from lca.certificates.keys import generate_keys
from lca.certificates.pdf import CertificateRenderer
from lca.certificates.pdf_signing import (
    CERT_FILE,
    KEY_FILE,
    PdfSigner,
    PdfSigningCertificateMissing,
    ensure_self_signed,
    require_signing_certificate,
)
from lca.certificates.services import issue_certificate
from lca.core.config import ConfigError, load_config
from lca.core.errors import RuleError
from lca.core.storage import storage
from lca.models import Certificate
from tests.factories import count_rows, eligible_enrolment

FORBIDDEN = {"/JavaScript", "/JS", "/OpenAction", "/AA", "/EmbeddedFiles", "/Encrypt"}
ORGANISATION = "University of Phayao (organisation certificate)"


@pytest.fixture(autouse=True)
def signing_key(app):
    with app.app_context():
        generate_keys()


def issued(client, db) -> tuple[Certificate, bytes]:
    """A certificate issued through the admin's form, and its PDF as downloaded."""
    client.post(
        f"/enrolments/{eligible_enrolment().id}/certificate",
        data={"language": "both"},
        follow_redirects=True,
    )
    certificate = db.session.scalars(select(Certificate).order_by(Certificate.id.desc())).first()
    return certificate, client.get(f"/verify/{certificate.code}/certificate.pdf").data


@pytest.fixture
def pdfsig(system_tool, tmp_path):
    """``pdfsig(pdf)``: what poppler's pdfsig says of the PDF's signatures."""
    program = system_tool("pdfsig")

    def check(pdf: bytes) -> str:
        path = tmp_path / "signed.pdf"
        path.write_bytes(pdf)
        run = subprocess.run([program, str(path)], capture_output=True, text=True)
        return run.stdout + run.stderr

    return check


def xmp_date(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def info_date(value: str) -> datetime:
    """A PDF date string (D:YYYYMMDDHHmmSS with Z or +HH'mm') as a UTC datetime."""
    match = re.fullmatch(r"D:(\d{14})(?:Z|([+-])(\d\d)'?(\d\d)'?)?", value)
    assert match, value
    when = datetime.strptime(match[1] + "+0000", "%Y%m%d%H%M%S%z")
    if match[2]:
        offset = timedelta(hours=int(match[3]), minutes=int(match[4]))
        when -= offset if match[2] == "+" else -offset
    return when


def check_pdfa_2b(data: bytes) -> None:
    """Every PDF/A-2b structure LCA sets, as an archive's checker would look for it."""
    assert re.match(rb"%PDF-1\.[4-7]\n%[\x80-\xff]{4}", data)  # a PDF 1.x header, binary mark
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root
        assert str(root.get("/Version", "/1.7")) <= "/1.7"  # not bumped to PDF 2.0
        # XMP: PDF/A-2 level B, saying what the Info dictionary says
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta.pdfa_status == "2B"
        info = pdf.docinfo
        assert meta["dc:title"] == str(info.Title)
        assert meta["dc:creator"] == [str(info.Author)]
        assert meta["dc:description"] == str(info.Subject)
        assert meta["xmp:CreatorTool"] == str(info.Creator)
        assert meta["pdf:Producer"] == str(info.Producer)
        assert xmp_date(meta["xmp:CreateDate"]) == info_date(str(info.CreationDate))
        if "/ModDate" in info:
            assert xmp_date(meta["xmp:ModifyDate"]) == info_date(str(info.ModDate))
        raw = root.Metadata.read_raw_bytes()
        assert b"<?xpacket begin=" in raw and b"bytes=" not in raw[:200]
        assert "/Filter" not in root.Metadata
        # an sRGB output intent with its ICC profile
        [intent] = root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and intent.Type == "/OutputIntent"
        profile = intent.DestOutputProfile
        icc = profile.read_bytes()
        assert profile.N == 3 and icc[12:20] == b"mntrRGB " and icc[36:40] == b"acsp"
        assert str(intent.OutputConditionIdentifier)
        # every font embedded
        fonts = 0
        for page in pdf.pages:
            for font in page.Resources.Font.values():
                for descendant in font.get("/DescendantFonts", [font]):
                    descriptor = descendant.FontDescriptor
                    assert "/FontFile2" in descriptor, font.BaseFont
                    fonts += 1
        assert fonts >= 2  # Sarabun and Sarabun Bold
        # nothing PDF/A forbids, anywhere in the file
        assert "/Encrypt" not in pdf.trailer
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                keys = set(obj.keys())
                assert not keys & FORBIDDEN, keys & FORBIDDEN
                assert obj.get("/S") not in ("/JavaScript", "/Launch", "/Movie", "/Sound")
                if obj.get("/Subtype") == "/Image":
                    assert not obj.get("/Interpolate", False)
                    assert "/Alternates" not in obj and "/OPI" not in obj
                if obj.get("/Type") == "/ExtGState":
                    assert "/TR" not in obj and "/HTP" not in obj
                    assert str(obj.get("/BM", "/Normal")) in ("/Normal", "/Compatible")
        # every annotation printed, none hidden, each with an appearance or no area at all
        for page in pdf.pages:
            for annotation in page.get("/Annots", []):
                flags = int(annotation.F)
                assert flags & 4 and not flags & (1 | 2 | 32 | 256)
                x1, y1, x2, y2 = (float(v) for v in annotation.Rect)
                assert "/AP" in annotation or (x1 == x2 and y1 == y2)
        if "/AcroForm" in root:
            assert not root.AcroForm.get("/NeedAppearances", False)
        # a file identifier
        first, second = pdf.trailer.ID
        assert len(bytes(first)) == 16 and len(bytes(second)) == 16


def test_an_issued_certificate_is_pdfa_2b(client, admin, db):
    certificate, data = issued(client, db)
    check_pdfa_2b(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        info = pdf.docinfo
        assert str(info.Title) == f"หลักสูตรนักจัดการเมืองแห่งการเรียนรู้ — {certificate.serial}"
        assert str(info.Author) == "มหาวิทยาลัยพะเยา"
        assert str(info.Subject) == certificate.snapshot["learner"]["name_th"]
        issued_at = datetime.fromisoformat(certificate.snapshot["issued_at"]).replace(microsecond=0)
        assert info_date(str(info.CreationDate)) == issued_at.astimezone(UTC)
        assert str(pdf.Root.Lang) == "th"


def test_the_page_is_pdfa_2b_before_signing_and_the_same_snapshot_gives_the_same_page(
    client, admin, db
):
    certificate, data = issued(client, db)
    renderer = CertificateRenderer()
    page = renderer.render(certificate.snapshot)
    check_pdfa_2b(page)
    time.sleep(1.1)  # a later second: nothing in the page may depend on the clock
    assert CertificateRenderer().render(certificate.snapshot) == page
    # the signature is an incremental update: the issued file begins with the page as drawn
    assert data.startswith(page) and len(data) > len(page)


def test_logo_and_signature_images_keep_the_page_pdfa(app, client, admin, db, tmp_path):
    certificate, _data = issued(client, db)
    logo, signature = tmp_path / "logo.png", tmp_path / "signature.jpg"
    Image.new("RGBA", (120, 120), (11, 93, 75, 128)).save(logo)  # with an alpha channel
    Image.new("RGB", (300, 90), (30, 30, 120)).save(signature)
    snapshot = dict(certificate.snapshot)
    snapshot["issuer"] = dict(snapshot["issuer"], logo=str(logo))
    snapshot["signatories"] = [dict(s, signature=str(signature)) for s in snapshot["signatories"]]
    with app.app_context():
        data = CertificateRenderer().finished(snapshot)
    check_pdfa_2b(data)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        images = [
            o
            for o in pdf.objects
            if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"
        ]
        assert any("/SMask" in i for i in images)  # the logo's alpha, allowed in PDF/A-2
        assert pdf.pages[0].Group.CS == "/DeviceRGB"  # its page group names a colour space


def test_pdfsig_finds_the_signature_valid_and_names_the_signer(client, admin, db, pdfsig):
    _certificate, data = issued(client, db)
    report = pdfsig(data)
    assert "Signature Validation: Signature is Valid." in report, report
    assert "CN=LCA certificate signing,O=University of Phayao" in report
    assert "Signature Type: ETSI.CAdES.detached" in report  # PAdES
    assert "Signing Hash Algorithm: SHA-256" in report
    assert "Total document signed" in report
    # self-signed: valid, but no reader trusts the signer until told to
    assert "Certificate issuer is unknown." in report
    with pikepdf.open(io.BytesIO(data)) as pdf:
        signature = pdf.Root.AcroForm.Fields[0].V
        assert signature.SubFilter == "/ETSI.CAdES.detached"
        assert str(signature.Reason) == (
            "วุฒิบัตรที่มหาวิทยาลัยพะเยาออกให้ / Certificate of completion issued by University of Phayao"
        )
        assert str(signature.Location) == "ประเทศไทย / Thailand"
        assert pdf.Root.AcroForm.Fields[0].Rect == [0, 0, 0, 0]  # invisible


def test_one_changed_byte_in_the_signed_range_breaks_the_signature(client, admin, db, pdfsig):
    _certificate, data = issued(client, db)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        start, length, *_rest = (int(v) for v in pdf.Root.AcroForm.Fields[0].V.ByteRange)
    position = data.index(b"stream\n") + 20  # inside the page's content, first signed range
    assert start <= position < start + length
    tampered = bytearray(data)
    tampered[position] ^= 0x01
    report = pdfsig(bytes(tampered))
    assert "Signature is Valid." not in report
    assert "Digest Mismatch." in report, report


def test_the_verify_pages_sha256_is_that_of_the_signed_file(client, admin, db):
    certificate, data = issued(client, db)
    assert b"/ETSI.CAdES.detached" in data
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    shown = re.search(r'<code class="hash">([0-9a-f]{64})</code>', page)
    assert shown and shown[1] == hashlib.sha256(data).hexdigest() == certificate.pdf_sha256
    assert len(data) == certificate.pdf_size
    with storage().open(certificate.pdf_key) as file:
        assert file.read() == data


def test_the_self_signed_certificate(app, tmp_path):
    issuer = load_issuer()["issuer"]
    path = ensure_self_signed(tmp_path, issuer)
    key_path = tmp_path / KEY_FILE
    assert path == tmp_path / CERT_FILE and os.stat(key_path).st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == issuer["name_en"]
    assert "LCA" in subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cert.issuer == subject
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert cert.not_valid_after_utc == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    # kept when it exists; a new one with force, the old one kept as retired
    assert ensure_self_signed(tmp_path, issuer).read_bytes() == path.read_bytes()
    old = cert.fingerprint(hashes.SHA256()).hex()
    ensure_self_signed(tmp_path, issuer, force=True)
    new = x509.load_pem_x509_certificate(path.read_bytes())
    assert new.fingerprint(hashes.SHA256()).hex() != old
    assert (tmp_path / f"retired-{old}.cert.pem").read_bytes() == cert.public_bytes(
        serialization.Encoding.PEM
    )
    assert os.stat(key_path).st_mode & 0o777 == 0o600


def test_without_a_signing_certificate_issuing_stops_with_what_to_run(
    app, admin, db, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "LCA_DATA_DIR", tmp_path)  # keys of this test's own: none
    enrolment = eligible_enrolment()
    with pytest.raises(PdfSigningCertificateMissing, match="flask --app wsgi lca keys generate"):
        require_signing_certificate()
    generate_keys()  # the credential keys, and with them the PDF certificate...
    (tmp_path / "keys" / CERT_FILE).unlink()  # ...which goes missing
    with pytest.raises(RuleError, match="flask --app wsgi lca keys generate"):
        issue_certificate(enrolment, admin)
    assert count_rows(Certificate) == 0
    ensure_self_signed(tmp_path / "keys", load_issuer()["issuer"])
    require_signing_certificate()  # now there is one


def test_the_renderer_loads_its_signer_once(app, client, admin, db, monkeypatch, pdfsig):
    certificate, _data = issued(client, db)
    loads = []
    real = PdfSigner.from_app.__func__

    def counting(cls):
        loads.append(1)
        return real(cls)

    monkeypatch.setattr(pdf_signing.PdfSigner, "from_app", classmethod(counting))
    renderer = CertificateRenderer()
    first = renderer.finished(certificate.snapshot)
    second = renderer.finished(certificate.snapshot)
    assert len(loads) == 1 and first.startswith(renderer.render(certificate.snapshot))
    assert second.startswith(renderer.render(certificate.snapshot))
    # the second signature reuses what the first one prepared, and is as valid
    for signed in (first, second):
        assert "Signature is Valid." in pdfsig(signed)


# -- an organisation certificate --------------------------------------------------------------


def _name(common: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def organisation_p12(folder: Path, passphrase: bytes, key=None) -> tuple[Path, Path, Path]:
    """A throwaway certificate authority, an organisation certificate it issued, and a
    PKCS#12 file (key, certificate, chain) with its passphrase in a file of its own."""
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("Test Root CA", "Test Trust Services")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    organisation = (
        x509.CertificateBuilder()
        .subject_name(_name("Certificate signing", ORGANISATION))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1000))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    p12 = folder / "organisation.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"signing", key, organisation, [ca], serialization.BestAvailableEncryption(passphrase)
        )
    )
    password = folder / "organisation.pass"
    password.write_bytes(passphrase + b"\n")
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return p12, password, ca_file


def test_an_organisation_certificate_signs_instead(
    app, client, admin, db, monkeypatch, tmp_path, pdfsig
):
    p12, password, ca_file = organisation_p12(tmp_path, b"correct horse battery")
    settings = {"LCA_PDF_SIGNING_P12": str(p12), "LCA_PDF_SIGNING_P12_PASSWORD_FILE": str(password)}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    config = load_config({"LCA_ENV": "testing"})  # the start-up check accepts it
    for name in settings:
        monkeypatch.setitem(app.config, name, config[name])
    certificate, data = issued(client, db)
    report = pdfsig(data)
    assert "Signature Validation: Signature is Valid." in report, report
    assert f"O={ORGANISATION}" in report and "CN=Certificate signing" in report
    check_pdfa_2b(data)
    assert hashlib.sha256(data).hexdigest() == certificate.pdf_sha256
    # the chain travels in the signature, so a reader that trusts the root trusts the signer
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(data))
    # pyHanko's validation starts an event loop of its own: on a thread of its own, as the
    # browser journeys keep one running on this one
    status = on_a_thread_of_its_own(
        lambda: validate_pdf_signature(
            reader.embedded_signatures[0],
            ValidationContext(trust_roots=[load_cert_from_pemder(str(ca_file))]),
        )
    )
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong passphrase", "could not be opened with the passphrase"),
        ("no such file", "cannot read"),
        ("no passphrase file", "LCA_PDF_SIGNING_P12_PASSWORD_FILE is not"),
        ("missing passphrase file", "LCA_PDF_SIGNING_P12_PASSWORD_FILE: cannot read"),
        ("not PKCS#12", "could not be opened"),
        ("an EC key", "not an RSA key"),
    ],
)
def test_a_wrong_organisation_certificate_stops_the_start(monkeypatch, tmp_path, case, message):
    key = ec.generate_private_key(ec.SECP256R1()) if case == "an EC key" else None
    p12, password, _ca = organisation_p12(tmp_path, b"the real one", key)
    if case == "wrong passphrase":
        password.write_text("not the real one\n")
    if case == "no such file":
        p12 = tmp_path / "elsewhere.p12"
    if case == "not PKCS#12":
        p12.write_bytes(b"%PDF-1.7 not a key store")
    monkeypatch.setenv("LCA_PDF_SIGNING_P12", str(p12))
    if case == "missing passphrase file":
        monkeypatch.setenv("LCA_PDF_SIGNING_P12_PASSWORD_FILE", str(tmp_path / "nothing"))
    elif case != "no passphrase file":
        monkeypatch.setenv("LCA_PDF_SIGNING_P12_PASSWORD_FILE", str(password))
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        load_config({"LCA_ENV": "testing"})
    assert "LCA_PDF_SIGNING_P12" in str(error.value)
    assert "the real one" not in str(error.value)  # never the passphrase itself


def test_keys_generate_makes_the_pdf_signing_certificate(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "LCA_DATA_DIR", tmp_path)
    result = app.test_cli_runner().invoke(args=["lca", "keys", "generate"])
    assert result.exit_code == 0, result.output
    assert f"Keys in {tmp_path / 'keys'}" in result.output
    assert f"PDF signing certificate: {CERT_FILE}" in result.output
    assert (tmp_path / "keys" / KEY_FILE).is_file()
    with app.app_context():
        assert PdfSigner.from_app().certificate.subject.rfc4514_string() == (
            "CN=LCA certificate signing,O=University of Phayao"
        )


def on_a_thread_of_its_own(work):
    """``work()`` on a new thread (with no event loop running there, whatever runs here)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(work).result()


def test_a_pdf_is_signed_even_where_an_event_loop_is_running(app, client, admin, db):
    """pyHanko's sign_pdf starts an event loop of its own, which fails inside a running one
    (code under asyncio, or a test driving a browser): signing still works there."""
    import asyncio

    certificate, _data = issued(client, db)
    renderer = CertificateRenderer()

    async def inside_a_loop() -> bytes:
        return renderer.finished(certificate.snapshot)

    def in_a_loop() -> bytes:
        with app.app_context():
            return asyncio.run(inside_a_loop())

    signed = on_a_thread_of_its_own(in_a_loop)
    assert signed.startswith(renderer.render(certificate.snapshot)[:1000])
    assert b"/ETSI.CAdES.detached" in signed
