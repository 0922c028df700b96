"""Leadership figures: what was done (action metrics) beside how it was felt (sentiment), per
incident and per client, across incidents by playbook kind, client country and month; and the
proof of notification a regulator or a client's lawyer asks for.

Read-only selectors. Callers pass incidents they obtained through playbooks.incidents.selectors (scoped to
the user's organisation); everything read here is filtered by that incident's organisation.

Definitions (the README's leadership section says the same):
- affected contacts: the contacts an update was queued for, plus those an update found
  unreachable; before any update, the active contacts of the affected clients.
- reached: at least one update message sent or delivered, on any channel.
- time to first notice: first published update - detection; per client, the first update message
  that reached one of its contacts (sent_at) - detection.
- NPS: % promoters (9-10) - % detractors (0-6) of those who answered it, from -100 to 100.
"""

import datetime as dt
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy

from accounts.models import Contact
from comms.models import FAILED_STATUSES, REACHED_STATUSES, MessageStatus
from comms.selectors import message_list
from playbooks.acknowledgements.services import acknowledgement_status
from playbooks.incidents.topics import incident_topic
from playbooks.models import (
    ClientSurvey,
    Incident,
    IncidentUpdate,
    Kind,
    QuestionKind,
    SurveyInvitation,
    SurveyResponse,
)
from playbooks.promises.services import Outcome, cadence_adherence_for
from playbooks.updates.audience import audience_clients

CHANNELS = ("email", "sms")
PROMISE_OUTCOMES = (Outcome.KEPT, Outcome.KEPT_LATE, Outcome.HOLDING, Outcome.MISSED)


def share(part, whole):
    return None if not whole else part / whole


def average(values):
    values = [value for value in values if value is not None]
    return None if not values else sum(values) / len(values)


def nps_score(values):
    """% promoters (9-10) - % detractors (0-6), or None when nobody answered."""
    values = [value for value in values if value is not None]
    if not values:
        return None
    promoters = sum(1 for value in values if value >= 9)
    detractors = sum(1 for value in values if value <= 6)
    return 100 * (promoters - detractors) / len(values)


@dataclass
class ChannelDelivery:
    """Update messages of one channel and how they ended."""

    channel: str
    messages: int = 0
    reached: int = 0  # sent or delivered
    delivered: int = 0  # delivery confirmed by the provider
    failed: int = 0  # failed, undelivered or bounced

    @property
    def pending(self):
        return self.messages - self.reached - self.failed

    @property
    def reached_share(self):
        return share(self.reached, self.messages)

    @property
    def delivered_share(self):
        return share(self.delivered, self.messages)

    @property
    def failed_share(self):
        return share(self.failed, self.messages)

    def count(self, status):
        self.messages += 1
        if status in REACHED_STATUSES:
            self.reached += 1
        if status == MessageStatus.DELIVERED:
            self.delivered += 1
        if status in FAILED_STATUSES:
            self.failed += 1

    def add(self, other):
        self.messages += other.messages
        self.reached += other.reached
        self.delivered += other.delivered
        self.failed += other.failed


def _channels():
    return {channel: ChannelDelivery(channel) for channel in CHANNELS}


@dataclass
class Scores:
    """Survey answers of a group of responses: the values given, and what they add up to."""

    csat_answers: list = field(default_factory=list)
    kept_informed_answers: list = field(default_factory=list)
    clarity_answers: list = field(default_factory=list)
    nps_answers: list = field(default_factory=list)

    FIELDS = ("csat", "kept_informed", "clarity", "nps")

    def add_response(self, response):
        for name in self.FIELDS:
            value = getattr(response, name)
            if value is not None:
                getattr(self, f"{name}_answers").append(value)

    def add(self, other):
        for name in self.FIELDS:
            getattr(self, f"{name}_answers").extend(getattr(other, f"{name}_answers"))

    @property
    def csat_average(self):
        return average(self.csat_answers)

    @property
    def kept_informed_average(self):
        return average(self.kept_informed_answers)

    @property
    def clarity_average(self):
        return average(self.clarity_answers)

    @property
    def nps(self):
        return nps_score(self.nps_answers)

    @property
    def promoters(self):
        return sum(1 for value in self.nps_answers if value >= 9)

    @property
    def passives(self):
        return sum(1 for value in self.nps_answers if 7 <= value <= 8)

    @property
    def detractors(self):
        return sum(1 for value in self.nps_answers if value <= 6)


