"""A served worker imports the heavy libraries only for the requests that need them (issue 21):
the PDF, font, spreadsheet and password-strength libraries take tens of MB each, and the pages
that merely show a certificate, a form or a list use none of them."""

import json
import subprocess
import sys
from pathlib import Path

from tests.factories import (
    AdminFactory,
    CertificateFactory,
    CohortFactory,
    EnrolmentFactory,
    InstructorFactory,
)

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("fpdf", "fontTools", "openpyxl", "zxcvbn", "pypdf", "pyhanko", "uharfbuzz")

#: a fresh process: the app, each person's session, each page through the test client; then
#: which of the heavy libraries the process holds
SERVE = """
import json, sys

from lca import create_app
from lca.auth.sessions import start_session
from lca.core.db import db
from lca.models import User

database_url, data_dir, plan = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
app = create_app(
    {"LCA_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "LCA_DATA_DIR": data_dir}
)
answers = {}
for user_id, second_factor, path in plan["pages"]:
    client = app.test_client()
    if user_id is not None:
        with app.app_context():
            token = start_session(db.session.get(User, user_id), second_factor=second_factor)
            db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = token, True
    answers[path] = client.get(path).status_code
loaded = sorted({name.split(".")[0] for name in sys.modules} & set(plan["heavy"]))
print(json.dumps({"answers": answers, "loaded": loaded}))
"""


def test_the_everyday_pages_load_no_pdf_spreadsheet_or_password_library(
    make_app, new_database, tmp_path
):
    database_url, data_dir = new_database("lca_lean_worker"), tmp_path / "data"
    app = make_app(database_url, data_dir)
    with app.app_context():
        from lca.core.db import db

        admin, instructor = AdminFactory(), InstructorFactory()
        enrolment = EnrolmentFactory(cohort=CohortFactory(instructors=[instructor]))
        certificate = CertificateFactory(enrolment=enrolment)
        db.session.commit()
        learner = enrolment.learner_id
        pages = [
            (None, None, f"/verify/{certificate.code}"),
            (None, None, "/login"),
            (learner, None, "/learner"),
            (learner, None, "/hours/new"),
            (instructor.id, "totp", "/review"),
            (admin.id, "totp", f"/certificates/{certificate.id}"),
        ]
        db.session.remove()
        db.engine.dispose()  # the subprocess has the database to itself
    plan = json.dumps({"pages": pages, "heavy": HEAVY})
    result = subprocess.run(
        [sys.executable, "-c", SERVE, database_url, str(data_dir), plan],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["answers"] == {path: 200 for _user, _factor, path in pages}
    assert served["loaded"] == []
