"""Files in an S3-compatible bucket (LCA_STORAGE_URL), against a real S3 server (moto's, on a
local port): the store's round trip and its refusals, an evidence photo uploaded through the
form and streamed back through its route, uploads undone with their transaction, the
readiness check, backup and restore of the bucket, and the signing keys kept outside
LCA_DATA_DIR (LCA_KEYS_DIR)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import inspect, select

from lca import create_app
from lca.certificates import services as certificate_services
from lca.certificates.keys import PROOF_KEY_FILE, generate_keys, keys_dir
from lca.certificates.pdf_signing import CERT_FILE
from lca.core.config import ConfigError, load_config
from lca.core.db import db as _db
from lca.core.errors import RuleError
from lca.core.storage import (
    LocalStorage,
    S3Download,
    S3Storage,
    StorageUnavailable,
    delete_file_after_commit,
    save_file,
    storage,
)
from lca.models import DraftFile, Enrolment, EvidenceFile, HourLog, User
from lca.ops.demo import load_demo
from tests.factories import count_rows, field_form, tiny_jpeg
from tests.test_backup import all_rows, restore

ROOT = Path(__file__).resolve().parents[1]
_names = itertools.count(1)


@pytest.fixture(scope="session")
def app(s3_app):
    """In this module, the app whose files live in the bucket lca-files under lca/."""
    return s3_app


def bucket_objects(client, bucket: str = "lca-files", prefix: str = "lca/") -> dict[str, bytes]:
    """Every object under ``prefix`` by its storage key, and its bytes, read from the server."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            found[entry["Key"].removeprefix(prefix)] = body
    return found


