"""Backups for operators: the database, every file under LCA_DATA_DIR and, when the files live
in an S3 bucket (LCA_STORAGE_URL), every object under its prefix, in one archive, with a
manifest that a restore checks before and after it puts anything in place.

An archive is a tar file (gzip-compressed when its name ends in .gz or .tgz) holding::

    database/lca.sqlite3   SQLite: a copy made with the online backup API, or
    database/lca.pgdump    PostgreSQL: ``pg_dump --format=custom``
    data/<path>            every file under LCA_DATA_DIR, at its path there
    bucket/<key>           with S3: every object under the prefix, by its storage key
    manifest.json          format version, time, alembic revision, backend, rows per table and
                           the SHA-256 of the database copy, of every file and every object

An archive without objects is format 1, which LCA read before it knew buckets; one with them
is format 2 (``storage`` names the bucket it came from, ``objects`` lists them).

The issuer's signing keys are in the archive when they live in LCA_DATA_DIR (LCA_KEYS_DIR
unset, or inside it); kept elsewhere (a secrets folder), they are not, and the summary says
that they must be backed up with the other secrets.

The database copy and its row counts come from one consistent snapshot while the app keeps
serving: SQLite's backup API copies in one read transaction (WAL lets writers go on), and
pg_dump reads the snapshot exported by the transaction that counted the rows.

A restore goes into an empty instance, or replaces one with ``force``. It is all or nothing as
far as the engines allow: everything is unpacked and checked against the manifest in a work
folder first, the database is restored in one step and its row counts checked, and only then
are the files moved into place and checked again; a failure undoes what was done.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # pg_dump and pg_restore, run without a shell  # nosec B404
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, BinaryIO, Literal

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from sqlalchemy import URL, Connection, create_engine, func, inspect, select, table, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from lca.certificates.keys import keys_dir
from lca.core.db import db, utcnow
from lca.core.storage import S3Storage

FORMAT = "lca-backup"
FORMAT_VERSION = 2  #: the newest format this version reads and writes
LOCAL_FORMAT_VERSION = 1  #: an archive without bucket objects, as LCA wrote before buckets
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/lca.sqlite3", "postgresql": "database/lca.pgdump"}
BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
DATA_PREFIX = "data/"
OBJECTS_PREFIX = "bucket/"
#: the work folder of a restore, inside LCA_DATA_DIR (same file system as the files' place)
WORK_PREFIX = ".lca-restore-"
#: where Debian installs each PostgreSQL version's programs
PG_BINDIR_GLOB = "/usr/lib/postgresql/*/bin"
CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass
class BackupReport:
    """What ``make_backup`` wrote."""

    path: Path
    manifest: dict
    skipped: list[str] = field(default_factory=list)
    #: the keys folder when it is outside LCA_DATA_DIR, and so not in the archive
    keys_elsewhere: Path | None = None

    def lines(self) -> list[str]:
        manifest = self.manifest
        rows = sum(manifest["tables"].values())
        size = sum(entry["size"] for entry in manifest["files"].values())
        lines = [
            f"Wrote {self.path} ({_size(self.path.stat().st_size)}).",
            f"Database: {BACKEND_NAMES[manifest['backend']]} at revision "
            f"{manifest['alembic_revision']}, {len(manifest['tables'])} tables, {rows} rows.",
            f"Files: {len(manifest['files'])} from LCA_DATA_DIR ({_size(size)}).",
        ]
        if "objects" in manifest:
            objects = manifest["objects"]
            total = sum(entry["size"] for entry in objects.values())
            lines.append(
                f"Objects: {len(objects)} from {manifest['storage']['url']} ({_size(total)})."
            )
        lines += [f"Skipped {name}: it was removed while the backup ran." for name in self.skipped]
        if self.keys_elsewhere is not None:
            lines += [
                f"The signing keys in LCA_KEYS_DIR ({self.keys_elsewhere}) are not in this "
                "archive: back them up with the other secrets.",
                "The archive holds password hashes: keep it where only operators can read it.",
            ]
        else:
            lines.append(
                "The archive holds password hashes and the certificate signing key: "
                "keep it where only operators can read it."
            )
        return lines


@dataclass
class RestoreReport:
    """What ``restore_backup`` put in place and checked."""

    manifest: dict
    data_dir: Path
    notes: list[str] = field(default_factory=list)
    #: the bucket the objects went into (s3://…), if the archive had any
    bucket: str | None = None

    def lines(self) -> list[str]:
        manifest = self.manifest
        rows = sum(manifest["tables"].values())
        lines = [
            f"Restored the backup made {manifest['created_at']}.",
            f"Database: {BACKEND_NAMES[manifest['backend']]} at revision "
            f"{manifest['alembic_revision']}, {len(manifest['tables'])} tables, {rows} rows; "
            "every table's row count matches the manifest.",
            f"Files: {len(manifest['files'])} in {self.data_dir}; "
            "every file's SHA-256 matches the manifest.",
        ]
        if self.bucket is not None:
            lines.append(
                f"Objects: {len(manifest.get('objects', {}))} in {self.bucket}; "
                "every object's SHA-256 matches the manifest."
            )
        return lines + self.notes


# Making a backup ----------------------------------------------------------------------------


def make_backup(out: Path) -> BackupReport:
    """Write the database and every file under LCA_DATA_DIR into the archive ``out`` (readable
    by its owner only); never overwrite an existing file, never write inside LCA_DATA_DIR."""
    out = Path(out)
    backend = _backend()
    data_dir = _data_dir()
    if out.exists():
        raise BackupError(
            f"{out} already exists; backups are never overwritten. Choose a new name."
        )
    if not out.parent.is_dir():
        raise BackupError(f"The folder {out.parent} does not exist.")
    if out.resolve().is_relative_to(data_dir.resolve()):
        raise BackupError(f"Write the backup outside LCA_DATA_DIR ({data_dir}).")
    bucket = _bucket()
    try:
        report = _write_archive(out, backend, data_dir, bucket)
    except _failures(bucket) as error:
        raise BackupError(f"The backup failed, nothing was written to {out}: {error}") from error
    keys = keys_dir()
    if not keys.resolve().is_relative_to(data_dir.resolve()):
        report.keys_elsewhere = keys
    return report


def _write_archive(
    out: Path, backend: str, data_dir: Path, bucket: S3Storage | None
) -> BackupReport:
    compression: Literal["w:gz", "w"] = "w:gz" if out.name.endswith((".gz", ".tgz")) else "w"
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".lca-backup-") as work_name:
        work = Path(work_name)
        dump = work / "database"
        counts, revision = _dump_database(backend, dump)
        partial = work / "archive"
        skipped: list[str] = []
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode=compression) as tar:
            database = {
                "path": DATABASE_MEMBERS[backend],
                **_add(tar, DATABASE_MEMBERS[backend], dump),
            }
            dump.unlink()
            files = {}
            for name, path in _data_files(data_dir, _database_files(backend)):
                try:
                    files[name] = _add(tar, DATA_PREFIX + name, path)
                except FileNotFoundError:  # removed by a committed change since it was listed
                    skipped.append(name)
            manifest = {
                "format": FORMAT,
                "format_version": LOCAL_FORMAT_VERSION,
                "created_at": utcnow().isoformat(timespec="seconds"),
                "alembic_revision": revision,
                "backend": backend,
                "database": database,
                "tables": counts,
                "files": files,
            }
            if bucket is not None:
                manifest["format_version"] = FORMAT_VERSION
                manifest["storage"] = {"url": bucket.location}
                manifest["objects"] = _add_objects(tar, bucket, skipped)
            body = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = _tar_info(MANIFEST, len(body), 0o600)
            tar.addfile(info, io.BytesIO(body))
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, out)
    return BackupReport(out, manifest, skipped)


def _dump_database(backend: str, target: Path) -> tuple[dict[str, int], str | None]:
    """Copy the database to ``target``; its row counts and alembic revision, of the same
    snapshot."""
    if backend == "sqlite":
        path = _sqlite_path()
        if not path.is_file():
            raise BackupError(f"The SQLite database {path} does not exist.")
        with (
            closing(sqlite3.connect(path, timeout=30)) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)  # all pages in one step: one read transaction, one snapshot
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        return _sqlite_file_facts(target)

    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            counts, revision = _row_counts(connection), _revision(connection)
            _pg_dump(target, snapshot)
    return counts, revision


def _pg_dump(target: Path, snapshot: str | None = None) -> None:
    """``pg_dump --format=custom`` of the configured database (of ``snapshot`` if given)."""
    dsn, env = postgres_connection(db.engine.url)
    command = [find_pg_tool("pg_dump"), "--format=custom", f"--file={target}"]
    command += [f"--snapshot={snapshot}"] if snapshot else []
    _run([*command, f"--dbname={dsn}"], env, "pg_dump")


def _pg_restore(dump: Path, clean: bool) -> None:
    """``pg_restore`` into the configured database in one transaction: all of it or nothing;
    owners and grants are the connecting role's."""
    dsn, env = postgres_connection(db.engine.url)
    command = [find_pg_tool("pg_restore"), "--no-owner", "--no-privileges"]
    command += ["--single-transaction", "--exit-on-error"]
    command += ["--clean", "--if-exists"] if clean else []
    db.engine.dispose()  # no pooled connection of ours holds a lock
    _run([*command, f"--dbname={dsn}", str(dump)], env, "pg_restore")


