"""Thai lists in Thai dictionary order: a leading vowel (เ แ โ ใ ไ) is read after the consonant
it stands before, so เชียงราย and เชียงใหม่ come before หาดใหญ่ (code-point order puts every
word with a leading vowel last)."""

from __future__ import annotations

import random
import re

from pyuca import Collator

from lca.core.collation import _collator, thai_sort_key, thai_sorted
from tests.factories import CityFactory, CohortFactory, EnrolmentFactory, LearnerFactory

#: real given names, in the order of the Royal Institute's dictionary
NAMES = ["กมล", "เกศินี", "ใจดี", "ไพรัช", "สมชาย", "แสงเดือน", "โสภา", "หทัย"]
CITIES = ["เชียงคาน", "เชียงราย", "เชียงแสน", "เชียงใหม่", "หาดใหญ่"]


def test_thai_words_sort_as_in_a_dictionary():
    assert thai_sorted(reversed(NAMES)) == NAMES
    assert thai_sorted(["หาดใหญ่", "เชียงใหม่", "เชียงราย"]) == ["เชียงราย", "เชียงใหม่", "หาดใหญ่"]
    # a tone mark only breaks a tie; Latin letters ignore case and come before Thai
    assert thai_sorted(["ก้อง", "กอง", "ขอนแก่น", "bob", "Alice"]) == [
        "Alice",
        "bob",
        "กอง",
        "ก้อง",
        "ขอนแก่น",
    ]
    assert thai_sorted([{"n": "โสภา"}, {"n": "กมล"}], key=lambda d: d["n"]) == [
        {"n": "กมล"},
        {"n": "โสภา"},
    ]
    assert thai_sort_key(None) == thai_sort_key("") < thai_sort_key("ก")


def test_the_collator_read_by_block_gives_pyucas_keys():
    """The table read a block at a time gives pyuca's own keys: every character of the first
    12,288 (Latin, combining marks, Thai, punctuation…) and of the CJK and supplementary
    ranges' samples, and made-up text mixing Thai, Latin and marks."""
    whole, by_block = Collator(), _collator()
    draw = random.Random(21)
    texts = [chr(c) for c in [*range(0x3000), *range(0x4E00, 0x4F00), *range(0x1F300, 0x1F400)]]
    letters = [chr(c) for c in [*range(0x0E01, 0x0E5C), *range(0x20, 0x250), 0x301, 0x308]]
    texts += ["".join(draw.choices(letters, k=draw.randint(1, 16))) for _ in range(3000)]
    for text in texts:
        assert by_block.sort_key(text) == whole.sort_key(text), text


def _order(page: str, words: list[str]) -> list[str]:
    found = sorted((page.index(word), word) for word in words)
    return [word for _position, word in found]


def test_people_list_is_in_thai_order(admin_client, db):
    for name in reversed(NAMES):
        LearnerFactory(full_name_th=f"{name} ทดลองเรียง")
    page = admin_client.get("/admin/users", query_string={"q": "ทดลองเรียง"}).get_data(as_text=True)
    assert _order(page, [f"{name} ทดลองเรียง" for name in NAMES]) == [
        f"{name} ทดลองเรียง" for name in NAMES
    ]


def test_city_lists_are_in_thai_order(admin_client, db):
    for name in ("เชียงแสน", "เชียงคาน"):  # the other three are seeded cities
        CityFactory(name_th=name, name_en=f"Town {len(name)} {name}")
    page = admin_client.get("/reports/").get_data(as_text=True)
    assert _order(page, CITIES) == CITIES


def test_cohort_matrix_is_in_thai_order(admin_client, db):
    cohort = CohortFactory()
    for name in reversed(NAMES):
        EnrolmentFactory(cohort=cohort, learner=LearnerFactory(full_name_th=f"{name} เรียนดี"))
    page = admin_client.get(f"/cohorts/{cohort.id}/progress").get_data(as_text=True)
    names = [f"{name} เรียนดี" for name in NAMES]
    assert _order(page, names) == names
    page = admin_client.get(f"/cohorts/{cohort.id}/progress?sort=name&dir=desc").get_data(
        as_text=True
    )
    assert _order(page, names) == names[::-1]


def test_cohort_roster_and_export_are_in_thai_order(admin_client, db):
    cohort = CohortFactory()
    for name in reversed(NAMES):
        EnrolmentFactory(cohort=cohort, learner=LearnerFactory(full_name_th=f"{name} ส่งออก"))
    body = admin_client.get(f"/admin/exports/progress-{cohort.id}.csv").get_data(as_text=True)
    names = [f"{name} ส่งออก" for name in NAMES]
    assert _order(body, names) == names
    page = admin_client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert _order(page, names) == names
    assert re.search("กมล", page)
