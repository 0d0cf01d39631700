"""lca.core.thai_words cuts Thai text exactly as PyThaiNLP's default cut does, its dictionary
kept as text instead of PyThaiNLP's trie."""

import random
import re
from pathlib import Path

from pythainlp.corpus import thai_words
from pythainlp.tokenize import word_tokenize

from lca.core.thai_words import WordList, _dictionary, split_words

CATALOGUE = Path(__file__).resolve().parent.parent / "lca/translations/th/LC_MESSAGES/messages.po"


def test_the_cut_is_pythainlps_default_cut():
    """On LCA's own Thai sentences (its message catalogue), and on made-up text of whole and
    broken words of the list, spaces, Latin letters and numbers."""
    texts = re.findall(r'^msgstr "(.+)"$', CATALOGUE.read_text(encoding="utf-8"), re.MULTILINE)
    words = sorted(thai_words())
    draw = random.Random(21)
    for _ in range(400):
        whole = [draw.choice(words) for _ in range(draw.randint(1, 6))]
        broken = [draw.choice(words)[: draw.randint(1, 5)] for _ in range(draw.randint(1, 6))]
        texts += ["".join(whole), " ".join(broken) + " ABC 3.25 " + "".join(whole[:2])]
    for text in texts:
        assert split_words(text) == word_tokenize(text, engine="newmm", keep_whitespace=True)


def test_the_word_list_is_pythainlps():
    assert set(_dictionary()) == {word.strip() for word in thai_words()} - {""}
    assert len(_dictionary()) == len(set(_dictionary()))


def test_the_word_list_answers_as_a_trie():
    word_list = WordList(["สวัสดี", "สวัส", "ดี", " ครับ ", "ก"])
    assert word_list.prefixes("สวัสดีครับ") == ["สวัส", "สวัสดี"]
    assert word_list.prefixes("xสวัสดี", 1) == ["สวัส", "สวัสดี"]
    assert word_list.prefixes("สวัส\nดี") == ["สวัส"] and word_list.prefixes("กก") == ["ก"]
    assert "ครับ" in word_list and "สวั" not in word_list and len(word_list) == 5
    word_list.add("สวัสดีตอนเช้า")
    word_list.remove("ดี")
    word_list.remove("ก")
    assert list(word_list) == ["ครับ", "สวัส", "สวัสดี", "สวัสดีตอนเช้า"]
