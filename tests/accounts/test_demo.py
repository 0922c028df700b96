"""The demo organisation: big enough to show Candor off, and safe to load again."""

import phonenumbers
import pytest

from accounts.demo import DEMO_LOGINS, demo_organization_load
from accounts.models import ClientAccount, Contact, Organization, Role, SmsConsent, User

pytestmark = pytest.mark.django_db


def demo_state():
    return {
        "organizations": Organization.objects.count(),
        "users": User.objects.count(),
        "clients": ClientAccount.objects.count(),
        "contacts": Contact.objects.count(),
        "contact_rows": sorted(
            Contact.objects.values_list("email", "phone", "sms_consent", "sms_consent_at", "updated_at")
        ),
    }


def test_loading_the_demo_twice_changes_nothing():
    demo_organization_load()
    first = demo_state()

    organization = demo_organization_load()

    assert demo_state() == first
    assert organization.slug == "northwind"
    assert first["clients"] >= 20
    assert first["contacts"] >= 60
    assert ClientAccount.objects.values("country").distinct().count() >= 5
    assert ClientAccount.objects.values("default_language").distinct().count() >= 6


def test_demo_logins_work_with_their_roles():
    organization = demo_organization_load()

    for username, role, password in DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert user.check_password(password)
        assert (user.organization, user.role) == (organization, role)
    admin = User.objects.get(username="admin")
    assert admin.role == Role.ADMIN and admin.is_staff and not admin.is_superuser
    operator = User.objects.get(username="operator")
    assert operator.is_superuser and operator.organization is None and operator.check_password("candor-demo")
    assert User.objects.get(username="cora").get_full_name() == "Cora Commander"


def test_an_older_demo_admin_stops_being_a_superuser_on_reload():
    demo_organization_load()
    User.objects.filter(username="admin").update(is_superuser=True)

    demo_organization_load()

    assert not User.objects.get(username="admin").is_superuser


def test_demo_contacts_are_valid_and_reachable_as_described():
    demo_organization_load()

    for contact in Contact.objects.select_related("client"):
        contact.full_clean()
        if contact.phone:
            number = phonenumbers.parse(contact.phone)
            assert phonenumbers.is_valid_number(number), contact.phone
            assert phonenumbers.region_code_for_number(number) == contact.client.country
    for client in ClientAccount.objects.all():
        client.full_clean()
    assert Contact.objects.filter(phone="").count() == 1
    assert Contact.objects.filter(is_active=False).count() == 1
    assert Contact.objects.filter(sms_consent=SmsConsent.OPTED_OUT).count() >= 2
    sms_contacts = Contact.objects.filter(accepts_sms=True)
    assert sms_contacts.filter(sms_consent=SmsConsent.GRANTED).count() > sms_contacts.count() / 2
    assert Contact.objects.exclude(language="").exists()