@dataclass
class Comment:
    client_name: str
    contact_name: str
    text: str
    at: dt.datetime
    question: str = ""  # "" for the open comment, else the extra question's words


@dataclass
class QuestionFigures:
    """One of the playbook's extra questions: its average (scale) or its answers (text)."""

    text: str
    kind: str
    values: list = field(default_factory=list)

    @property
    def average(self):
        return average(self.values) if self.kind == QuestionKind.SCALE else None

    @property
    def answers(self):
        return len(self.values)


@dataclass
class ClientFigures:
    """How well one client was kept informed, next to what its people answered."""

    client_id: int
    name: str
    country: str
    contacts_affected: int = 0
    contacts_reached: int = 0
    channels: dict = field(default_factory=_channels)
    first_notice_at: dt.datetime | None = None
    first_notice_after: dt.timedelta | None = None
    invited: int = 0
    answered: int = 0
    scores: Scores = field(default_factory=Scores)
    comments: list = field(default_factory=list)
    open_follow_ups: int = 0

    @property
    def messages(self):
        return sum(channel.messages for channel in self.channels.values())

    @property
    def messages_reached(self):
        return sum(channel.reached for channel in self.channels.values())

    @property
    def reach(self):
        return share(self.contacts_reached, self.contacts_affected)

    @property
    def response_rate(self):
        return share(self.answered, self.invited)


@dataclass
class IncidentMetrics:
    """One incident: action metrics beside sentiment, and the same per client."""

    incident: Incident
    first_notice_at: dt.datetime | None
    time_to_first_notice: dt.timedelta | None
    updates_sent: int
    holding_statements: int
    adherence: object  # playbooks.promises.services.Adherence
    contacts_affected: int
    contacts_reached: int
    channels: dict
    time_to_resolution: dt.timedelta | None
    survey_sent_at: dt.datetime | None
    survey_closes_at: dt.datetime | None
    invited: int
    answered: int
    scores: Scores
    questions: list
    comments: list
    clients: list
    follow_ups: list

    @property
    def reach(self):
        return share(self.contacts_reached, self.contacts_affected)

    @property
    def response_rate(self):
        return share(self.answered, self.invited)

    @property
    def promises(self):
        return {outcome: self.adherence.counts.get(outcome, 0) for outcome in Outcome.ALL}

    @property
    def promises_due(self):
        return sum(self.adherence.counts.get(outcome, 0) for outcome in PROMISE_OUTCOMES)

    @property
    def kept_on_time_share(self):
        return share(self.adherence.counts.get(Outcome.KEPT, 0), self.promises_due)

    @property
    def open_follow_ups(self):
        return [follow_up for follow_up in self.follow_ups if follow_up.is_open]


def affected_contact_ids(incident, update_messages, published_updates):
    """The contacts this incident's updates were for (see the module's definitions)."""
    ids = {row["contact_id"] for row in update_messages}
    for update in published_updates:
        ids.update(item["contact"] for item in (update.audience or {}).get("unreachable", []))
    if not published_updates:
        clients = audience_clients(incident=incident)
        ids.update(Contact.objects.filter(client__in=clients, is_active=True).values_list("pk", flat=True))
    return ids


def _update_messages(incident):
    return list(
        message_list(organization=incident.organization_id, topic=incident_topic(incident))
        .filter(contact__isnull=False, source__startswith="update:")
        .values("contact_id", "channel", "status", "sent_at")
    )


