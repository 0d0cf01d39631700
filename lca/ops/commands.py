"""The ``flask --app wsgi lca …`` commands for operators."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, text

from lca.auth.password_policy import check_password_policy
from lca.auth.services import Profile, create_user
from lca.core.db import db
from lca.core.errors import RuleError
from lca.core.seed_files import SEED_DIR, SeedError
from lca.models import City, Role
from lca.ops.seeding import seed_all


@click.group("lca")
def lca_group():
    """LCA operations: seed data, demo data, accounts."""


@lca_group.command("seed")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Say what the seed would do, and change nothing.")
@click.option(
    "--seed-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=SEED_DIR,
    show_default="seed/",
    help="Read the seed files from this folder (to try a proposed curriculum.yaml first).",
)
def seed_command(dry_run, seed_dir):
    """Create or update the curriculum, field catalogues, cities and rubric from seed/.

    Wording fixes of the curriculum (titles, descriptions, the version's name) change the
    current version in place; a change of a rule (hours, modules, kinds, the field window, the
    mechanisms and tools) makes a new version, and existing cohorts keep theirs."""
    try:
        lines = seed_all(seed_dir).lines()
    except SeedError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run of {seed_dir}: nothing was changed. The seed would do this:")
    else:
        db.session.commit()
    for line in lines:
        click.echo(line)


@lca_group.command("demo")
@with_appcontext
@click.option(
    "--allow-production",
    is_flag=True,
    help="Load the demo even with LCA_ENV=production (a throwaway instance only).",
)
def demo_command(allow_production):
    """Add the demo cohort and demo accounts (idempotent)."""
    from lca.ops.demo import load_demo

    if current_app.config["LCA_ENV"] == "production" and not allow_production:
        raise click.ClickException(
            "The demo accounts have a published password: not on a production instance "
            "(LCA_ENV=production). For a throwaway instance, add --allow-production."
        )

    try:
        lines = load_demo()
    except (RuntimeError, RuleError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    for line in lines:
        click.echo(line)


def refresh_statistics() -> float:
    """ANALYZE: the query planner's statistics, read again from the data; returns seconds.

    SQLite has none until asked, and without them it may walk a whole index where a learner's
    own rows would do (docs/performance.md); PostgreSQL's autovacuum refreshes them by itself,
    and this only makes it happen now."""
    import time

    started = time.perf_counter()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return time.perf_counter() - started


@lca_group.command("optimize")
@with_appcontext
def optimize_command():
    """Refresh the database's query statistics (run it daily, and after a large import)."""
    seconds = refresh_statistics()
    click.echo(f"Statistics refreshed ({db.engine.dialect.name}) in {seconds:.1f} s.")


@lca_group.command("purge-drafts")
@with_appcontext
def purge_drafts_command():
    """Remove the log-form files kept as drafts for more than a day (the worker does it too)."""
    from lca.hours.drafts import purge_expired_drafts

    removed = purge_expired_drafts()
    db.session.commit()
    click.echo(f"{removed} expired draft files removed.")


@lca_group.command("retention")
@click.option("--dry-run", is_flag=True, help="List what would be deleted and delete nothing.")
@with_appcontext
def retention_command(dry_run):
    """Delete the evidence files of cohorts that ended more than LCA_EVIDENCE_RETENTION_YEARS
    years ago (the worker does it once a day)."""
    from lca.privacy.retention import apply_retention, retention_years

    years = retention_years()
    if years is None:
        click.echo("LCA_EVIDENCE_RETENTION_YEARS is not set: evidence is kept; nothing to do.")
        return
    due = apply_retention(dry_run=dry_run)
    verb = "would be deleted" if dry_run else "deleted"
    for batch in due:
        click.echo(
            f"{batch.cohort.code} (ended {batch.cohort.ends_on.isoformat()}): "
            f"{batch.count} files, {batch.size_bytes} bytes {verb}"
        )
    if not dry_run:
        db.session.commit()
    total = sum(batch.count for batch in due)
    click.echo(f"{total} files {verb} under the {years}-year retention rule.")


@lca_group.command("synth")
@click.option("--learners", type=click.IntRange(1, 1_000_000), required=True)
@click.option("--seed", type=int, default=2569, show_default=True, help="Random seed.")
@click.option(
    "--versions",
    type=click.IntRange(1, 2),
    default=1,
    show_default=True,
    help="Curriculum versions the cohorts follow: 2 makes a later version (field practice "
    "12 hours instead of 9) and puts the newer half of the cohorts on it.",
)
@click.option(
    "--allow-production",
    is_flag=True,
    help="Build it even with LCA_ENV=production (a throwaway benchmark instance only).",
)
@with_appcontext
def synth_command(learners, seed, versions, allow_production):
    """Add synthetic learners (cohorts of 50, with hours, reports, certificates) for benchmarks."""
    import time

    from lca.ops.synth import SYNTH_PASSWORD, SynthError, build_synthetic

    if current_app.config["LCA_ENV"] == "production" and not allow_production:
        raise click.ClickException(
            "Synthetic accounts share a published password: not on a production instance "
            "(LCA_ENV=production). For a throwaway benchmark instance, add --allow-production."
        )
    started = time.perf_counter()
    with click.progressbar(length=learners, label="Learners", show_pos=True) as bar:
        try:
            counters = build_synthetic(learners, seed=seed, progress=bar.update, versions=versions)
        except SynthError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
    db.session.commit()
    refresh_statistics()
    seconds = time.perf_counter() - started
    for table, count in counters.rows.items():
        click.echo(f"{table:>20}: {count:,}")
    click.echo(
        f"{sum(counters.rows.values()):,} rows in {seconds:.1f} s; "
        f"every synthetic account signs in with {SYNTH_PASSWORD}"
    )


@lca_group.command("create-user")
@click.option("--email", prompt=True, help="E-mail address (the sign-in name).")
@click.option("--name-th", prompt="Full name in Thai", help="Full name in Thai.")
@click.option("--name-en", default="", help="Full name in English.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.ADMIN.value,
    show_default=True,
    prompt=True,
)
@click.option("--city", "city_code", default="", help="City code from seed/cities.yaml.")
@click.option("--organisation", default="")
@click.option(
    "--invite",
    is_flag=True,
    help="No password: the person is e-mailed a link to choose one (14 days).",
)
@with_appcontext
def create_user_command(email, name_th, name_en, role, city_code, organisation, invite):
    """Create an account; the password is asked for twice and never echoed, or with --invite
    the person is invited by e-mail (the worker sends it) to choose their own."""
    password = None
    if not invite:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=False)
    city = None
    if city_code:
        city = db.session.scalar(select(City).where(City.code == city_code))
        if city is None:
            raise click.ClickException(f"No city has the code {city_code!r}.")
    profile = Profile(
        email.strip().lower(),
        " ".join(name_th.split()),
        name_en.strip() or None,
        Role(role),
        city,
        organisation.strip() or None,
    )
    try:
        if password is not None:
            check_password_policy(
                password, profile.email, profile.full_name_th, profile.full_name_en
            )
        user, _ = create_user(profile, password, actor=None)
    except RuleError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")
    if password is None:
        click.echo("An invitation to choose a password is waiting for the worker to send it.")


