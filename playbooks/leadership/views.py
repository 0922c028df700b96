"""Leadership pages: one incident's review (what was done beside how it was felt), the overview
across incidents with its CSV export, and the proof of notification as a page and a CSV.

Every member of the organisation reads them; another organisation's incident is a 404.
"""

import datetime as dt

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from candor.helpers import csv_writer, duration_words
from playbooks.console.decorators import member_required
from playbooks.debriefs.selectors import follow_up_rows
from playbooks.incidents.selectors import incident_get
from playbooks.leadership.charts import Bar, bar_chart
from playbooks.leadership.metrics import (
    incident_metrics,
    leadership_overview,
    overview_csv_rows,
    proof_csv_rows,
    proof_of_notification,
)
from playbooks.models import FollowUp, QuestionKind


def _csv_response(filename, rows):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    csv_writer(response).writerows(rows)
    return response


def _percent(value):
    return "—" if value is None else f"{100 * value:.0f}%"


def _average(value, digits=1):
    return "—" if value is None else f"{value:.{digits}f}"


def _nps(value):
    return "—" if value is None else f"{value:+.0f}"


def _answers(count):
    return ngettext("%(count)s answer", "%(count)s answers", count) % {"count": count}


def _action_figures(m):
    """What was done, as (label, figure, detail) for the review page."""
    counts = m.adherence.counts
    email, sms = m.channels["email"], m.channels["sms"]
    published = timezone.localtime(m.first_notice_at).strftime("%Y-%m-%d %H:%M %Z") if m.first_notice_at else ""
    return [
        (
            _("Time to first client notice"),
            duration_words(m.time_to_first_notice),
            _("first update published %(at)s") % {"at": published} if published else _("no update published"),
        ),
        (
            _("Updates sent"),
            str(m.updates_sent),
            ngettext(
                "%(count)s of them a holding statement",
                "%(count)s of them holding statements",
                m.holding_statements,
            )
            % {"count": m.holding_statements},
        ),
        (
            _("Promises kept on time"),
            _percent(m.kept_on_time_share),
            _("%(kept)s kept, %(late)s late, %(holding)s covered by a holding statement, %(missed)s missed")
            % {
                "kept": counts.get("kept", 0),
                "late": counts.get("kept_late", 0),
                "holding": counts.get("holding", 0),
                "missed": counts.get("missed", 0),
            },
        ),
        (
            _("Reach"),
            _percent(m.reach),
            ngettext(
                "%(reached)s of %(affected)s affected contact reached",
                "%(reached)s of %(affected)s affected contacts reached",
                m.contacts_affected,
            )
            % {"reached": m.contacts_reached, "affected": m.contacts_affected},
        ),
        (_("Email sent or delivered"), _percent(email.reached_share), _channel_detail(email)),
        (_("SMS sent or delivered"), _percent(sms.reached_share), _channel_detail(sms)),
        (_("Time to resolution"), duration_words(m.time_to_resolution), _("from detection to resolution")),
    ]


def _channel_detail(delivery):
    return _("%(reached)s of %(messages)s: %(delivered)s delivery confirmed, %(failed)s failed") % {
        "reached": delivery.reached,
        "messages": delivery.messages,
        "delivered": delivery.delivered,
        "failed": delivery.failed,
    }


def _sentiment_figures(m):
    """How it was felt, as (label, figure, detail)."""
    s = m.scores
    groups = _("%(promoters)s, %(passives)s, %(detractors)s") % {
        "promoters": ngettext("%(count)s promoter", "%(count)s promoters", s.promoters) % {"count": s.promoters},
        "passives": ngettext("%(count)s passive", "%(count)s passives", s.passives) % {"count": s.passives},
        "detractors": ngettext("%(count)s detractor", "%(count)s detractors", s.detractors) % {"count": s.detractors},
    }
    figures = [
        (
            _("Response rate"),
            _percent(m.response_rate),
            ngettext(
                "%(answered)s of %(invited)s invited contact answered",
                "%(answered)s of %(invited)s invited contacts answered",
                m.invited,
            )
            % {"answered": m.answered, "invited": m.invited},
        ),
        (_("Satisfaction (CSAT, 1-5)"), _average(s.csat_average), _answers(len(s.csat_answers))),
        (_("NPS (-100 to 100)"), _nps(s.nps), groups),
        (_("“We kept you informed” (1-5)"), _average(s.kept_informed_average), _answers(len(s.kept_informed_answers))),
        (_("Clarity of updates (1-5)"), _average(s.clarity_average), _answers(len(s.clarity_answers))),
    ]
    for question in m.questions:
        if question.kind == QuestionKind.SCALE:
            figures.append(
                (
                    _("%(question)s (1-5)") % {"question": question.text},
                    _average(question.average),
                    _answers(question.answers),
                )
            )
        else:
            figures.append((question.text, str(question.answers), _("written answers, listed with the comments")))
    return figures