def incident_metrics(*, incident, adherence=None, now=None):
    """Every figure of one incident (about ten queries)."""
    now = now or timezone.now()
    published = list(
        IncidentUpdate.objects.filter(incident=incident, published_at__isnull=False).order_by("published_at", "id")
    )
    first_notice_at = published[0].published_at if published else None
    messages = _update_messages(incident)
    affected = affected_contact_ids(incident, messages, published)
    contacts = {
        contact.pk: contact
        for contact in Contact.objects.filter(
            pk__in=affected, client__organization_id=incident.organization_id
        ).select_related("client")
    }
    clients = {}

    def client_of(contact):
        client = contact.client
        if client.pk not in clients:
            clients[client.pk] = ClientFigures(client_id=client.pk, name=client.name, country=client.country)
        return clients[client.pk]

    for contact in contacts.values():
        client_of(contact).contacts_affected += 1
    channels = _channels()
    reached = set()
    for row in messages:
        contact = contacts.get(row["contact_id"])
        if contact is None:
            continue
        figures = client_of(contact)
        channels[row["channel"]].count(row["status"])
        figures.channels[row["channel"]].count(row["status"])
        if row["status"] in REACHED_STATUSES:
            if contact.pk not in reached:
                reached.add(contact.pk)
                figures.contacts_reached += 1
            sent_at = row["sent_at"]
            if sent_at and (figures.first_notice_at is None or sent_at < figures.first_notice_at):
                figures.first_notice_at = sent_at
    for figures in clients.values():
        if figures.first_notice_at is not None:
            figures.first_notice_after = figures.first_notice_at - incident.detected_at

    survey = ClientSurvey.objects.filter(incident=incident).first()
    invitations = list(SurveyInvitation.objects.filter(survey__incident=incident).select_related("contact__client"))
    for invitation in invitations:
        client_of(invitation.contact).invited += 1
    questions = [
        QuestionFigures(text=_question_words(question, incident), kind=question["kind"])
        for question in (survey.questions if survey else [])
    ]
    by_question = {
        str(question["id"]): figures
        for question, figures in zip(survey.questions if survey else [], questions, strict=False)
    }
    scores = Scores()
    comments = []
    responses = list(
        SurveyResponse.objects.filter(incident=incident)
        .select_related("invitation__contact", "client")
        .order_by("first_answered_at", "id")
    )
    for response in responses:
        contact = response.invitation.contact
        figures = client_of(contact)
        figures.answered += 1
        figures.scores.add_response(response)
        scores.add_response(response)
        if response.comment.strip():
            comment = Comment(
                figures.name,
                contact.name,
                response.comment.strip(),
                response.page_submitted_at or response.first_answered_at,
            )
            comments.append(comment)
            figures.comments.append(comment)
        for key, value in (response.extra_answers or {}).items():
            question = by_question.get(str(key))
            if question is None:
                continue
            question.values.append(value)
            if question.kind == QuestionKind.TEXT and str(value).strip():
                comment = Comment(
                    figures.name,
                    contact.name,
                    str(value).strip(),
                    response.page_submitted_at or response.first_answered_at,
                    question.text,
                )
                comments.append(comment)
                figures.comments.append(comment)
    follow_ups = list(
        incident.follow_ups.select_related("client", "owner", "closed_by").order_by("closed_at", "due_at")
    )
    for follow_up in follow_ups:
        if follow_up.is_open and follow_up.client_id in clients:
            clients[follow_up.client_id].open_follow_ups += 1
    if adherence is None:
        adherence = cadence_adherence_for(incidents=[incident], now=now)[incident.pk]
    return IncidentMetrics(
        incident=incident,
        first_notice_at=first_notice_at,
        time_to_first_notice=(first_notice_at - incident.detected_at) if first_notice_at else None,
        updates_sent=len(published),
        holding_statements=sum(1 for update in published if update.is_holding_statement),
        adherence=adherence,
        contacts_affected=len(contacts),
        contacts_reached=len(reached),
        channels=channels,
        time_to_resolution=(incident.resolved_at - incident.detected_at) if incident.resolved_at else None,
        survey_sent_at=survey.invited_at if survey else None,
        survey_closes_at=survey.closes_at if survey else None,
        invited=len(invitations),
        answered=len(responses),
        scores=scores,
        questions=questions,
        comments=comments,
        clients=sorted(clients.values(), key=lambda figures: figures.name.lower()),
        follow_ups=follow_ups,
    )


