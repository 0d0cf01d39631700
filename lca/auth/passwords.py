"""Password hashing with Argon2id (argon2-cffi), parameters from the configured profile."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_hashers: dict[str, PasswordHasher] = {}
_dummy_hashes: dict[str, str] = {}


def _hasher() -> PasswordHasher:
    name = current_app.config["LCA_PASSWORD_PROFILE"]
    if name not in _hashers:
        _hashers[name] = PasswordHasher.from_parameters(getattr(profiles, name))
    return _hashers[name]


def hash_password(password: str) -> str:
    """A salted Argon2id hash of ``password``."""
    return _hasher().hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spend the same time and answer no."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with weaker parameters than today's profile."""
    return _hasher().check_needs_rehash(password_hash)


def _dummy_hash() -> str:
    """A hash of nobody's password, so an unknown e-mail costs as much time as a known one."""
    name = current_app.config["LCA_PASSWORD_PROFILE"]
    if name not in _dummy_hashes:
        _dummy_hashes[name] = _hasher().hash("not-the-password-of-anyone")
    return _dummy_hashes[name]
