"""Issue 4: pages in English, French and Simplified Chinese.

The catalogs in ``locale/`` are complete and compiled (the ``.mo`` is committed, so it
must say what the ``.po`` says); the browser's language chooses, the switcher
overrides it; figures and dates read the way the chosen language writes them.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import GB, MB, MemberFactory, household_with_plan
from usage.services import record_usage

LOCALE = Path(settings.BASE_DIR) / "locale"
# Catalog directory -> Django language code, and the plural forms each one needs.
CATALOGS = {"fr": "fr", "zh_Hans": "zh-hans"}
NPLURALS = {"fr": 2, "zh_Hans": 1}
# A count that picks each plural form: French "1 jour" / "2 jours"; Chinese has one.
COUNT_FOR_FORM = {"fr": {0: 1, 1: 2}, "zh_Hans": {0: 1}}
NBSP = "\u00a0"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(autouse=True)
def _language_restored():
    """LocaleMiddleware activates the request's language for the whole thread and
    nothing deactivates it: without this, the next test in this worker would run in
    French (and find Django's validation messages translated)."""
    previous = translation.get_language()
    yield
    if previous:
        translation.activate(previous)
    else:
        translation.deactivate()


# --- a tiny .po reader ------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> str:
        context = f"{self.msgctxt}|" if self.msgctxt is not None else ""
        return f"{context}{self.msgid}"


def read_po(path: Path) -> tuple[Entry, list[Entry]]:
    """The header entry and the other entries (obsolete ``#~`` entries are skipped)."""
    entries: list[Entry] = []
    entry, keyword = Entry(), None

    def finish():
        nonlocal entry, keyword
        if keyword is not None:
            entries.append(entry)
        entry, keyword = Entry(), None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if keyword.startswith("msgstr"):
                entry.msgstr[_form(keyword)] += text
            else:
                setattr(entry, keyword, getattr(entry, keyword) + text)
        else:
            keyword, _, quoted = line.partition(" ")
            text = ast.literal_eval(quoted)
            if keyword.startswith("msgstr"):
                entry.msgstr[_form(keyword)] = text
            else:
                assert keyword in ("msgid", "msgctxt", "msgid_plural"), f"{path}:{number}"
                setattr(entry, keyword, text)
                entry.line = entry.line or number
    finish()
    header = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(header) == 1, f"{path}: one header entry"
    return header[0], [e for e in entries if e is not header[0]]


def _form(keyword: str) -> int:
    match = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword)
    return int(match[1] or 0)


def po_path(catalog: str) -> Path:
    return LOCALE / catalog / "LC_MESSAGES" / "django.po"


def test_the_po_reader_reads_context_plurals_flags_and_continuations(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#: x.py:1\n#, fuzzy, python-format\nmsgctxt "unit"\nmsgid "GB"\nmsgstr "Go"\n\n'
        'msgid ""\n"a \\"b\\"\\n"\n"c"\nmsgid_plural "d"\nmsgstr[0] "e"\nmsgstr[1] ""\n'
        '"f"\n\n#~ msgid "gone"\n#~ msgstr "parti"\n',
        encoding="utf-8",
    )
    header, entries = read_po(po)
    assert header.msgstr == {0: "Language: fr\n"}
    assert [(e.msgctxt, e.msgid, e.msgid_plural, e.msgstr) for e in entries] == [
        ("unit", "GB", None, {0: "Go"}),
        (None, 'a "b"\nc', "d", {0: "e", 1: "f"}),
    ]
    assert entries[0].flags == {"fuzzy", "python-format"}


# --- (a) every entry translated, (b) the compiled catalog says the same ----------


def test_every_language_offered_has_its_catalog_compiled():
    offered = {translation.to_locale(code) for code, _name in settings.LANGUAGES}
    assert offered == {"en", *CATALOGS}
    for catalog in CATALOGS:
        assert po_path(catalog).with_suffix(".mo").is_file()