def _question_words(question, incident):
    texts = question.get("texts") or {}
    language = incident.plan.get("default_language") or "en"
    return texts.get("en") or texts.get(language) or next(iter(texts.values()), "")


# ---------------------------------------------------------------------------------------------
# Across incidents


@dataclass
class Totals:
    """The same figures summed over a group of incidents (or of clients, for countries)."""

    key: str
    label: str
    incident_ids: set = field(default_factory=set)
    first_notice_seconds: list = field(default_factory=list)
    resolution_seconds: list = field(default_factory=list)
    updates_sent: int = 0
    promises: Counter = field(default_factory=Counter)
    contacts_affected: int = 0
    contacts_reached: int = 0
    channels: dict = field(default_factory=_channels)
    invited: int = 0
    answered: int = 0
    scores: Scores = field(default_factory=Scores)
    open_follow_ups: int = 0

    @property
    def incidents(self):
        return len(self.incident_ids)

    @property
    def first_notice_minutes(self):
        value = average(self.first_notice_seconds)
        return None if value is None else value / 60

    @property
    def resolution_hours(self):
        value = average(self.resolution_seconds)
        return None if value is None else value / 3600

    @property
    def promises_due(self):
        return sum(self.promises[outcome] for outcome in PROMISE_OUTCOMES)

    @property
    def kept_on_time_share(self):
        return share(self.promises[Outcome.KEPT], self.promises_due)

    @property
    def reach(self):
        return share(self.contacts_reached, self.contacts_affected)

    @property
    def response_rate(self):
        return share(self.answered, self.invited)

    def _add_incident_level(self, metrics):
        self.incident_ids.add(metrics.incident.pk)
        if metrics.time_to_resolution is not None:
            self.resolution_seconds.append(metrics.time_to_resolution.total_seconds())
        self.updates_sent += metrics.updates_sent
        for outcome in PROMISE_OUTCOMES:
            self.promises[outcome] += metrics.adherence.counts.get(outcome, 0)

    def add_incident(self, metrics):
        self._add_incident_level(metrics)
        if metrics.time_to_first_notice is not None:
            self.first_notice_seconds.append(metrics.time_to_first_notice.total_seconds())
        self.contacts_affected += metrics.contacts_affected
        self.contacts_reached += metrics.contacts_reached
        for channel, delivery in metrics.channels.items():
            self.channels[channel].add(delivery)
        self.invited += metrics.invited
        self.answered += metrics.answered
        self.scores.add(metrics.scores)
        self.open_follow_ups += len(metrics.open_follow_ups)

    def add_client(self, metrics, client):
        """One client's share of an incident (grouping by the client's country)."""
        if metrics.incident.pk not in self.incident_ids:
            self._add_incident_level(metrics)
        if client.first_notice_after is not None:
            self.first_notice_seconds.append(client.first_notice_after.total_seconds())
        self.contacts_affected += client.contacts_affected
        self.contacts_reached += client.contacts_reached
        for channel, delivery in client.channels.items():
            self.channels[channel].add(delivery)
        self.invited += client.invited
        self.answered += client.answered
        self.scores.add(client.scores)
        self.open_follow_ups += client.open_follow_ups


@dataclass
class Overview:
    metrics: list  # IncidentMetrics, newest first
    total: Totals
    by_kind: list
    by_country: list
    by_month: list


def review_incidents(*, organization, since=None):
    """The incidents leadership reviews: every one that was activated, newest first."""
    incidents = Incident.objects.filter(organization=organization, activated_at__isnull=False).select_related(
        "organization", "playbook"
    )
    if since is not None:
        incidents = incidents.filter(detected_at__gte=since)
    return list(incidents.order_by("-detected_at", "-id"))


