"""PDPA: the person's rights over their data. The privacy notice (shown once after the first
sign-in), the download of everything LCA holds about a person (access and portability, §30–31),
an administrator's erasure of a learner (§33) and the retention rule for evidence files.

Its routes are in lca/privacy/views.py, which the app factory imports."""

from flask import Blueprint

bp = Blueprint("privacy", __name__)