def _add(tar: tarfile.TarFile, name: str, path: Path) -> dict:
    """Add the file at ``path`` as ``name``, reading it once; its SHA-256 and size."""
    with open(path, "rb") as file:
        stat = os.fstat(file.fileno())
        reader = _HashingReader(file)
        tar.addfile(_tar_info(name, stat.st_size, stat.st_mode & 0o777, stat.st_mtime), reader)
    return {"sha256": reader.hash.hexdigest(), "size": stat.st_size}


def _add_objects(tar: tarfile.TarFile, bucket: S3Storage, skipped: list[str]) -> dict:
    """Add every object under the bucket's prefix as ``bucket/<key>``, streamed; their SHA-256
    and sizes by key. One deleted since it was listed is skipped (a committed change)."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    objects = {}
    for key, size in list(bucket.objects()):
        try:
            file = bucket.open(key)
        except ClientError as error:
            if _s3_code(error) in ("NoSuchKey", "404"):
                skipped.append(OBJECTS_PREFIX + key)
                continue
            raise
        with file:
            reader = _HashingReader(file)
            tar.addfile(_tar_info(OBJECTS_PREFIX + key, size, 0o600), reader)
        objects[key] = {"sha256": reader.hash.hexdigest(), "size": size}
    return objects


def _tar_info(name: str, size: int, mode: int, mtime: float | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, mode
    info.mtime = int(mtime if mtime is not None else utcnow().timestamp())
    return info  # owner left as 0/"": the restoring operator owns what is restored


class _HashingReader:
    def __init__(self, file: BinaryIO) -> None:
        self.file, self.hash = file, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.hash.update(data)
        return data


def _data_files(data_dir: Path, exclude: set[Path]) -> Iterator[tuple[str, Path]]:
    """Every file under LCA_DATA_DIR as (path inside it, in POSIX form; full path), sorted.

    Left out: a restore's work folder, a storage file still being written (``tmp…`` in the
    files folder) and the SQLite database itself if it lives there (it is backed up apart)."""
    found = []
    for folder, folders, names in os.walk(data_dir, followlinks=True):
        here = Path(folder)
        if here == data_dir:
            folders[:] = [name for name in folders if not name.startswith(WORK_PREFIX)]
        for name in names:
            path = here / name
            relative = path.relative_to(data_dir)
            if relative.parts[0] == "files" and name.startswith("tmp"):
                continue
            if path.resolve() in exclude:
                continue
            found.append((relative.as_posix(), path))
    return iter(sorted(found))


def _database_files(backend: str) -> set[Path]:
    if backend != "sqlite":
        return set()
    path = _sqlite_path().resolve()
    return {path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))}


# Restoring ----------------------------------------------------------------------------------


def restore_backup(archive: Path, force: bool = False) -> RestoreReport:
    """Restore ``archive`` into this instance, which must be empty (no tables, no files under
    LCA_DATA_DIR, no objects under the bucket's prefix) unless ``force``; check every SHA-256
    and row count, all or nothing."""
    bucket = _bucket()
    try:
        return _restore(Path(archive), force, bucket)
    except _failures(bucket) as error:
        raise BackupError(f"The restore failed: {error}") from error


def _restore(archive: Path, force: bool, bucket: S3Storage | None) -> RestoreReport:
    backend = _backend()
    data_dir = _data_dir()
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{archive} is not a readable archive: {error}") from error
    with tar:
        manifest = _read_manifest(tar)
        check_manifest(manifest, backend)
        _check_storage(manifest, bucket)
        notes = _revision_notes(manifest["alembic_revision"])
        if not force:
            _check_empty(data_dir, _database_files(backend))
            if bucket is not None:
                _check_bucket_empty(bucket)
        data_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=data_dir))
        try:
            _unpack(tar, manifest, work)
            notes += _put_in_place(manifest, work, data_dir, backend, force, bucket)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    keys = keys_dir()
    if not keys.resolve().is_relative_to(data_dir.resolve()):
        notes.append(
            f"The signing keys are not in backups: put the issuer's keys back in LCA_KEYS_DIR "
            f"({keys}) from the secrets backup before serving."
        )
    return RestoreReport(manifest, data_dir, notes, bucket.location if bucket else None)


def _check_storage(manifest: dict, bucket: S3Storage | None) -> None:
    """The archive's files go where this instance keeps them: a bucket's objects into a bucket,
    LCA_DATA_DIR/files into LCA_DATA_DIR; and the bucket can be reached."""
    objects = manifest.get("objects")
    if objects is not None and bucket is None:
        raise BackupError(
            f"This backup holds {_count(list(objects), 'object')} of the bucket "
            f"{manifest['storage']['url']}, but LCA_STORAGE_URL is not set: set it to the "
            "bucket to restore them into."
        )
    stored_locally = any(name.startswith("files/") for name in manifest["files"])
    if bucket is not None and objects is None and stored_locally:
        raise BackupError(
            "This backup keeps its files in LCA_DATA_DIR/files, but LCA_STORAGE_URL names the "
            f"bucket {bucket.location}: unset LCA_STORAGE_URL to restore it."
        )
    if bucket is not None:
        try:
            bucket.check()
        except RuntimeError as error:
            raise BackupError(f"{error} Nothing was restored.") from error


def _check_bucket_empty(bucket: S3Storage) -> None:
    """No object under the bucket's prefix."""
    present = [key for key, _size in bucket.objects()]
    if present:
        raise BackupError(
            f"The bucket {bucket.location} is not empty: it holds "
            f"{_count(present, 'object')} (for example {present[0]}). Restore into an empty "
            "bucket or prefix, or pass --force to replace them."
        )


def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError as error:
        raise BackupError("This is not an LCA backup: it has no manifest.json.") from error
    except tarfile.TarError as error:
        raise BackupError(f"The archive is damaged: {error}") from error
    file = tar.extractfile(member) if member.isfile() else None
    try:
        manifest = json.load(file) if file else None
    except (ValueError, UnicodeDecodeError, tarfile.TarError) as error:
        raise BackupError(f"The archive's manifest.json is unreadable: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("This is not an LCA backup: its manifest.json is not LCA's.")
    return manifest


def check_manifest(manifest: dict, backend: str) -> None:
    """The manifest is one this version reads, of the configured engine, and well formed."""
    version = manifest.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise BackupError(
            f"This backup is in format {version!r}; this version of LCA reads format "
            f"{FORMAT_VERSION}. Restore it with the LCA version that made it."
        )
    theirs = manifest.get("backend")
    if theirs not in DATABASE_MEMBERS:
        raise BackupError(f"The manifest names an unknown database backend: {theirs!r}.")
    if theirs != backend:
        raise BackupError(
            f"This backup holds a {BACKEND_NAMES[theirs]} database, but LCA_DATABASE_URL points "
            f"to {BACKEND_NAMES[backend]}. Restore it into a {BACKEND_NAMES[theirs]} database."
        )
    database, tables, files = (manifest.get(k) for k in ("database", "tables", "files"))
    objects, storage = manifest.get("objects", {}), manifest.get("storage", {})
    well_formed = (
        isinstance(database, dict)
        and database.get("path") == DATABASE_MEMBERS[backend]
        and _is_digest(database)
        and isinstance(tables, dict)
        and all(isinstance(n, str) and isinstance(c, int) for n, c in tables.items())
        and isinstance(files, dict)
        and all(_is_safe_path(name) and _is_digest(entry) for name, entry in files.items())
        and isinstance(objects, dict)
        and all(_is_key(key) and _is_digest(entry) for key, entry in objects.items())
        and ("objects" not in manifest or isinstance(storage.get("url"), str))
        and isinstance(manifest.get("created_at"), str)
        and isinstance(manifest.get("alembic_revision"), str | None)
    )
    if not well_formed:
        raise BackupError("The archive's manifest.json is damaged; nothing was restored.")


def _is_digest(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and len(entry["sha256"]) == 64
        and isinstance(entry.get("size"), int)
    )


def _is_safe_path(name: object) -> bool:
    """A relative POSIX path that stays inside its folder."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in path.parts)


def _is_key(key: object) -> bool:
    """A storage key: a safe relative path of at least two parts (``ab/abcdef….jpg``)."""
    return _is_safe_path(key) and "/" in str(key)


def _revision_notes(revision: str | None) -> list[str]:
    """Refuse a backup from a newer LCA; say so when the database needs ``db upgrade``."""
    directory = current_app.extensions["migrate"].directory
    config = Config()
    config.set_main_option("script_location", str(directory))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    if revision is None:
        return ["The backup's database has no alembic revision: run `flask --app wsgi db upgrade`."]
    try:
        script.get_revision(revision)
    except CommandError as error:
        raise BackupError(
            f"The backup's database is at revision {revision}, which this version of LCA does "
            "not know: it was made by a newer LCA. Install that version, then restore."
        ) from error
    if revision != head:
        return [
            f"The backup is at revision {revision} and this LCA at {head}: "
            "run `flask --app wsgi db upgrade` before serving."
        ]
    return []


def _check_empty(data_dir: Path, database_files: set[Path]) -> None:
    """No table in the database, no file under LCA_DATA_DIR (empty folders are fine)."""
    tables = sorted(inspect(db.engine).get_table_names())
    db.engine.dispose()
    if tables:
        shown = ", ".join(tables[:4]) + (", …" if len(tables) > 4 else "")
        raise BackupError(
            f"The database is not empty: it has {len(tables)} tables ({shown}). Restore into a "
            "new, empty database (do not run `flask db upgrade` on it first), or pass --force "
            "to replace what is there."
        )
    present = [
        path.relative_to(data_dir).as_posix()
        for path in data_dir.rglob("*")
        if not path.is_dir() and path.resolve() not in database_files
    ]
    if present:
        raise BackupError(
            f"LCA_DATA_DIR ({data_dir}) is not empty: it holds {_count(present, 'file')} "
            f"(for example {sorted(present)[0]}). Restore into an empty folder, or pass "
            "--force to replace them."
        )


def _unpack(tar: tarfile.TarFile, manifest: dict, work: Path) -> None:
    """Write every member into ``work``, checking each against the manifest."""
    expected = {DATA_PREFIX + name: entry for name, entry in manifest["files"].items()}
    expected |= {OBJECTS_PREFIX + key: entry for key, entry in manifest.get("objects", {}).items()}
    expected[manifest["database"]["path"]] = manifest["database"]
    seen: set[str] = set()
    try:
        for member in tar:
            if member.name == MANIFEST or member.isdir():
                continue
            entry = expected.get(member.name)
            if entry is None or not member.isfile() or member.name in seen:
                raise BackupError(
                    f"The archive holds {member.name}, which its manifest does not list: "
                    "it was changed after it was made. Nothing was restored."
                )
            seen.add(member.name)
            target = work / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:  # a regular file (checked above) always has contents
                raise BackupError(f"{member.name}: unreadable in the archive.")
            digest, size = _write(source, target, member.mode & 0o777)
            if (digest, size) != (entry["sha256"], entry["size"]):
                raise BackupError(
                    f"{member.name} does not match its SHA-256 in the manifest: the archive is "
                    "damaged or was changed. Nothing was restored."
                )
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(f"The archive is damaged: {error}. Nothing was restored.") from error
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(
            f"The archive lacks {_count(missing, 'file')} its manifest lists (for example "
            f"{missing[0]}): it is incomplete. Nothing was restored."
        )


def _write(source: IO[bytes], target: Path, mode: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(target, mode | 0o600)  # the owner can always read and replace it
    return digest.hexdigest(), size


def _put_in_place(
    manifest: dict,
    work: Path,
    data_dir: Path,
    backend: str,
    force: bool,
    bucket: S3Storage | None = None,
) -> list[str]:
    """Restore the database, then the files, then the bucket's objects, checking each; undo
    everything on failure."""
    undo: list[Callable[[], None]] = []
    try:
        notes = _restore_database(manifest, work, backend, force, undo)
        _move_files(manifest, work, data_dir, _database_files(backend), undo)
        for name, entry in manifest["files"].items():
            if _file_digest(data_dir / name) != (entry["sha256"], entry["size"]):
                raise BackupError(f"{name} in LCA_DATA_DIR does not match its SHA-256 once moved.")
        if bucket is not None:
            notes += _upload_objects(manifest.get("objects", {}), work, bucket, undo)
    except Exception as error:
        failures = []
        for step in reversed(undo):
            try:
                step()
            except Exception as undo_error:  # keep undoing the other steps, then say so
                failures.append(str(undo_error))
        message = error if isinstance(error, BackupError) else f"The restore failed: {error!r}"
        if failures:
            raise BackupError(
                f"{message} Undoing the restore failed too ({'; '.join(failures)}): check the "
                "database and LCA_DATA_DIR before serving."
            ) from error
        raise BackupError(f"{message} The restore was undone.") from error
    return notes


def _restore_database(
    manifest: dict, work: Path, backend: str, force: bool, undo: list[Callable[[], None]]
) -> list[str]:
    """Put the staged database in place in one step (SQLite's backup API, or pg_restore in one
    transaction) and check its row counts; ``undo`` learns how to put the old one back."""
    staged = work / manifest["database"]["path"]
    if backend == "sqlite":
        with closing(sqlite3.connect(staged)) as copy:
            check = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"The backup's SQLite database fails its integrity check: {check}")
        _compare_counts(manifest["tables"], _sqlite_file_facts(staged)[0])
        live = _sqlite_path()
        previous = work / "previous.sqlite3"
        db.engine.dispose()
        _sqlite_copy(live, previous)
        undo.append(lambda: _sqlite_copy(previous, live))
        _sqlite_copy(staged, live)
    elif force:  # keep what is there, to put it back if the restore fails
        previous = work / "previous.pgdump"
        _pg_dump(previous)
        _pg_restore(staged, clean=True)

        def put_back() -> None:
            _drop_postgresql_tables()
            _pg_restore(previous, clean=False)

        undo.append(put_back)
    else:
        _pg_restore(staged, clean=False)
        undo.append(_drop_postgresql_tables)
    with db.engine.connect() as connection:
        counts = _row_counts(connection)
    db.engine.dispose()
    extra = sorted(set(counts) - set(manifest["tables"]))
    _compare_counts(manifest["tables"], {name: counts.get(name) for name in manifest["tables"]})
    if extra:
        return [f"Tables not in the backup were left as they were: {', '.join(extra)}."]
    return []


def _compare_counts(expected: Mapping[str, int], actual: Mapping[str, int | None]) -> None:
    wrong = [
        f"{name} ({actual.get(name)} rows, the manifest says {rows})"
        for name, rows in sorted(expected.items())
        if actual.get(name) != rows
    ]
    wrong += [f"{name} (not in the manifest)" for name in sorted(set(actual) - set(expected))]
    if wrong:
        raise BackupError(f"The restored database does not match the manifest: {'; '.join(wrong)}.")


def _move_files(
    manifest: dict,
    work: Path,
    data_dir: Path,
    database_files: set[Path],
    undo: list[Callable[[], None]],
) -> None:
    """Swap the files under LCA_DATA_DIR (none, or those --force replaces) for the staged ones:
    renames on one file system, each undone on failure. A SQLite database kept in
    LCA_DATA_DIR stays where it is."""
    folders = {path for path in data_dir.rglob("*") if path.is_dir()}
    undo.append(lambda: _remove_new_folders(data_dir, folders))
    aside = work / "previous"
    for name, path in list(_data_files(data_dir, database_files)):
        _move(path, aside / name, undo)
    for name in sorted(manifest["files"]):
        _move(work / DATA_PREFIX / name, data_dir / name, undo)


def _upload_objects(
    objects: dict, work: Path, bucket: S3Storage, undo: list[Callable[[], None]]
) -> list[str]:
    """Write the staged objects into the bucket and read each back against its SHA-256. An
    object already there (--force) is first kept aside in ``work``, to be put back on undo."""
    aside = work / "previous-bucket"
    for key in sorted(objects):
        if bucket.exists(key):
            kept = aside / key
            kept.parent.mkdir(parents=True, exist_ok=True)
            with bucket.open(key) as current:
                _write(current, kept, 0o600)
            undo.append(functools.partial(_put_object, bucket, key, kept))
        else:
            undo.append(functools.partial(bucket.delete, key))
        _put_object(bucket, key, work / OBJECTS_PREFIX / key)
    for key, entry in objects.items():
        with bucket.open(key) as stored:
            if _stream_digest(stored) != (entry["sha256"], entry["size"]):
                raise BackupError(
                    f"{key} in {bucket.location} does not match its SHA-256 once written."
                )
    others = sum(1 for key, _size in bucket.objects() if key not in objects)
    if others:
        return [
            f"Objects under {bucket.location} that the backup does not hold were left as "
            f"they were: {others}."
        ]
    return []


def _put_object(bucket: S3Storage, key: str, path: Path) -> None:
    with open(path, "rb") as file:
        bucket.client.put_object(Bucket=bucket.bucket, Key=bucket.object_name(key), Body=file)


def _move(source: Path, target: Path, undo: list[Callable[[], None]]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    undo.append(lambda: os.replace(target, source))


def _remove_new_folders(data_dir: Path, folders: set[Path]) -> None:
    """Remove the folders a failed restore made in LCA_DATA_DIR (they are empty again)."""
    made = [
        path
        for path in data_dir.rglob("*")
        if path.is_dir()
        and path not in folders
        and not path.relative_to(data_dir).parts[0].startswith(WORK_PREFIX)
    ]
    for path in sorted(made, key=lambda p: len(p.parts), reverse=True):
        with suppress(OSError):  # not empty: not only ours, so kept
            path.rmdir()


def _file_digest(path: Path) -> tuple[str, int]:
    with open(path, "rb") as file:
        return _stream_digest(file)


def _stream_digest(file: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := file.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _sqlite_copy(source: Path, target: Path) -> None:
    """Replace the whole database ``target`` with ``source`` through the backup API."""
    with (
        closing(sqlite3.connect(source)) as origin,
        closing(sqlite3.connect(target, timeout=30)) as destination,
    ):
        origin.backup(destination)


def _drop_postgresql_tables() -> None:
    """Empty the database again after a failed restore into an empty one."""
    with db.engine.begin() as connection:
        quote = connection.dialect.identifier_preparer.quote
        for name in inspect(connection).get_table_names():
            connection.execute(text(f"DROP TABLE IF EXISTS {quote(name)} CASCADE"))
    db.engine.dispose()


# Shared -------------------------------------------------------------------------------------


def _backend() -> str:
    backend = db.engine.dialect.name
    if backend not in DATABASE_MEMBERS:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {backend}.")
    return backend


def _data_dir() -> Path:
    return Path(current_app.config["LCA_DATA_DIR"])


def _bucket() -> S3Storage | None:
    """The app's S3 store, if its files live in a bucket (LCA_STORAGE_URL)."""
    store = current_app.extensions["lca_storage"]
    return store if isinstance(store, S3Storage) else None


def _failures(bucket: S3Storage | None) -> tuple[type[Exception], ...]:
    """What a backup or restore turns into a BackupError: the file system's, the databases'
    and, when a bucket is in use, boto3's errors (boto3 is not loaded otherwise)."""
    known: tuple[type[Exception], ...] = (OSError, sqlite3.Error, SQLAlchemyError)
    if bucket is None:
        return known
    from botocore.exceptions import BotoCoreError, ClientError

    return (*known, BotoCoreError, ClientError)


def _s3_code(error: Exception) -> str | None:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("Backups need a SQLite database in a file (LCA_DATABASE_URL).")
    return Path(database)


def _row_counts(connection: Connection) -> dict[str, int]:
    """Rows in every table of the database, by table name."""
    names = sorted(inspect(connection).get_table_names())
    return {
        name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
        for name in names
    }


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _sqlite_file_facts(path: Path) -> tuple[dict[str, int], str | None]:
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return _row_counts(connection), _revision(connection)
    finally:
        engine.dispose()


def find_pg_tool(name: str) -> str:
    """pg_dump or pg_restore: in LCA_PG_BINDIR, else the newest Debian PostgreSQL version's
    folder (a pg_dump cannot be older than the server), else on PATH."""

    def version(folder: str) -> tuple[int, ...]:
        number = Path(folder).parent.name
        return (int(number),) if number.isdigit() else (0,)

    folders = [os.environ.get("LCA_PG_BINDIR", "")]
    folders += sorted(glob.glob(PG_BINDIR_GLOB), key=version, reverse=True)
    for folder in folders:
        if folder and (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(
        f"{name} was not found. Install the PostgreSQL client programs (Debian: "
        "apt-get install postgresql-client) or set LCA_PG_BINDIR to the folder that holds them."
    )


def postgres_connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it
    (PGPASSWORD), so that no password shows on a command line or in a message."""
    bare = URL.create("postgresql", url.username, None, url.host, url.port, url.database, url.query)
    dsn = bare.render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return dsn, env


def _run(command: list[str], env: dict[str, str], name: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed program, no shell  # nosec B603
    if result.returncode != 0:
        detail = (
            result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        )
        raise BackupError(f"{name} failed: {detail}")


def _count(things: list, noun: str) -> str:
    return f"{len(things)} {noun}{'' if len(things) == 1 else 's'}"


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"
