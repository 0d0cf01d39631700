"""Backup and restore on real, committed databases: the demo data, its evidence photos, a
certificate PDF and the signing key go into one archive and come back equal, row for row and
byte for byte, into an empty instance; damaged, foreign or misplaced restores are refused and
leave nothing behind."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import stat
import tarfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import MetaData, inspect, make_url, select
from sqlalchemy import func as sql_func

from lca import create_app
from lca.certificates.keys import PROOF_KEY_FILE as KEY_FILE
from lca.certificates.keys import generate_keys
from lca.certificates.services import issue_certificate
from lca.core.audit import record
from lca.core.db import db
from lca.models import Certificate, City, Enrolment, EvidenceFile, User
from lca.ops.backup import (
    FORMAT_VERSION,
    LOCAL_FORMAT_VERSION,
    BackupError,
    find_pg_tool,
    make_backup,
    postgres_connection,
)
from lca.ops.demo import load_demo
from tests.factories import CityFactory

_names = itertools.count(1)


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def source(new_database, tmp_path_factory, make_app):
    """An instance with the demo data, a certificate and the signing key, all committed."""
    app = make_app(new_database("lca_backup_source"), tmp_path_factory.mktemp("source-data"))
    with app.app_context():
        load_demo()
        db.session.commit()
        generate_keys()  # a certificate is signed when it is issued
        graduate = db.session.scalar(
            select(Enrolment).join(User).where(User.email == "graduate@example.org")
        )
        issue_certificate(graduate, None)
        db.session.commit()
        db.session.remove()
    yield app
    _dispose(app)


@pytest.fixture(scope="module")
def archive(source, tmp_path_factory) -> Path:
    """The source instance backed up through the command line."""
    out = tmp_path_factory.mktemp("backups") / "lca-backup.tar"
    result = source.test_cli_runner().invoke(args=["lca", "backup", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output
    return out


@pytest.fixture
def empty_instance(new_database, tmp_path_factory):
    """``empty_instance()``: an app on a new database with no tables and an empty data dir."""
    made = []

    def make(**overrides):
        app = create_app(
            {
                "LCA_ENV": "testing",
                "SQLALCHEMY_DATABASE_URI": new_database(f"lca_restore_{next(_names)}"),
                "LCA_DATA_DIR": tmp_path_factory.mktemp("restore-data"),
                **overrides,
            }
        )
        made.append(app)
        return app

    yield make
    for app in made:
        _dispose(app)


def restore(app, archive: Path, *options: str):
    return app.test_cli_runner().invoke(args=["lca", "restore", *options, str(archive)])


def all_rows(app) -> dict[str, list[tuple]]:
    """Every row of every table (the models' and alembic's), ordered by primary key."""
    with app.app_context():
        with db.engine.connect() as connection:
            reflected = MetaData()
            reflected.reflect(connection)
            rows = {}
            for name, found in sorted(reflected.tables.items()):
                order = list(found.primary_key.columns) or list(found.columns)
                rows[name] = [tuple(r) for r in connection.execute(select(found).order_by(*order))]
        db.engine.dispose()
    return rows


def all_files(app) -> dict[str, bytes]:
    root = Path(app.config["LCA_DATA_DIR"])
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if not path.is_dir()
    }


def table_names(app) -> list[str]:
    with app.app_context():
        names = inspect(db.engine).get_table_names()
        db.engine.dispose()
    return names


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


def rewrite(archive: Path, out: Path, change) -> Path:
    """A copy of ``archive`` with each member's bytes passed through ``change(name, data)``
    (None leaves the member out)."""
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for member in source:
            data = change(member.name, source.extractfile(member).read())
            if data is None:  # left out
                continue
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return out


def test_the_source_has_what_a_backup_must_keep(source):
    with source.app_context():
        assert db.session.scalar(select(sql_func.count()).select_from(EvidenceFile)) > 0
        assert db.session.scalar(select(sql_func.count()).select_from(Certificate)) == 1
        db.session.remove()
    names = all_files(source)
    assert f"keys/{KEY_FILE}" in names
    assert any(name.endswith(".pdf") for name in names)
    assert any(name.endswith(".jpg") for name in names)


def test_the_manifest_describes_the_archive(source, archive, backend):
    manifest = manifest_of(archive)
    assert manifest["format"] == "lca-backup"
    assert manifest["format_version"] == LOCAL_FORMAT_VERSION  # no bucket: readable before them
    assert manifest["backend"] == backend
    assert manifest["alembic_revision"] == all_rows(source)["alembic_version"][0][0]  # the head
    assert manifest["created_at"]
    assert manifest["tables"] == {name: len(rows) for name, rows in all_rows(source).items()}
    files = all_files(source)
    assert set(manifest["files"]) == set(files)

    for name, data in files.items():
        assert manifest["files"][name] == {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # password hashes and the signing key


def test_restore_into_an_empty_instance_gives_back_every_row_and_file(
    source, archive, empty_instance
):
    target = empty_instance()
    result = restore(target, archive)
    assert result.exit_code == 0, result.output
    assert "every table's row count matches" in result.output
    assert "every file's SHA-256 matches" in result.output

    assert all_rows(target) == all_rows(source)
    assert all_files(target) == all_files(source)
    key = Path(target.config["LCA_DATA_DIR"]) / "keys" / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not [p for p in Path(target.config["LCA_DATA_DIR"]).iterdir() if p.name.startswith(".")]

    # The restored instance works: new rows get new ids (sequences restored), files open.
    with target.app_context():
        highest = db.session.scalar(select(sql_func.max(City.id)))
        city = CityFactory()
        record(None, "backup.test", city)
        db.session.commit()
        assert city.id > highest
        certificate = db.session.scalar(select(Certificate))
        with target.extensions["lca_storage"].open(certificate.pdf_key) as file:
            assert file.read(5) == b"%PDF-"
        db.session.remove()


def test_restore_refuses_a_database_that_has_tables(source, archive):
    before = all_rows(source)
    result = restore(source, archive)
    assert result.exit_code != 0
    assert "The database is not empty" in result.output
    assert "--force" in result.output
    assert all_rows(source) == before


def test_restore_refuses_a_data_dir_that_has_files(archive, empty_instance):
    target = empty_instance()
    stray = Path(target.config["LCA_DATA_DIR"]) / "notes.txt"
    stray.write_text("keep me")
    result = restore(target, archive)
    assert result.exit_code != 0
    assert "LCA_DATA_DIR" in result.output and "it holds 1 file " in result.output
    assert all_files(target) == {"notes.txt": b"keep me"}
    assert table_names(target) == []


def test_force_replaces_what_is_there(source, archive, new_database, tmp_path, make_app):
    target = make_app(new_database(f"lca_restore_{next(_names)}"), tmp_path / "data")
    try:
        (tmp_path / "data" / "notes.txt").write_text("replaced")
        result = restore(target, archive, "--force")
        assert result.exit_code == 0, result.output
        assert all_rows(target) == all_rows(source)
        assert all_files(target) == all_files(source)
    finally:
        _dispose(target)


@pytest.mark.parametrize("damaged", ["a stored file", "the database"])
def test_a_tampered_archive_is_refused_and_leaves_nothing(
    archive, empty_instance, tmp_path, damaged
):
    manifest = manifest_of(archive)
    victim = (
        "data/" + next(n for n in manifest["files"] if n.endswith(".pdf"))
        if damaged == "a stored file"
        else manifest["database"]["path"]
    )

    def flip_a_byte(name: str, data: bytes) -> bytes:
        if name != victim:
            return data
        middle = len(data) // 2
        return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]

    tampered = rewrite(archive, tmp_path / "tampered.tar", flip_a_byte)
    target = empty_instance()
    result = restore(target, tampered)
    assert result.exit_code != 0
    assert f"{victim} does not match its SHA-256" in result.output
    assert "Nothing was restored" in result.output
    assert table_names(target) == []
    data_dir = Path(target.config["LCA_DATA_DIR"])
    assert list(data_dir.iterdir()) == []  # no file, no left-over work folder


def test_an_archive_missing_a_file_is_refused(archive, empty_instance, tmp_path):
    victim = "data/keys/" + KEY_FILE
    incomplete = rewrite(
        archive, tmp_path / "incomplete.tar", lambda name, data: None if name == victim else data
    )
    target = empty_instance()
    result = restore(target, incomplete)
    assert result.exit_code != 0
    assert f"The archive lacks 1 file its manifest lists (for example {victim})" in result.output
    assert table_names(target) == []
    assert list(Path(target.config["LCA_DATA_DIR"]).iterdir()) == []


def test_a_row_count_that_does_not_match_undoes_the_restore(archive, empty_instance, tmp_path):
    """The database checks out against the manifest before the files move; if it does not, the
    restored tables are taken away again (PostgreSQL) or never replace the empty file (SQLite)."""

    def miscount(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["tables"]["users"] += 1
        return json.dumps(manifest).encode()

    target = empty_instance()
    result = restore(target, rewrite(archive, tmp_path / "miscounted.tar", miscount))
    assert result.exit_code != 0
    assert "does not match the manifest: users" in result.output
    assert "The restore was undone" in result.output
    assert table_names(target) == []
    assert list(Path(target.config["LCA_DATA_DIR"]).iterdir()) == []


def _fail_the_last_check(monkeypatch) -> None:
    """Make the check of the files, once moved into place, fail: the last step of a restore."""
    monkeypatch.setattr("lca.ops.backup._file_digest", lambda path: ("0" * 64, -1))


def test_a_failure_after_the_files_moved_undoes_everything(archive, empty_instance, monkeypatch):
    _fail_the_last_check(monkeypatch)
    target = empty_instance()
    result = restore(target, archive)
    assert result.exit_code != 0
    assert "does not match its SHA-256 once moved" in result.output
    assert "The restore was undone" in result.output
    assert table_names(target) == []
    assert list(Path(target.config["LCA_DATA_DIR"]).iterdir()) == []  # not even a folder


def test_a_failed_forced_restore_puts_the_old_instance_back(
    archive, new_database, tmp_path, monkeypatch, make_app
):
    target = make_app(new_database(f"lca_restore_{next(_names)}"), tmp_path / "data")
    try:
        (tmp_path / "data" / "notes.txt").write_text("still here")
        before = all_rows(target)
        _fail_the_last_check(monkeypatch)
        result = restore(target, archive, "--force")
        assert result.exit_code != 0
        assert "The restore was undone" in result.output
        assert all_rows(target) == before
        assert all_files(target) == {"notes.txt": b"still here"}
    finally:
        _dispose(target)


def test_a_sqlite_database_inside_the_data_dir_is_left_alone(tmp_path, make_app):
    """A SQLite file kept inside LCA_DATA_DIR (whichever backend the run tests)."""
    data_dir = tmp_path / "data"
    app = make_app(f"sqlite:///{data_dir / 'lca.sqlite3'}", data_dir)
    try:
        (data_dir / "keys").mkdir()
        (data_dir / "keys" / "note.txt").write_text("a file")
        with app.app_context():
            report = make_backup(tmp_path / "inside.tar")
            db.engine.dispose()
        assert set(report.manifest["files"]) == {"keys/note.txt"}
        result = restore(app, tmp_path / "inside.tar", "--force")
        assert result.exit_code == 0, result.output
        assert (data_dir / "lca.sqlite3").is_file()
        assert all_files(app)["keys/note.txt"] == b"a file"
    finally:
        _dispose(app)


def test_a_backup_of_the_other_engine_is_refused(archive, empty_instance, tmp_path, backend):
    other = "postgresql" if backend == "sqlite" else "sqlite"

    def claim_other(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "backend": other}).encode()

    foreign = rewrite(archive, tmp_path / "foreign.tar", claim_other)
    target = empty_instance()
    result = restore(target, foreign)
    assert result.exit_code != 0
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    assert f"This backup holds a {names[other]} database" in result.output
    assert f"LCA_DATABASE_URL points to {names[backend]}" in result.output
    assert table_names(target) == []
    assert all_files(target) == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"format_version": FORMAT_VERSION + 1},
            f"this version of LCA reads format {FORMAT_VERSION}",
        ),
        ({"alembic_revision": "9999"}, "made by a newer LCA"),
        ({"format": "something-else"}, "This is not an LCA backup"),
    ],
)
def test_a_manifest_this_version_cannot_read_is_refused(
    archive, empty_instance, tmp_path, change, message
):
    def edit(name: str, data: bytes) -> bytes:
        return (
            json.dumps({**json.loads(data), **change}).encode() if name == "manifest.json" else data
        )

    target = empty_instance()
    result = restore(target, rewrite(archive, tmp_path / "edited.tar", edit))
    assert result.exit_code != 0
    assert message in result.output
    assert table_names(target) == []
    assert all_files(target) == {}


def test_a_file_that_is_not_a_backup_is_refused(empty_instance, tmp_path):
    target = empty_instance()
    not_a_tar = tmp_path / "photo.tar"
    not_a_tar.write_bytes(b"\xff\xd8\xff" + b"x" * 2000)
    result = restore(target, not_a_tar)
    assert result.exit_code != 0
    assert "is not a readable archive" in result.output


def test_backup_refuses_to_overwrite_or_to_write_into_the_data_dir(source, archive):
    with source.app_context():
        with pytest.raises(BackupError, match="never overwritten"):
            make_backup(archive)
        inside = Path(source.config["LCA_DATA_DIR"]) / "backup.tar"
        with pytest.raises(BackupError, match="outside LCA_DATA_DIR"):
            make_backup(inside)
        assert not inside.exists()


def test_a_compressed_backup_restores_too(source, empty_instance, tmp_path):
    out = tmp_path / "lca-backup.tar.gz"
    with source.app_context():
        make_backup(out)
        db.engine.dispose()
    with open(out, "rb") as file:
        assert file.read(2) == b"\x1f\x8b"
    target = empty_instance()
    result = restore(target, out)
    assert result.exit_code == 0, result.output
    assert all_rows(target) == all_rows(source)


def test_a_backup_taken_while_the_app_writes_is_consistent(
    new_database, tmp_path, empty_instance, make_app
):
    """Rows committed during the backup are either in both the copy and its row counts, or in
    neither: the restore's check of every table's count proves it."""
    app = make_app(new_database(f"lca_busy_{next(_names)}"), tmp_path / "busy-data")
    stop, written, errors = threading.Event(), [], []

    def keep_writing():
        with app.app_context():
            try:
                while not stop.is_set():
                    record(None, "backup.test.tick")
                    db.session.commit()
                    written.append(1)
            except Exception as error:  # shown by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20 and not errors:
            stop.wait(0.01)
        before = len(written)
        with app.app_context():
            make_backup(tmp_path / "busy.tar")
        after = len(written)
    finally:
        stop.set()
        writer.join(timeout=30)
        _dispose(app)
    assert not errors, errors
    assert after > before, "no commit happened while the backup ran"

    target = empty_instance()
    result = restore(target, tmp_path / "busy.tar")
    assert result.exit_code == 0, result.output
    events = manifest_of(tmp_path / "busy.tar")["tables"]["audit_events"]
    assert events >= 20


def test_missing_postgresql_programs_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("LCA_PG_BINDIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("lca.ops.backup.PG_BINDIR_GLOB", str(tmp_path / "none" / "*" / "bin"))
    with pytest.raises(BackupError, match=r"pg_dump was not found.*LCA_PG_BINDIR"):
        find_pg_tool("pg_dump")


def test_the_password_goes_to_pg_dump_only_through_the_environment():
    url = make_url("postgresql+psycopg://lca:s3cret@db.example.org:5433/lca?sslmode=require")
    dsn, env = postgres_connection(url)
    assert dsn == "postgresql://lca@db.example.org:5433/lca?sslmode=require"
    assert "s3cret" not in dsn
    assert env["PGPASSWORD"] == "s3cret"
    assert os.environ.get("PGPASSWORD") != "s3cret"
