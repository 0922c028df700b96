"""Alert-triggered activation: monitoring posts an alert, Candor opens a draft incident and asks
the on-duty commander to confirm or dismiss it. Nothing reaches clients without a human.

Two payloads are understood: a generic JSON object and the Prometheus Alertmanager webhook
(version 4). Repeats of one problem (same fingerprint) while its alert waits for a decision, or
while its incident is live, only bump a counter.
"""

import hashlib
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ClientAccount, Role, User
from candor.helpers import display_name
from comms.notifications import TeamNoticeWords, team_notify
from playbooks.incidents.services import incident_create, incident_transition, timeline_record
from playbooks.models import AlertEndpoint, AlertStatus, InboundAlert, Severity, State, TimelineKind
from playbooks.promises.services import incident_team_notify

logger = logging.getLogger("candor.alerts")

SEVERITY_WORDS = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "sev1": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "major": Severity.MAJOR,
    "high": Severity.MAJOR,
    "error": Severity.MAJOR,
    "sev2": Severity.MAJOR,
    "p2": Severity.MAJOR,
    "minor": Severity.MINOR,
    "warning": Severity.MINOR,
    "warn": Severity.MINOR,
    "medium": Severity.MINOR,
    "sev3": Severity.MINOR,
    "p3": Severity.MINOR,
    "low": Severity.LOW,
    "info": Severity.LOW,
    "informational": Severity.LOW,
    "sev4": Severity.LOW,
    "p4": Severity.LOW,
}
MAX_TITLE = 200
MAX_FINGERPRINT = 200


class AlertSpec:
    """One problem as read from a payload."""

    def __init__(self, *, fingerprint, title, severity, summary, firing, detail, labels=None):
        self.fingerprint = fingerprint
        self.title = title
        self.severity = severity
        self.summary = summary
        self.firing = firing
        self.detail = detail
        self.labels = labels or {}  # label name -> [values], across the payload's alerts


def _collect_labels(into, labels):
    """Add a {name: value} mapping's values to `into` ({name: [values]}); "a, b" is two values."""
    for name, value in (labels or {}).items():
        if not isinstance(name, str) or not isinstance(value, (str, int, float)) or isinstance(value, bool):
            continue
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in into.setdefault(name, []):
                into[name].append(part)
    return into


def alert_scope(*, endpoint, labels):
    """The incident scope an alert's labels give through the endpoint's mapping:
    (clients, tags, countries); all empty when no mapped label is present."""
    clients, tags, countries = [], [], []
    for label, target in (endpoint.scope_labels or {}).items():
        values = labels.get(label) or []
        if target == "tags":
            tags.extend(value for value in values if value not in tags)
        elif target == "countries":
            countries.extend(value.upper() for value in values if len(value) == 2 and value.upper() not in countries)
        elif target == "clients":
            clients.extend(
                ClientAccount.objects.filter(organization_id=endpoint.organization_id, name__in=values).exclude(
                    pk__in=[client.pk for client in clients]
                )
            )
    return clients, tags, countries


# ---------------------------------------------------------------------------------------------
# Reading payloads


def alert_specs_from_payload(payload):
    """The problems a payload reports, or ValidationError with errors per field."""
    if not isinstance(payload, dict):
        raise ValidationError({"body": "Send a JSON object."})
    if isinstance(payload.get("alerts"), list) and ("groupKey" in payload or "version" in payload):
        return [_alertmanager_spec(payload)]
    return [_generic_spec(payload)]


def _text(value, name, errors, *, required=False):
    if value is None or value == "":
        if required:
            errors[name] = "This field is required."
        return ""
    if not isinstance(value, str):
        errors[name] = "Must be a string."
        return ""
    return value.strip()


def _severity(value, name, errors):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors[name] = "Use 1-4 or a word like critical, major, warning, info."
        return None
    if isinstance(value, int):
        if value in Severity.values:
            return value
        errors[name] = "A number severity must be 1 (critical) to 4 (low)."
        return None
    if isinstance(value, str):
        word = value.strip().lower().replace(" ", "")
        if word.isdigit() and int(word) in Severity.values:
            return int(word)
        return SEVERITY_WORDS.get(word)  # an unknown word: the playbook's default severity
    errors[name] = "Use 1-4 or a word like critical, major, warning, info."
    return None


