"""Fill empty Thai entries of the catalogue from a {msgid: msgstr} dict in a Python file.

    .venv/bin/python tools/translate.py new-translations.py

Entries already translated are left alone; what is still missing is listed.
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

CATALOGUE = "lca/translations/th/LC_MESSAGES/messages.po"


def main(source: str) -> int:
    table = runpy.run_path(source)["TH"]
    with open(CATALOGUE, "rb") as file:
        catalogue = read_po(file)
    missing = []
    for message in catalogue:
        plural = isinstance(message.id, tuple)  # Thai has one form: keyed by the singular
        key = message.id[0] if plural else message.id
        if key and not any(message.string if plural else [message.string]):
            if key in table:
                message.string = (table[key],) if plural else table[key]
            else:
                missing.append(key)
    with open(CATALOGUE, "wb") as file:
        write_po(file, catalogue, width=100, no_location=True)
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
