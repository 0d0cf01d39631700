"""Settings from the LCA_* environment variables (see the README's configuration table)."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("production", "development", "testing")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
DEVELOPMENT_SECRET = "lca-development-only-not-a-secret"  # noqa: S105 - refused outside development


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def read_pkcs12(path: str | Path, password_file: str | Path | None) -> tuple[Any, Any, list[Any]]:
    """The private key, certificate and chain of the organisation certificate that signs the
    certificate PDFs (LCA_PDF_SIGNING_P12, its passphrase in the file
    LCA_PDF_SIGNING_P12_PASSWORD_FILE, one line); ConfigError saying what is wrong."""
    # cryptography (9 MB with its Rust core) is loaded by the workers that sign, not by all
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    p12 = "LCA_PDF_SIGNING_P12"
    if not password_file:
        raise ConfigError(
            f"{p12} is set but LCA_PDF_SIGNING_P12_PASSWORD_FILE is not: set it to a file "
            "holding the PKCS#12 file's passphrase (never the passphrase itself)."
        )
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"{p12}: cannot read {path} ({error.strerror}).") from error
    try:
        passphrase = Path(password_file).read_bytes().rstrip(b"\r\n")
    except OSError as error:
        raise ConfigError(
            f"LCA_PDF_SIGNING_P12_PASSWORD_FILE: cannot read {password_file} ({error.strerror})."
        ) from error
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(data, passphrase or None)
    except ValueError as error:
        raise ConfigError(
            f"{p12}: {path} could not be opened with the passphrase in {password_file} "
            "(wrong passphrase, or not a PKCS#12 file)."
        ) from error
    if key is None or certificate is None:
        raise ConfigError(f"{p12}: {path} must hold the private key and its certificate.")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            f"{p12}: the key in {path} is not an RSA key. Certificate PDFs are PDF/A-2b, that is "
            "PDF 1.7, whose signatures are RSA (ECDSA would make them PDF 2.0)."
        )
    return key, certificate, list(chain)


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _setting(name: str, default: str) -> str:
    """An environment variable that always has a value: its default when unset or blank."""
    return _env(name) or default


def _int_env(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ConfigError(f"{name} must be a whole number, not {value!r}.") from error


#: an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, a letter or digit at
#: each end) and a prefix of path segments
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_PART = re.compile(r"[A-Za-z0-9!_.*'()-]+")


def storage_location(url: str | None) -> tuple[str, str] | None:
    """LCA_STORAGE_URL read: None for the local folder (unset), else (bucket, prefix) of
    ``s3://BUCKET`` or ``s3://BUCKET/PREFIX``; ConfigError naming what is accepted."""
    if not url:
        return None
    accepted = (
        "LCA_STORAGE_URL must be unset (files in LCA_DATA_DIR/files), s3://BUCKET or "
        "s3://BUCKET/PREFIX (files in an S3-compatible bucket, under PREFIX/ if given)"
    )
    if not url.startswith("s3://"):
        raise ConfigError(f"{accepted}; {url!r} is neither.")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(
            f"{accepted}; {bucket!r} is not a bucket name (3 to 63 lowercase letters, digits, "
            "dots and hyphens, starting and ending with a letter or digit)."
        )
    parts = prefix.strip("/").split("/") if prefix.strip("/") else []
    if any(part in (".", "..") or not _PREFIX_PART.fullmatch(part) for part in parts):
        raise ConfigError(
            f"{accepted}; the prefix {prefix!r} must be folder names of letters, digits and "
            "- _ . separated by /."
        )
    return bucket, "/".join(parts)


def keys_folder_of(config: Any) -> Path:
    """Where the issuer's signing keys live: LCA_KEYS_DIR, else LCA_DATA_DIR/keys."""
    configured = config.get("LCA_KEYS_DIR")
    return Path(configured) if configured else Path(config["LCA_DATA_DIR"]) / "keys"


def _retention_years() -> int | None:
    name = "LCA_EVIDENCE_RETENTION_YEARS"
    if _env(name) is None:
        return None
    years = _int_env(name, 0)
    if not 1 <= years <= 100:
        raise ConfigError(
            f"{name} must be a number of years from 1 to 100, or unset to keep evidence."
        )
    return years


RATE_LIMIT_STORAGES = ("redis://", "rediss://", "database://", "memory://")