def photo_bytes(width: int = 900, height: int = 700) -> bytes:
    """A photo of noise, which no encoder makes small: several hundred kilobytes as JPEG."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


# The store itself ----------------------------------------------------------------------------


def test_save_open_exists_delete_round_trip(app, db, s3_client):
    store = storage()
    assert isinstance(store, S3Storage) and store.location == "s3://lca-files/lca"
    data = b"evidence " * 20_000
    key = store.save(data, ".txt")
    prefix, name = key.split("/")
    assert len(prefix) == 2 and name.startswith(prefix) and name.endswith(".txt")
    assert store.exists(key)
    assert bucket_objects(s3_client)[key] == data  # under the prefix, by the same key
    with store.open(key) as file:
        assert isinstance(file, S3Download) and file.size == len(data)
        assert file.read(9) == b"evidence "
        assert file.read() == data[9:]
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # a missing key is fine
    assert not store.exists("ab/abcdef.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "ab/../cd.jpg", "/ab/cd.jpg", "abcd.jpg", ""])
def test_a_key_that_is_not_a_storage_key_is_refused(app, db, key):
    store = storage()
    for use in (store.open, store.exists, store.delete):
        with pytest.raises(ValueError, match="not a storage key"):
            use(key)


def test_a_file_written_in_a_rolled_back_transaction_is_deleted(app, db):
    count_rows(HourLog)  # a transaction has begun, as in every request that stores a file
    key = save_file(db.session, tiny_jpeg(), ".jpg")
    assert storage().exists(key)
    db.session.rollback()
    assert not storage().exists(key)


def test_a_removed_file_is_deleted_only_after_commit(app, db):
    kept, removed = storage().save(tiny_jpeg(), ".jpg"), storage().save(tiny_jpeg(), ".jpg")
    count_rows(HourLog)  # a transaction has begun
    delete_file_after_commit(db.session, kept)
    db.session.rollback()  # the removal is undone: the file stays
    count_rows(HourLog)
    delete_file_after_commit(db.session, removed)
    assert storage().exists(kept) and storage().exists(removed)
    db.session.commit()
    assert storage().exists(kept) and not storage().exists(removed)
    storage().delete(kept)


# Through the app ----------------------------------------------------------------------------


def test_an_evidence_photo_is_uploaded_to_the_bucket_and_streamed_back(
    learner_client, learner_enrolment, db, s3_client, field_error
):
    before = bucket_objects(s3_client)
    form = field_form(learner_enrolment, files=[(io.BytesIO(photo_bytes()), "IMG_0001.jpg")])
    response = learner_client.post("/hours/new", **form)
    assert response.status_code == 302, field_error(response.get_data(as_text=True), "files")
    evidence = db.session.scalar(select(EvidenceFile))
    objects = bucket_objects(s3_client)
    assert set(objects) - set(before) == {evidence.storage_key, evidence.thumbnail_key}
    assert evidence.size_bytes > 100_000

    url = f"/hours/{evidence.hour_log_id}/evidence/{evidence.id}"
    download = learner_client.get(url, buffered=False)
    try:
        assert download.status_code == 200
        assert download.is_streamed
        assert int(download.headers["Content-Length"]) == evidence.size_bytes
        assert download.headers["Content-Disposition"].startswith("attachment")
        chunks = list(download.response)  # as the server sends it: a chunk at a time
    finally:
        download.close()
    assert len(chunks) > 10 and max(len(chunk) for chunk in chunks) <= 64 * 1024
    body = b"".join(chunks)
    assert (
        hashlib.sha256(body).hexdigest() == evidence.sha256 == _sha(objects[evidence.storage_key])
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_files_of_a_request_that_fails_after_the_upload_are_gone_from_the_bucket(
    learner_client, learner_enrolment, db, s3_client, monkeypatch
):
    def refuse(*args, **kwargs):
        raise RuleError("Refused after the files were stored.")

    monkeypatch.setattr("lca.hours.services.record", refuse)  # after attach_evidence
    before = set(bucket_objects(s3_client))
    page = learner_client.post("/hours/new", **field_form(learner_enrolment))
    assert "Refused after the files were stored." in page.get_data(as_text=True)
    assert (count_rows(HourLog), count_rows(EvidenceFile)) == (0, 0)
    drafts = {
        key
        for draft in db.session.scalars(select(DraftFile))
        for key in (draft.storage_key, draft.thumbnail_key)
        if key
    }
    # only the upload kept as a draft for the form shown again; what the failed
    # transaction stored is deleted
    assert set(bucket_objects(s3_client)) - before == drafts


def test_the_readiness_check(app, db, s3_server, tmp_path):
    storage().check()  # the bucket is there
    with pytest.raises(StorageUnavailable, match=r"^The bucket does not exist\.$"):
        S3Storage("lca-missing", endpoint_url=s3_server).check()

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    store = S3Storage("lca-soon-gone", endpoint_url=f"http://{host}:{port}")
    store.client.create_bucket(Bucket="lca-soon-gone")
    store.check()
    server.stop()
    with pytest.raises(StorageUnavailable, match="cannot be reached"):
        store.check()

    LocalStorage(tmp_path / "files").check()  # made by the first save
    with pytest.raises(StorageUnavailable, match="does not exist"):
        LocalStorage(tmp_path / "gone" / "files").check()


# Configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["file:///srv/lca", "s3:/lca-files", "s3://", "s3://Lca_Files", "s3://lca-files/../x"]
)
def test_a_storage_url_that_is_not_accepted_stops_the_start(url):
    with pytest.raises(ConfigError, match=r"LCA_STORAGE_URL must be unset .*s3://BUCKET/PREFIX"):
        load_config({"LCA_ENV": "testing", "LCA_STORAGE_URL": url})


def test_an_endpoint_that_is_not_an_address_stops_the_start():
    with pytest.raises(ConfigError, match="LCA_S3_ENDPOINT_URL must be the address"):
        load_config({"LCA_ENV": "testing", "LCA_S3_ENDPOINT_URL": "127.0.0.1:9000"})


def test_an_app_that_touches_no_file_does_not_load_boto3(tmp_path):
    program = (
        "import sys; from lca import create_app; from lca.core.storage import S3Storage; "
        "app = create_app(); store = app.extensions['lca_storage']; "
        "print(type(store).__name__, store.location, 'boto3' in sys.modules, "
        "'botocore' in sys.modules)"
    )
    env = {
        **os.environ,
        "LCA_ENV": "testing",
        "LCA_DATA_DIR": str(tmp_path),
        "LCA_DATABASE_URL": f"sqlite:///{tmp_path / 'lca.sqlite3'}",
        "LCA_STORAGE_URL": "s3://lca-files/site/one/",
    }
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["S3Storage", "s3://lca-files/site/one", "False", "False"]


# Signing keys outside LCA_DATA_DIR -----------------------------------------------------------


def test_keys_live_in_lca_keys_dir_and_sign_from_there_read_only(app, issue_certificate, s3_client):
    folder = Path(app.config["LCA_KEYS_DIR"])
    assert keys_dir() == folder
    assert (folder / PROOF_KEY_FILE).is_file() and (folder / CERT_FILE).is_file()
    assert not (Path(app.config["LCA_DATA_DIR"]) / "keys").exists()
    folder.chmod(0o500)  # a secrets folder the server only reads
    try:
        certificate = issue_certificate()
    finally:
        folder.chmod(0o700)
    pdf = bucket_objects(s3_client)[certificate.pdf_key]
    signer = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].signer_cert
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    ours = x509.load_pem_x509_certificate((folder / CERT_FILE).read_bytes())
    assert signer.dump() == ours.public_bytes(Encoding.DER)


def test_keys_generate_writes_into_lca_keys_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "LCA_KEYS_DIR", tmp_path / "secrets")
    result = app.test_cli_runner().invoke(args=["lca", "keys", "generate"])
    assert result.exit_code == 0, result.output
    assert f"Keys in {tmp_path / 'secrets'}" in result.output
    assert (tmp_path / "secrets" / PROOF_KEY_FILE).is_file()
    assert (tmp_path / "secrets" / CERT_FILE).is_file()


# Backup and restore --------------------------------------------------------------------------


def _dispose(app) -> None:
    with app.app_context():
        _db.engine.dispose()


def _s3_settings(s3_server, url: str, keys: Path) -> dict:
    return {"LCA_STORAGE_URL": url, "LCA_S3_ENDPOINT_URL": s3_server, "LCA_KEYS_DIR": keys}


@pytest.fixture(scope="module")
def source(new_database, tmp_path_factory, make_app, s3_server, s3_client):
    """An instance whose files are in the bucket lca-backup-source under instance/: the demo
    data's evidence and a certificate PDF, all committed; its keys in a secrets folder."""
    s3_client.create_bucket(Bucket="lca-backup-source")
    settings = _s3_settings(
        s3_server, "s3://lca-backup-source/instance", tmp_path_factory.mktemp("source-secrets")
    )
    app = make_app(
        new_database("lca_s3_backup_source"), tmp_path_factory.mktemp("source-data"), **settings
    )
    with app.app_context():
        load_demo()
        _db.session.commit()
        generate_keys()
        graduate = _db.session.scalar(
            select(Enrolment).join(User).where(User.email == "graduate@example.org")
        )
        certificate_services.issue_certificate(graduate, None)
        _db.session.commit()
        _db.session.remove()
    yield app
    _dispose(app)