def month_of(incident):
    local = incident.detected_at.astimezone(zoneinfo.ZoneInfo(incident.organization.timezone or "UTC"))
    return f"{local:%Y-%m}"


def leadership_overview(*, organization, since=None, now=None):
    """Every reviewed incident's figures, and the same summed by kind, client country and month."""
    now = now or timezone.now()
    incidents = review_incidents(organization=organization, since=since)
    adherence = cadence_adherence_for(incidents=incidents, now=now)
    metrics = [incident_metrics(incident=incident, adherence=adherence[incident.pk], now=now) for incident in incidents]
    total = Totals("all", "All incidents")
    kinds, countries, months = {}, {}, {}
    labels = dict(Kind.choices)
    for figures in metrics:
        total.add_incident(figures)
        kind = figures.incident.kind
        kinds.setdefault(kind, Totals(kind, labels.get(kind, kind))).add_incident(figures)
        month = month_of(figures.incident)
        months.setdefault(month, Totals(month, month)).add_incident(figures)
        for client in figures.clients:
            country = client.country or "?"
            countries.setdefault(country, Totals(country, country)).add_client(figures, client)
    return Overview(
        metrics=metrics,
        total=total,
        by_kind=[kinds[key] for key in sorted(kinds)],
        by_country=[countries[key] for key in sorted(countries)],
        by_month=[months[key] for key in sorted(months)],
    )


def _delivery_figures(delivery):
    return {
        "messages": delivery.messages,
        "reached": delivery.reached,
        "delivered": delivery.delivered,
        "failed": delivery.failed,
        "reached_share": delivery.reached_share,
        "delivered_share": delivery.delivered_share,
        "failed_share": delivery.failed_share,
    }


def totals_figures(totals):
    """A group's figures as plain numbers (shares 0-1, None when nothing to count): the API's view
    of what the leadership page and its CSV show."""
    return {
        "key": totals.key,
        "label": totals.label,
        "incidents": totals.incidents,
        "first_notice_minutes": totals.first_notice_minutes,
        "resolution_hours": totals.resolution_hours,
        "updates_sent": totals.updates_sent,
        "promises": {outcome: totals.promises[outcome] for outcome in PROMISE_OUTCOMES},
        "kept_on_time_share": totals.kept_on_time_share,
        "contacts_affected": totals.contacts_affected,
        "contacts_reached": totals.contacts_reached,
        "reach": totals.reach,
        "email": _delivery_figures(totals.channels["email"]),
        "sms": _delivery_figures(totals.channels["sms"]),
        "invited": totals.invited,
        "answered": totals.answered,
        "response_rate": totals.response_rate,
        "csat_average": totals.scores.csat_average,
        "kept_informed_average": totals.scores.kept_informed_average,
        "clarity_average": totals.scores.clarity_average,
        "nps": totals.scores.nps,
        "nps_answers": len(totals.scores.nps_answers),
        "open_follow_ups": totals.open_follow_ups,
    }


def incident_figures(figures):
    """One incident's figures (as totals_figures) with its kind, state, month and per-client figures."""
    incident = figures.incident
    single = Totals(str(incident.pk), incident.title)
    single.add_incident(figures)
    return {
        **totals_figures(single),
        "incident": incident.pk,
        "kind": incident.kind,
        "state": incident.state,
        "detected_at": incident.detected_at,
        "month": month_of(incident),
        "clients": [
            {
                "client_id": client.client_id,
                "name": client.name,
                "country": client.country,
                "contacts_affected": client.contacts_affected,
                "contacts_reached": client.contacts_reached,
                "reach": client.reach,
                "first_notice_minutes": None
                if client.first_notice_after is None
                else client.first_notice_after.total_seconds() / 60,
                "invited": client.invited,
                "answered": client.answered,
                "response_rate": client.response_rate,
                "csat_average": client.scores.csat_average,
                "nps": client.scores.nps,
                "open_follow_ups": client.open_follow_ups,
            }
            for client in figures.clients
        ],
    }


