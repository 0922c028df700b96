"""Leadership figures against the incident worked out by hand in conftest.reviewed_incident."""

import datetime as dt

import pytest

from playbooks.leadership.metrics import incident_metrics, leadership_overview, nps_score
from playbooks.models import FollowUp

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def metrics(reviewed_incident):
    return incident_metrics(incident=reviewed_incident.incident)


def test_action_metrics_of_the_hand_computed_incident(metrics):
    assert metrics.time_to_first_notice == 30 * MIN  # 09:10 first update - 08:40 detected
    assert metrics.updates_sent == 4 and metrics.holding_statements == 0  # 3 updates and the final notice
    # Update 3 promised 10:45; the final notice came at 10:40 and keeps it, promising nothing more.
    assert {k: v for k, v in metrics.promises.items() if v} == {"kept": 2, "kept_late": 1}
    assert metrics.kept_on_time_share == pytest.approx(2 / 3)
    assert (metrics.contacts_affected, metrics.contacts_reached, metrics.reach) == (4, 3, 0.75)  # Olaf never reached
    email, sms = metrics.channels["email"], metrics.channels["sms"]
    assert (email.messages, email.reached, email.delivered, email.failed) == (8, 7, 1, 1)
    assert (sms.messages, sms.reached, sms.delivered, sms.failed) == (8, 8, 1, 0)
    assert email.delivered_share == pytest.approx(1 / 8) and email.failed_share == pytest.approx(1 / 8)
    assert metrics.time_to_resolution == dt.timedelta(hours=2)  # 10:40 - 08:40


def test_sentiment_of_the_hand_computed_incident(metrics):
    assert (metrics.invited, metrics.answered) == (3, 2)
    assert metrics.response_rate == pytest.approx(2 / 3)
    scores = metrics.scores
    assert scores.csat_answers == [4, 2] and scores.csat_average == 3.0  # Anna on the page, Kenji by SMS
    assert scores.kept_informed_average == 5.0 and scores.clarity_average == 4.0
    assert scores.nps == 100.0 and (scores.promoters, scores.passives, scores.detractors) == (1, 0, 0)
    assert [(c.contact_name, c.text) for c in metrics.comments] == [("Anna Schmidt", "Clear and on time.")]
    assert [f.reason for f in metrics.open_follow_ups] == ["Kenji Sato gave satisfaction 2/5"]


def test_per_client_figures_set_what_was_done_beside_what_was_answered(metrics):
    rows = {c.name: c for c in metrics.clients}
    berlin, boston, tokyo = rows["Berliner Bank"], rows["Boston Retail"], rows["Tokyo Trading"]
    assert (berlin.contacts_affected, berlin.contacts_reached, berlin.messages, berlin.messages_reached) == (2, 1, 8, 8)
    assert berlin.first_notice_after == 32 * MIN  # sent 09:12
    assert (berlin.invited, berlin.answered, berlin.scores.csat_average, berlin.scores.nps) == (1, 1, 4.0, 100.0)
    assert (boston.contacts_reached, boston.messages, boston.messages_reached) == (1, 4, 3)  # the first email bounced
    assert boston.first_notice_after == 56 * MIN  # reached by the second update, sent 09:36
    assert (boston.invited, boston.answered, boston.scores.csat_average) == (1, 0, None)
    assert (tokyo.first_notice_after, tokyo.scores.csat_answers, tokyo.open_follow_ups) == (32 * MIN, [2], 1)


def test_across_incidents_the_figures_sum_by_kind_country_and_month(reviewed_incident, organization):
    overview = leadership_overview(organization=organization)
    assert [t.key for t in overview.by_kind] == ["outage"]
    assert [t.key for t in overview.by_month] == ["2026-11"]
    assert [t.key for t in overview.by_country] == ["DE", "JP", "US"]
    total = overview.total
    assert (total.incidents, total.first_notice_minutes, total.resolution_hours) == (1, 30.0, 2.0)
    assert (total.contacts_affected, total.contacts_reached, total.kept_on_time_share) == (4, 3, pytest.approx(2 / 3))
    countries = {t.key: t for t in overview.by_country}
    assert countries["US"].first_notice_minutes == 56.0 and countries["US"].response_rate == 0.0
    assert countries["DE"].reach == 0.5 and countries["DE"].scores.csat_average == 4.0
    assert countries["JP"].open_follow_ups == 1 and countries["JP"].incidents == 1


def test_nps_is_promoters_minus_detractors():
    assert nps_score([10, 9, 6, 8]) == 25.0
    assert nps_score([0, 6]) == -100.0
    assert nps_score([]) is None


def test_follow_up_of_the_sms_score_went_to_the_commander(reviewed_incident, alice):
    assert FollowUp.objects.get().owner == alice  # Tokyo Trading has no account owner
