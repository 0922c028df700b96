"""Each API resource: what it shows, what it accepts, and the 400s, 409s and pages it answers."""

import datetime as dt

import pytest

from accounts.models import Contact, SmsConsent
from comms.models import Message
from playbooks.incidents.services import incident_transition
from playbooks.updates.services import update_approve, update_draft, update_publish
from tests.conftest import make_client
from tests.console.factories import make_outage_playbook

# ---------------------------------------------------------------------------------------------
# Playbooks


def test_playbooks_list_and_detail(api, alice, outage_playbook):
    response = api(alice).get("/api/playbooks/")
    assert response.status_code == 200
    assert response.data["count"] == 1
    playbook = response.data["results"][0]
    assert playbook["kind"] == "outage"
    assert [stage["stage"] for stage in playbook["stages"]] == ["investigating", "identified", "monitoring", "resolved"]
    assert playbook["stages"][0]["languages"] == ["de", "en"]
    assert api(alice).get(f"/api/playbooks/{outage_playbook.pk}/").data["slug"] == "outage"


def test_playbooks_filter_by_kind_and_reject_unknown_kinds(api, alice, outage_playbook):
    assert api(alice).get("/api/playbooks/?kind=recall").data["count"] == 0
    response = api(alice).get("/api/playbooks/?kind=flood")
    assert response.status_code == 400 and "kind" in response.data


def test_playbooks_are_read_only(api, dave, outage_playbook):
    assert api(dave).post("/api/playbooks/", {"name": "x"}, format="json").status_code == 405


# ---------------------------------------------------------------------------------------------
# Clients and contacts


