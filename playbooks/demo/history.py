"""The demo's history: five months of crises handled by Northwind Systems, and one under way now.

Everything is played through the real services with time travelled (time-machine): incidents are
created, moved along and closed by their commanders; updates drafted, approved and published; the
background worker (the real `db_worker`, run until nothing is due) delivers every message through
the console/file provider and runs the timers (reminders, holding statements, deadline alerts,
surveys, acknowledgement chases) at their own time. Provider reports (delivered, a hard bounce, a
carrier opt-out) and client SMS replies (STOP, a survey score, an acknowledgement keyword) go
through the same services the webhooks call. So every figure on the leadership page is one the
product computed.

Loading is skipped when the demo organisation already has incidents; `demo_reset` starts over.
"""

import datetime as dt
import heapq
import io
import itertools
import logging

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import ClientAccount, EmailStatus, User
from comms.models import Message, MessageStatus
from comms.services import contact_mark_email_bad, inbound_sms_receive, message_record_event
from playbooks.acknowledgements.services import acknowledgement_confirm
from playbooks.debriefs.services import (
    debrief_action_add,
    debrief_action_done,
    debrief_complete,
    debrief_get_or_open,
    debrief_save,
    follow_up_close,
)
from playbooks.incidents.services import checklist_item_complete, incident_create, incident_transition
from playbooks.models import (
    AcknowledgementVia,
    FollowUp,
    Incident,
    Playbook,
    PlaybookStage,
    StageAcknowledgement,
    SurveyInvitation,
)
from playbooks.surveys.services import survey_answer
from playbooks.updates.jargon import jargon_term_add
from playbooks.updates.services import update_approve, update_draft, update_publish

MINUTE = dt.timedelta(minutes=1)
DATABASE_BACKEND = "django_tasks_db.DatabaseBackend"
DEMO_SMS_NUMBER = "+4930555010"  # the number contacts reply to (the console provider has none)

# The jargon list: words the plain-language check flags, with the plain words to use instead.
JARGON = [
    ("root cause analysis", "finding out why it happened", ""),
    ("degraded performance", "slower than usual", ""),
    ("latency", "delay", ""),
    ("mitigation", "a temporary fix", ""),
    ("RCA", "why it happened", ""),
    ("Wartungsfenster", "geplante Arbeiten", "de"),
    ("Eskalation", "wir holen mehr Hilfe", "de"),
    ("インシデント", "障害", "ja"),
    ("mitigação", "solução temporária", "pt-br"),
    ("incidencia crítica", "problema grave", "es"),
]

# What some contacts' providers report (by contact name): everyone else's messages are delivered.
EMAIL_BOUNCES = {"Sandrine Laurent": "550 5.1.1 mailbox unavailable", "David Mayer": "550 5.1.1 user unknown"}
CARRIER_OPT_OUTS = {"Thiago Oliveira"}  # Twilio error 21610: the recipient had blocked our number
STOP_REPLIES = {"Lucía Navarro"}  # replies STOP to her first SMS
CLIENT_REPLIES = {
    "Jürgen Becker": "Betrifft das auch SEPA-Lastschriften? Bitte kurz Rückmeldung.",
    "Gabriela Ramírez": "¿Tienen un número de teléfono para hablar con alguien?",
}

# The recall stage that asks clients to confirm they have taken the action.
ACKNOWLEDGEMENT = {
    "en": {"request": "Please confirm you have taken the affected units out of service.", "keyword": "CONFIRMED"},
    "de": {"request": "Bitte bestätigen Sie, dass die betroffenen Geräte außer Betrieb sind.", "keyword": "BESTAETIGT"},
    "ja": {"request": "対象機器の使用を停止したことをご確認ください。", "keyword": "KAKUNIN"},
    "pt-br": {"request": "Confirme que retirou de uso as unidades afetadas.", "keyword": "CONFIRMADO"},
    "es": {"request": "Confirme que ha retirado de servicio las unidades afectadas.", "keyword": "CONFIRMADO"},
}