def _number(value, digits=1):
    return "" if value is None else f"{value:.{digits}f}"


def _percent(value):
    return "" if value is None else f"{100 * value:.1f}"


def _minutes(delta):
    return "" if delta is None else f"{delta.total_seconds() / 60:.1f}"


def _hours(delta):
    return "" if delta is None else f"{delta.total_seconds() / 3600:.1f}"


FIGURE_HEADER = [
    "incidents",
    "first_notice_minutes",
    "resolution_hours",
    "updates_sent",
    "promises_kept",
    "promises_kept_late",
    "promises_holding",
    "promises_missed",
    "kept_on_time_percent",
    "contacts_affected",
    "contacts_reached",
    "reach_percent",
    "email_messages",
    "email_reached_percent",
    "email_delivered_percent",
    "email_failed_percent",
    "sms_messages",
    "sms_reached_percent",
    "sms_delivered_percent",
    "sms_failed_percent",
    "invited",
    "answered",
    "response_rate_percent",
    "csat_average",
    "kept_informed_average",
    "clarity_average",
    "nps",
    "nps_answers",
    "open_follow_ups",
]


def _channel_columns(delivery):
    return [
        delivery.messages,
        _percent(delivery.reached_share),
        _percent(delivery.delivered_share),
        _percent(delivery.failed_share),
    ]


def totals_row(totals):
    """The FIGURE_HEADER values of a group, as CSV strings."""
    return [
        totals.incidents,
        _number(totals.first_notice_minutes),
        _number(totals.resolution_hours),
        totals.updates_sent,
        totals.promises[Outcome.KEPT],
        totals.promises[Outcome.KEPT_LATE],
        totals.promises[Outcome.HOLDING],
        totals.promises[Outcome.MISSED],
        _percent(totals.kept_on_time_share),
        totals.contacts_affected,
        totals.contacts_reached,
        _percent(totals.reach),
        *_channel_columns(totals.channels["email"]),
        *_channel_columns(totals.channels["sms"]),
        totals.invited,
        totals.answered,
        _percent(totals.response_rate),
        _number(totals.scores.csat_average, 2),
        _number(totals.scores.kept_informed_average, 2),
        _number(totals.scores.clarity_average, 2),
        _number(totals.scores.nps),
        len(totals.scores.nps_answers),
        totals.open_follow_ups,
    ]


INCIDENT_HEADER = ["incident_id", "title", "kind", "playbook", "state", "detected_at", "month", "countries"]


def overview_csv_rows(overview, *, group="incident"):
    """Header and rows: one per incident, or one per group (kind, country, month)."""
    if group == "incident":
        yield INCIDENT_HEADER + FIGURE_HEADER
        for figures in overview.metrics:
            incident = figures.incident
            single = Totals(str(incident.pk), incident.title)
            single.add_incident(figures)
            countries = sorted({client.country for client in figures.clients if client.country})
            yield [
                incident.pk,
                incident.title,
                incident.kind,
                incident.playbook.name,
                incident.state,
                incident.detected_at.astimezone(dt.UTC).isoformat(),
                month_of(incident),
                " ".join(countries),
                *totals_row(single),
            ]
        return
    groups = {"kind": overview.by_kind, "country": overview.by_country, "month": overview.by_month}[group]
    yield [group, "label", *FIGURE_HEADER]
    for totals in [*groups]:
        yield [totals.key, totals.label, *totals_row(totals)]
    yield ["all", overview.total.label, *totals_row(overview.total)]


# ---------------------------------------------------------------------------------------------
# Proof of notification


SOURCE_LABELS = {
    "update": "Update #{}",
    "survey": "Survey invitation",
    "survey-reminder": "Survey reminder",
    "ack-reminder": "Acknowledgement reminder",
}


