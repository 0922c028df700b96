"""Prometheus gauges of kept promises and deadlines, read from the database at scrape time
(listed in settings.CANDOR_METRICS_COLLECTORS; comms.monitoring serves them at /metrics)."""

import datetime as dt

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from playbooks.models import (
    FINAL_STATES,
    LIVE_STATES,
    Incident,
    IncidentChecklistItem,
    PromiseEvent,
)
from playbooks.promises.services import Outcome, cadence_adherence_for

# Adherence is computed over incidents activated this recently (and every live one).
ADHERENCE_WINDOW = dt.timedelta(days=7)


class PromiseCollector:
    def collect(self):
        now = timezone.now()
        live = Incident.objects.filter(state__in=LIVE_STATES, next_update_due_at__isnull=False)
        due = GaugeMetricFamily(
            "candor_promises_due",
            "Live incidents whose next promised update is still to come (state=open) or already late (state=overdue).",
            labels=["state"],
        )
        due.add_metric(["open"], live.filter(next_update_due_at__gt=now).count())
        due.add_metric(["overdue"], live.filter(next_update_due_at__lte=now).count())
        yield due

        recent = Incident.objects.filter(activated_at__gte=now - ADHERENCE_WINDOW) | Incident.objects.filter(
            state__in=LIVE_STATES
        )
        outcomes = dict.fromkeys(Outcome.ALL, 0)
        for adherence in cadence_adherence_for(incidents=recent.distinct(), now=now).values():
            for outcome, count in adherence.counts.items():
                outcomes[outcome] += count
        adherence_family = GaugeMetricFamily(
            "candor_promises",
            "Promises of incidents activated in the last 7 days (or live) by outcome: "
            "kept, kept_late, holding, missed, open, stopped, silent (silent must stay 0).",
            labels=["outcome"],
        )
        for outcome, count in outcomes.items():
            adherence_family.add_metric([outcome], count)
        yield adherence_family

        events = CounterMetricFamily(
            "candor_promise_events",
            "Reminders, holding statements and escalations sent about promises, ever.",
            labels=["kind"],
        )
        for row in PromiseEvent.objects.values("kind").annotate(count=Count("id")).order_by():
            events.add_metric([row["kind"]], row["count"])
        yield events

        items = IncidentChecklistItem.objects.filter(completed_at__isnull=True, due_at__isnull=False).exclude(
            incident__state__in=FINAL_STATES
        )
        deadlines = GaugeMetricFamily(
            "candor_deadlines_due",
            "Open checklist deadlines of running incidents, still to come (state=open) or passed (state=overdue).",
            labels=["state"],
        )
        deadlines.add_metric(["open"], items.filter(due_at__gt=now).count())
        deadlines.add_metric(["overdue"], items.filter(due_at__lte=now).count())
        yield deadlines