# Survey answers, given in turn by the contacts invited (None: this one does not answer):
# (csat, kept informed, clarity, nps, comment kind).
ANSWERS = [
    (5, 5, 5, 10, "praise"),
    (2, 2, 3, 3, "late"),
    (4, 5, 4, 9, "praise"),
    None,
    (4, 4, 4, 8, ""),
    (3, 2, 3, 6, "unclear"),
    (5, 4, 5, 9, "praise"),
    None,
]
COMMENTS = {
    "praise": {
        "en": "Clear, regular updates: exactly what our control room needed.",
        "de": "Schnelle, klare Informationen und jede Meldung kam wie angekündigt. Danke!",
        "ja": "迅速かつ丁寧なご連絡をありがとうございました。社内への説明が楽になりました。",
        "pt-br": "Comunicação excelente, equipe muito atenciosa do início ao fim.",
        "es": "Muy claros y puntuales con las actualizaciones. Así da gusto.",
        "fr": "Des nouvelles claires et régulières, merci.",
        "nl": "Duidelijke en tijdige berichten, dank jullie wel.",
    },
    "late": {
        "en": "We heard about it from our own customers first; the first notice came far too late.",
        "de": "Die erste Meldung kam viel zu spät, wir haben es von unseren Kunden erfahren.",
        "ja": "最初の連絡が遅く、お客様からの問い合わせで初めて知りました。",
        "pt-br": "Demoraram muito para avisar; soubemos pelos nossos clientes.",
        "es": "Nos enteramos tarde y por nuestros propios clientes.",
        "fr": "Nous l'avons appris par nos clients avant vous.",
        "nl": "We hoorden het eerst van onze eigen klanten.",
    },
    "unclear": {
        "en": "The SMS were hard to act on: what exactly should our staff do?",
        "de": "Die SMS waren zu technisch. Was sollten unsere Leute konkret tun?",
        "ja": "SMSの内容が専門的で、現場が何をすべきか分かりにくかったです。",
        "pt-br": "As mensagens eram técnicas demais; não ficou claro o que fazer.",
        "es": "Los SMS eran demasiado técnicos; no quedaba claro qué hacer.",
        "fr": "Les SMS étaient trop techniques.",
        "nl": "De sms'jes waren te technisch.",
    },
}

# The steps of each kind of crisis: (minutes after detection, action, argument). "publish" drafts
# the stage's update (by the communicator when the stage needs approval, then approved by the backup
# commander) and publishes it; a transition's argument is its resolution summary, when it needs one.
STEPS = {
    "outage": [
        (8, "activate", None),
        (12, "publish", None),
        (35, "transition", "identify"),
        (38, "publish", None),
        (95, "transition", "monitor"),
        (97, "publish", None),
        (185, "resolve", "resolve"),
        (188, "publish", None),
        (60 * 22, "transition", "start_debrief"),
    ],
    "recall": [
        (30, "activate", None),
        (40, "publish", None),
        (200, "transition", "announce"),
        (215, "publish", None),
        (1500, "transition", "offer_remedy"),
        (1520, "publish", None),
        (2800, "transition", "start_remedy"),
        (2810, "publish", None),
        (9000, "resolve", "complete"),
        (9020, "publish", None),
        (10300, "transition", "start_debrief"),
    ],
    "compliance": [
        (20, "activate", None),
        (30, "publish", None),
        (180, "transition", "notify_authority"),
        (200, "publish", None),
        (850, "transition", "notify_clients"),
        (870, "publish", None),
        (2200, "transition", "remediate"),
        (2210, "publish", None),
        (4300, "resolve", "resolve"),
        (4320, "publish", None),
        (5800, "transition", "start_debrief"),
    ],
}
PLAYBOOKS = {"outage": "outage-standard", "recall": "recall-eu-product", "compliance": "compliance-data-incident"}