def _rate_limit_storage(env: str) -> str:
    name = "LCA_RATELIMIT_STORAGE_URL"
    url = _env(name, "database://" if env == "production" else "memory://") or ""
    if not url.startswith(RATE_LIMIT_STORAGES):
        raise ConfigError(
            f"{name} must be redis://host:port/db (several servers), database:// (LCA's "
            "database, the default) or memory:// (development only)."
        )
    if env == "production" and url.startswith("memory://"):
        raise ConfigError(
            f"{name}=memory:// counts each gunicorn worker on its own, so every limit would "
            "let through as many tries as there are workers. Leave it unset (the limits count "
            "in the database) or set a Redis URL."
        )
    return url


def _rate_limit_options(url: str) -> dict[str, Any]:
    """The limits library's storage options: errors as StorageError (lca.web.rate_limits
    counts on when the store is down), short timeouts for Redis (a lost Redis must not hold
    every sign-in for long). database:// counts on the app's own database URL."""
    options: dict[str, Any] = {"wrap_exceptions": True}
    if url.startswith("redis"):
        options.update(socket_timeout=2, socket_connect_timeout=2)
    return options


LOG_FORMATS = ("json", "text")


def _log_format(env: str) -> str:
    value = _setting("LCA_LOG_FORMAT", "json" if env == "production" else "text")
    if value not in LOG_FORMATS:
        raise ConfigError(f"LCA_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}.")
    return value


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def parse_networks(name: str, value: str) -> Networks:
    """Space-separated addresses or CIDR networks (``10.0.0.5 10.1.0.0/16 ::1``)."""
    try:
        return tuple(ipaddress.ip_network(part, strict=False) for part in value.split())
    except ValueError as error:
        raise ConfigError(
            f"{name} must be addresses or networks separated by spaces, e.g. "
            f"`10.0.0.5 10.1.0.0/16`: {error}."
        ) from error


