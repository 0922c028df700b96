"""Who hears about an incident: the one audience rule, scope -> clients -> contacts -> channels.

Publishing, the audience preview, the status pages, the surveys and the acknowledgement chases
all ask here, so a client is in or out of an incident for the same reason everywhere.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import ClientAccount, Contact, EmailStatus, SmsConsent

# What the pipeline reads of a contact; loading less keeps a 100,000-contact publish quick.
AUDIENCE_FIELDS = (
    "name",
    "email",
    "email_status",
    "phone",
    "language",
    "timezone",
    "accepts_email",
    "accepts_sms",
    "sms_consent",
    "is_active",
    "client__name",
    "client__default_language",
    "client__timezone",
)


@dataclass(frozen=True)
class Scope:
    """Which clients an incident affects: chosen ones, tags, countries, or all of them."""

    chosen_ids: frozenset
    tags: frozenset
    countries: frozenset  # upper-case ISO codes
    all_clients: bool = False

    def reason(self, *, client_id, client_tags, client_country, is_chosen=None):
        """Why a client is in scope: {"tags", "countries", "chosen"} or {"all": True}; {} when out."""
        if self.all_clients:
            return {"all": True}
        chosen = client_id in self.chosen_ids if is_chosen is None else is_chosen
        matching_tags = sorted(self.tags.intersection(client_tags or []))
        country = (client_country or "").upper()
        in_country = country in self.countries
        if not (matching_tags or in_country or chosen):
            return {}
        return {"tags": matching_tags, "countries": [country] if in_country else [], "chosen": bool(chosen)}

    def includes(self, client):
        return bool(self.reason(client_id=client.pk, client_tags=client.tags, client_country=client.country))


def scope_of(*, chosen_ids, tags, countries, plan_audience):
    """The incident's own scope; with none chosen, the playbook's audience rule."""
    chosen_ids, tags, countries = frozenset(chosen_ids), set(tags or []), set(countries or [])
    if not (chosen_ids or tags or countries):
        rule = plan_audience or {}
        if rule.get("all_clients"):
            return Scope(frozenset(), frozenset(), frozenset(), all_clients=True)
        tags, countries = set(rule.get("tags", [])), set(rule.get("countries", []))
    return Scope(chosen_ids, frozenset(tags), frozenset(country.upper() for country in countries))


def incident_scope(incident):
    return scope_of(
        chosen_ids=incident.affected_clients.values_list("pk", flat=True),
        tags=incident.affected_tags,
        countries=incident.affected_countries,
        plan_audience=incident.plan.get("audience", {}),
    )


def audience_clients(*, incident):
    """The clients this incident affects now."""
    scope = incident_scope(incident)
    clients = ClientAccount.objects.filter(organization_id=incident.organization_id)
    return [client for client in clients if scope.includes(client)]


@dataclass
class Audience:
    contacts: list  # the contacts considered
    email: list  # reached by email
    sms: list  # reached by SMS
    unreachable: list  # (contact, reason)


def audience_of(contacts):
    """Split contacts by the channels that reach them now: accepted, consented, deliverable."""
    email, sms, unreachable = [], [], []
    for contact in contacts:
        reached = False
        if contact.can_receive_email:
            email.append(contact)
            reached = True
        if contact.can_receive_sms:
            sms.append(contact)
            reached = True
        if not reached:
            unreachable.append((contact, unreachable_reason(contact)))
    return Audience(contacts=list(contacts), email=email, sms=sms, unreachable=unreachable)


def audience_contacts(*, client_ids=None, contact_ids=None):
    """Active contacts of these clients (or these contacts), with what the pipeline reads."""
    contacts = Contact.objects.filter(is_active=True)
    if client_ids is not None:
        contacts = contacts.filter(client__in=client_ids)
    if contact_ids is not None:
        contacts = contacts.filter(pk__in=contact_ids)
    return list(contacts.select_related("client").only(*AUDIENCE_FIELDS).order_by("id"))


def audience_for(*, incident):
    """Affected clients -> active contacts -> accepted channels, minus opted-out SMS and bad emails."""
    clients = audience_clients(incident=incident)
    return audience_of(audience_contacts(client_ids=[client.pk for client in clients]))


def unreachable_reason_words(contact):
    """Why a contact cannot be reached, for the reader of the console (their language)."""
    reasons = []
    if contact.accepts_email:
        reasons.append(
            _("no email address")
            if not contact.email
            else _("email: %(status)s") % {"status": EmailStatus(contact.email_status).label.lower()}
        )
    if contact.accepts_sms:
        reasons.append(
            _("no mobile number")
            if not contact.phone
            else _("SMS consent: %(consent)s") % {"consent": SmsConsent(contact.sms_consent).label.lower()}
        )
    return ", ".join(reasons) or _("accepts no channel")


def unreachable_reason(contact):
    """Why a contact cannot be reached, as the records keep it (English, with the stored codes)."""
    reasons = []
    if contact.accepts_email:
        reasons.append("no email address" if not contact.email else f"email {contact.email_status}")
    if contact.accepts_sms:
        if not contact.phone:
            reasons.append("no mobile number")
        else:
            reasons.append(f"SMS consent {contact.sms_consent}")
    return ", ".join(reasons) or "accepts no channel"


def audience_contact_keys(*, incident):
    """The contacts an incident reaches now, cheaply (no model instances, for 100,000 of them):
    (id, language, client's language, accepts email, accepts SMS), in id order. Which channels
    reach each one is decided when their messages are written (audience_of)."""
    client_ids = [client.pk for client in audience_clients(incident=incident)]
    return list(
        Contact.objects.filter(is_active=True, client__in=client_ids)
        .order_by("id")
        .values_list("id", "language", "client__default_language", "accepts_email", "accepts_sms")
    )
