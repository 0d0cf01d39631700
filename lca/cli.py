"""The ``flask --app wsgi lca …`` commands for operators."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from lca.auth.services import Profile, check_password_policy, create_user
from lca.errors import RuleError
from lca.extensions import db
from lca.models import City, Role
from lca.seeding import SeedError, seed_all


@click.group("lca")
def lca_group():
    """LCA operations: seed data, demo data, accounts."""


@lca_group.command("seed")
@with_appcontext
def seed_command():
    """Create or update the curriculum, field catalogues and cities from seed/."""
    try:
        report = seed_all()
    except SeedError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    for line in report.lines():
        click.echo(line)


@lca_group.command("demo")
@with_appcontext
def demo_command():
    """Add the demo cohort and demo accounts (idempotent)."""
    from lca.demo import load_demo

    try:
        lines = load_demo()
    except (RuntimeError, RuleError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    for line in lines:
        click.echo(line)


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
@click.password_option(help="Prompted for; never pass it on the command line.")
@with_appcontext
def create_user_command(email, name_th, name_en, role, city_code, organisation, password):
    """Create an account; the password is asked for twice and never echoed."""
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
        check_password_policy(password, profile.email)
        user, _ = create_user(profile, password, actor=None)
    except RuleError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")
