"""The plain-language check: readability per language, long sentences, jargon, structure and the
playbook's content rules. It warns; it never blocks."""

import pytest
from django.utils import translation

from accounts.models import JargonTerm
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.starter import starter_playbooks_load
from playbooks.updates.plain_language import check_texts, plain_language_check
from playbooks.updates.services import update_draft, update_edit

PLAIN_EN = {
    "email_subject": "Payments are slow",
    "email_body": "We have a problem with payments. What this means for you: some payments may be slow. "
    "You do not need to do anything. Next update by {{ next_update_at }}.",
    "sms_body": "Payments are slow. No action needed. Next update {{ next_update_at }}.",
}
HARD_EN = {
    "email_subject": "Service degradation",
    "email_body": "Consequently, intermittent authorization irregularities affecting transactional "
    "infrastructure necessitate comprehensive investigation. Organizational remediation "
    "considerations notwithstanding, customers experiencing unavailability should contact "
    "representatives immediately. Next update by {{ next_update_at }}.",
    "sms_body": "",
}


def only(checks):
    (check,) = checks.values()
    return check


def test_plain_english_passes_and_names_the_flesch_kincaid_grade():
    check = only(check_texts(texts={"en": PLAIN_EN}))
    assert check.readability["formula"] == "Flesch-Kincaid grade"
    assert check.readability["score"] <= 8
    assert check.warnings == []


def test_english_above_grade_eight_is_flagged():
    check = only(check_texts(texts={"en": HARD_EN}))
    assert check.readability["flagged"]
    assert check.readability["score"] > 8
    assert any(warning.startswith("Hard to read: Flesch-Kincaid grade") for warning in check.warnings)


def test_the_notes_are_in_the_console_language_about_the_message_language():
    texts = {"en": {**HARD_EN, "email_subject": "Hello", "email_body": HARD_EN["email_body"] + " The RCA follows."}}
    with translation.override("de"):
        check = only(check_texts(texts=texts, jargon=[{"term": "RCA", "plain_words": "what went wrong"}]))
    assert check.readability["formula"] == "Flesch-Kincaid-Klassenstufe"
    assert check.readability["note"] == "US-Schulklasse; Ziel: 8 oder weniger"
    score = f"{check.readability['score']:g}".replace(".", ",")
    assert check.warnings[0] == (
        f"Schwer lesbar: Flesch-Kincaid-Klassenstufe {score} (US-Schulklasse; Ziel: 8 oder weniger). "
        "Verwenden Sie kürzere Sätze und Wörter."
    )
    assert "Jargon: „RCA“; sagen Sie stattdessen „what went wrong“." in check.warnings
    assert "E-MAIL: Kein Hinweis darauf, was passiert ist, was zu tun ist oder dass nichts nötig ist." in check.warnings


@pytest.mark.parametrize(
    ("language", "formula"),
    [
        ("de", "Wiener Sachtextformel"),
        ("es", "Fernández-Huerta"),
        ("fr", "Flesch (Kandel-Moles)"),
        ("it", "Gulpease"),
        ("nl", "Flesch-Douma"),
    ],
)
def test_other_languages_use_their_own_formula(language, formula):
    check = only(
        check_texts(
            texts={language: {"email_subject": "x", "email_body": "Eins zwei drei. Vier fünf.", "sms_body": ""}}
        )
    )
    assert check.readability["formula"] == formula
    assert check.readability["score"] is not None


@pytest.mark.parametrize(("language", "name"), [("ja", "Japanese"), ("pt-br", "Portuguese (Brazil)")])
def test_languages_without_a_formula_say_so(language, name):
    check = only(check_texts(texts={language: {"email_subject": "x", "email_body": "テキスト。", "sms_body": ""}}))
    assert check.readability["formula"] is None
    assert check.readability["note"] == f"No readability formula for {name} in textstat."


def test_sentences_over_25_words_are_flagged():
    long_sentence = " ".join(["word"] * 26) + "."
    check = only(check_texts(texts={"en": {**PLAIN_EN, "email_body": PLAIN_EN["email_body"] + " " + long_sentence}}))
    assert [row["length"] for row in check.long_sentences] == [26]
    assert any("a sentence of 26 words (over 25)" in warning for warning in check.warnings)


