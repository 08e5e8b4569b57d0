"""The interface's catalogues: complete, compiled, and covering every string the code marks.

makemessages needs GNU gettext, which CI machines may lack, so the checks read the .po files
with a small parser and the compiled .mo files with the standard library's gettext: a string
added to a template without a translation, or a .po edited without `make messages`, fails here.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(settings.BASE_DIR)
LANGUAGES = [code for code, _ in settings.LANGUAGES if code != "en"]

# {% translate "..." %} / {% trans '...' %} (with an optional `context "..."`, which the
# catalogue keys with the context: left out here, see _msgids).
TEMPLATE_STRING = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.+?)\1(\s+context)?""")
PY_CALLS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext",
            "pgettext_lazy"}


def _unquote(text: str) -> str:
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[dict[str, object]]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (list), fuzzy."""
    entries: list[dict[str, object]] = []
    entry: dict[str, object] = {}
    field = ""

    def finish() -> None:
        if "msgid" in entry:
            entries.append(dict(entry))
        entry.clear()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#,") and "fuzzy" in line:
            finish()
            entry["fuzzy"] = True
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):  # a continuation of the field above
            value = _unquote(line)
            if field == "msgstr":
                strings = entry["msgstr"]
                assert isinstance(strings, list)
                strings[-1] += value
            else:
                entry[field] = str(entry[field]) + value
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith("msgstr"):  # msgstr, or msgstr[N] of a plural
            strings = entry.setdefault("msgstr", [])
            assert isinstance(strings, list)
            strings.append(_unquote(rest))
            field = "msgstr"
            continue
        if keyword == "msgctxt" and "msgid" in entry:
            finish()
        entry[keyword] = _unquote(rest)
        field = keyword
    finish()
    return entries


def _catalogue(language: str) -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / "django.po"


def _msgids(entries: list[dict[str, object]]) -> set[str]:
    return {str(e["msgid"]) for e in entries if e["msgid"]}


def marked_strings() -> set[str]:
    """What templates and the dashboard's Python mark for translation (literal strings)."""
    found: set[str] = set()
    for template in (ROOT / "templates").rglob("*.html"):
        for match in TEMPLATE_STRING.finditer(template.read_text(encoding="utf-8")):
            if not match.group(3):
                found.add(match.group(2))
    for module in (ROOT / "dashboard").rglob("*.py"):
        if "migrations" in module.parts:
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in PY_CALLS):
                args = node.args[1:] if node.func.id.startswith("pgettext") else node.args
                if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                    found.add(args[0].value)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    entries = parse_po(_catalogue(language))
    assert len(entries) > 50
    untranslated = [e["msgid"] for e in entries[1:]
                    if e.get("fuzzy") or not all(e.get("msgstr") or [""])]
    assert not untranslated, untranslated


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    po = _catalogue(language)
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make messages`"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in parse_po(po)[1:]:
        msgid, strings = str(entry["msgid"]), entry["msgstr"]
        assert isinstance(strings, list)
        if "msgid_plural" in entry:
            assert compiled.ngettext(msgid, str(entry["msgid_plural"]), 1) == strings[0]
        elif "msgctxt" in entry:
            assert compiled.pgettext(str(entry["msgctxt"]), msgid) == strings[0]
        else:
            assert compiled.gettext(msgid) == strings[0], f"{msgid!r}: run `make messages`"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_string_is_in_the_catalogue(language: str) -> None:
    missing = marked_strings() - _msgids(parse_po(_catalogue(language)))
    assert not missing, f"not in {language}: {sorted(missing)} (run `make messages`)"


def test_the_marked_strings_are_found() -> None:
    # The extraction above must see real strings, or the coverage test would pass on nothing.
    strings = marked_strings()
    assert {"Agents", "Alerts", "Skip to main content"} <= strings


@pytest.mark.django_db
def test_the_login_page_follows_the_browsers_language(client: Client) -> None:
    french = client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    german = client.get("/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr"' in french and '<html lang="de"' in german
    assert "Skip to main content" in english
    assert "Skip to main content" not in french and "Skip to main content" not in german