@lca_group.group("certificates")
def certificates_group():
    """Issue, revoke and print certificates (same rules and audit as the web pages)."""


def _cohort_or_fail(code: str):
    from lca.models import Cohort

    cohort = db.session.scalar(select(Cohort).where(Cohort.code == code.strip().upper()))
    if cohort is None:
        raise click.ClickException(f"No cohort has the code {code!r}.")
    return cohort


@certificates_group.command("issue")
@click.option("--cohort", "cohort_code", required=True, help="Cohort code, e.g. CA-2569-01.")
@click.option("--email", "emails", multiple=True, help="Only this learner (repeatable).")
@click.option(
    "--language", type=click.Choice(["both", "th", "en"]), default="both", show_default=True
)
@with_appcontext
def issue_certificates_command(cohort_code, emails, language):
    """Issue the certificates of every eligible learner of a cohort (or of --email)."""
    from lca.certificates.services import issue_for_cohort
    from lca.models import CertificateLanguage
    from lca.web.addresses import issuing_address_problem

    problem = issuing_address_problem()
    if problem is not None:  # the address goes into every PDF and QR code for good
        raise click.ClickException(f"No certificate issued: {problem}")
    cohort = _cohort_or_fail(cohort_code)
    wanted = {email.strip().lower() for email in emails} or None
    issued = refused = 0
    for enrolment, certificate, refusal in issue_for_cohort(
        cohort, None, CertificateLanguage(language), wanted
    ):
        if certificate is not None:
            db.session.commit()
            issued += 1
            click.echo(
                f"{certificate.serial}\t{enrolment.learner.email}\t"
                f"{certificate.snapshot['verify_url']}"
            )
        else:
            db.session.rollback()
            refused += 1
            click.echo(f"refused\t{enrolment.learner.email}\t{refusal}", err=True)
    if wanted:
        from lca.models import Enrolment, User

        enrolled = set(
            db.session.scalars(
                select(User.email)
                .join(Enrolment, Enrolment.learner_id == User.id)
                .where(Enrolment.cohort_id == cohort.id)
            )
        )
        for missing in sorted(wanted - enrolled):
            refused += 1
            click.echo(f"refused\t{missing}\tnot a learner of {cohort.code}", err=True)
    click.echo(f"{issued} issued, {refused} refused.")
    if refused or (wanted and not issued):
        raise SystemExit(1)


@certificates_group.command("revoke")
@click.argument("serial")
@click.option("--reason", required=True, help="Why the certificate is revoked (kept).")
@with_appcontext
def revoke_certificate_command(serial, reason):
    """Revoke the certificate with this serial number."""
    from lca.certificates.services import find_by_serial, revoke_certificate

    certificate = find_by_serial(serial)
    if certificate is None:
        raise click.ClickException(f"No certificate has the serial {serial!r}.")
    try:
        revoke_certificate(certificate, None, reason)
    except RuleError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"{certificate.serial} revoked.")


