"""Small factories shared by the console, API and browser tests: a two-language outage playbook
(English and German, email and SMS), and a few contacts with the usual exceptions."""

from accounts.models import EmailStatus, SmsConsent
from playbooks.models import ChecklistItem, Playbook, PlaybookStage, StageMessage
from tests.conftest import make_client, make_contact, words_for_stage

WORDS = {
    "en": {
        "subject": "{{ incident_title }}: {{ stage }}",
        "body": "Hello {{ contact_name }}.\n\nWe have a problem: {{ incident_title }}. {{ stage }}.\n\n"
        "What this means for {{ client_name }}: some features may not work.\n\n"
        "What you need to do: nothing right now.\n\nNext update by {{ next_update_at }}.\n\n{{ status_url }}",
        "sms": "{{ organization_name }}: {{ incident_title }}. {{ stage }}. No action needed. "
        "Next update {{ next_update_at }}. {{ status_url }} Reply STOP to opt out.",
    },
    "de": {
        "subject": "{{ incident_title }}: {{ stage }}",
        "body": "Guten Tag {{ contact_name }}.\n\nEs gibt eine Störung: {{ incident_title }}. {{ stage }}.\n\n"
        "Auswirkung für {{ client_name }}: Funktionen können ausfallen.\n\n"
        "Maßnahmen: keine.\n\nNächste Meldung: {{ next_update_at }}.\n\n{{ status_url }}",
        "sms": "{{ organization_name }}: {{ stage }}. Keine Maßnahmen nötig. Nächste Meldung {{ next_update_at }}. "
        "{{ status_url }}",
    },
}


def make_outage_playbook(organization, *, needs_approval=False, slug="outage", content_rules=None):
    playbook = Playbook.objects.create(
        organization=organization,
        kind="outage",
        name="Outage",
        slug=slug,
        audience_tags=["payments"],
        content_rules=content_rules or {},
    )
    for stage_name in ["investigating", "identified", "monitoring", "resolved"]:
        stage = PlaybookStage.objects.create(
            playbook=playbook, stage=stage_name, cadence_minutes=30, needs_approval=needs_approval
        )
        for language, words in WORDS.items():
            StageMessage.objects.create(
                stage=stage,
                language=language,
                channel="email",
                subject=words["subject"],
                body=words_for_stage(stage_name, words["body"]),
            )
            StageMessage.objects.create(
                stage=stage, language=language, channel="sms", body=words_for_stage(stage_name, words["sms"])
            )
    ChecklistItem.objects.create(playbook=playbook, title="Post the first notice", due_after_hours=1)
    playbook.refresh_from_db()
    return playbook


def make_contacts(organization):
    """Anna (Berlin, email and SMS), John (Boston, email), Olaf (opted out of SMS, no email) and
    Bianca (bounced email); all at clients tagged "payments"."""
    berlin = make_client(organization, name="Berliner Bank", tags=["payments"])
    boston = make_client(
        organization,
        name="Boston Retail",
        country="US",
        default_language="en",
        timezone="America/New_York",
        tags=["payments"],
    )
    make_client(organization, name="Unaffected Ltd", country="GB", default_language="en", tags=["dashboard"])
    return {
        "anna": make_contact(berlin, "Anna Schmidt", phone="+4915112345678"),
        "john": make_contact(boston, "John Miller"),
        "olaf": make_contact(
            berlin, "Olaf Opted", phone="+4915198765432", sms_consent=SmsConsent.OPTED_OUT, accepts_email=False
        ),
        "bianca": make_contact(boston, "Bianca Bounced", email_status=EmailStatus.BOUNCED),
    }