@pytest.mark.parametrize("catalog", sorted(CATALOGS))
def test_every_entry_is_translated_and_none_is_fuzzy(catalog):
    header, entries = read_po(po_path(catalog))
    assert f"Language: {catalog}\n" in header.msgstr[0]
    assert f"nplurals={NPLURALS[catalog]};" in header.msgstr[0]
    assert "fuzzy" not in header.flags
    # The pages have about a hundred strings; an almost empty catalog is a broken one.
    assert len(entries) >= 100
    problems = []
    for entry in entries:
        where = f"line {entry.line} {entry.key!r}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy")
        forms = NPLURALS[catalog] if entry.msgid_plural is not None else 1
        if sorted(entry.msgstr) != list(range(forms)):
            problems.append(f"{where}: {len(entry.msgstr)} forms, needs {forms}")
        if any(not text.strip() for text in entry.msgstr.values()):
            problems.append(f"{where}: not translated")
        # A translation keeps every placeholder of the English (a lost %(day)s would
        # hide the date; an unknown one raises KeyError when the page renders).
        wanted = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        for form, text in entry.msgstr.items():
            found = set(PLACEHOLDER.findall(text))
            plural_singular = entry.msgid_plural is not None and found < wanted
            if found != wanted and not plural_singular:
                problems.append(f"{where}: form {form} has {sorted(found)}, not {sorted(wanted)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("catalog", sorted(CATALOGS))
def test_the_compiled_catalog_gives_the_po_translations(catalog):
    """A ``.mo`` compiled before the last ``.po`` edit fails here (run compilemessages)."""
    _, entries = read_po(po_path(catalog))
    stale = []
    with translation.override(CATALOGS[catalog]):
        for entry in entries:
            if entry.msgid_plural is None:
                got = (
                    translation.pgettext(entry.msgctxt, entry.msgid)
                    if entry.msgctxt is not None
                    else translation.gettext(entry.msgid)
                )
                if got != entry.msgstr[0]:
                    stale.append(f"{entry.key!r}: .mo gives {got!r}, .po says {entry.msgstr[0]!r}")
                continue
            for form, count in COUNT_FOR_FORM[catalog].items():
                got = (
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, count)
                    if entry.msgctxt is not None
                    else translation.ngettext(entry.msgid, entry.msgid_plural, count)
                )
                if got != entry.msgstr[form]:
                    stale.append(f"{entry.key!r} n={count}: .mo gives {got!r}")
    assert not stale, "\n".join(stale)


@pytest.mark.parametrize("catalog", sorted(CATALOGS))
def test_the_mo_holds_exactly_the_po_entries(catalog):
    """Read without Django, so that Django's own catalogs cannot hide a missing entry
    (its French "Password" is ours too) nor an entry the ``.po`` no longer has."""
    _, entries = read_po(po_path(catalog))
    with (po_path(catalog).with_suffix(".mo")).open("rb") as mo:
        compiled = dict(gnu_gettext.GNUTranslations(mo)._catalog)
    compiled.pop("", None)  # the header
    expected = {}
    for entry in entries:
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            expected.update({(msgid, form): text for form, text in entry.msgstr.items()})
    assert compiled == expected


# --- (c) the browser's language chooses, the switcher overrides -------------------

NOW = datetime(2026, 2, 10, 11, tzinfo=UTC)  # 12:00 in Paris, period 2026-02


@pytest.fixture
def family(monkeypatch):
    """Famille Dupont (Europe/Paris), 10 GB a month, rollover for one period, the
    allowance used before rolled-over data. January: 8.5 GB used -> 1.5 GB rolled into
    February (usable until 28 February). February, now the 10th: 500 MB used on the 5th.
    Domestic left: 10 - 0.5 + 1.5 = 11 GB."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    household = household_with_plan(
        slug="dupont",
        monthly_allowance_bytes=10 * GB,
        rollover=True,
        rollover_months=1,
        consumption_order="rollover_last",
    )
    marie = MemberFactory(
        household=household, user__username="marie", display_name="Marie", role="owner"
    )
    for amount, at in [
        (8500 * MB, datetime(2026, 1, 20, 9, tzinfo=UTC)),
        # After January's 48 h grace: recording it closes January.
        (500 * MB, datetime(2026, 2, 5, 9, tzinfo=UTC)),
    ]:
        record_usage(marie, bytes=amount, at=at, now=at)
    return marie


def page(client, url: str, accept_language: str | None = None) -> str:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    # Apostrophes come escaped (qu&#x27;il): compare the text a reader sees.
    return html.unescape(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept_language", "lang", "present", "absent"),
    [
        (
            "fr-FR,fr;q=0.9,en;q=0.5",
            "fr",
            ["Se connecter", f"Mot de passe oublié{NBSP}?", "Voyez ce qu'il reste", "Langue"],
            ["Sign in", "Forgot your password?"],
        ),
        (
            "zh-CN,zh;q=0.9",
            "zh-hans",
            ["登录", "忘记密码？", "查看家庭还剩多少流量。", "语言"],
            ["Sign in", "Forgot your password?"],
        ),
        ("en-GB,en;q=0.9", "en", ["Sign in", "Forgot your password?"], ["Se connecter"]),
        # A language Datapool does not have: English.
        ("de-DE,de;q=0.9", "en", ["Sign in", "Forgot your password?"], ["Se connecter"]),
        (None, "en", ["Sign in"], ["Se connecter", "登录"]),
    ],
)
def test_the_login_page_speaks_the_browsers_language(
    client, accept_language, lang, present, absent
):
    text = page(client, reverse("login"), accept_language)
    assert f'<html lang="{lang}">' in text
    for words in present:
        assert words in text
    for words in absent:
        assert words not in text
    assert f'<option value="{lang}" selected' in text


@pytest.mark.django_db
def test_the_login_form_itself_is_translated_too(client):
    """Django's own strings (field labels, the refusal) come in the same language."""
    response = client.post(
        reverse("login"),
        {"username": "nobody", "password": "wrong"},
        headers={"Accept-Language": "fr"},
    )
    text = html.unescape(response.content.decode())
    assert "Nom d’utilisateur" in text
    assert "Saisissez un nom d’utilisateur et un mot de passe valides" in text


