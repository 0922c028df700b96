"""What leadership reads and downloads: the review pages, the charts, the CSV exports and the
printable proof of notification; readable by every member, 404 for another organisation."""

import csv
import io

import pytest

from playbooks.leadership.charts import Bar, bar_chart


def rows_of(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_proof_of_notification_csv_lists_every_message_and_every_affected_contact(reviewed_incident, client, carol):
    client.force_login(carol)
    response = client.get(f"/incidents/{reviewed_incident.incident.pk}/proof.csv")
    assert response.status_code == 200
    assert 'filename="proof-of-notification-incident-' in response["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header == [
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
    by_contact = {}
    for row in rows:
        by_contact.setdefault(row[4], []).append(dict(zip(header, row, strict=False)))
    assert {name: len(messages) for name, messages in by_contact.items()} == {
        "Anna Schmidt": 10,
        "Olaf Opted": 1,
        "John Miller": 5,
        "Kenji Sato": 5,  # 3 updates and the final notice (+ the survey)
    }
    assert by_contact["Olaf Opted"][0]["final_status"] == "not sent: SMS consent opted_out"
    first_email = by_contact["John Miller"][0]
    assert (first_email["what"], first_email["channel"], first_email["final_status"]) == (
        f"Update #{reviewed_incident.incident.updates.first().pk}",
        "email",
        "bounced",
    )
    assert (
        first_email["sent_at"] == "2026-11-24T09:12:00+00:00"
        and first_email["failed_at"] == "2026-11-24T09:14:00+00:00"
    )
    anna_sms = [m for m in by_contact["Anna Schmidt"] if m["channel"] == "sms"]
    assert {m["consent_at_send"] for m in anna_sms} == {"granted"}
    assert all(m["provider"] == "twilio" and m["provider_message_id"].startswith("SM") for m in anna_sms)
    assert [m["what"] for m in by_contact["Kenji Sato"]][-1] == "Survey invitation"
    assert by_contact["Kenji Sato"][0]["delivered_at"] == "2026-11-24T09:13:00+00:00"


def test_proof_of_notification_prints(reviewed_incident, client, bob):
    client.force_login(bob)
    page = client.get(f"/incidents/{reviewed_incident.incident.pk}/proof/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "/static/candor/leadership.css" in body
    assert "Not sent: SMS consent opted_out." in body and "Boston Retail" in body
    assert "2026-11-24 10:12:00" in body  # sent, in the organisation's time (CET)


def test_leadership_csv_has_one_row_per_incident_and_per_group(reviewed_incident, client, carol):
    client.force_login(carol)
    header, *rows = rows_of(client.get("/leadership/export.csv"))
    assert header[:8] == ["incident_id", "title", "kind", "playbook", "state", "detected_at", "month", "countries"]
    row = dict(zip(header, rows[0], strict=False))
    assert len(rows) == 1
    assert (row["title"], row["countries"], row["first_notice_minutes"], row["reach_percent"]) == (
        "Payments API errors",
        "DE JP US",
        "30.0",
        "75.0",
    )
    assert (row["csat_average"], row["nps"], row["response_rate_percent"], row["open_follow_ups"]) == (
        "3.00",
        "100.0",
        "66.7",
        "1",
    )
    assert (
        row["email_messages"],
        row["email_reached_percent"],
        row["email_delivered_percent"],
        row["email_failed_percent"],
        row["sms_reached_percent"],
    ) == ("8", "87.5", "12.5", "12.5", "100.0")
    assert (row["promises_kept"], row["promises_kept_late"], row["kept_on_time_percent"]) == ("2", "1", "66.7")
    header, *rows = rows_of(client.get("/leadership/export.csv?group=country"))
    assert header[:3] == ["country", "label", "incidents"]
    assert [row[0] for row in rows] == ["DE", "JP", "US", "all"]


def test_csv_cells_that_look_like_formulas_are_made_inert(reviewed_incident, client, carol):
    incident = reviewed_incident.incident
    type(incident).objects.filter(pk=incident.pk).update(title='=HYPERLINK("http://evil")')
    client.force_login(carol)
    _, row = rows_of(client.get("/leadership/export.csv"))
    assert row[1] == '\'=HYPERLINK("http://evil")'


def test_the_review_page_shows_action_metrics_beside_sentiment_to_every_member(reviewed_incident, client, carol, bob):
    for user in (carol, bob):
        client.force_login(user)
        page = client.get(f"/incidents/{reviewed_incident.incident.pk}/review/")
        assert page.status_code == 200
    body = page.content.decode()
    assert "What we did" in body and "How it was felt" in body
    assert "30 min" in body and "75%" in body and "+100" in body and "Clear and on time." in body
    assert body.count("<svg") == 3 and '<title id="chart-reach-title">' in body


def test_the_leadership_page_has_figures_charts_and_open_follow_ups(reviewed_incident, client, carol):
    client.force_login(carol)
    page = client.get("/leadership/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('<svg class="chart"') == 4
    assert "Kenji Sato gave satisfaction 2/5" in body
    assert "Close follow-up" not in body  # it is alice's, not carol's
    assert client.get("/leadership/?months=all").status_code == 200


def test_pages_need_a_login(reviewed_incident, client):
    response = client.get("/leadership/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_charts_are_accessible_svg_with_text_labels():
    svg = bar_chart(
        chart_id="c",
        title="NPS by kind",
        description="From -100 to 100.",
        bars=[Bar("Outage", 25), Bar("Recall", -40), Bar("<Compliance>", None)],
        minimum=-100,
        maximum=100,
    )
    assert svg.startswith('<svg class="chart" id="c" role="img" aria-labelledby="c-title c-desc"')
    assert '<title id="c-title">NPS by kind</title>' in svg
    assert '<desc id="c-desc">From -100 to 100. Outage: 25; Recall: -40; &lt;Compliance&gt;: no data.</desc>' in svg
    assert svg.count("<rect") == 2 and 'class="chart-bar negative"' in svg
    assert ">Outage</text>" in svg and ">no data</text>" in svg


@pytest.mark.parametrize("bars", [[], [Bar("Only", 0)]])
def test_charts_draw_with_nothing_to_show(bars):
    assert "</svg>" in bar_chart(chart_id="e", title="t", description="d", bars=bars)