# The closed incidents, oldest first, far enough apart that each one is closed and its follow-ups worked
# before the next begins (surveys remind and close on their own timers meanwhile).
# fmt: off
INCIDENTS = [
    {
        "kind": "outage", "days_ago": 152, "severity": 1, "commander": "cora", "backup": "ben",
        "title": "Payments API rejecting card payments",
        "summary": "Card payments through the Payments API fail with an error for about one in three attempts.",
        "clients": ["Hansa Logistik GmbH", "Verde Pagamentos S.A.", "Banco del Valle"],
        "resolution": "A faulty certificate on one payment gateway node was replaced; all payments succeed again.",
        "late": {"publish": {3: 40}},  # the third update came 40 minutes late: a holding statement covered it
        "debrief": (
            "Tier-1 alerts fired within two minutes; the first notice went out in twelve.",
            "The certificate expiry was not monitored on the standby node, and one update was 40 minutes late.",
        ),
    },
    {
        "kind": "recall", "days_ago": 134, "severity": 1, "commander": "ben", "backup": "cora",
        "title": "Sensor X200: battery may overheat (lot 2407)",
        "summary": "Units from production lot 2407 may overheat while charging. Take them out of service.",
        "clients": ["Rheinwerk Energie AG", "Sakura Robotics K.K.", "Vignobles Duval"],
        "resolution": "All lot 2407 units were replaced with corrected batteries; none remain in service.",
        "debrief": (
            "Clients confirmed the quarantine within hours; replacements shipped in nine days.",
            "The recall notice needed two approval rounds; the French client's email bounced unnoticed for a day.",
        ),
    },
    {
        "kind": "compliance", "days_ago": 116, "severity": 2, "commander": "cora", "backup": "ben",
        "title": "Support portal: ticket attachments visible to other customers",
        "summary": "For six hours a caching error showed some ticket attachments to other logged-in customers.",
        "clients": ["Donau Versicherung AG", "Iberia Salud S.L.", "Lakeshore Health"],
        "resolution": "The cache was fixed, affected attachments identified and the supervisory authority informed.",
        "debrief": (
            "The authority was notified well inside 72 hours; every client got a named contact.",
            "Legal review of each notice took longer than the cadence allowed.",
        ),
    },
    {
        "kind": "outage", "days_ago": 98, "severity": 3, "commander": "ben", "backup": "cora",
        "title": "Dashboard charts slow to load",
        "summary": "Dashboard charts take up to a minute to load; data collection is not affected.",
        "clients": ["Bergmann Maschinenbau KG", "Horizonte Agro Ltda.", "Thameside Utilities plc"],
        "resolution": "A slow database query was rewritten; charts load in under two seconds again.",
        "debrief": ("Clear, short updates; nobody called support.", "We were slow to find the query."),
    },
    {
        "kind": "recall", "days_ago": 80, "severity": 2, "commander": "cora", "backup": "ben",
        "title": "Gateway G5 power adapter: risk of electric shock",
        "summary": "Some G5 power adapters shipped since May may have a loose earth pin. Unplug and replace them.",
        "clients": ["Aztlán Telecom", "Pacific Freight Lines", "Polder Water Systems B.V."],
        "resolution": "Replacement adapters reached every affected site; the old ones were collected.",
        "debrief": ("The supplier shared the affected serial numbers within a day.", "One client confirmed only after a chase."),
    },
    {
        "kind": "compliance", "days_ago": 62, "severity": 3, "commander": "ben", "backup": "cora",
        "title": "Invoices emailed to the wrong contact",
        "summary": "A billing run sent some October invoices to a previous contact at the same client.",
        "clients": ["Fuji Retail Holdings", "Pennine Retail Group", "Alpenbahn Service GmbH"],
        "resolution": "The misdirected invoices were recalled and deleted; contacts are now checked before each run.",
        "debrief": ("Quick, honest notice.", "The billing system had no check of the contact's validity."),
    },
    {
        "kind": "outage", "days_ago": 42, "severity": 2, "commander": "cora", "backup": "ben",
        "title": "Mobile app sign-in failures",
        "summary": "Some users cannot sign in to the mobile app; those already signed in are not affected.",
        "clients": ["Mediterránea Logística S.A.", "Lumière Transports SAS", "Sakura Robotics K.K."],
        "resolution": "An expired identity-provider key was rotated; sign-in works for everyone again.",
        "follow_ups_open": True,  # the latest follow-ups are still being worked on
        "debrief": ("Updates in every client's language within fifteen minutes.", "Key rotation is still manual."),
    },
]

LIVE_INCIDENT = {
    "kind": "outage", "severity": 1, "commander": "cora", "backup": "ben",
    "title": "Checkout API timeouts",
    "summary": "Checkout requests time out for many merchants; payments that go through are recorded correctly.",
    "clients": ["Hansa Logistik GmbH", "Fuji Retail Holdings", "Pennine Retail Group", "Banco del Valle"],
}
# fmt: on


def demo_history_loaded(*, organization):
    return Incident.objects.filter(organization=organization).exists()