def _status(value, name, errors):
    if value in (None, ""):
        return True
    if value not in ("firing", "resolved"):
        errors[name] = 'Use "firing" or "resolved".'
        return True
    return value == "firing"


def _digest(*parts):
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _generic_spec(payload):
    errors = {}
    title = _text(payload.get("title"), "title", errors, required=True)
    fingerprint = _text(payload.get("fingerprint"), "fingerprint", errors)
    summary = _text(payload.get("summary"), "summary", errors)
    severity = _severity(payload.get("severity"), "severity", errors)
    firing = _status(payload.get("status"), "status", errors)
    tags = payload.get("tags") or []
    if isinstance(tags, dict):
        if not all(isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in tags.items()):
            errors["tags"] = "Tags are a list of strings or an object of string values."
        tags = [f"{key}={value}" for key, value in tags.items()]
    elif not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        errors["tags"] = "Tags are a list of strings or an object of string values."
        tags = []
    if len(fingerprint) > MAX_FINGERPRINT:
        errors["fingerprint"] = f"At most {MAX_FINGERPRINT} characters."
    if errors:
        raise ValidationError(errors)
    fingerprint = fingerprint or "g:" + _digest(" ".join(title.lower().split()), *sorted(tags))
    labels = _collect_labels({}, payload.get("labels") if isinstance(payload.get("labels"), dict) else {})
    for tag in tags:
        name, separator, value = tag.partition("=") if "=" in tag else tag.partition(":")
        if separator:
            _collect_labels(labels, {name.strip(): value})
    if tags:
        summary = (summary + "\n\n" if summary else "") + "Tags: " + ", ".join(tags)
    return AlertSpec(
        labels=labels,
        fingerprint=fingerprint,
        title=title[:MAX_TITLE],
        severity=severity,
        summary=summary,
        firing=firing,
        detail={"format": "generic", "tags": tags},
    )


def _alertmanager_spec(payload):
    errors = {}
    alerts = payload.get("alerts")
    if not alerts:
        errors["alerts"] = "At least one alert is needed."
    elif not all(isinstance(alert, dict) for alert in alerts):
        errors["alerts"] = "Each alert must be an object."
    for key in ("commonLabels", "commonAnnotations", "groupLabels"):
        if payload.get(key) is not None and not isinstance(payload.get(key), dict):
            errors[key] = "Must be an object."
    group_key = payload.get("groupKey")
    if group_key is not None and not isinstance(group_key, str):
        errors["groupKey"] = "Must be a string."
    firing = _status(payload.get("status"), "status", errors)
    if errors:
        raise ValidationError(errors)
    common_labels = payload.get("commonLabels") or {}
    common_annotations = payload.get("commonAnnotations") or {}
    first_labels = alerts[0].get("labels") if isinstance(alerts[0].get("labels"), dict) else {}
    first_annotations = alerts[0].get("annotations") if isinstance(alerts[0].get("annotations"), dict) else {}
    name = common_labels.get("alertname") or first_labels.get("alertname") or "Alert"
    title = str(
        common_annotations.get("summary")
        or common_annotations.get("title")
        or (first_annotations.get("summary") if len(alerts) == 1 else "")
        or name
    ).strip()
    severity = _severity(common_labels.get("severity") or first_labels.get("severity"), "commonLabels.severity", {})
    # The group is Alertmanager's own notion of "one problem": it re-sends the whole group on every
    # repeat and when alerts join it, so the group key is the fingerprint.
    if group_key:
        fingerprint = "am:" + _digest(group_key)
    else:
        members = sorted(
            str(alert.get("fingerprint") or sorted((alert.get("labels") or {}).items())) for alert in alerts
        )
        fingerprint = "am:" + _digest(*members)
    lines = []
    description = common_annotations.get("description")
    if description:
        lines.append(str(description))
    firing_alerts = [alert for alert in alerts if alert.get("status", "firing") == "firing"]
    lines.append(f"{len(firing_alerts)} of {len(alerts)} alerts firing.")
    for alert in alerts[:20]:
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        where = labels.get("instance") or labels.get("service") or labels.get("job") or ""
        what = annotations.get("summary") or labels.get("alertname") or ""
        lines.append(f"- [{alert.get('status', 'firing')}] {what} {where}".rstrip())
    labels = _collect_labels({}, common_labels)
    for alert in alerts:
        _collect_labels(labels, alert.get("labels") if isinstance(alert.get("labels"), dict) else {})
    return AlertSpec(
        labels=labels,
        fingerprint=fingerprint,
        title=title[:MAX_TITLE],
        severity=severity,
        summary="\n".join(lines),
        firing=firing,
        detail={
            "format": "alertmanager",
            "group_key": group_key or "",
            "receiver": payload.get("receiver", ""),
            "external_url": payload.get("externalURL", ""),
            "alerts": len(alerts),
            "firing": len(firing_alerts),
        },
    )


