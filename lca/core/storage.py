"""Where uploaded and issued files live: a small interface, and two implementations: a local
folder (LCA_DATA_DIR/files, the default) and an S3-compatible bucket (LCA_STORAGE_URL).

Files are written under random keys, never under the names people gave them. A file written
during a transaction that is then rolled back is deleted again; a file removed in a
transaction is deleted only once the transaction has committed.
"""

from __future__ import annotations

import io
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from lca.core.config import storage_location

#: a session, or the request's scoped session (``db.session``)
AnySession = Session | scoped_session[Any]

_WRITTEN = "lca_files_written"
_DOOMED = "lca_files_doomed"


class Storage(Protocol):
    def save(self, data: bytes, suffix: str) -> str:
        """Store ``data`` under a new random key ending in ``suffix``; return the key."""

    def open(self, key: str) -> BinaryIO:
        """The stored bytes of ``key``, as a file to read."""

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    def exists(self, key: str) -> bool: ...

    def check(self) -> None:
        """Raise StorageUnavailable, saying why in a short sentence, when files can be neither
        written nor read (the readiness check, open to anyone: no path, bucket or address)."""


class StorageUnavailable(RuntimeError):
    """The file store cannot be used now; the message says why in a sentence."""


def _checked_key(key: str) -> str:
    if not key or "/" not in key or ".." in key or key.startswith("/"):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def _new_key(suffix: str) -> str:
    name = secrets.token_hex(16)
    return f"{name[:2]}/{name}{suffix}"


class LocalStorage:
    """Files in a folder (LCA_DATA_DIR/files), two levels deep by key prefix."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def save(self, data: bytes, suffix: str) -> str:
        key = _new_key(suffix)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
            temporary.write(data)
            temporary.flush()
            os.fsync(temporary.fileno())
        os.replace(temporary.name, path)
        return key

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def check(self) -> None:
        # the files folder is made by the first save: until then its parent must take it
        folder = self.root if self.root.exists() else self.root.parent
        if not folder.is_dir():
            raise StorageUnavailable("The file folder does not exist.")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StorageUnavailable("The file folder is not writable.")


#: connect and read timeouts (seconds) and retries of every S3 request: a stalled object store
#: fails a request in seconds rather than holding a worker
S3_CONNECT_TIMEOUT = 3
S3_READ_TIMEOUT = 10
S3_MAX_ATTEMPTS = 3
#: what an S3 download reads at a time
S3_CHUNK = 64 * 1024


class S3Storage:
    """Objects in an S3-compatible bucket, under ``prefix/`` if given, by the same keys as the
    local folder. Credentials come from boto3's own chain (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE, an instance or task role); boto3 is
    imported and the client made on first use, so a process that touches no file never loads
    them."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint_url, self.region = endpoint_url, region
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Storage({self.location!r})"

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def client(self) -> Any:
        """The boto3 S3 client, made on first use (thread-safe: one per store)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3.session  # type: ignore[import-untyped]
                    from botocore.config import Config  # type: ignore[import-untyped]

                    config = Config(
                        connect_timeout=S3_CONNECT_TIMEOUT,
                        read_timeout=S3_READ_TIMEOUT,
                        retries={"mode": "standard", "max_attempts": S3_MAX_ATTEMPTS},
                    )
                    self._client = boto3.session.Session().client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        config=config,
                    )
        return self._client

    def object_name(self, key: str) -> str:
        """The bucket's name for ``key``: the key under the prefix."""
        _checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, data: bytes, suffix: str) -> str:
        key = _new_key(suffix)
        self.client.put_object(Bucket=self.bucket, Key=self.object_name(key), Body=data)
        return key

    def open(self, key: str) -> BinaryIO:
        found = self.client.get_object(Bucket=self.bucket, Key=self.object_name(key))
        return cast(BinaryIO, S3Download(found["Body"], found.get("ContentLength")))

    def delete(self, key: str) -> None:
        # S3 answers a missing key's deletion with success
        self.client.delete_object(Bucket=self.bucket, Key=self.object_name(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_name(key))
        except ClientError as error:
            if _status(error) == 404:
                return False
            raise
        return True

    def objects(self) -> Iterator[tuple[str, int]]:
        """Every key under the prefix and its size, in key order."""
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        for page in pages:
            for found in page.get("Contents", []):
                yield found["Key"][len(start) :], found["Size"]

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            status = _status(error)
            if status == 404:
                raise StorageUnavailable("The bucket does not exist.") from error
            if status == 403:
                raise StorageUnavailable(
                    "No permission to use the bucket (check the credentials)."
                ) from error
            raise StorageUnavailable(f"The bucket answered HTTP {status}.") from error
        except BotoCoreError as error:
            raise StorageUnavailable("The object store cannot be reached.") from error


def _status(error: Exception) -> int | None:
    response = getattr(error, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


class S3Download(io.RawIOBase):
    """An object being downloaded, read as it arrives (never whole into memory): a readable,
    closeable, non-seekable file. ``send_file`` streams it in chunks (werkzeug's FileWrapper),
    with its length as Content-Length."""

    def __init__(self, body: Any, size: int | None) -> None:
        self.body, self.size = body, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.body.read(min(len(view), S3_CHUNK))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()


def make_storage(config: Any) -> Storage:
    """The file store ``config`` names: LCA_STORAGE_URL's bucket, else LCA_DATA_DIR/files."""
    location = storage_location(config.get("LCA_STORAGE_URL"))
    if location is None:
        return LocalStorage(Path(config["LCA_DATA_DIR"]) / "files")
    bucket, prefix = location
    return S3Storage(
        bucket,
        prefix,
        endpoint_url=config.get("LCA_S3_ENDPOINT_URL"),
        region=config.get("LCA_S3_REGION") or "us-east-1",
    )


def init_app(app: Flask) -> None:
    app.extensions["lca_storage"] = make_storage(app.config)


def storage() -> Storage:
    """The file store of the running app."""
    found: Storage = current_app.extensions["lca_storage"]
    return found


def save_file(session: AnySession, data: bytes, suffix: str) -> str:
    """Store a file as part of ``session``'s transaction: a rollback deletes it again."""
    key = storage().save(data, suffix)
    session.info.setdefault(_WRITTEN, []).append((storage(), key))
    return key


def delete_file_after_commit(session: AnySession, key: str) -> None:
    """Remove a file once ``session``'s transaction has committed (never before)."""
    session.info.setdefault(_DOOMED, []).append((storage(), key))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    for store, key in session.info.pop(_DOOMED, []):
        store.delete(key)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:
        return  # a savepoint inside the transaction; the whole transaction decides
    for store, key in session.info.pop(_WRITTEN, []):
        store.delete(key)
    session.info.pop(_DOOMED, None)
