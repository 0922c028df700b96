"""The console's translations: the committed catalogs are complete and compiled, and no console page
shows text that does not go through the catalog.

The second half renders every console page under a pseudo-locale "xx" in which each message (ours
and Django's own English catalog) reads "⟦message⟧". Test data is written the same way, so on a
page every run of text must sit inside ⟦⟧; what is left outside is a string nobody marked.
"""

import datetime as dt
import html.parser
import os
import re
import shutil
import zoneinfo
from pathlib import Path

import django
import pytest
import time_machine
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from accounts.models import ClientAccount, Contact, JargonTerm, Role
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
NO_XGETTEXT = "GNU gettext's xgettext is not installed: `make tools` installs Debian's gettext"
CONSOLE_LANGUAGES = {"de", "es", "ja", "pt_BR"}  # English is the source: no catalog
PLACEHOLDER = re.compile(r"%\([A-Za-z0-9_]+\)[sdifr]|%[sdifr]")
SOURCE_DIRS = ("accounts", "comms", "playbooks", "candor", "templates")


def committed_catalogs():
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po"))


def read_catalog(path, locale=None):
    with open(path, "rb") as handle:
        return read_po(handle, locale=locale)


def key_of(message):
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return (message.context, msgid)


def extract_messages(workdir):
    """Every string marked in our code and templates, as Django's makemessages extracts it, into a
    copy of the sources (makemessages writes next to them, never into the committed locale/)."""
    for name in SOURCE_DIRS:
        shutil.copytree(ROOT / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__", "static", "*.pyc"))
    (workdir / "locale").mkdir()
    with override_settings(LOCALE_PATHS=[workdir / "locale"]):
        previous = Path.cwd()
        try:
            os.chdir(workdir)
            call_command("makemessages", locale=["de"], no_location=True, verbosity=0)
        finally:
            os.chdir(previous)
    return read_catalog(workdir / "locale" / "de" / "LC_MESSAGES" / "django.po")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    assert shutil.which("xgettext"), NO_XGETTEXT
    return extract_messages(tmp_path_factory.mktemp("extract"))


# ---------------------------------------------------------------------------------------------
# The committed catalogs.


def catalog_cases():
    return [pytest.param(path, id=path.parts[-3]) for path in committed_catalogs()]


def test_every_console_language_has_a_committed_catalog():
    assert {path.parts[-3] for path in committed_catalogs()} == CONSOLE_LANGUAGES


@pytest.mark.parametrize("po_path", catalog_cases())
def test_every_message_is_translated_with_its_placeholders(po_path):
    catalog = read_catalog(po_path, locale=po_path.parts[-3])
    problems = []
    if catalog.fuzzy:
        problems.append("the catalog's header is marked fuzzy (pybabel compile skips the whole file)")
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if any(not form for form in forms):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for form in forms:
            if "python-format" in message.flags and sorted(PLACEHOLDER.findall(form)) != wanted:
                problems.append(f"placeholders {sorted(PLACEHOLDER.findall(form))} instead of {wanted}: {ids[0]!r}")
    assert problems == [], f"{po_path.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("po_path", catalog_cases())
def test_compiled_catalog_is_not_older_than_its_po(po_path):
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path.relative_to(ROOT)} is missing: `make venv` compiles it"
    assert mo_path.stat().st_mtime >= po_path.stat().st_mtime, f"{mo_path.relative_to(ROOT)} is stale: run `make`"


@pytest.mark.parametrize("po_path", catalog_cases())
def test_committed_catalog_holds_every_marked_string(po_path, extracted):
    committed = {key_of(message) for message in read_catalog(po_path) if message.id}
    missing = sorted(
        (context or "", msgid)
        for context, msgid in (key_of(message) for message in extracted if message.id)
        if (context, msgid) not in committed
    )
    assert missing == [], f"{po_path.relative_to(ROOT)} lacks strings marked in the code: run `make messages`\n" + (
        "\n".join(f"{context + ' | ' if context else ''}{msgid}" for context, msgid in missing)
    )


# ---------------------------------------------------------------------------------------------
# The pseudo-locale: every page of the console, every text run translated.

PSEUDO = "xx"
OPEN, CLOSE = "⟦", "⟧"
# Names that are the same in every language: the product, the language names of the language
# picker (each in its own language), IANA timezone names, the test data's country and language
# codes and the SMS encodings. Text inside <code>, <kbd> and <samp> is not words either.
NOT_WORDS = {"Candor", *(name for _code, name in settings.LANGUAGES)}
IDENTIFIERS = {"DE", "US", "GB", "de", "en", "GSM-7", "UCS-2"}
INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
# Digits, punctuation, symbols and spaces carry no words (a time "09:30 -03", "#12", "· 3/4").
NO_WORDS = re.compile(r"^[\W\d_]*$")