def is_holding_statement(source, holding_ids):
    prefix, _, value = source.partition(":")
    return prefix == "update" and value.isdigit() and int(value) in holding_ids


def source_label(source, holding_ids=()):
    """What a message was, in English: the proof's CSV and API keep these words stable."""
    prefix, _, value = source.partition(":")
    if is_holding_statement(source, holding_ids):
        return f"Holding statement #{value}"
    return SOURCE_LABELS.get(prefix, source).format(value)


def source_label_translated(source, is_holding=False):
    """What a message was, in the reader's language, for the proof page."""
    prefix, _, value = source.partition(":")
    if prefix == "update":
        if is_holding:
            return gettext("Holding statement #%(number)s") % {"number": value}
        return gettext("Update #%(number)s") % {"number": value}
    words = {
        "survey": gettext("Survey invitation"),
        "survey-reminder": gettext("Survey reminder"),
        "ack-reminder": gettext("Acknowledgement reminder"),
    }
    return words.get(prefix, source)


# A message's final status and the SMS consent at send, as the proof page shows them (the CSV and
# the API keep the machine values).
STATUS_WORDS = {
    "queued": pgettext_lazy("message status", "queued"),
    "sending": pgettext_lazy("message status", "sending"),
    "sent": pgettext_lazy("message status", "sent"),
    "delivered": pgettext_lazy("message status", "delivered"),
    "undelivered": pgettext_lazy("message status", "undelivered"),
    "failed": pgettext_lazy("message status", "failed"),
    "bounced": pgettext_lazy("message status", "bounced"),
}
CONSENT_WORDS = {
    "unknown": pgettext_lazy("SMS consent", "not asked"),
    "granted": pgettext_lazy("SMS consent", "granted"),
    "opted_out": pgettext_lazy("SMS consent", "opted out"),
}


@dataclass
class ProofMessage:
    message_id: int
    what: str
    channel: str
    to_address: str
    queued_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    failed_at: dt.datetime | None
    status: str
    provider: str
    provider_message_id: str
    error: str
    consent_at_send: str
    source: str = ""
    is_holding: bool = False

    @property
    def what_label(self):
        return source_label_translated(self.source, self.is_holding) if self.source else self.what

    @property
    def status_label(self):
        return STATUS_WORDS.get(self.status, self.status)

    @property
    def consent_label(self):
        return CONSENT_WORDS.get(self.consent_at_send, self.consent_at_send)


@dataclass
class ProofContact:
    contact_id: int
    name: str
    is_affected: bool
    not_reached_reason: str
    messages: list = field(default_factory=list)

    @property
    def was_reached(self):
        """Whether an update or holding statement reached this contact (sent or delivered)."""
        return any(
            message.status in REACHED_STATUSES
            for message in self.messages
            if message.what.startswith(("Update", "Holding"))
        )


@dataclass
class ProofClient:
    client_id: int
    name: str
    country: str
    acknowledgements: list = field(default_factory=list)  # playbooks.acknowledgements.services.AcknowledgementStatus
    contacts: list = field(default_factory=list)

    @property
    def acknowledgements_text(self):
        return "; ".join(_acknowledgement_text(status) for status in self.acknowledgements)


def _acknowledgement_text(status):
    if status.is_confirmed:
        return (
            f"{status.stage}: confirmed {status.confirmed_at.astimezone(dt.UTC).isoformat()} by "
            f"{status.confirmed_by or 'unknown'} via {status.confirmed_via}"
        )
    return f"{status.stage}: not confirmed (asked {status.requested_at.astimezone(dt.UTC).isoformat()})"


@dataclass
class ProofOfNotification:
    incident: Incident
    generated_at: dt.datetime
    clients: list

    @property
    def contacts(self):
        return sum(len(client.contacts) for client in self.clients)

    @property
    def messages(self):
        return sum(len(contact.messages) for client in self.clients for contact in client.contacts)


