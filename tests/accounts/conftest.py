"""Fixtures for the accounts tests: CSV files for the contact import, and a Candor operator (superuser)."""

import csv
import io

import pytest

from accounts.importing import COLUMNS
from accounts.models import User


def contacts_csv(*rows, columns=COLUMNS):
    """A CSV file (as text) with the import's header and one line per dict of column values."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def hansa_row(**values):
    """A valid row: a contact at Hansa Logistik, a German client."""
    row = {
        "client_name": "Hansa Logistik",
        "client_country": "DE",
        "client_language": "de",
        "client_timezone": "Europe/Berlin",
        "client_tier": "key",
        "client_tags": "api;eu",
        "contact_name": "Jürgen Becker",
        "contact_title": "Leiter IT-Betrieb",
        "contact_seniority": "manager",
        "contact_email": "juergen.becker@hansa.example",
        "contact_phone": "0151 23456789",
        "contact_channels": "email;sms",
        "contact_sms_consent": "granted",
    }
    row.update(values)
    return row


def sakura_row(**values):
    """A valid row: a contact at Sakura Robotics, a Japanese client."""
    row = {
        "client_name": "Sakura Robotics",
        "client_country": "JP",
        "client_language": "ja",
        "client_timezone": "Asia/Tokyo",
        "contact_name": "Yuki Suzuki",
        "contact_seniority": "executive",
        "contact_email": "yuki.suzuki@sakura.example",
        "contact_phone": "090-1234-5678",
        "contact_channels": "email",
    }
    row.update(values)
    return row


@pytest.fixture
def operator(db):
    """Someone who runs Candor: a superuser without an organisation."""
    return User.objects.create_superuser(username="oscar", password="pw-oscar", email="oscar@candor.example")