def wrap(text):
    return f"{OPEN}{text}{CLOSE}"


def _pseudo(message_id):
    if isinstance(message_id, tuple):
        return tuple(wrap(part) for part in message_id)
    return wrap(message_id)


def django_english_catalogs():
    return sorted(Path(django.__file__).parent.glob("**/locale/en/LC_MESSAGES/django.po"))


def our_messages(tmp_path_factory):
    assert shutil.which("xgettext"), NO_XGETTEXT
    return list(extract_messages(tmp_path_factory.mktemp("pseudo-extract")))


@pytest.fixture(scope="module")
def pseudo_locale_dir(tmp_path_factory):
    """A locale directory holding only the pseudo catalog, compiled with Babel."""
    catalog = Catalog(locale="en", fuzzy=False)
    for messages in [*(read_catalog(path) for path in django_english_catalogs()), our_messages(tmp_path_factory)]:
        for message in messages:
            if message.id:
                catalog.add(message.id, _pseudo(message.id), context=message.context)
    directory = tmp_path_factory.mktemp("pseudo-locale")
    (directory / PSEUDO / "LC_MESSAGES").mkdir(parents=True)
    with open(directory / PSEUDO / "LC_MESSAGES" / "django.mo", "wb") as handle:
        write_mo(handle, catalog)
    return directory


@pytest.fixture
def pseudo_locale(pseudo_locale_dir):
    with override_settings(
        LANGUAGES=[*settings.LANGUAGES, (PSEUDO, wrap("Pseudo"))],
        LOCALE_PATHS=[pseudo_locale_dir, *settings.LOCALE_PATHS],
    ):
        yield


class VisibleText(html.parser.HTMLParser):
    """What a reader sees or hears: the text nodes outside script and style, in document order
    (one translated sentence may hold markup: "<strong>3</strong> clients"), and on their own the
    title, placeholder, aria-label and alt attributes and the value of buttons."""

    ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
    NOT_TEXT = ("script", "style", "code", "kbd", "samp")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attributes, self.texts, self._hidden, self._hiding = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # Not the reader's words: code, a form field's content (what the user typed or a prefill to
        # edit), and text that says it is in another language (lang="en" on a stored note).
        if tag in self.NOT_TEXT or tag == "textarea" or (attrs.get("lang") and attrs["lang"] != PSEUDO):
            self._hidden += 1
            self._hiding.append(tag)
        self.attributes.extend(attrs[name] for name in self.ATTRIBUTES if attrs.get(name))
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset") and attrs.get("value"):
            self.attributes.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._hiding and self._hiding[-1] == tag:
            self._hiding.pop()
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(" ".join(data.split()))


SEPARATOR = "\u2029"  # between text nodes: removing a ⟦…⟧ may span several of them


def untranslated_runs(page_html):
    """The runs of visible text with words outside ⟦⟧ (nested: data inside a message)."""
    names = NOT_WORDS | IDENTIFIERS | zoneinfo.available_timezones()
    parser = VisibleText()
    parser.feed(page_html)
    left = []
    for runs in (parser.attributes, [SEPARATOR.join(parser.texts)]):
        for stream in runs:
            rest = stream
            for name in NOT_WORDS:
                rest = rest.replace(name, " ")
            while INNERMOST.search(rest):
                rest = INNERMOST.sub(" ", rest)
            for piece in rest.split(SEPARATOR):
                words = [word for word in piece.split() if word.strip("()[],.;:·") not in names]
                if not NO_WORDS.match(" ".join(words)):
                    left.append(" ".join(piece.split()))
    return left


NOW = dt.datetime(2026, 11, 24, 13, 0, tzinfo=dt.UTC)