# ---------------------------------------------------------------------------------------------
# Receiving


def _open_alert(endpoint, fingerprint):
    """The alert still waiting for a decision, or whose incident is live, for this problem."""
    candidates = (
        InboundAlert.objects.select_for_update(of=("self",))
        .filter(endpoint=endpoint, fingerprint=fingerprint)
        .exclude(status=AlertStatus.DISMISSED)
        .select_related("incident")
        .order_by("-last_received_at", "-pk")
    )
    for alert in candidates:
        incident = alert.incident
        if alert.is_open and (incident is None or incident.state == State.DRAFT or incident.is_live):
            return alert
        if alert.status == AlertStatus.CONFIRMED and incident is not None and incident.is_live:
            return alert
    return None


def alert_receive(*, endpoint, payload, now=None):
    """Record what monitoring posted: bump a known problem, or open a draft incident for a new one
    and tell the on-duty commander. Returns [(alert or None, what happened)], where what happened is
    "created", "repeated", "resolved" or "ignored" (a resolution for a problem we do not know)."""
    specs = alert_specs_from_payload(payload)
    now = now or timezone.now()
    results = []
    with transaction.atomic():
        # One endpoint's alerts are handled one at a time, so a burst of repeats opens one incident.
        endpoint = (
            AlertEndpoint.objects.select_for_update(of=("self",))
            .select_related("organization", "playbook", "on_duty_commander")
            .get(pk=endpoint.pk)
        )
        for spec in specs:
            alert = _open_alert(endpoint, spec.fingerprint)
            if alert is None:
                if not spec.firing:
                    results.append((None, "ignored"))
                    continue
                results.append((_alert_open(endpoint, spec, payload, now), "created"))
            else:
                results.append((_alert_repeat(alert, spec, payload, now), "repeated" if spec.firing else "resolved"))
    return results


