"""Where uploaded and issued files live: a small interface, and the local-folder implementation.

Files are written under random keys, never under the names people gave them. A file written
during a transaction that is then rolled back is deleted again; a file removed in a
transaction is deleted only once the transaction has committed.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

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
        """Raise, with a short reason, when the store cannot be used now."""


class LocalStorage:
    """Files in a folder (LCA_DATA_DIR/files), two levels deep by key prefix."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or "/" not in key or ".." in key or key.startswith("/"):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def save(self, data: bytes, suffix: str) -> str:
        name = secrets.token_hex(16)
        key = f"{name[:2]}/{name}{suffix}"
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
        """Raise, saying why, when files cannot be stored: the folder missing or not writable."""
        if not self.root.is_dir():
            raise RuntimeError("the file folder does not exist")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise RuntimeError("the file folder is not writable")


def init_app(app: Flask) -> None:
    root = Path(app.config["LCA_DATA_DIR"]) / "files"
    root.mkdir(parents=True, exist_ok=True)  # from the start, so that /readyz can check it
    app.extensions["lca_storage"] = LocalStorage(root)


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