@pytest.mark.django_db
def test_the_switcher_overrides_the_browsers_language(client):
    login = reverse("login")
    response = client.post(
        reverse("set_language"),
        {"language": "fr", "next": login},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 302
    assert response["Location"] == login
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"

    text = page(client, login, "en")
    assert '<html lang="fr">' in text
    assert "Se connecter" in text
    assert '<option value="fr" selected' in text

    client.post(reverse("set_language"), {"language": "zh-hans", "next": login})
    text = page(client, login, "fr")
    assert '<html lang="zh-hans">' in text
    assert "登录" in text

    client.post(reverse("set_language"), {"language": "en", "next": login})
    assert "Sign in" in page(client, login, "zh-CN")


@pytest.mark.django_db
def test_the_dashboard_in_french(client, family):
    client.force_login(family.user)
    text = page(client, reverse("usage:dashboard"), "fr-FR,fr;q=0.9")
    assert '<html lang="fr">' in text
    for words in [
        "<title>Nos données · Datapool</title>",
        f"Family dupont{NBSP}: nos données",
        "Données restantes (2026-02)",
        "Données reportées",
        "Consommé sur la période",
        "Saisir une consommation",
        f"Rythme actuel{NBSP}:",
        "Marie <em>(vous)</em>",
        '<option value="domestic" selected>National</option>',
        '<option value="GB" selected>Go</option>',
        # The messages datapool.js shows come translated from the page.
        f'data-forbidden="Votre session a expiré{NBSP}: rechargez la page',
    ]:
        assert words in text
    for english in ["Left in the pool", "Rolled-over data", "Who used what", "Record usage"]:
        assert english not in text


@pytest.mark.django_db
def test_the_dashboard_in_chinese(client, family):
    client.force_login(family.user)
    text = page(client, reverse("usage:dashboard"), "zh-CN,zh;q=0.9,en;q=0.8")
    assert '<html lang="zh-hans">' in text
    for words in [
        "剩余流量（2026-02）",
        "结转流量",
        "本期已用",
        "记录用量",
        "谁用了多少",
        f"2026-01 结转的 1.50{NBSP}GB 还剩 1.50{NBSP}GB，",
        '<option value="GB" selected>GB</option>',
        '<option value="roaming">漫游</option>',
    ]:
        assert words in text
    assert "Rolled-over data" not in text


# --- (d) figures and dates in the chosen language ----------------------------------


@pytest.mark.django_db
def test_french_figures_take_a_decimal_comma_and_french_units(client, family):
    client.force_login(family.user)
    text = page(client, reverse("usage:dashboard"), "fr")
    # 11 GB domestic left, 1.5 GB rolled over, 500 MB used.
    assert 'data-testid="pool-remaining-domestic" data-bytes="11000000000"' in text
    assert f"11,0{NBSP}Go" in text
    assert f'data-bytes="1500000000">1,50{NBSP}Go</p>' in text
    assert f'data-testid="pool-used" data-bytes="500000000">500{NBSP}Mo</dd>' in text
    assert f"il reste 1,50{NBSP}Go sur 1,50{NBSP}Go reportés de 2026-01," in text
    assert "1.50" not in text
    # Machine-read attributes stay as they are: the bar width keeps its dot.
    assert 'style="width: 100.0%"' in text

    english = page(client, reverse("usage:dashboard"), "en")
    assert f'data-bytes="1500000000">1.50{NBSP}GB</p>' in english


@pytest.mark.django_db
def test_french_dates_take_french_month_names(client, family):
    client.force_login(family.user)
    text = page(client, reverse("usage:dashboard"), "fr")
    # The rollover from January is usable until the end of February (19 days from the
    # 10th at noon, counting the started day): French plural, French month.
    assert f"utilisables jusqu'au 28 février 2026{NBSP}: expirent dans 19 jours" in text
    # Data as of: 5 February 09:00 UTC is 10:00 in Paris.
    assert ">5 février 2026 10:00</time>" in text
    # The period, in French short dates (day first).
    assert ">01/02/2026</time>" in text
    assert ">28/02/2026</time>" in text
    assert "February" not in text

    chinese = page(client, reverse("usage:dashboard"), "zh-CN")
    assert "可用至 2026年2月28日：19 天后过期" in chinese
    assert ">2026年2月5日 10:00</time>" in chinese


@pytest.mark.django_db
def test_the_history_in_french_keeps_its_chart_geometry(client, family):
    client.force_login(family.user)
    text = page(client, reverse("usage:history"), "fr")
    # One closed period (January): singular in French, its figures with a comma.
    assert (
        "Données consommées, reportées, expirées et hors forfait de la dernière période close"
        in text
    )
    assert f'<td data-bytes="8500000000">8,50{NBSP}Go</td>' in text
    assert f'<td data-bytes="1500000000">1,50{NBSP}Go</td>' in text
    assert f"<title>2026-01 · Reporté{NBSP}: 1,50{NBSP}Go</title>" in text
    # SVG numbers must never take the French decimal comma.
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert re.findall(r'\b(?:x|y|width|height)="[0-9.]+"', svg)
    assert not re.findall(r'\b(?:x|y|width|height)="[^"]*,', svg)

    chinese = page(client, reverse("usage:history"), "zh-CN")
    assert "最近 1 个已结算周期的已用、结转、过期和超出流量" in chinese
    assert f'<td data-bytes="8500000000">8.50{NBSP}GB</td>' in chinese


@pytest.mark.django_db
def test_recording_usage_answers_in_french(client, family):
    """1.5 GB more on top of 500 MB: 2 GB used; the note comes back in French."""
    client.force_login(family.user)
    response = client.post(
        reverse("usage:record"),
        {"amount": "1.5", "unit": "GB", "zone": "domestic"},
        headers={"Accept-Language": "fr"},
        follow=True,
    )
    text = html.unescape(response.content.decode())
    assert "Enregistré. Les données sont à jour." in text
    assert f'data-testid="pool-used" data-bytes="2000000000">2,00{NBSP}Go</dd>' in text


@pytest.mark.parametrize(
    ("language", "subject", "lines"),
    [
        (
            "fr",
            "Vous êtes invité à suivre les données de Famille Dupont sur Datapool",
            [
                "Bonjour Paul,",
                "Famille Dupont partage un forfait de données mobiles, et Datapool montre ce qu'il"
                " en reste.",
                f"Choisissez votre mot de passe pour vous connecter{NBSP}:",
                "Votre identifiant est paul.",
            ],
        ),
        (
            "zh-hans",
            "邀请你在 Datapool 上查看 Famille Dupont 的流量",
            ["Paul，你好：", "设置你的密码即可登录：", "你的用户名是 paul。"],
        ),
    ],
)
def test_the_invitation_email_translates(language, subject, lines):
    """The email templates (rendered in whichever language the sender picks); plain
    text, so nothing is HTML-escaped."""
    context = {
        "member": SimpleNamespace(name="Paul", username="paul"),
        "household": SimpleNamespace(name="Famille Dupont"),
        "link": "https://datapool.example/accounts/reset/x/y/",
    }
    with translation.override(language):
        got_subject = render_to_string("registration/invitation_subject.txt", context).strip()
        body = render_to_string("registration/invitation_email.txt", context)
    assert got_subject == subject
    for line in lines:
        assert line in body.splitlines()
    assert "https://datapool.example/accounts/reset/x/y/" in body