def _alert_open(endpoint, spec, payload, now):
    alert = InboundAlert.objects.create(
        endpoint=endpoint,
        fingerprint=spec.fingerprint,
        title=spec.title,
        severity=spec.severity,
        summary=spec.summary,
        first_received_at=now,
        last_received_at=now,
        payload=payload,
    )
    commander = endpoint.on_duty_commander
    clients, tags, countries = alert_scope(endpoint=endpoint, labels=spec.labels)
    try:
        with transaction.atomic():
            incident = incident_create(
                playbook=endpoint.playbook,
                actor=commander,
                title=spec.title,
                severity=spec.severity,
                summary=spec.summary,
                detected_at=now,
                affected_clients=clients,
                affected_tags=tags,
                affected_countries=countries,
            )
    except (ValidationError, PermissionDenied) as exc:
        # A broken endpoint setting must not lose the alert: keep it pending without an incident
        # (confirming it creates one) and say why.
        problem = " ".join(getattr(exc, "messages", [str(exc)]))
        alert.decision_note = f"Could not open a draft incident: {problem}"
        alert.save(update_fields=["decision_note"])
        logger.warning("Alert %s from endpoint %s: %s", alert.pk, endpoint.pk, problem)
        admins = User.objects.filter(organization=endpoint.organization, role=Role.ADMIN, is_active=True)
        team_notify(
            organization=endpoint.organization,
            users=[commander, *admins],
            topic=f"alert:{alert.pk}",
            source=f"alert:{alert.pk}:opened",
            words=lambda *, language, timezone_name: TeamNoticeWords(
                subject=f"[{endpoint.organization.name}] " + _("Alert: %(title)s") % {"title": spec.title},
                body=_("%(endpoint)s reported: %(title)s.") % {"endpoint": endpoint.name, "title": spec.title}
                + f"\n\n{spec.summary}\n\n"
                + _(
                    "No draft incident could be opened (%(problem)s). Fix the alert endpoint's settings; "
                    "confirming the alert opens the incident."
                )
                % {"problem": problem},
                action=_("Fix the alert endpoint's settings, then decide on the alert."),
            ),
        )
        return alert
    alert.incident = incident
    alert.save(update_fields=["incident"])
    timeline_record(
        incident=incident,
        kind=TimelineKind.NOTE,
        at=now,
        note=f"Opened as a draft by an alert from {endpoint.name}. Waiting for "
        f"{display_name(commander)} to confirm or dismiss it; nothing has been sent. "
        + _scope_words(clients, tags, countries),
        data={
            "alert": alert.pk,
            "endpoint": str(endpoint.pk),
            "fingerprint": spec.fingerprint,
            "labels": spec.labels,
            **spec.detail,
        },
    )
    incident_team_notify(
        incident=incident,
        users=[commander],
        source=f"alert:{alert.pk}:opened",
        words=lambda *, language, timezone_name: TeamNoticeWords(
            subject=_("Alert: %(title)s - confirm or dismiss") % {"title": spec.title},
            body=_("%(endpoint)s reported: %(title)s.") % {"endpoint": endpoint.name, "title": spec.title}
            + f"\n\n{spec.summary}\n\n"
            + _(
                "A draft incident from the playbook %(playbook)s is waiting for you. Confirm it to activate the "
                "incident, or dismiss it. Nothing reaches clients until you do."
            )
            % {"playbook": endpoint.playbook.name},
            action=_("Decide on the alert: confirm it to activate the incident, or dismiss it."),
        ),
    )
    return alert


def _alert_repeat(alert, spec, payload, now):
    was_firing = alert.is_firing
    alert.count += 1
    alert.last_received_at = now
    alert.payload = payload
    alert.is_firing = spec.firing
    fields = ["count", "last_received_at", "payload", "is_firing"]
    if not spec.firing and was_firing:
        alert.resolved_at = now
        fields.append("resolved_at")
        if alert.status == AlertStatus.PENDING:
            alert.status = AlertStatus.RESOLVED
            fields.append("status")
    elif spec.firing and not was_firing:
        alert.resolved_at = None
        fields.append("resolved_at")
        if alert.status == AlertStatus.RESOLVED:
            alert.status = AlertStatus.PENDING
            fields.append("status")
    alert.save(update_fields=fields)
    if alert.incident is not None and was_firing != spec.firing:
        timeline_record(
            incident=alert.incident,
            kind=TimelineKind.NOTE,
            at=now,
            note=f"Monitoring ({alert.endpoint.name}) reports the alert "
            + ("resolved." if not spec.firing else "firing again."),
            data={"alert": alert.pk, "firing": spec.firing, "count": alert.count},
        )
    return alert


# ---------------------------------------------------------------------------------------------
# Deciding


def _locked_alert(alert, actor):
    alert = (
        InboundAlert.objects.select_for_update(of=("self",))
        .select_related("endpoint__playbook", "incident")
        .get(pk=alert.pk)
    )
    if not (actor and actor.is_authenticated and actor.can_run_incidents_of(alert.endpoint.organization_id)):
        raise PermissionDenied(_("Only commanders and admins of this organisation may decide on alerts."))
    if not alert.is_open:
        raise ValidationError(
            _("This alert is already decided: “%(status)s”."),
            code="decided",
            params={"status": alert.get_status_display()},
        )
    return alert


