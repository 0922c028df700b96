"""Every starter playbook walked through its whole lifecycle, in all five languages and on both
channels, through the real publish path: the words every client receives are whole."""

import datetime as dt

import pytest
import time_machine

from comms.models import Message
from comms.rendering import apply_substitutions, template_problems
from playbooks.incidents.links import status_url
from playbooks.incidents.services import incident_create, incident_transition
from playbooks.models import MESSAGE_VARIABLES, IncidentUpdate, Playbook
from playbooks.starter import starter_playbooks_load
from playbooks.updates.preflight import has_empty_time_slot, promise_findings, text_findings
from playbooks.updates.services import update_approve, update_draft, update_publish
from tests.conftest import make_client, make_contact

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
LANGUAGES = ["en", "de", "ja", "es", "pt-br"]
# The way forward through each kind's lifecycle, in order of preference.
FORWARD = [
    "activate",
    "identify",
    "monitor",
    "announce",
    "offer_remedy",
    "start_remedy",
    "notify_authority",
    "notify_clients",
    "remediate",
    "resolve",
    "complete",
    "start_debrief",
]


def clients_in_every_language(organization):
    """One client per language, each with a contact reached by email and SMS."""
    contacts = []
    for number, language in enumerate(LANGUAGES):
        client = make_client(organization, name=f"Client {language}", default_language=language, tags=["starter-walk"])
        contacts.append(make_contact(client, f"Reader {language}", language=language, phone=f"+4915112340{number:03d}"))
    return contacts


def walk(incident, alice, frank):
    """Publish the stage's update (and its holding statement, when it has one) in every stage
    from activation to the final notice, then start the debrief."""
    published = []
    minute = 0
    while incident.state != "debriefing":
        names = {t.name for t in incident.get_available_user_state_transitions(alice)}
        step = next(name for name in FORWARD if name in names)
        with time_machine.travel(T0 + dt.timedelta(minutes=minute), tick=False):
            incident = incident_transition(
                incident=incident, name=step, actor=alice, resolution_summary="The fix is deployed and verified."
            )
            if incident.state != "debriefing":
                update = update_draft(incident=incident, author=alice)
                if update.needs_approval:
                    update = update_approve(update=update, actor=frank)
                published.append(update_publish(update=update, actor=alice))
                if incident.stage_plan().get("messages", {}).get("holding"):
                    holding = update_draft(incident=incident, author=None, is_holding_statement=True)
                    published.append(update_publish(update=holding, actor=None))
        minute += 10
    return incident, published


@pytest.mark.parametrize("slug", ["outage-standard", "recall-eu-product", "compliance-data-incident"])
def test_a_starter_playbook_walked_through_its_lifecycle_sends_only_whole_words(slug, organization, alice, frank):
    starter_playbooks_load(organization=organization)
    contacts = clients_in_every_language(organization)
    with time_machine.travel(T0 - dt.timedelta(minutes=5), tick=False):
        incident = incident_create(
            playbook=Playbook.objects.get(organization=organization, slug=slug),
            actor=alice,
            title="Payments API errors",
            summary="Card payments through the API fail for some clients.",
            affected_clients=[contact.client for contact in contacts],
        )
    incident, published = walk(incident, alice, frank)

    assert incident.state == "debriefing"
    final = published[-1]
    assert final.stage in ("resolved", "completed") and final.next_update_due_at is None
    unknown = empty = no_time = sms_without_link = 0
    for update in IncidentUpdate.objects.filter(incident=incident):
        for fields in update.texts.values():
            unknown += sum(len(template_problems(text, allowed=MESSAGE_VARIABLES)) for text in fields.values())
        no_time += len(promise_findings(update.texts, update.next_update_due_at))
    messages = Message.objects.filter(contact__isnull=False).select_related("content", "contact")
    for message in messages:
        text = apply_substitutions(f"{message.content.subject}\n{message.content.body}", message.substitutions)
        problems = {
            finding.problem
            for finding in text_findings(
                text=text, language=message.content.language, channel=message.channel, values={}
            )
        }
        empty += "empty_variable" in problems or "template_syntax" in problems
        no_time += has_empty_time_slot(text, message.content.language)
        if message.channel == "sms":
            sms_without_link += status_url(incident.pk, message.contact_id) not in text
    languages = {message.content.language for message in messages}
    channels = {message.channel for message in messages}

    assert languages == set(LANGUAGES) and channels == {"email", "sms"}
    assert messages.filter(source=f"update:{final.pk}").count() == 2 * len(LANGUAGES)
    assert (unknown, empty, no_time, sms_without_link) == (0, 0, 0, 0)


@pytest.mark.parametrize("slug", ["outage-standard", "recall-eu-product", "compliance-data-incident"])
def test_every_starter_stage_message_passes_the_template_check(slug, organization):
    starter_playbooks_load(organization=organization)
    playbook = Playbook.objects.get(organization=organization, slug=slug)
    for stage in playbook.stages.prefetch_related("messages"):
        for message in stage.messages.all():
            message.full_clean()