def _minutes(value):
    return "—" if value is None else _("%(minutes)s min") % {"minutes": f"{value:.0f}"}


def _hours(value):
    return "—" if value is None else _("%(hours)s h") % {"hours": f"{value:.1f}"}


def _totals_row(t):
    return {
        "label": t.label,
        "incidents": t.incidents,
        "first_notice": _minutes(t.first_notice_minutes),
        "resolution": _hours(t.resolution_hours),
        "updates": t.updates_sent,
        "kept": _percent(t.kept_on_time_share),
        "reach": _percent(t.reach),
        "email": _percent(t.channels["email"].reached_share),
        "sms": _percent(t.channels["sms"].reached_share),
        "response": _percent(t.response_rate),
        "csat": _average(t.scores.csat_average),
        "nps": _nps(t.scores.nps),
        "follow_ups": t.open_follow_ups,
    }


def _incident_charts(metrics):
    scores = metrics.scores
    csat_counts = [
        Bar(
            _("%(score)s / 5") % {"score": score},
            scores.csat_answers.count(score),
            str(scores.csat_answers.count(score)),
        )
        for score in range(1, 6)
    ]
    nps_groups = [
        Bar(_("Detractors (0-6)"), scores.detractors, str(scores.detractors)),
        Bar(_("Passives (7-8)"), scores.passives, str(scores.passives)),
        Bar(_("Promoters (9-10)"), scores.promoters, str(scores.promoters)),
    ]
    reach = [
        Bar(
            client.name,
            None if client.reach is None else 100 * client.reach,
            "—"
            if client.reach is None
            else f"{100 * client.reach:.0f}% ({client.contacts_reached}/{client.contacts_affected})",
        )
        for client in metrics.clients
    ]
    return [
        {
            "heading": _("Contacts reached per client"),
            "svg": bar_chart(
                chart_id="chart-reach",
                title=_("Contacts reached per client"),
                description=_("Share of each client's affected contacts reached by at least one update."),
                bars=reach,
                unit="%",
                minimum=0,
                maximum=100,
            ),
        },
        {
            "heading": _("Satisfaction answers"),
            "svg": bar_chart(
                chart_id="chart-csat",
                title=_("Satisfaction answers by score"),
                description=_(
                    "How many contacts gave each satisfaction score, 1 (very dissatisfied) to 5 (very satisfied)."
                ),
                bars=csat_counts,
            ),
        },
        {
            "heading": _("Recommendation answers"),
            "svg": bar_chart(
                chart_id="chart-nps",
                title=_("Recommendation answers by group"),
                description=_("Detractors, passives and promoters among those who answered the 0-10 question."),
                bars=nps_groups,
            ),
        },
    ]


@member_required
def incident_review(request, pk):
    """One incident for leadership: what was done beside how it was felt, and per client."""
    incident = incident_get(user=request.user, pk=pk)
    metrics = incident_metrics(incident=incident)
    return render(
        request,
        "playbooks/leadership/incident.html",
        {
            "section": "review",
            "incident": incident,
            "m": metrics,
            "first_notice": duration_words(metrics.time_to_first_notice),
            "resolution": duration_words(metrics.time_to_resolution),
            "actions": _action_figures(metrics),
            "sentiment": _sentiment_figures(metrics),
            "clients": [
                {
                    "c": client,
                    "first_notice": duration_words(client.first_notice_after),
                    "reach": _percent(client.reach),
                    "response": _percent(client.response_rate),
                    "csat": _average(client.scores.csat_average),
                    "nps": _nps(client.scores.nps),
                }
                for client in metrics.clients
            ],
            "charts": _incident_charts(metrics),
            "follow_ups": follow_up_rows(user=request.user, follow_ups=metrics.follow_ups, now=timezone.now()),
            "channels": [metrics.channels["email"], metrics.channels["sms"]],
        },
    )


@member_required
def incident_proof(request, pk):
    """Proof of notification, as a printable page."""
    incident = incident_get(user=request.user, pk=pk)
    return render(
        request,
        "playbooks/leadership/proof.html",
        {
            "section": "proof",
            "incident": incident,
            "proof": proof_of_notification(incident=incident),
        },
    )