def test_creating_a_client_account(api, alice, organization):
    response = api(alice).post(
        "/api/clients/",
        {
            "name": "Acme GmbH",
            "country": "de",
            "default_language": "de",
            "timezone": "Europe/Berlin",
            "tags": ["api"],
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["country"] == "DE"
    assert organization.clients.get().name == "Acme GmbH"


def test_client_field_errors_are_400s_naming_the_field(api, alice, organization):
    make_client(organization, name="Acme GmbH")
    response = api(alice).post(
        "/api/clients/",
        {
            "name": "Acme GmbH",
            "country": "DE",
            "timezone": "Mars/Olympus",
            "default_language": "xx",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.data) >= {"timezone", "default_language"}
    assert "Unknown timezone 'Mars/Olympus'" in response.data["timezone"][0]


def test_client_names_are_unique_per_organisation(api, alice, organization):
    make_client(organization, name="Acme GmbH")
    response = api(alice).post("/api/clients/", {"name": "Acme GmbH", "country": "DE"}, format="json")
    assert response.status_code == 400
    assert response.data == {"name": ["A client with this name already exists."]}


def test_client_filters(api, alice, contacts):
    assert [c["name"] for c in api(alice).get("/api/clients/?tag=payments").data["results"]] == [
        "Berliner Bank",
        "Boston Retail",
    ]
    assert api(alice).get("/api/clients/?country=gb").data["count"] == 1


def test_creating_a_contact_normalises_the_phone(api, alice, organization):
    client = make_client(organization)
    response = api(alice).post(
        "/api/contacts/",
        {
            "client": client.pk,
            "name": "Anna",
            "email": "ANNA@Example.com",
            "phone": "0151 12345678",
            "accepts_sms": True,
            "sms_consent": "granted",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["phone"] == "+4915112345678"
    assert response.data["email"] == "anna@example.com"
    assert response.data["sms_consent_at"] is not None


def test_contact_errors_name_the_field(api, alice, organization):
    client = make_client(organization)
    response = api(alice).post("/api/contacts/", {"client": client.pk, "name": "Anna", "phone": "12"}, format="json")
    assert response.status_code == 400
    assert response.data == {"phone": ["Invalid phone number '12'."]}
    response = api(alice).post("/api/contacts/", {"client": client.pk, "name": "Anna"}, format="json")
    assert response.data == {"non_field_errors": ["A contact needs an email address or a mobile number."]}


def test_a_contact_who_opted_out_cannot_be_opted_back_in_through_the_api(api, alice, contacts):
    olaf = contacts["olaf"]
    response = api(alice).patch(f"/api/contacts/{olaf.pk}/", {"sms_consent": "granted"}, format="json")
    assert response.status_code == 400
    assert "only they can opt back in" in response.data["sms_consent"][0]
    olaf.refresh_from_db()
    assert olaf.sms_consent == SmsConsent.OPTED_OUT


def test_contacts_filter_by_client_and_search(api, alice, contacts):
    berlin = contacts["anna"].client
    names = [c["name"] for c in api(alice).get(f"/api/contacts/?client={berlin.pk}").data["results"]]
    assert names == ["Anna Schmidt", "Olaf Opted"]
    assert api(alice).get("/api/contacts/?search=miller").data["count"] == 1
    assert api(alice).get("/api/contacts/?client=abc").status_code == 400


def test_a_contact_that_was_messaged_is_not_deleted_but_deactivated(api, alice, live_incident, contacts):
    update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    response = api(alice).delete(f"/api/contacts/{contacts['anna'].pk}/")
    assert response.status_code == 409
    assert "deactivate it instead" in response.data["detail"]
    assert (
        api(alice).patch(f"/api/contacts/{contacts['anna'].pk}/", {"is_active": False}, format="json").status_code
        == 200
    )


CSV = (
    "client_name,client_country,client_language,client_timezone,contact_name,contact_email\n"
    "Nordlicht AG,DE,de,Europe/Berlin,Nina Nord,nina@nordlicht.example\n"
)


def import_csv(client, content, run_worker, **options):
    """POST the file (202 with a job), run the worker, and return the finished job as the API shows it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/api/contacts/import/",
        {"file": SimpleUploadedFile("contacts.csv", content.encode(), content_type="text/csv"), **options},
        format="multipart",
    )
    assert response.status_code == 202, response.data
    assert response.data["status"] == "queued" and response.data["report"] is None
    run_worker()
    job = client.get(response.data["url"])
    assert job.status_code == 200 and job.data["status"] == "done"
    return job.data


def test_csv_import_dry_run_reports_and_writes_nothing(api, alice, organization, run_worker):
    report = import_csv(api(alice), CSV, run_worker, dry_run=True)["report"]
    assert report["dry_run"] is True and report["imported"] is False
    assert report["contacts_created"] == 1
    assert not Contact.objects.exists()


def test_csv_import_writes_valid_rows(api, alice, organization, run_worker):
    bad = CSV + "Nordlicht AG,,,,Bernd Bad,not-an-email\n"
    report = import_csv(api(alice), bad, run_worker)["report"]
    assert report["blocked"] is True and not Contact.objects.exists()
    assert report["errors"][0]["row"] == 3 and report["errors"][0]["column"] == "contact_email"

    report = import_csv(api(alice), bad, run_worker, import_valid_rows=True)["report"]
    assert report["imported"] is True
    assert Contact.objects.get().name == "Nina Nord"


def test_another_tenants_import_job_is_a_404(api, alice, eve, organization, run_worker):
    from accounts.importing import import_job_start

    job = import_job_start(organization=organization, actor=alice, csv_file=CSV.encode())
    assert api(eve).get(f"/api/contacts/import/{job.pk}/").status_code == 404
    assert api(alice).get(f"/api/contacts/import/{job.pk}/").status_code == 200


def test_csv_import_needs_a_file(api, alice):
    response = api(alice).post("/api/contacts/import/", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.data


# ---------------------------------------------------------------------------------------------
# Incidents


def test_creating_an_incident_makes_a_draft(api, alice, outage_playbook, contacts):
    response = api(alice).post(
        "/api/incidents/",
        {
            "playbook": outage_playbook.pk,
            "title": "Payments API errors",
            "affected_tags": ["payments"],
            "affected_clients": [contacts["anna"].client_id],
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["state"] == "draft"
    assert response.data["commander"] == alice.pk
    assert response.data["checklist"][0]["title"] == "Post the first notice"
    assert not Message.objects.exists()


def test_incident_create_errors_are_field_errors(api, alice, outage_playbook):
    response = api(alice).post("/api/incidents/", {"playbook": outage_playbook.pk, "title": "  "}, format="json")
    assert response.status_code == 400 and set(response.data) == {"title"}
    response = api(alice).post(
        "/api/incidents/",
        {"playbook": outage_playbook.pk, "title": "Down", "backup_commander": alice.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.data == {
        "backup_commander": ["The backup must be another commander or admin of this organisation."]
    }


def test_the_audience_preview_before_activation(api, alice, draft_incident):
    data = api(alice).get(f"/api/incidents/{draft_incident.pk}/audience/").data
    assert data["stage"] == "investigating"
    assert (data["contacts"], data["email_recipients"], data["sms_recipients"]) == (4, 2, 1)
    assert {row["reason"] for row in data["unreachable"]} == {"SMS consent opted_out", "email bounced"}
    assert data["sms_send"]["segments_per_second"] == 1.0
    assert data["sms_send"]["exceeds_queue_limit"] is False
    assert [row["language"] for row in data["languages"]] == ["de", "en"]


def test_transitions_list_what_the_caller_may_do_with_the_input_needed(api, alice, carol, live_incident):
    incident_transition(incident=live_incident, name="identify", actor=alice)
    transitions = api(alice).get(f"/api/incidents/{live_incident.pk}/transitions/").data
    assert {t["name"]: t["needs"] for t in transitions} == {"monitor": [], "resolve": ["resolution_summary"]}
    assert api(carol).get(f"/api/incidents/{live_incident.pk}/transitions/").data == []


def test_performing_a_transition(api, alice, draft_incident):
    response = api(alice).post(
        f"/api/incidents/{draft_incident.pk}/transitions/", {"transition": "activate"}, format="json"
    )
    assert response.status_code == 200
    assert response.data["state"] == "investigating"


def test_an_illegal_transition_is_409_naming_the_state(api, alice, draft_incident):
    response = api(alice).post(
        f"/api/incidents/{draft_incident.pk}/transitions/",
        {"transition": "resolve", "resolution_summary": "x"},
        format="json",
    )
    assert response.status_code == 409
    assert response.data["state"] == "draft"
    assert "Draft (not announced)" in response.data["detail"]


def test_an_unknown_transition_is_409(api, alice, draft_incident):
    response = api(alice).post(
        f"/api/incidents/{draft_incident.pk}/transitions/", {"transition": "explode"}, format="json"
    )
    assert response.status_code == 409 and response.data["state"] == "draft"


def test_resolving_without_a_summary_is_a_field_error(api, alice, live_incident):
    incident_transition(incident=live_incident, name="identify", actor=alice)
    response = api(alice).post(
        f"/api/incidents/{live_incident.pk}/transitions/", {"transition": "resolve"}, format="json"
    )
    assert response.status_code == 400
    assert "resolution_summary" in response.data
    response = api(alice).post(
        f"/api/incidents/{live_incident.pk}/transitions/",
        {"transition": "resolve", "resolution_summary": "Rolled back."},
        format="json",
    )
    assert response.data["state"] == "resolved" and response.data["resolution_summary"] == "Rolled back."


def test_incident_filters(api, alice, live_incident, outage_playbook):
    assert api(alice).get("/api/incidents/?live=true").data["count"] == 1
    assert api(alice).get("/api/incidents/?live=false").data["count"] == 0
    assert api(alice).get("/api/incidents/?state=investigating").data["count"] == 1
    assert api(alice).get("/api/incidents/?live=maybe").status_code == 400


def test_timeline_is_paginated_oldest_first(api, alice, live_incident):
    data = api(alice).get(f"/api/incidents/{live_incident.pk}/timeline/?page_size=1").data
    assert data["count"] == 2 and data["next"]
    assert data["results"][0]["kind"] == "created"


# ---------------------------------------------------------------------------------------------
# Updates and messages


def test_drafting_an_update_fills_in_the_playbooks_words(api, bob, live_incident):
    response = api(bob).post("/api/updates/", {"incident": live_incident.pk}, format="json")
    assert response.status_code == 201, response.data
    assert set(response.data["texts"]) == {"en", "de"}
    assert response.data["status"] == "draft"
    assert response.data["author"] == bob.pk


def test_drafting_with_unknown_languages_or_broken_templates_is_400(api, bob, live_incident):
    response = api(bob).post(
        "/api/updates/",
        {
            "incident": live_incident.pk,
            "texts": {
                "xx": {"email_subject": "a", "email_body": "b"},
                "en": {"email_subject": "a", "email_body": "{% if %}"},
            },
        },
        format="json",
    )
    assert response.status_code == 400
    assert "Unknown language" in response.data["texts"]["xx"][0]
    assert "Template error" in response.data["texts"]["en"][0]


def test_drafting_in_a_draft_incident_is_400(api, alice, draft_incident):
    response = api(alice).post("/api/updates/", {"incident": draft_incident.pk}, format="json")
    assert response.status_code == 400


def test_editing_preview_and_check(api, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    texts = dict(update.texts)
    texts["en"] = {**texts["en"], "sms_body": "Payments are down. No action needed. Next update {{ next_update_at }}."}
    response = api(alice).patch(f"/api/updates/{update.pk}/", {"texts": texts}, format="json")
    assert response.status_code == 200
    preview = api(alice).get(f"/api/updates/{update.pk}/preview/").data
    assert preview["languages"]["en"]["sms_body"].startswith("Payments are down. No action needed. Next update ")
    assert preview["languages"]["en"]["reader"] == "John Miller (Boston Retail)"
    assert preview["email_recipients"] == 2 and preview["sms_recipients"] == 1
    check = api(alice).get(f"/api/updates/{update.pk}/check/").data
    assert check["languages"]["en"]["readability"]["formula"] == "Flesch-Kincaid grade"
    assert check["languages"]["de"]["readability"]["formula"] == "Wiener Sachtextformel"


def test_approving_and_publishing(api, alice, frank, organization, contacts, run_worker):
    from playbooks.incidents.services import incident_create

    playbook = make_outage_playbook(organization, needs_approval=True, slug="strict")
    incident = incident_transition(
        incident=incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"]),
        name="activate",
        actor=alice,
    )
    update = update_draft(incident=incident, author=alice)
    response = api(alice).post(f"/api/updates/{update.pk}/publish/")
    assert response.status_code == 400 and "approval" in str(response.data)
    assert api(alice).post(f"/api/updates/{update.pk}/approve/", {}, format="json").status_code == 403
    response = api(frank).post(f"/api/updates/{update.pk}/approve/", {"note": "Checked."}, format="json")
    assert response.data["status"] == "approved" and response.data["approver"] == frank.pk
    response = api(alice).post(f"/api/updates/{update.pk}/publish/")
    assert response.status_code == 200
    assert response.data["status"] == "published"
    assert response.data["delivery"] == {"queued": 3, "sent": 0, "delivered": 0, "failed": 0, "total": 3}
    run_worker()
    assert api(alice).get(f"/api/updates/{update.pk}/").data["delivery"]["sent"] == 3
    assert api(alice).patch(f"/api/updates/{update.pk}/", {"texts": update.texts}, format="json").status_code == 400


def test_editing_after_approval_withdraws_it(api, alice, frank, organization, contacts):
    from playbooks.incidents.services import incident_create

    playbook = make_outage_playbook(organization, needs_approval=True, slug="strict")
    incident = incident_transition(
        incident=incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"]),
        name="activate",
        actor=alice,
    )
    update = update_approve(update=update_draft(incident=incident, author=alice), actor=frank)
    texts = dict(update.texts)
    texts["de"] = {**texts["de"], "sms_body": texts["de"]["sms_body"] + " Entschuldigung."}
    response = api(alice).patch(f"/api/updates/{update.pk}/", {"texts": texts}, format="json")
    assert response.data["status"] == "awaiting approval" and response.data["is_approved"] is False


def test_patching_one_language_keeps_the_others_and_the_fields_not_named(api, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    before = dict(update.texts)
    response = api(alice).patch(
        f"/api/updates/{update.pk}/",
        {"texts": {"en": {"email_subject": "Payments down", "email_body": "Payments are down."}}},
        format="json",
    )
    assert response.status_code == 200
    texts = response.data["texts"]
    assert texts["de"] == before["de"]
    assert texts["en"]["email_subject"] == "Payments down" and texts["en"]["email_body"] == "Payments are down."
    assert texts["en"]["sms_body"] == before["en"]["sms_body"] != ""


def test_patching_a_language_to_null_removes_it_and_put_replaces_every_language(api, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    response = api(alice).patch(f"/api/updates/{update.pk}/", {"texts": {"de": None}}, format="json")
    assert response.status_code == 200 and set(response.data["texts"]) == {"en"}
    response = api(alice).patch(f"/api/updates/{update.pk}/", {"texts": {"fr": None}}, format="json")
    assert response.status_code == 400
    words = {"email_subject": "Ausfall", "email_body": "Zahlungen gestört.", "sms_body": ""}
    response = api(alice).put(f"/api/updates/{update.pk}/", {"texts": {"de": words}}, format="json")
    assert response.status_code == 200
    assert response.data["texts"] == {"de": words}


def test_patching_only_the_promise_keeps_the_words(api, alice, live_incident):
    update = update_draft(incident=live_incident, author=alice)
    due = (live_incident.created_at + dt.timedelta(days=2)).isoformat()
    response = api(alice).patch(f"/api/updates/{update.pk}/", {"next_update_due_at": due}, format="json")
    assert response.status_code == 200 and response.data["texts"] == update.texts
    assert response.data["next_update_due_at"] is not None


@pytest.mark.parametrize("method", ["patch", "put"])
def test_partial_or_whole_edits_of_the_words_withdraw_approval(api, alice, frank, organization, contacts, method):
    from playbooks.incidents.services import incident_create

    playbook = make_outage_playbook(organization, needs_approval=True, slug="strict")
    incident = incident_transition(
        incident=incident_create(playbook=playbook, actor=alice, title="Down", affected_tags=["payments"]),
        name="activate",
        actor=alice,
    )
    update = update_approve(update=update_draft(incident=incident, author=alice), actor=frank)
    texts = {"en": {**update.texts["en"], "sms_body": "Payments are down. Sorry."}}
    if method == "put":
        texts = {**update.texts, **texts}
    response = getattr(api(alice), method)(f"/api/updates/{update.pk}/", {"texts": texts}, format="json")
    assert response.status_code == 200
    assert response.data["status"] == "awaiting approval" and response.data["is_approved"] is False


def test_messages_filter_by_status_channel_and_update(api, alice, live_incident, run_worker):
    update = update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    assert api(alice).get("/api/messages/").data["count"] == 3
    assert api(alice).get("/api/messages/?channel=sms").data["count"] == 1
    assert api(alice).get(f"/api/messages/?update={update.pk}&status=queued").data["count"] == 3
    run_worker()
    sent = api(alice).get(f"/api/messages/?update={update.pk}&status=sent").data
    assert sent["count"] == 3
    assert {row["update"] for row in sent["results"]} == {update.pk}
    assert {row["incident"] for row in sent["results"]} == {live_incident.pk}
    assert api(alice).get("/api/messages/?status=lost").status_code == 400


def test_update_list_filters(api, alice, live_incident):
    published = update_publish(update=update_draft(incident=live_incident, author=alice), actor=alice)
    update_draft(incident=live_incident, author=alice)
    assert api(alice).get("/api/updates/?status=draft").data["count"] == 1
    assert [row["id"] for row in api(alice).get("/api/updates/?status=published").data["results"]] == [published.pk]
    assert api(alice).get(f"/api/updates/?incident={live_incident.pk}").data["count"] == 2


@pytest.mark.parametrize("path", ["/api/incidents/", "/api/messages/", "/api/playbooks/", "/api/updates/"])
def test_anonymous_callers_are_401(api, path):
    assert api().get(path).status_code == 401


def test_session_authentication_works_for_the_console_user(client, alice, live_incident):
    client.force_login(alice)
    assert client.get("/api/incidents/").status_code == 200


def test_a_token_can_be_obtained_with_username_and_password(api, alice):
    response = api().post("/api/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json")
    assert response.status_code == 200 and response.data["token"]


def test_an_import_job_shows_rows_checked_of_the_total(api, alice, organization, settings, run_worker):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CANDOR_IMPORT_PROGRESS_EVERY = 1
    upload = SimpleUploadedFile("contacts.csv", CSV.encode(), content_type="text/csv")
    queued = api(alice).post("/api/contacts/import/", {"file": upload}, format="multipart").json()
    assert (queued["status"], queued["rows_checked"], queued["rows_total"]) == ("queued", 0, None)

    run_worker()

    done = api(alice).get(queued["url"]).json()
    assert (done["status"], done["rows_checked"], done["rows_total"]) == ("done", 1, 1)


@pytest.mark.parametrize(
    "query", ["page_size=abc", "page_size=0", "page_size=201", "page=0", "page=-1", "page_size=5&page_size=6"]
)
def test_a_page_or_page_size_out_of_range_is_a_400_naming_it(api, alice, query):
    response = api(alice).get(f"/api/clients/?{query}")
    assert response.status_code == 400
    assert set(response.json()) == {query.split("=")[0]}


def test_a_page_size_in_range_is_used(api, alice, organization):
    make_client(organization, "One")
    make_client(organization, "Two")
    response = api(alice).get("/api/clients/?page_size=1&page=2")
    assert response.status_code == 200 and len(response.json()["results"]) == 1