@pytest.fixture
def pseudo_world(organization, pseudo_locale):
    """Northwind's console with everything a page can show, every free text wrapped in ⟦⟧: a
    commander and a leadership member reading in "xx" in São Paulo (whose abbreviation, -03, is no
    word), incidents in draft, active, resolved and debriefing, updates, a debrief, a jargon term."""
    from playbooks.debriefs.services import debrief_action_add, debrief_get_or_open
    from playbooks.incidents.services import incident_create, incident_transition
    from playbooks.models import ChecklistItem, StageMessage
    from playbooks.updates.services import update_draft, update_publish
    from tests.console.factories import make_contacts, make_outage_playbook

    with time_machine.travel(NOW, tick=False):
        organization.name = wrap("Northwind")
        organization.save()
        cast = {
            name: make_user(
                wrap(name),
                organization,
                role,
                first_name=wrap(name.title()),
                language=PSEUDO,
                timezone="America/Sao_Paulo",
            )
            for name, role in [("alice", Role.COMMANDER), ("carol", Role.LEADERSHIP)]
        }
        make_contacts(organization)
        for client in ClientAccount.objects.filter(organization=organization):
            client.name, client.tags = wrap(client.name), [wrap(tag) for tag in client.tags]
            client.save()
        for contact in Contact.objects.filter(client__organization=organization):
            contact.name, contact.email = wrap(contact.name), contact.email and wrap(contact.email)
            contact.save()
        playbook = make_outage_playbook(organization)
        playbook.name, playbook.audience_tags = wrap(playbook.name), [wrap("payments")]
        playbook.save()
        for message in StageMessage.objects.filter(stage__playbook=playbook):
            message.subject, message.body = message.subject and wrap(message.subject), wrap(message.body)
            message.save()
        ChecklistItem.objects.filter(playbook=playbook).update(title=wrap("Post the first notice"))
        JargonTerm.objects.create(organization=organization, term=wrap("RCA"), plain_words=wrap("what went wrong"))

        alice = cast["alice"]

        def incident(title):
            return incident_create(playbook=playbook, actor=alice, title=wrap(title), affected_tags=[wrap("payments")])

        def activated(title):
            return incident_transition(incident=incident(title), name="activate", actor=alice)

        def resolved(title):
            live = incident_transition(incident=activated(title), name="identify", actor=alice)
            return incident_transition(
                incident=live, name="resolve", actor=alice, resolution_summary=wrap("We rolled back.")
            )

        world = {"alice": alice, "carol": cast["carol"], "playbook": playbook, "draft": incident("Checkout slow")}
        world["active"] = activated("Payments API errors")
        world["update"] = update_draft(incident=world["active"], author=alice)
        world["resolved"] = resolved("Login errors")
        debriefing = resolved("Card payments down")
        world["published"] = update_publish(update=update_draft(incident=debriefing, author=alice), actor=alice)
        world["debriefing"] = incident_transition(incident=debriefing, name="start_debrief", actor=alice)
        debrief_action_add(
            debrief=debrief_get_or_open(incident=debriefing),
            actor=alice,
            description=wrap("Add an alert on card errors"),
            owner=alice,
            due_on=dt.date(2026, 12, 4),
        )
    return world


# (page name, who opens it, its address from the world)
PAGES = [
    ("settings", "alice", lambda w: reverse("member_settings")),
    ("incident_list", "alice", lambda w: reverse("incident_list")),
    ("incident_new", "alice", lambda w: reverse("incident_new")),
    ("incident_draft", "alice", lambda w: reverse("incident_detail", args=[w["draft"].pk])),
    ("incident_active", "alice", lambda w: reverse("incident_detail", args=[w["active"].pk])),
    ("incident_resolved", "alice", lambda w: reverse("incident_detail", args=[w["resolved"].pk])),
    ("incident_debriefing", "alice", lambda w: reverse("incident_detail", args=[w["debriefing"].pk])),
    ("incident_scope", "alice", lambda w: reverse("incident_scope", args=[w["active"].pk])),
    ("update_detail", "alice", lambda w: reverse("update_detail", args=[w["update"].pk])),
    ("update_published", "alice", lambda w: reverse("update_detail", args=[w["published"].pk])),
    ("jargon_list", "alice", lambda w: reverse("jargon_list")),
    ("integrations", "alice", lambda w: reverse("integrations")),
    ("debrief", "alice", lambda w: reverse("debrief", args=[w["debriefing"].pk])),
    ("follow_ups", "alice", lambda w: reverse("follow_up_list")),
    ("leadership_overview", "carol", lambda w: reverse("leadership")),
    ("leadership_incident", "carol", lambda w: reverse("incident_review", args=[w["debriefing"].pk])),
    ("leadership_proof", "carol", lambda w: reverse("incident_proof", args=[w["debriefing"].pk])),
    ("editor_list", "alice", lambda w: reverse("playbook_editor_list")),
    ("editor_playbook", "alice", lambda w: reverse("playbook_editor", args=[w["playbook"].pk])),
    ("editor_stage", "alice", lambda w: reverse("playbook_editor_stage", args=[w["playbook"].pk, "investigating"])),
    ("editor_history", "alice", lambda w: reverse("playbook_editor_history", args=[w["playbook"].pk])),
]


