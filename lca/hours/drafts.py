"""Draft files: what a learner chose on a log form that came back with an error is kept, so
that it is not lost silently and need not be chosen again.

A draft belongs to the learner who chose it and is never served to anyone (the form shows its
name only). It is used when the form is saved (its bytes are checked again and become the
log's evidence), removed when the learner ticks it off, and otherwise expires a day after it
was chosen: the learner's next saved log and every round of ``flask lca worker`` (or
``flask lca purge-drafts``) remove expired drafts and their files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from lca.core import uploads as stored_files
from lca.core.db import db, utcnow
from lca.core.errors import RuleError
from lca.core.storage import storage
from lca.core.uploads import Upload
from lca.models import DraftFile, User
from lca.models.hours import MAX_EVIDENCE_PER_LOG

#: how long a draft is kept for its learner
DRAFT_LIFETIME = timedelta(days=1)


@dataclass
class Held:
    """The files of one form sent again: those now kept, and why others could not be."""

    drafts: list[DraftFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _fresh_since(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - DRAFT_LIFETIME


def drafts_of(owner: User, ids: Iterable[int]) -> list[DraftFile]:
    """The owner's unexpired drafts among ``ids``; another person's drafts are never found."""
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return []
    return list(
        db.session.scalars(
            select(DraftFile)
            .where(
                DraftFile.id.in_(wanted),
                DraftFile.owner_id == owner.id,
                DraftFile.uploaded_at >= _fresh_since(),
            )
            .order_by(DraftFile.id)
        )
    )


def hold_drafts(owner: User, uploads: list[Upload], already: int) -> Held:
    """Keep each file that passes the upload checks as the owner's draft (up to five files per
    log, counting the ``already`` attached or kept); say why each other file was not kept."""
    held = Held()
    for upload in (u for u in uploads if u.name or u.data):
        if already + len(held.drafts) >= MAX_EVIDENCE_PER_LOG:
            held.problems.append(
                _(
                    "%(name)s was not kept: at most %(count)d files can be attached.",
                    name=upload.name or "file",
                    count=MAX_EVIDENCE_PER_LOG,
                )
            )
            continue
        try:
            checked = stored_files.check_upload(upload)
        except RuleError as error:
            held.problems.append(error.message)
            continue
        (columns,) = stored_files.store([checked])
        held.drafts.append(DraftFile(owner_id=owner.id, **columns))
    db.session.add_all(held.drafts)
    db.session.flush()
    return held


def as_uploads(drafts: list[DraftFile], keep_place: bool = False) -> list[Upload]:
    """The drafts' files as if chosen again, for the log they are saved with (checked again).
    Their bytes are clean already: the place read from a photo when it was chosen travels
    beside them, and stays only if the box to keep places is still ticked (``keep_place``)."""
    found = []
    for draft in drafts:
        with storage().open(draft.storage_key) as file:
            found.append(
                Upload(
                    name=draft.original_name,
                    data=file.read(),
                    keep_place=keep_place,
                    place=draft.place,
                )
            )
    return found


def discard_drafts(drafts: Iterable[DraftFile]) -> None:
    """Remove drafts; their files go once the removal is committed."""
    for draft in drafts:
        stored_files.remove(draft)


def purge_expired_drafts(owner: User | None = None, now: datetime | None = None) -> int:
    """Remove the drafts older than a day (of one owner, or everyone's); how many went."""
    query = select(DraftFile).where(DraftFile.uploaded_at < _fresh_since(now))
    if owner is not None:
        query = query.where(DraftFile.owner_id == owner.id)
    expired = list(db.session.scalars(query))
    discard_drafts(expired)
    return len(expired)