def load_config(overrides: dict[str, Any] | None = None, serving: bool = True) -> dict[str, Any]:
    """Build the Flask config from the environment, then apply ``overrides`` (tests).

    ``serving=False`` is for maintenance commands (migrations, seeding): they sign no cookies,
    so they run without LCA_SECRET_KEY on a random key of their own.
    """
    overrides = dict(overrides or {})
    env = overrides.pop("LCA_ENV", None) or _env("LCA_ENV", "production")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"LCA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}.")

    instance = ROOT / "instance"
    data_dir = Path(_setting("LCA_DATA_DIR", str(instance / "data")))
    database_url = _setting("LCA_DATABASE_URL", f"sqlite:///{instance / 'lca.sqlite3'}")
    public_url_set = bool(_env("LCA_PUBLIC_URL") or overrides.get("LCA_PUBLIC_URL"))
    public_url = _setting("LCA_PUBLIC_URL", DEFAULT_PUBLIC_URL).rstrip("/")

    secret = _env("LCA_SECRET_KEY")
    if secret is None and env == "production" and not serving:
        secret = secrets.token_hex(32)
    if secret is None and env == "production":
        raise ConfigError(
            "LCA_SECRET_KEY is not set. Set it to a long random value, for example "
            "`export LCA_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')`, "
            "or set LCA_ENV=development on a developer's machine."
        )

    if env == "production" and serving and not public_url_set:
        raise ConfigError(
            "LCA_PUBLIC_URL is not set. Set it to the address people use to reach LCA, for "
            "example `export LCA_PUBLIC_URL=https://lca.example.org`: certificates carry it in "
            "their QR codes and links for good, and mails link to it."
        )

    https = public_url.startswith("https://")
    config: dict[str, Any] = {
        "LCA_ENV": env,
        "SECRET_KEY": secret or DEVELOPMENT_SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "LCA_DATA_DIR": data_dir,
        "LCA_PUBLIC_URL": public_url,
        #: whether LCA_PUBLIC_URL was set; in development without it, links follow the address
        #: a request came to (lca.web.addresses.public_url)
        "LCA_PUBLIC_URL_SET": public_url_set,
        "LCA_TIMEZONE": _env("LCA_TIMEZONE", "Asia/Bangkok"),
        "LCA_PASSWORD_MIN_LENGTH": 10,
        "LCA_PASSWORD_PROFILE": "RFC_9106_LOW_MEMORY",
        "LCA_PAGE_SIZE": 50,
        # Sessions and cookies: HttpOnly, SameSite=Lax; over https also Secure and named with
        # the __Host- prefix (the browser then refuses them from any other host or over http).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_NAME": f"{'__Host-' if https else ''}lca_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "LCA_SESSION_IDLE_MINUTES": _int_env("LCA_SESSION_IDLE_MINUTES", 60),
        # how long a sign-in or a password typed again lets one change one's second factors
        "LCA_REAUTH_MINUTES": _int_env("LCA_REAUTH_MINUTES", 10),
        "REMEMBER_COOKIE_NAME": f"{'__Host-' if https else ''}lca_remember",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "MAX_CONTENT_LENGTH": 60 * 1024 * 1024,
        # Languages: Thai first.
        "BABEL_DEFAULT_LOCALE": "th",
        "BABEL_DEFAULT_TIMEZONE": _env("LCA_TIMEZONE", "Asia/Bangkok"),
        "LCA_LANGUAGES": ("th", "en"),
        # Mail: where the worker delivers (smtp://, smtps://, or file://folder for a developer's
        # mailbox, what `make run` uses), and who it comes from.
        "LCA_MAIL_URL": _env(
            "LCA_MAIL_URL", "file://instance/mail" if env == "development" else None
        ),
        "LCA_MAIL_FROM": _env("LCA_MAIL_FROM", "LCA City Administrator <lca@localhost>"),
        #: how long a worker holds the messages it claimed (seconds): a killed worker's come
        #: back after that; longer than any one delivery
        "LCA_MAIL_CLAIM_SECONDS": _int_env("LCA_MAIL_CLAIM_SECONDS", 120),
        #: the local hour from which the worker writes the day's digests and reminders
        "LCA_DIGEST_HOUR": _int_env("LCA_DIGEST_HOUR", 7),
        # Where the rate limits count (lca.web.rate_limits): redis://… for several servers,
        # database:// (the default in production) in LCA's database, memory:// in development
        # and tests only. A store that cannot be reached lifts the per-address limits and
        # counts the per-account ones in each process until it is back (/readyz says so).
        "RATELIMIT_STORAGE_URI": _rate_limit_storage(env),
        "RATELIMIT_STORAGE_OPTIONS": {"wrap_exceptions": True},
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "LCA_LOGIN_RATE_LIMIT": _env("LCA_LOGIN_RATE_LIMIT", "20 per minute"),
        "LCA_LOGIN_ACCOUNT_RATE_LIMIT": _env("LCA_LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes"),
        "LCA_VERIFY_RATE_LIMIT": _env("LCA_VERIFY_RATE_LIMIT", "30 per minute"),
        #: reads of one calendar feed per client address (a calendar app reads it every few
        #: minutes at most; a guesser of one person's address gets no further)
        "LCA_CALENDAR_RATE_LIMIT": _env("LCA_CALENDAR_RATE_LIMIT", "20 per minute"),
        #: wrong current passwords (password change, sign out everywhere) per account
        "LCA_PASSWORD_CHECK_RATE_LIMIT": _env("LCA_PASSWORD_CHECK_RATE_LIMIT", "5 per 15 minutes"),
        #: addresses LCA had before LCA_PUBLIC_URL that still reach it (space-separated): the
        #: credentials issued there name that address's did:web, which it keeps answering for
        "LCA_FORMER_PUBLIC_URLS": _env("LCA_FORMER_PUBLIC_URLS", ""),
        #: forgot-password requests per client address, and reset mails per account an hour
        "LCA_RESET_RATE_LIMIT": _env("LCA_RESET_RATE_LIMIT", "5 per minute; 20 per hour"),
        "LCA_RESET_MAILS_PER_HOUR": _int_env("LCA_RESET_MAILS_PER_HOUR", 3),
        #: how many reverse proxies in front of LCA set X-Forwarded-For/-Proto (0: none)
        "LCA_PROXY_COUNT": _int_env("LCA_PROXY_COUNT", 0),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        #: the organisation certificate that signs certificate PDFs (a PKCS#12 file with the
        #: key, certificate and chain) and the file holding its passphrase; unset, LCA signs
        #: with its own self-signed certificate (lca.certificates.pdf_signing)
        "LCA_PDF_SIGNING_P12": _env("LCA_PDF_SIGNING_P12"),
        "LCA_PDF_SIGNING_P12_PASSWORD_FILE": _env("LCA_PDF_SIGNING_P12_PASSWORD_FILE"),
        #: PDPA retention: the evidence files of cohorts that ended more than this many years
        #: ago are deleted (lca.privacy.retention); unset: evidence is kept
        "LCA_EVIDENCE_RETENTION_YEARS": _retention_years(),
        #: who answers questions about personal data (the privacy notice); unset: the issuer's
        #: e-mail address in seed/issuer.yaml
        "LCA_PRIVACY_CONTACT": _env("LCA_PRIVACY_CONTACT"),
        #: where uploaded and issued files live: unset, LCA_DATA_DIR/files; s3://BUCKET[/PREFIX],
        #: an S3-compatible bucket (lca.core.storage), whose credentials boto3 finds itself
        "LCA_STORAGE_URL": _env("LCA_STORAGE_URL"),
        #: a server other than AWS that speaks S3 (MinIO, Ceph, a cloud's own), e.g.
        #: http://127.0.0.1:9000; unset: AWS
        "LCA_S3_ENDPOINT_URL": _env("LCA_S3_ENDPOINT_URL"),
        "LCA_S3_REGION": _setting("LCA_S3_REGION", "us-east-1"),
        #: the issuer's signing keys (lca.certificates.keys.keys_dir); unset (None):
        #: LCA_DATA_DIR/keys. May be a read-only secrets folder ($CREDENTIALS_DIRECTORY,
        #: /run/secrets/lca) for serving
        "LCA_KEYS_DIR": _env("LCA_KEYS_DIR"),
        #: json (one object a line, for a log shipper) or text (lca.core.logs)
        "LCA_LOG_FORMAT": _log_format(env),
        #: /metrics answers a request bearing this token (``Authorization: Bearer …``) and/or
        #: one from these addresses or networks; neither set: /metrics is not there (404)
        "LCA_METRICS_TOKEN": _env("LCA_METRICS_TOKEN"),
        "LCA_METRICS_ALLOW": parse_networks("LCA_METRICS_ALLOW", _setting("LCA_METRICS_ALLOW", "")),
    }
    if env == "testing":
        config.update(
            TESTING=True,
            LCA_PASSWORD_PROFILE="CHEAPEST",  # noqa: S106 - a hashing profile name, not a password
            # Limits stay on, high enough for the suite; a test lowers one to see it work.
            LCA_LOGIN_RATE_LIMIT="100000 per minute",
            LCA_LOGIN_ACCOUNT_RATE_LIMIT="100000 per minute",
            LCA_VERIFY_RATE_LIMIT="100000 per minute",
            LCA_CALENDAR_RATE_LIMIT="100000 per minute",
            LCA_PASSWORD_CHECK_RATE_LIMIT="100000 per minute",  # noqa: S106 - a rate limit
            LCA_RESET_RATE_LIMIT="100000 per minute",
            WTF_CSRF_ENABLED=False,
        )
    config.update(overrides)
    config["LCA_DATA_DIR"] = Path(config["LCA_DATA_DIR"])
    config["RATELIMIT_STORAGE_OPTIONS"] = _rate_limit_options(config["RATELIMIT_STORAGE_URI"])
    if config["LCA_KEYS_DIR"]:
        config["LCA_KEYS_DIR"] = Path(config["LCA_KEYS_DIR"])
    storage_location(config["LCA_STORAGE_URL"])  # a wrong one stops the start
    endpoint = config["LCA_S3_ENDPOINT_URL"]
    if endpoint and not str(endpoint).startswith(("http://", "https://")):
        raise ConfigError(
            f"LCA_S3_ENDPOINT_URL must be the address of an S3-compatible server, such as "
            f"http://127.0.0.1:9000 or https://s3.example.org, not {endpoint!r}."
        )
    if config["LCA_LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigError(f"LCA_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}.")
    if isinstance(config["LCA_METRICS_ALLOW"], str):  # an override in the environment's form
        allow = config["LCA_METRICS_ALLOW"]
        config["LCA_METRICS_ALLOW"] = parse_networks("LCA_METRICS_ALLOW", allow)
    if config["LCA_PDF_SIGNING_P12"]:  # a wrong file or passphrase stops the start, not an issue
        read_pkcs12(config["LCA_PDF_SIGNING_P12"], config["LCA_PDF_SIGNING_P12_PASSWORD_FILE"])
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {}
    return config
