"""Invariants the account models keep on their own, whoever saves them."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Contact
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def test_contact_phone_is_normalised_to_e164_with_the_clients_country(organization):
    client = make_client(organization, country="DE")
    contact = Contact(client=client, name="Lukas Fischer", phone="0151 2345 6789")

    contact.full_clean()

    assert contact.phone == "+4915123456789"


def test_contact_with_an_invalid_phone_is_refused(organization):
    contact = Contact(client=make_client(organization), name="Lukas Fischer", phone="12")

    with pytest.raises(ValidationError, match="Invalid phone number '12'"):
        contact.full_clean()


def test_contact_needs_an_email_or_a_phone(organization):
    contact = Contact(client=make_client(organization), name="Nobody Reachable")

    with pytest.raises(ValidationError, match="needs an email address or a mobile number"):
        contact.full_clean()


def test_contact_who_accepts_sms_needs_a_phone(organization):
    contact = Contact(client=make_client(organization), name="Anna", email="anna@example.com", accepts_sms=True)

    with pytest.raises(ValidationError) as error:
        contact.full_clean()

    assert "accepts_sms" in error.value.message_dict


def test_contact_email_is_stored_in_lower_case(organization):
    contact = Contact(client=make_client(organization), name="Anna", email="Anna.Schmidt@Example.COM")

    contact.full_clean()

    assert contact.email == "anna.schmidt@example.com"