@member_required
def incident_proof_csv(request, pk):
    incident = incident_get(user=request.user, pk=pk)
    proof = proof_of_notification(incident=incident)
    return _csv_response(f"proof-of-notification-incident-{incident.pk}.csv", proof_csv_rows(proof))


PERIODS = {"3": 3, "12": 12, "36": 36, "all": None}


def _since(request):
    period = request.GET.get("months", "12")
    if period not in PERIODS:
        period = "12"
    months = PERIODS[period]
    return period, (timezone.now() - dt.timedelta(days=31 * months) if months else None)


def _overview_charts(overview):
    def rate_bar(totals, value):
        return Bar(
            totals.label, None if value is None else 100 * value, "—" if value is None else f"{100 * value:.0f}%"
        )

    return [
        {
            "heading": _("Time to first client notice, by month"),
            "svg": bar_chart(
                chart_id="chart-first-notice",
                title=_("Average minutes from detection to the first client notice, by month"),
                description=_("Lower is better."),
                bars=[
                    Bar(t.label, t.first_notice_minutes, _minutes(t.first_notice_minutes)) for t in overview.by_month
                ],
            ),
        },
        {
            "heading": _("Satisfaction (CSAT), by month"),
            "svg": bar_chart(
                chart_id="chart-csat-month",
                title=_("Average satisfaction score (1-5), by month"),
                description=_("Higher is better."),
                minimum=0,
                maximum=5,
                bars=[
                    Bar(
                        t.label,
                        t.scores.csat_average,
                        "—" if t.scores.csat_average is None else f"{t.scores.csat_average:.1f}",
                    )
                    for t in overview.by_month
                ],
            ),
        },
        {
            "heading": _("NPS, by playbook kind"),
            "svg": bar_chart(
                chart_id="chart-nps-kind",
                title=_("Net promoter score, by playbook kind"),
                description=_("From -100 to 100; higher is better."),
                minimum=-100,
                maximum=100,
                bars=[
                    Bar(t.label, t.scores.nps, "—" if t.scores.nps is None else f"{t.scores.nps:.0f}")
                    for t in overview.by_kind
                ],
            ),
        },
        {
            "heading": _("Reach, by client country"),
            "svg": bar_chart(
                chart_id="chart-reach-country",
                title=_("Share of affected contacts reached, by client country"),
                description=_("Contacts reached by at least one update on any channel."),
                minimum=0,
                maximum=100,
                unit="%",
                bars=[rate_bar(t, t.reach) for t in overview.by_country],
            ),
        },
    ]


@member_required
def leadership_view(request):
    """Across incidents: the same figures by playbook kind, client country and month, with charts."""
    period, since = _since(request)
    overview = leadership_overview(organization=request.user.organization, since=since)
    now = timezone.now()
    open_follow_ups = (
        FollowUp.objects.filter(incident__organization=request.user.organization, closed_at__isnull=True)
        .select_related("incident", "client", "owner")
        .order_by("due_at")
    )
    return render(
        request,
        "playbooks/leadership/overview.html",
        {
            "section": "leadership",
            "overview": overview,
            "period": period,
            "periods": [("3", _("3 months")), ("12", _("12 months")), ("36", _("3 years")), ("all", _("All time"))],
            "total": _totals_row(overview.total),
            "groups": [
                ("kind", _("By playbook kind"), _("Playbook kind"), [_totals_row(t) for t in overview.by_kind]),
                ("country", _("By client country"), _("Client country"), [_totals_row(t) for t in overview.by_country]),
                ("month", _("By month"), _("Month"), [_totals_row(t) for t in overview.by_month]),
            ],
            "incidents": [
                {
                    "m": m,
                    "first_notice": duration_words(m.time_to_first_notice),
                    "resolution": duration_words(m.time_to_resolution),
                    "reach": _percent(m.reach),
                    "kept": _percent(m.kept_on_time_share),
                    "response": _percent(m.response_rate),
                    "csat": _average(m.scores.csat_average),
                    "nps": _nps(m.scores.nps),
                    "follow_ups": len(m.open_follow_ups),
                }
                for m in overview.metrics
            ],
            "charts": _overview_charts(overview),
            "follow_ups": follow_up_rows(user=request.user, follow_ups=open_follow_ups, now=now),
        },
    )


@member_required
def leadership_csv(request):
    period, since = _since(request)
    group = request.GET.get("group", "incident")
    if group not in ("incident", "kind", "country", "month"):
        group = "incident"
    overview = leadership_overview(organization=request.user.organization, since=since)
    return _csv_response(f"candor-leadership-{group}-{period}.csv", overview_csv_rows(overview, group=group))


# ---- Follow-ups