def assert_all_translated(name, response, status=200):
    assert response.status_code == status, f"{name}: HTTP {response.status_code}"
    left = untranslated_runs(response.content.decode())
    assert left == [], f"{name} shows text that is not translated:\n" + "\n".join(f"  {run!r}" for run in left)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "who", "address"), [pytest.param(*page, id=page[0]) for page in PAGES])
def test_console_page_is_fully_translated(name, who, address, pseudo_world, client):
    client.force_login(pseudo_world[who])
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        assert_all_translated(name, client.get(address(pseudo_world)))


@pytest.mark.django_db
def test_login_page_is_fully_translated(pseudo_locale, client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=PSEUDO)
    assert response.content.decode().count(wrap("Log in")) >= 2  # the pseudo-locale is on
    assert_all_translated("login", response)


@pytest.mark.django_db
def test_a_settings_form_error_is_translated(pseudo_world, client):
    client.force_login(pseudo_world["alice"])
    response = client.post(reverse("member_settings"), {"language": PSEUDO, "timezone": "Mars/Olympus"})
    assert_all_translated("settings with an error", response, status=400)
    assert (
        wrap("Select a valid choice. %(value)s is not one of the available choices.") % {"value": "Mars/Olympus"}
        in response.content.decode()
    )


@pytest.mark.django_db
def test_an_update_refused_by_the_services_and_the_preflight_is_translated(pseudo_world, client):
    """The words the services and the preflight say about a draft: a field error, a blocking
    finding and the publish blockers."""
    from playbooks.updates.services import update_edit

    update = pseudo_world["update"]
    client.force_login(pseudo_world["alice"])
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        texts = {language: dict(fields) for language, fields in update.texts.items()}
        data = {f"{language}__{field}": value for language, fields in texts.items() for field, value in fields.items()}
        language = next(iter(texts))
        response = client.post(reverse("update_detail", args=[update.pk]), {**data, f"{language}__email_subject": ""})
        assert_all_translated("update with a field error", response, status=400)
        assert "errors" in response.content.decode()

        for fields in texts.values():
            fields["email_body"] += " https://elsewhere.example/"
        update_edit(update=update, actor=pseudo_world["alice"], texts=texts)
        response = client.post(reverse("update_publish", args=[update.pk]))
        assert_all_translated("update refused by the preflight", response, status=400)
        assert "elsewhere.example" in response.content.decode()


@pytest.mark.django_db
def test_a_refused_step_and_a_refused_scope_change_are_translated(pseudo_world, client):
    """What the incident services say when they refuse: a step the state does not allow (named by
    its button's words and the stage's name), a step still waiting for the debrief, and a scope
    change on a finished incident."""
    from playbooks.incidents.services import incident_transition

    alice = pseudo_world["alice"]
    client.force_login(alice)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        draft = pseudo_world["draft"]
        response = client.post(reverse("incident_transition", args=[draft.pk, "identify"]))
        assert_all_translated("a step the stage does not allow", response, status=409)
        assert wrap("Cause identified") in response.content.decode()

        debriefing = pseudo_world["debriefing"]
        response = client.post(reverse("incident_transition", args=[debriefing.pk, "close"]))
        assert_all_translated("a step waiting for the debrief", response, status=409)
        assert wrap("what went well") in response.content.decode()

        cancelled = incident_transition(incident=draft, name="cancel", actor=alice)
        response = client.post(
            reverse("incident_scope", args=[cancelled.pk]),
            {"affected_tags": wrap("payments"), "affected_countries": "DE", "save": "1"},
        )
        assert_all_translated("a scope change on a cancelled incident", response, status=400)
        assert f"{OPEN}The incident is in the stage “{OPEN}" in response.content.decode()


def test_the_checker_finds_an_unmarked_word():
    page = (
        f"<title>{wrap('Incidents')} · Candor</title><p>{wrap('Drafted by ' + wrap('alice'))} 09:30 -03</p>"
        '<script>var words = "not checked";</script><input type="submit" value="Publish">'
        f'<nav aria-label="Main">{wrap("Jargon list")}</nav><p>Europe/Berlin · 日本語 · Português (Brasil)</p>'
        f"<p>{wrap('Variables:')} <code>{{{{ contact_name }}}}</code></p><td>opted_out</td>"
    )
    assert untranslated_runs(page) == ["Publish", "Main", "opted_out"]