def test_jargon_is_flagged_with_the_plain_words():
    texts = {"en": {**PLAIN_EN, "email_body": PLAIN_EN["email_body"] + " Latency is high."}}
    jargon = [
        {"term": "latency", "plain_words": "slowness", "language": ""},
        {"term": "latency", "plain_words": "Verzögerung", "language": "de"},
    ]
    check = only(check_texts(texts=texts, jargon=jargon))
    assert check.jargon == [{"term": "latency", "plain_words": "slowness"}]
    assert "Jargon: “latency”; say “slowness” instead." in check.warnings


def test_structure_says_which_parts_are_missing():
    texts = {"en": {"email_subject": "Hello", "email_body": "We have a problem.", "sms_body": ""}}
    check = only(check_texts(texts=texts))
    assert check.structure["email"] == {"what_happened": True, "impact": False, "action": False, "next_update": False}
    assert (
        "EMAIL: no sign that it says what it means for the client, says what to do, or that nothing is "
        "needed, says when the next update comes."
    ) in check.warnings


def test_the_next_update_variable_counts_as_saying_when_the_next_update_comes():
    texts = {
        "en": {
            "email_subject": "x",
            "email_body": "Problem. You may see errors. Do nothing. {{ next_update_at }}",
            "sms_body": "",
        }
    }
    assert only(check_texts(texts=texts)).structure["email"]["next_update"] is True


def test_a_resolution_notice_needs_no_next_update():
    texts = {
        "en": {
            "email_subject": "x",
            "email_body": "The problem is fixed. It works normally again. You do not need to do anything.",
            "sms_body": "",
        }
    }
    check = only(check_texts(texts=texts, expects_next_update=False))
    assert "next_update" not in check.structure["email"]
    assert check.warnings == []


def test_required_phrases_and_banned_words_from_the_playbook():
    rules = {"required_phrases": ["Product safety recall"], "banned_words": ["voluntary", "precautionary"]}
    texts = {
        "en": {**PLAIN_EN, "email_body": PLAIN_EN["email_body"] + " This is a voluntary recall."},
        "de": {**PLAIN_EN},
    }
    checks = check_texts(texts=texts, content_rules=rules)
    assert checks["en"].missing_phrases == ["Product safety recall"]
    assert checks["en"].banned_words == ["voluntary"]
    assert "The playbook flags “voluntary”: avoid it in this kind of notice." in checks["en"].warnings
    # A plain phrase applies to the playbook's language; translations get a reminder, not a false alarm.
    assert checks["de"].missing_phrases == []
    assert "make sure this translation carries the same heading" in checks["de"].notes[0]


@pytest.fixture
def eu_recall_update(organization, alice, contacts):
    starter_playbooks_load(organization=organization)
    playbook = organization.playbooks.get(slug="recall-eu-product")
    incident = incident_create(playbook=playbook, actor=alice, title="Charger lot 42", affected_tags=["payments"])
    incident = incident_transition(incident=incident, name="activate", actor=alice)
    return update_draft(incident=incident, author=alice)


def test_the_eu_recall_starter_words_pass_its_own_rules(eu_recall_update):
    check = plain_language_check(update=eu_recall_update)["en"]
    assert check.missing_phrases == [] and check.banned_words == []


def test_the_eu_recall_playbook_requires_its_heading_and_flags_voluntary(eu_recall_update, alice):
    texts = dict(eu_recall_update.texts)
    texts["en"] = {
        "email_subject": "Recall of lot 42",
        "email_body": "We are recalling lot 42 as a voluntary and precautionary measure.",
        "sms_body": "",
    }
    update = update_edit(update=eu_recall_update, actor=alice, texts=texts)
    check = plain_language_check(update=update)["en"]
    assert check.missing_phrases == ["Product safety recall"]
    assert check.banned_words == ["voluntary", "precautionary"]


def test_the_organisations_jargon_list_is_used(live_incident, alice, organization, other_organization):
    JargonTerm.objects.create(organization=organization, term="features", plain_words="parts of the service")
    JargonTerm.objects.create(organization=other_organization, term="problem", plain_words="trouble")
    update = update_draft(incident=live_incident, author=alice)
    check = plain_language_check(update=update)["en"]
    assert check.jargon == [{"term": "features", "plain_words": "parts of the service"}]