def _scope_words(clients, tags, countries):
    parts = [
        f"{label} {', '.join(values)}"
        for label, values in (
            ("clients", [client.name for client in clients]),
            ("tags", tags),
            ("countries", countries),
        )
        if values
    ]
    if not parts:
        return "Its labels named no affected client, tag or country: set who is affected before any update."
    return "Affected, from its labels: " + "; ".join(parts) + "."


def alert_confirm(*, alert, actor, note=""):
    """The commander confirms the problem: the draft incident is activated (its deadline clocks
    start). No update is sent: the commander publishes the first one."""
    with transaction.atomic():
        alert = _locked_alert(alert, actor)
        incident = alert.incident
        if incident is None:
            specs = alert_specs_from_payload(alert.payload) if alert.payload else []
            clients, tags, countries = alert_scope(endpoint=alert.endpoint, labels=specs[0].labels if specs else {})
            incident = incident_create(
                playbook=alert.endpoint.playbook,
                actor=actor,
                title=alert.title,
                severity=alert.severity,
                summary=alert.summary,
                detected_at=alert.first_received_at,
                affected_clients=clients,
                affected_tags=tags,
                affected_countries=countries,
            )
            alert.incident = incident
        if incident.state == State.DRAFT:
            incident = incident_transition(
                incident=incident,
                name="activate",
                actor=actor,
                note=note or f"Confirmed alert from {alert.endpoint.name}.",
            )
        elif not incident.is_live:
            raise ValidationError(
                _("The incident is already in the stage “%(stage)s”."),
                code="invalid_state",
                params={"stage": incident.state_label},
            )
        alert.status = AlertStatus.CONFIRMED
        alert.decided_by = actor
        alert.decided_at = timezone.now()
        alert.decision_note = note
        alert.save(update_fields=["incident", "status", "decided_by", "decided_at", "decision_note"])
    return alert


def alert_dismiss(*, alert, actor, note=""):
    """The commander dismisses the alert (a false alarm): its draft incident is cancelled."""
    with transaction.atomic():
        alert = _locked_alert(alert, actor)
        incident = alert.incident
        if incident is not None:
            if incident.is_live:
                raise ValidationError(
                    _("The incident is already active; resolve it from the incident page."), code="live"
                )
            if incident.state == State.DRAFT:
                incident_transition(
                    incident=incident,
                    name="cancel",
                    actor=actor,
                    note=note or f"Dismissed alert from {alert.endpoint.name}.",
                )
        alert.status = AlertStatus.DISMISSED
        alert.decided_by = actor
        alert.decided_at = timezone.now()
        alert.decision_note = note
        alert.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return alert


# ---------------------------------------------------------------------------------------------
# Endpoints


@transaction.atomic
def alert_endpoint_create(*, organization, name, playbook, on_duty_commander, is_active=True):
    """A new endpoint and its secret (returned once: only its digest is kept)."""
    endpoint = AlertEndpoint(
        organization=organization,
        name=name,
        playbook=playbook,
        on_duty_commander=on_duty_commander,
        is_active=is_active,
    )
    secret = endpoint.set_secret()
    endpoint.full_clean()
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def alert_endpoint_rotate_secret(*, endpoint):
    """Replace the endpoint's secret; the old one stops working at once. Returns the new one."""
    endpoint = AlertEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = endpoint.set_secret()
    endpoint.save(update_fields=["secret_hash", "secret_hint", "secret_rotated_at"])
    return endpoint, secret


def alert_list(*, organization, status=None):
    """An organisation's inbound alerts, newest first (for the console)."""
    alerts = InboundAlert.objects.filter(endpoint__organization=organization).select_related("endpoint", "incident")
    return alerts.filter(status=status) if status else alerts
