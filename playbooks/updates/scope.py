"""Changing who an incident affects while it runs: the commander's new clients, tags and countries,
who that adds or removes (the preview), the timeline entry naming who changed what, and the
latest published update for the contacts newly in scope (through the one pipeline, under the
same source, so nobody who already has it gets it twice).
"""

import re
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ClientAccount
from candor.helpers import display_name
from playbooks.incidents import events
from playbooks.incidents.events import IncidentEvent, incident_event_emit
from playbooks.incidents.services import timeline_record
from playbooks.models import PUBLISHABLE_STATES, Incident, IncidentUpdate, TimelineKind
from playbooks.updates.audience import audience_contacts, audience_of, scope_of
from playbooks.updates.services import update_send_to_contacts

COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


@dataclass
class ScopeDiff:
    """Who a scope change adds and removes: clients and the active contacts of them."""

    clients_added: list = field(default_factory=list)  # ClientAccount
    clients_removed: list = field(default_factory=list)
    contacts_added: list = field(default_factory=list)  # Contact
    contacts_removed: list = field(default_factory=list)

    def as_dict(self):
        def contact_row(contact):
            return {"contact": contact.pk, "name": contact.name, "client": contact.client.name}

        return {
            "clients_added": [{"id": client.pk, "name": client.name} for client in self.clients_added],
            "clients_removed": [{"id": client.pk, "name": client.name} for client in self.clients_removed],
            "contacts_added": [contact_row(contact) for contact in self.contacts_added],
            "contacts_removed": [contact_row(contact) for contact in self.contacts_removed],
        }


def _clean_scope(*, incident, clients, tags, countries):
    errors = {}
    clients = list(clients)
    if any(client.organization_id != incident.organization_id for client in clients):
        errors["affected_clients"] = ValidationError(
            _("Affected clients must belong to this organisation."), code="other_organization"
        )
    tags = sorted({str(tag).strip() for tag in tags if str(tag).strip()})
    countries = sorted({str(country).strip().upper() for country in countries if str(country).strip()})
    bad = [country for country in countries if not COUNTRY_CODE.match(country)]
    if bad:
        errors["affected_countries"] = ValidationError(
            _("Use two-letter country codes (ISO 3166), not %(codes)s."),
            code="invalid_country",
            params={"codes": ", ".join(bad)},
        )
    if errors:
        raise ValidationError(errors)
    return clients, tags, countries


def _clients_in(incident, scope):
    clients = ClientAccount.objects.filter(organization_id=incident.organization_id).order_by("name", "pk")
    return [client for client in clients if scope.includes(client)]


def _current_scope(incident):
    return scope_of(
        chosen_ids=incident.affected_clients.values_list("pk", flat=True),
        tags=incident.affected_tags,
        countries=incident.affected_countries,
        plan_audience=incident.plan.get("audience", {}),
    )


def scope_change_preview(*, incident, clients, tags, countries):
    """Who the new scope would add and remove, without changing anything."""
    clients, tags, countries = _clean_scope(incident=incident, clients=clients, tags=tags, countries=countries)
    new_scope = scope_of(
        chosen_ids=[client.pk for client in clients],
        tags=tags,
        countries=countries,
        plan_audience=incident.plan.get("audience", {}),
    )
    return _diff(_clients_in(incident, _current_scope(incident)), _clients_in(incident, new_scope))


def _diff(before_clients, after_clients):
    before_ids = {client.pk for client in before_clients}
    after_ids = {client.pk for client in after_clients}
    before_contacts = {contact.pk: contact for contact in audience_contacts(client_ids=list(before_ids))}
    after_contacts = {contact.pk: contact for contact in audience_contacts(client_ids=list(after_ids))}
    return ScopeDiff(
        clients_added=[client for client in after_clients if client.pk not in before_ids],
        clients_removed=[client for client in before_clients if client.pk not in after_ids],
        contacts_added=[contact for pk, contact in after_contacts.items() if pk not in before_contacts],
        contacts_removed=[contact for pk, contact in before_contacts.items() if pk not in after_contacts],
    )


def _names(items):
    return ", ".join(item.name for item in items)