def proof_of_notification(*, incident, now=None):
    """Every affected contact with every message sent to them about the incident (updates,
    reminders, survey), its channel, times, provider id, final status and the consent state at
    send time; per client, the acknowledgements. Contacts never messaged say why."""
    published = list(
        IncidentUpdate.objects.filter(incident=incident, published_at__isnull=False).order_by("published_at")
    )
    holding_ids = {update.pk for update in published if update.is_holding_statement}
    reasons = {}
    for update in published:
        for item in (update.audience or {}).get("unreachable", []):
            reasons[item["contact"]] = item.get("reason", "")
    messages = list(
        message_list(organization=incident.organization_id, topic=incident_topic(incident))
        .filter(contact__isnull=False)
        .order_by("queued_at", "id")
    )
    affected = affected_contact_ids(
        incident,
        [{"contact_id": message.contact_id} for message in messages if message.source.startswith("update:")],
        published,
    )
    contact_ids = affected | {message.contact_id for message in messages}
    contacts = Contact.objects.filter(
        pk__in=contact_ids, client__organization_id=incident.organization_id
    ).select_related("client")
    clients = {}
    people = {}
    for contact in sorted(contacts, key=lambda c: (c.client.name.lower(), c.name.lower(), c.pk)):
        client = clients.setdefault(
            contact.client_id, ProofClient(contact.client_id, contact.client.name, contact.client.country)
        )
        person = ProofContact(contact.pk, contact.name, contact.pk in affected, reasons.get(contact.pk, ""))
        client.contacts.append(person)
        people[contact.pk] = person
    for message in messages:
        person = people.get(message.contact_id)
        if person is None:
            continue
        person.messages.append(
            ProofMessage(
                message_id=message.pk,
                what=source_label(message.source, holding_ids),
                channel=message.channel,
                to_address=message.to_address,
                queued_at=message.queued_at,
                sent_at=message.sent_at,
                delivered_at=message.delivered_at,
                failed_at=message.failed_at,
                status=message.status,
                provider=message.provider,
                provider_message_id=message.provider_message_id,
                error=" ".join(part for part in (message.error_code, message.last_error) if part),
                consent_at_send=message.consent_at_send,
                source=message.source,
                is_holding=is_holding_statement(message.source, holding_ids),
            )
        )
    for status in acknowledgement_status(incident=incident):
        if status.client_id in clients:
            clients[status.client_id].acknowledgements.append(status)
    return ProofOfNotification(
        incident=incident,
        generated_at=now or timezone.now(),
        clients=sorted(clients.values(), key=lambda client: client.name.lower()),
    )


PROOF_HEADER = [
    "incident_id",
    "client",
    "client_country",
    "contact_id",
    "contact",
    "message_id",
    "what",
    "channel",
    "to_address",
    "queued_at",
    "sent_at",
    "delivered_at",
    "failed_at",
    "final_status",
    "provider",
    "provider_message_id",
    "error",
    "consent_at_send",
    "client_acknowledgements",
]


def _iso(moment):
    return "" if moment is None else moment.astimezone(dt.UTC).isoformat()


def proof_csv_rows(proof):
    """Header and one row per message (a contact never messaged gets one row saying why)."""
    yield PROOF_HEADER
    incident_id = proof.incident.pk
    for client in proof.clients:
        acknowledgements = client.acknowledgements_text
        for person in client.contacts:
            base = [incident_id, client.name, client.country, person.contact_id, person.name]
            if not person.messages:
                yield [
                    *base,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"not sent: {person.not_reached_reason or 'no accepted channel'}",
                    "",
                    "",
                    "",
                    "",
                    acknowledgements,
                ]
                continue
            for message in person.messages:
                yield [
                    *base,
                    message.message_id,
                    message.what,
                    message.channel,
                    message.to_address,
                    _iso(message.queued_at),
                    _iso(message.sent_at),
                    _iso(message.delivered_at),
                    _iso(message.failed_at),
                    message.status,
                    message.provider,
                    message.provider_message_id,
                    message.error,
                    message.consent_at_send,
                    acknowledgements,
                ]
