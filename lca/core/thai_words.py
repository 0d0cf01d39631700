"""Thai text cut into words, where a line may break: the certificate's PDF and the reports'
chart labels.

The cut is PyThaiNLP's newmm on PyThaiNLP's own word list, as ``word_tokenize(text,
engine="newmm")`` cuts by default. Only the dictionary's form differs: newmm asks it one thing
(which words of the list begin at a place in the text), and the list kept as text answers that
as PyThaiNLP's trie does. The trie holds a node per letter of its 62,000 words: 63 MB in every
worker that drew a chart. PyThaiNLP's set of the words (``thai_words()``) would still take
10 MB; their text takes 1.3 MB.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from importlib.resources import files

from pythainlp.tokenize import word_tokenize
from pythainlp.util import Trie

WORDS_FILE = "words_th.txt"  #: PyThaiNLP's word list (pythainlp.corpus), that thai_words() reads


class WordList(Trie):
    """A word list behind PyThaiNLP's ``Trie`` interface, kept as text: the words that begin
    with the same two letters (a one-letter word: with that letter) in one string, each word
    between two newlines, so that a look-up is a search of that string."""

    def __init__(self, words: Iterable[str]) -> None:
        super().__init__(())
        # each group's text is written as the words come, in UTF-8: no set or list of all the
        # words (62,000 strings, 6 MB) is ever made, not even for a moment
        written: dict[str, bytearray] = {}
        for word in words:
            # a trie strips each word it is given and finds no empty one
            if word := word.strip():
                written.setdefault(word[:2], bytearray()).extend(f"\n{word}".encode())
        self._groups: dict[str, str] = {}
        self._word_count = 0
        for key in sorted(written):
            group = set(written.pop(key).decode().split("\n")) - {""}
            self._groups[key] = _joined(group)
            self._word_count += len(group)

    def prefixes(self, text: str, start: int = 0) -> list[str]:
        """The words of the list that begin at ``start`` in ``text``, shortest first."""
        found = []
        # no word holds a newline: none reaches past one
        stop = text.find("\n", start)
        stop = len(text) if stop == -1 else stop
        letter = self._groups.get(text[start : start + 1]) if start < stop else None
        if letter is not None and f"\n{text[start]}\n" in letter:
            found.append(text[start])
        group = self._groups.get(text[start : start + 2]) if start + 2 <= stop else None
        if group is None:
            return found
        for end in range(start + 2, stop + 1):
            candidate = text[start:end]
            if "\n" + candidate not in group:  # no word begins with it, nor with a longer one
                break
            if f"\n{candidate}\n" in group:
                found.append(candidate)
        return found

    def __contains__(self, key: str) -> bool:
        group = self._groups.get(key[:2]) if key and "\n" not in key else None
        return group is not None and f"\n{key}\n" in group

    def __iter__(self) -> Iterator[str]:
        for key in sorted(self._groups):
            yield from self._words_of(key)

    def add(self, word: str) -> None:
        word = word.strip()
        if word and "\n" not in word and word not in self:
            self._groups[word[:2]] = _joined({*self._words_of(word[:2]), word})
            self._word_count += 1

    def remove(self, word: str) -> None:
        if word in self:
            rest = set(self._words_of(word[:2])) - {word}
            if rest:
                self._groups[word[:2]] = _joined(rest)
            else:
                del self._groups[word[:2]]
            self._word_count -= 1

    def _words_of(self, key: str) -> list[str]:
        group = self._groups.get(key, "\n")
        return group.strip("\n").split("\n") if group != "\n" else []


def _joined(words: set[str]) -> str:
    return "\n" + "\n".join(sorted(words)) + "\n"


@cache
def _dictionary() -> WordList:
    # PyThaiNLP's file read here a line at a time: its thai_words() keeps the set of the words
    with files("pythainlp.corpus").joinpath(WORDS_FILE).open(encoding="utf-8-sig") as lines:
        return WordList(lines)


def split_words(text: str) -> list[str]:
    """``text`` cut into Thai words, the spaces between them kept as words of their own (and
    the other scripts' words whole), exactly as PyThaiNLP's default cut does."""
    return word_tokenize(text, custom_dict=_dictionary(), engine="newmm", keep_whitespace=True)
