"""Thai text cut into words, where a line may break: the certificate's PDF and the reports'
chart labels.

The cut is PyThaiNLP's newmm on PyThaiNLP's own word list, as ``word_tokenize(text,
engine="newmm")`` cuts by default. Only the dictionary's form differs: newmm asks it one thing
(which words of the list begin at a place in the text), and a sorted list of the words answers
that as PyThaiNLP's trie does. The trie holds a node per letter of its 62,000 words: 63 MB in
every worker that drew a chart, against half a MB for the list (the words themselves, 10 MB,
are PyThaiNLP's own set, kept either way).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from functools import cache

from pythainlp.corpus import thai_words
from pythainlp.tokenize import word_tokenize
from pythainlp.util import Trie


class SortedWords(Trie):
    """A word list behind PyThaiNLP's ``Trie`` interface, kept sorted rather than as a trie."""

    def __init__(self, words: Iterable[str]) -> None:
        super().__init__(())
        # a trie strips each word it is given and finds no empty one
        self._sorted = sorted({word.strip() for word in words} - {""})
        self._word_count = len(self._sorted)

    def prefixes(self, text: str, start: int = 0) -> list[str]:
        """The words of the list that begin at ``start`` in ``text``, shortest first."""
        found = []
        words, index = self._sorted, 0
        for end in range(start + 1, len(text) + 1):
            candidate = text[start:end]
            # the words that begin with ``candidate`` follow it at once in sorted order, and
            # those that begin with a longer candidate follow them
            index = bisect_left(words, candidate, index)
            if index == len(words) or not words[index].startswith(candidate):
                break
            if words[index] == candidate:
                found.append(candidate)
        return found

    def __contains__(self, key: str) -> bool:
        index = bisect_left(self._sorted, key)
        return index < len(self._sorted) and self._sorted[index] == key

    def __iter__(self) -> Iterator[str]:
        return iter(self._sorted)

    def add(self, word: str) -> None:
        word = word.strip()
        if word and word not in self:
            insort(self._sorted, word)
            self._word_count += 1

    def remove(self, word: str) -> None:
        if word in self:
            self._sorted.remove(word)
            self._word_count -= 1


@cache
def _dictionary() -> SortedWords:
    return SortedWords(thai_words())


def split_words(text: str) -> list[str]:
    """``text`` cut into Thai words, the spaces between them kept as words of their own (and
    the other scripts' words whole), exactly as PyThaiNLP's default cut does."""
    return word_tokenize(text, custom_dict=_dictionary(), engine="newmm", keep_whitespace=True)