@certificates_group.command("print")
@click.option("--cohort", "cohort_code", required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def print_certificates_command(cohort_code, out):
    """Write every valid certificate of a cohort into one PDF, a page each, for the printer."""
    from lca.certificates.services import certificates_of_cohort
    from lca.certificates.views import merged_pdf

    cohort = _cohort_or_fail(cohort_code)
    valid = [c for c in certificates_of_cohort(cohort) if c.is_valid]
    if not valid:
        raise click.ClickException(f"{cohort.code} has no valid certificate to print.")
    with click.open_file(out, "wb") as file:
        file.write(merged_pdf(valid))
    click.echo(f"{len(valid)} certificates written to {out}.")


@lca_group.group("keys")
def keys_group():
    """The issuer's keys: credential proofs, the credentials' JWT form, the PDF signature."""


def _report_keys(made: dict[str, str]) -> None:
    from lca.certificates.keys import keys_dir

    click.echo(f"Keys in {keys_dir()}:")
    click.echo(f"  credential proofs (Ed25519, did:web): {made['proof']}")
    click.echo(f"  credential JWTs (ES256): {made['jwt']}")
    click.echo(f"  PDF signing certificate: {made['pdf']}")


@keys_group.command("generate")
@with_appcontext
def generate_key_command():
    """Create the issuer's keys in LCA_KEYS_DIR (LCA_DATA_DIR/keys) where they are missing (existing
    keys are kept), then sign the credentials of certificates issued before they were signed
    at issue."""
    from lca.certificates.keys import generate_keys
    from lca.certificates.services import sign_pending_credentials

    _report_keys(generate_keys())
    signed = sign_pending_credentials()
    db.session.commit()
    if signed:
        click.echo(f"{signed} earlier certificates' credentials signed.")


@keys_group.command("rotate")
@with_appcontext
def rotate_keys_command():
    """Make new keys; the old public keys stay published, so every credential signed before
    still verifies. Issued credentials are not signed again."""
    from lca.certificates.keys import generate_keys
    from lca.core.audit import record

    made = generate_keys(rotate=True)
    retired = {kind: kid for kind, kid in made.items() if kind.startswith("retired-")}
    record(None, "keys.rotate", None, **made)
    db.session.commit()
    _report_keys(made)
    click.echo("Retired, still published for verifying: " + (", ".join(retired.values()) or "none"))


@lca_group.group("learners")
def learners_group():
    """Learners in bulk."""


@learners_group.command("import")
@click.option("--cohort", "cohort_code", required=True, help="Cohort code, e.g. CA-2569-01.")
@click.option("--dry-run", is_flag=True, help="Check every row and write nothing.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_learners_command(cohort_code, dry_run, path):
    """Import learners from a CSV or XLSX file into a cohort, all or nothing.

    New accounts get a set-password link (printed here, once)."""
    from flask import current_app

    from lca.admin.imports import ImportFileError, apply_import, plan_import

    cohort = _cohort_or_fail(cohort_code)
    with open(path, "rb") as file:
        data = file.read()
    try:
        plan = plan_import(cohort, os.path.basename(path), data)
    except ImportFileError as error:
        raise click.ClickException(str(error)) from error
    for row in plan.problem_rows:
        for problem in row.problems:
            click.echo(f"row {row.number}\t{row.email}\t{problem}", err=True)
    if not plan.ok:
        click.echo(f"{len(plan.problem_rows)} rows have problems; nothing was imported.", err=True)
        raise SystemExit(1)
    new = sum(1 for row in plan.rows if row.creates_account)
    if dry_run:
        click.echo(
            f"{len(plan.rows)} learners would be imported ({new} new accounts). "
            "Nothing was written (--dry-run)."
        )
        return
    done = apply_import(plan, None)
    db.session.commit()
    base = current_app.config["LCA_PUBLIC_URL"]
    for item in done:
        link = f"{base}/set-password/{item.setup_token}" if item.setup_token else "existing"
        click.echo(f"{item.user.email}\t{link}")
    click.echo(f"{len(done)} learners imported into {cohort.code} ({new} new accounts).")


@lca_group.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(out):
    """Write the database and every file under LCA_DATA_DIR into one archive OUT (a .tar,
    or .tar.gz), with a manifest of row counts and SHA-256 checksums."""
    from lca.ops.backup import BackupError, make_backup

    try:
        report = make_backup(out)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    for line in report.lines():
        click.echo(line)


@lca_group.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database and files that are already there.")
@with_appcontext
def restore_command(archive, force):
    """Restore a backup made by `lca backup` into an empty instance, checking every file's
    SHA-256 and every table's row count; all or nothing."""
    from lca.ops.backup import BackupError, restore_backup

    try:
        report = restore_backup(archive, force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    for line in report.lines():
        click.echo(line)


def _add_worker() -> None:
    from lca.ops.worker import worker_command

    lca_group.add_command(worker_command)


_add_worker()