@pytest.fixture(scope="module")
def archive(source, tmp_path_factory) -> tuple[Path, str]:
    """The source backed up through the command line; the archive and the command's output."""
    out = tmp_path_factory.mktemp("s3-backups") / "lca-backup.tar.gz"
    result = source.test_cli_runner().invoke(args=["lca", "backup", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture
def empty_instance(new_database, tmp_path_factory, s3_server):
    """``empty_instance(storage_url)``: an app on a new database with no tables, an empty data
    dir and its files in ``storage_url`` (None: the local folder)."""
    made = []

    def make(storage_url: str | None):
        settings = (
            _s3_settings(s3_server, storage_url, tmp_path_factory.mktemp("secrets"))
            if storage_url
            else {}
        )
        app = create_app(
            {
                "LCA_ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": new_database(f"lca_s3_restore_{next(_names)}"),
                "LCA_DATA_DIR": tmp_path_factory.mktemp("restore-data"),
                **settings,
            }
        )
        made.append(app)
        return app

    yield make
    for app in made:
        _dispose(app)


def table_names(app) -> list[str]:
    with app.app_context():
        names = inspect(_db.engine).get_table_names()
    _dispose(app)
    return names


def test_the_archive_holds_every_object_of_the_bucket_but_not_the_keys(source, archive, s3_client):
    out, output = archive
    objects = bucket_objects(s3_client, "lca-backup-source", "instance/")
    assert any(key.endswith(".pdf") for key in objects)
    assert any(key.endswith(".jpg") for key in objects)
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        members = {member.name for member in tar if member.isfile()}
    assert manifest["format_version"] == 2
    assert manifest["storage"] == {"url": "s3://lca-backup-source/instance"}
    assert manifest["objects"] == {
        key: {"sha256": _sha(data), "size": len(data)} for key, data in objects.items()
    }
    assert {f"bucket/{key}" for key in objects} <= members
    assert not [name for name in manifest["files"] if name.startswith("keys/")]
    assert f"Objects: {len(objects)} from s3://lca-backup-source/instance" in output
    keys = source.config["LCA_KEYS_DIR"]
    assert f"The signing keys in LCA_KEYS_DIR ({keys}) are not in this archive" in output
    assert "password hashes and the certificate signing key" not in output


def test_restore_into_an_empty_bucket_gives_back_every_object(
    source, archive, empty_instance, s3_client
):
    s3_client.create_bucket(Bucket="lca-restore-empty")
    target = empty_instance("s3://lca-restore-empty/copy")
    result = restore(target, archive[0])
    assert result.exit_code == 0, result.output
    assert "every object's SHA-256 matches the manifest" in result.output
    assert "put the issuer's keys back in LCA_KEYS_DIR" in result.output
    restored = bucket_objects(s3_client, "lca-restore-empty", "copy/")
    assert restored == bucket_objects(s3_client, "lca-backup-source", "instance/")
    assert all_rows(target) == all_rows(source)


def test_restore_refuses_a_bucket_prefix_that_holds_objects_unless_forced(
    source, archive, empty_instance, s3_client
):
    s3_client.create_bucket(Bucket="lca-restore-full")
    s3_client.put_object(Bucket="lca-restore-full", Key="copy/ab/abcdef.txt", Body=b"keep me")
    target = empty_instance("s3://lca-restore-full/copy")
    result = restore(target, archive[0])
    assert result.exit_code != 0
    assert "The bucket s3://lca-restore-full/copy is not empty" in result.output
    assert "--force" in result.output
    assert table_names(target) == []
    assert bucket_objects(s3_client, "lca-restore-full", "copy/") == {"ab/abcdef.txt": b"keep me"}

    result = restore(target, archive[0], "--force")
    assert result.exit_code == 0, result.output
    restored = bucket_objects(s3_client, "lca-restore-full", "copy/")
    assert restored.pop("ab/abcdef.txt") == b"keep me"  # not the backup's: left, and said so
    assert "the backup does not hold were left as they were: 1" in result.output
    assert restored == bucket_objects(s3_client, "lca-backup-source", "instance/")


def test_a_bucket_backup_is_refused_by_an_instance_with_local_files(archive, empty_instance):
    target = empty_instance(None)
    result = restore(target, archive[0])
    assert result.exit_code != 0
    assert "LCA_STORAGE_URL is not set" in result.output
    assert table_names(target) == []