def demo_history_load(*, organization, now=None):
    """Play the demo's history through the services, ending at `now` (default: the real now).
    Returns the number of incidents created (0 when the history is already there)."""
    if demo_history_loaded(organization=organization):
        return 0
    if settings.TASKS["default"]["BACKEND"] != DATABASE_BACKEND:
        raise RuntimeError("The demo history runs the database task worker: load it with TASKS_BACKEND=database.")
    import time_machine

    now = (now or timezone.now()).replace(microsecond=0)
    story = Story(organization, now)
    quiet = [logging.getLogger(name) for name in ("django_tasks", "django_tasks_db", "candor.outbox", "candor")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.WARNING)
    try:
        with time_machine.travel(story.start_at, tick=False) as traveller:
            story.traveller = traveller
            story.play()
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
    return Incident.objects.filter(organization=organization).count()


class Story:
    def __init__(self, organization, now):
        self.organization = organization
        self.now = now
        self.start_at = now - dt.timedelta(days=INCIDENTS[0]["days_ago"] + 1)
        self.traveller = None
        self.users = {user.username: user for user in User.objects.filter(organization=organization)}
        self.reported = set()
        self.replied = set()
        self.sequence = itertools.count(1)

    # -- the clock ------------------------------------------------------------------------------

    def advance(self, to):
        """Move time forward to `to`, running every timer at its own moment on the way."""
        from django_tasks_db.models import DBTaskResult

        while True:
            current = timezone.now()
            next_at = (
                DBTaskResult.objects.filter(status="READY", run_after__gt=current, run_after__lte=to)
                .order_by("run_after")
                .values_list("run_after", flat=True)
                .first()
            )
            if next_at is None:
                break
            self.traveller.move_to(next_at)
            self.work()
        if to > timezone.now():
            self.traveller.move_to(to)
        self.work()

    def work(self):
        """The worker delivers and runs whatever is due now; providers report on what was sent."""
        for _ in range(20):
            call_command(
                "db_worker",
                "--batch",
                "--queue-name",
                "*",
                "--no-startup-delay",
                "--no-reload",
                verbosity=0,
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
            if not self.report_deliveries():
                return

    def report_deliveries(self):
        """What the providers report about the messages just sent, through the webhooks' services."""
        sent = list(
            Message.objects.filter(organization=self.organization, status=MessageStatus.SENT)
            .exclude(pk__in=self.reported)
            .select_related("contact")
        )
        at = timezone.now()
        with transaction.atomic():  # one commit for the lot, as a webhook batch would
            for message in sent:
                self.report(message, at)
        return bool(sent)

    def report(self, message, at):
        """What the provider reports about one message sent: delivered, unless this contact bounces or
        refused us; some contacts reply to their first SMS."""
        self.reported.add(message.pk)
        name = message.contact.name if message.contact else ""
        report = {"status": MessageStatus.DELIVERED, "event": "delivered"}
        if message.channel == "email" and name in EMAIL_BOUNCES:
            report = {"status": MessageStatus.BOUNCED, "event": "bounce", "error_code": "550"}
            report["error"] = EMAIL_BOUNCES[name]
        elif message.channel == "sms" and name in CARRIER_OPT_OUTS:
            report = {"status": MessageStatus.UNDELIVERED, "event": "undelivered", "error_code": "21610"}
            report.update(error="The recipient has opted out (21610).", recipient_opted_out=True)
        is_new = message_record_event(
            message=message,
            at=at,
            provider=message.provider or "console",
            dedup_key=f"demo:{message.pk}:{report['event']}",
            **report,
        )
        if is_new and report["status"] == MessageStatus.BOUNCED:
            contact_mark_email_bad(contact=message.contact, status=EmailStatus.BOUNCED, at=at)
        replies = message.channel == "sms" and message.contact and name not in self.replied
        if replies and (name in STOP_REPLIES or name in CLIENT_REPLIES):
            self.replied.add(name)
            self.sms_reply(message.contact, "STOP" if name in STOP_REPLIES else CLIENT_REPLIES[name])

    def sms_reply(self, contact, body):
        inbound_sms_receive(
            provider_message_id=f"demo-inbound-{self.organization.pk}-{next(self.sequence)}",
            from_number=contact.phone,
            to_number=DEMO_SMS_NUMBER,
            body=body,
            at=timezone.now(),
        )

    # -- the story ------------------------------------------------------------------------------

    def play(self):
        self.advance(self.start_at)
        commander = self.users["cora"]
        for term, plain_words, language in JARGON:
            jargon_term_add(
                organization=self.organization, actor=commander, term=term, plain_words=plain_words, language=language
            )
        self.ask_for_acknowledgement()
        for spec in INCIDENTS:
            self.closed_incident(spec)
        self.live_incident(LIVE_INCIDENT)

    def ask_for_acknowledgement(self):
        """The recall playbook's announcement asks clients to confirm the quarantine (as the admin would)."""
        stage = PlaybookStage.objects.get(
            playbook__organization=self.organization, playbook__slug=PLAYBOOKS["recall"], stage="announced"
        )
        if not StageAcknowledgement.objects.filter(stage=stage).exists():
            acknowledgement = StageAcknowledgement(stage=stage, texts=ACKNOWLEDGEMENT, chase_after_minutes=240)
            acknowledgement.full_clean()
            acknowledgement.save()

    def create(self, spec, detected_at):
        playbook = Playbook.objects.get(organization=self.organization, slug=PLAYBOOKS[spec["kind"]])
        return incident_create(
            playbook=playbook,
            actor=self.users[spec["commander"]],
            title=spec["title"],
            summary=spec["summary"],
            severity=spec["severity"],
            commander=self.users[spec["commander"]],
            backup_commander=self.users[spec["backup"]],
            detected_at=detected_at,
            affected_clients=list(
                ClientAccount.objects.filter(organization=self.organization, name__in=spec["clients"])
            ),
        )

    def closed_incident(self, spec):
        detected_at = self.now - dt.timedelta(days=spec["days_ago"])
        self.advance(detected_at)
        incident = self.create(spec, detected_at)
        events = []
        order = itertools.count()
        published = 0
        late = spec.get("late", {}).get("publish", {})
        for minutes, action, argument in STEPS[spec["kind"]]:
            if action == "publish":
                published += 1
                minutes += late.get(published, 0)
            heapq.heappush(events, (detected_at + minutes * MINUTE, next(order), action, argument))
        while events:
            at, _, action, argument = heapq.heappop(events)
            self.advance(at)
            incident = Incident.objects.get(pk=incident.pk)
            if action == "activate":
                incident = incident_transition(incident=incident, name="activate", actor=incident.commander)
                # Each item done well before its deadline, or before the debrief for the long ones.
                debrief_at = detected_at + (STEPS[spec["kind"]][-1][0] - 60) * MINUTE
                for item in incident.checklist.exclude(due_at=None):
                    done_at = min(detected_at + (item.due_at - detected_at) * 0.6, debrief_at)
                    heapq.heappush(events, (done_at, next(order), "checklist", item.pk))
                if spec["kind"] == "recall":
                    self.plan_confirmations(incident, events, order, detected_at + 240 * MINUTE)
            elif action == "publish":
                self.publish(incident)
            elif action == "transition":
                incident_transition(incident=incident, name=argument, actor=incident.commander)
            elif action == "resolve":
                incident_transition(
                    incident=incident, name=argument, actor=incident.commander, resolution_summary=spec["resolution"]
                )
            elif action == "checklist":
                item = incident.checklist.get(pk=argument)
                if not item.is_done and incident.state not in ("debriefing", "closed"):
                    checklist_item_complete(item=item, actor=incident.commander, note="Done.")
            elif action == "confirm":
                contact, via = argument
                if via == AcknowledgementVia.SMS:
                    self.sms_reply(contact, ACKNOWLEDGEMENT[self.language_of(contact)]["keyword"])
                else:
                    acknowledgement_confirm(incident=incident, contact=contact, via=via, at=timezone.now())
        self.after_the_crisis(Incident.objects.get(pk=incident.pk), spec)

    def language_of(self, contact):
        language = contact.language or contact.client.default_language
        return language if language in ACKNOWLEDGEMENT else "en"

    def plan_confirmations(self, incident, events, order, announced_at):
        """One client confirms on the status page, one by SMS keyword, the last only after the chase."""
        clients = list(incident.affected_clients.order_by("name"))
        delays = [(90, AcknowledgementVia.PAGE), (150, AcknowledgementVia.SMS), (60 * 9, AcknowledgementVia.PAGE)]
        for client, (minutes, via) in zip(clients, delays, strict=False):
            contacts = client.contacts.filter(is_active=True).order_by("pk")
            contact = contacts.filter(sms_consent="granted").first() if via == AcknowledgementVia.SMS else None
            contact = contact or contacts.first()
            if via == AcknowledgementVia.SMS and contact.sms_consent != "granted":
                via = AcknowledgementVia.PAGE
            heapq.heappush(events, (announced_at + minutes * MINUTE, next(order), "confirm", (contact, via)))

    def publish(self, incident):
        """The stage's words as the playbook has them; a second commander approves when the stage asks it."""
        if incident.state not in incident.plan["stages"]:
            return None
        approval = incident.plan["stages"][incident.state].get("needs_approval")
        author = self.users["cody"] if approval else incident.commander
        update = update_draft(incident=incident, author=author)
        if update.needs_approval:
            approver = incident.backup_commander if incident.backup_commander != author else incident.commander
            update = update_approve(update=update, actor=approver)
        return update_publish(update=update, actor=incident.commander)

    def after_the_crisis(self, incident, spec):
        """Survey answers come in, the team writes the debrief and closes the incident, follow-ups are worked."""
        started = timezone.now()
        self.advance(started + MINUTE)  # the survey goes out
        debriefer = incident.commander
        invitations = list(
            SurveyInvitation.objects.filter(survey__incident=incident).select_related("contact").order_by("pk")
        )
        for index, invitation in enumerate(invitations):
            answer = ANSWERS[(index + incident.pk) % len(ANSWERS)]
            if answer is None:
                continue
            self.advance(started + dt.timedelta(hours=2 + 5 * index))
            csat, kept_informed, clarity, nps, comment = answer
            words = COMMENTS.get(comment, {})
            survey_answer(
                invitation=invitation,
                answers={
                    "csat": csat,
                    "kept_informed": kept_informed,
                    "clarity": clarity,
                    "nps": nps,
                    "comment": words.get(invitation.language, words.get("en", "")),
                },
            )
        self.advance(started + dt.timedelta(days=2))
        debrief = debrief_get_or_open(incident=incident)
        went_well, went_badly = spec["debrief"]
        debrief_save(
            debrief=debrief,
            actor=debriefer,
            what_happened=debrief.what_happened or incident.summary,
            went_well=went_well,
            went_badly=went_badly,
        )
        due_on = (timezone.now() + dt.timedelta(days=14)).date()
        first = debrief_action_add(
            debrief=debrief,
            actor=debriefer,
            description="Alert on every certificate and key expiry, standby nodes included.",
            owner=self.users["ben"],
            due_on=due_on,
        )
        debrief_action_add(
            debrief=debrief,
            actor=debriefer,
            description="Add the first-notice template for this kind of crisis to the runbook.",
            owner=self.users["cody"],
            due_on=due_on + dt.timedelta(days=7),
        )
        debrief_action_done(item=first, actor=debriefer)
        debrief_complete(debrief=debrief, actor=debriefer)
        self.advance(started + dt.timedelta(days=2, hours=1))
        incident_transition(incident=Incident.objects.get(pk=incident.pk), name="close", actor=debriefer)
        self.advance(started + dt.timedelta(days=4))
        if not spec.get("follow_ups_open"):
            for follow_up in FollowUp.objects.filter(incident=incident).select_related("owner"):
                follow_up_close(
                    follow_up=follow_up,
                    actor=follow_up.owner or debriefer,
                    note="Called the client, walked through what happened and what we changed.",
                )

    def live_incident(self, spec):
        """An outage under way: two updates out, the cause just found, the next update due in minutes."""
        detected_at = self.now - 52 * MINUTE
        self.advance(detected_at)
        incident = self.create(spec, detected_at)
        self.advance(self.now - 47 * MINUTE)
        incident = incident_transition(incident=incident, name="activate", actor=incident.commander)
        self.advance(self.now - 44 * MINUTE)
        self.publish(incident)
        self.advance(self.now - 30 * MINUTE)
        item = incident.checklist.order_by("due_at", "pk").first()
        if item is not None:
            checklist_item_complete(item=item, actor=incident.commander, note="First notice out at 10:08.")
        self.advance(self.now - 22 * MINUTE)
        self.publish(Incident.objects.get(pk=incident.pk))
        self.advance(self.now - 6 * MINUTE)
        incident = incident_transition(
            incident=Incident.objects.get(pk=incident.pk), name="identify", actor=incident.commander
        )
        self.advance(self.now - 2 * MINUTE)
        update_draft(incident=incident, author=self.users["cody"])  # waiting for the commander to publish
        self.advance(self.now)