def _describe(actor, diff, before, after):
    changes = []
    if diff.clients_added:
        changes.append(f"added clients {_names(diff.clients_added)}")
    if diff.clients_removed:
        changes.append(f"removed clients {_names(diff.clients_removed)}")
    for label, key in (("tags", "tags"), ("countries", "countries"), ("chosen clients", "client_names")):
        if before[key] != after[key]:
            changes.append(f"{label} {', '.join(before[key]) or '(none)'} -> {', '.join(after[key]) or '(none)'}")
    summary = "; ".join(changes) or "no change to who is affected"
    return (
        f"{display_name(actor)} changed the scope: {summary}. "
        f"{len(diff.contacts_added)} contacts added, {len(diff.contacts_removed)} removed."
    )


def incident_scope_change(*, incident, actor, clients, tags, countries):
    """Set the incident's affected clients, tags and countries (each the whole new list).

    Records who changed what on the timeline, and sends the latest published update to the
    contacts newly in scope (same source as the original, so a contact who already has it gets
    nothing twice). Returns the ScopeDiff and the number of messages queued for new contacts.
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).select_related("organization").get(pk=incident.pk)
        if not (actor and actor.is_authenticated and actor.can_run_incidents_of(incident.organization_id)):
            raise PermissionDenied(_("Only commanders and admins of this organisation may change who is affected."))
        if incident.is_final:
            raise ValidationError(
                _("The incident is in the stage “%(stage)s”: its scope can no longer change."),
                code="invalid_state",
                params={"stage": incident.state_label},
            )
        clients, tags, countries = _clean_scope(incident=incident, clients=clients, tags=tags, countries=countries)
        before_clients = _clients_in(incident, _current_scope(incident))
        before = {
            "client_names": sorted(client.name for client in incident.affected_clients.all()),
            "client_ids": sorted(incident.affected_clients.values_list("pk", flat=True)),
            "tags": sorted(incident.affected_tags or []),
            "countries": sorted(incident.affected_countries or []),
        }
        Incident.objects.filter(pk=incident.pk).update(affected_tags=tags, affected_countries=countries)
        incident.affected_tags, incident.affected_countries = tags, countries
        incident.affected_clients.set(clients)
        after = {
            "client_names": sorted(client.name for client in clients),
            "client_ids": sorted(client.pk for client in clients),
            "tags": tags,
            "countries": countries,
        }
        diff = _diff(before_clients, _clients_in(incident, _current_scope(incident)))
        now = timezone.now()
        timeline_record(
            incident=incident,
            kind=TimelineKind.SCOPE,
            actor=actor,
            note=_describe(actor, diff, before, after),
            data={
                "before": before,
                "after": after,
                "clients_added": [client.pk for client in diff.clients_added],
                "clients_removed": [client.pk for client in diff.clients_removed],
                "contacts_added": len(diff.contacts_added),
                "contacts_removed": len(diff.contacts_removed),
            },
            at=now,
        )
        queued = 0
        latest = (
            IncidentUpdate.objects.filter(incident=incident, published_at__isnull=False)
            .order_by("-published_at", "-pk")
            .first()
        )
        if latest is not None and diff.contacts_added and incident.state in PUBLISHABLE_STATES:
            queued = update_send_to_contacts(
                update=latest, incident=incident, contacts=audience_of(diff.contacts_added)
            )
            timeline_record(
                incident=incident,
                kind=TimelineKind.UPDATE_PUBLISHED,
                actor=actor,
                note=f"Update #{latest.pk} sent to the {len(diff.contacts_added)} contacts newly in scope "
                f"({queued} messages).",
                data={"update": latest.pk, "newly_in_scope": [contact.pk for contact in diff.contacts_added]},
                at=now,
            )
        # Features take their turn (the stage's acknowledgement request for newly affected clients).
        incident_event_emit(IncidentEvent(events.SCOPE_CHANGED, incident, update=latest, at=now))
    return diff, queued


def incident_make_public(*, incident, actor, is_public=True):
    """Show (or stop showing) the incident on the organisation's public status page, on the timeline."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if not (actor and actor.is_authenticated and actor.can_run_incidents_of(incident.organization_id)):
            raise PermissionDenied(_("Only commanders and admins of this organisation may make an incident public."))
        if incident.is_public == is_public:
            return incident
        if is_public and incident.state == "draft":
            raise ValidationError(_("A draft incident cannot be public: activate it first."), code="draft")
        Incident.objects.filter(pk=incident.pk).update(is_public=is_public)
        incident.is_public = is_public
        timeline_record(
            incident=incident,
            kind=TimelineKind.NOTE,
            actor=actor,
            note=f"{display_name(actor)} "
            + (
                "made the incident public on the status page."
                if is_public
                else "took the incident off the public status page."
            ),
            data={"is_public": is_public},
        )
    return incident
