"""The demo organisation: Northwind Systems, its team, and twenty clients in nine countries with their contacts.

Loading it again changes nothing: every row is found by its natural key and only differences are written.
"""

import datetime as dt
import unicodedata
from datetime import UTC, datetime

from django.db import transaction
from django.utils.text import slugify

from .models import ClientAccount, Contact, Organization, Role, Seniority, SmsConsent, Tier, User, normalize_phone

DEMO_PASSWORD = "candor-demo"

# (username, first name, last name, role)
DEMO_USERS = [
    ("admin", "Ada", "Admin", Role.ADMIN),
    ("cora", "Cora", "Commander", Role.COMMANDER),
    ("ben", "Ben", "Backup", Role.COMMANDER),
    ("cody", "Cody", "Communicator", Role.COMMUNICATOR),
    ("lena", "Lena", "Leadership", Role.LEADERSHIP),
]
DEMO_LOGINS = [(username, role.value, DEMO_PASSWORD) for username, _, _, role in DEMO_USERS]
DEMO_USER_PHONES = {"cora": "+4915112340001", "ben": "+4915112340002"}
# The installation's operator: a superuser of no organisation, the only login that sees every tenant.
DEMO_OPERATOR_LOGIN = ("operator", "installation operator (every organisation)", DEMO_PASSWORD)

# A fixed moment, so that loading the demo again does not move consent timestamps.
DEMO_CONSENT_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DEMO_OPT_OUT_AT = datetime(2025, 9, 15, 14, 30, tzinfo=UTC)

# Mobile numbers: a real mobile prefix per country and a running number (US numbers use 555-01xx).
MOBILE_PREFIXES = {
    "DE": ("+49151", 8),
    "AT": ("+43664", 7),
    "JP": ("+8190", 8),
    "BR": ("+55119", 8),
    "ES": ("+346", 8),
    "MX": ("+5255", 8),
    "GB": ("+447400", 6),
    "FR": ("+336", 8),
    "NL": ("+316", 8),
}
US_AREA_CODES = {"America/Chicago": "312", "America/Los_Angeles": "213"}

E, M, S = Seniority.EXECUTIVE, Seniority.MANAGER, Seniority.STAFF

# Each contact: (first name, last name, title, seniority, channels, exceptions). Exceptions say where a
# contact differs from the usual: another language or timezone, opted out of SMS, no phone, inactive.
# fmt: off
DEMO_CLIENTS = [
    {
        "name": "Hansa Logistik GmbH", "country": "DE", "language": "de", "timezone": "Europe/Berlin",
        "tier": Tier.STRATEGIC, "tags": ["api", "payments", "eu"], "owner": "cora",
        "contacts": [
            ("Katrin", "Vogel", "Geschäftsführerin", E, "email", {}),
            ("Jürgen", "Becker", "Leiter IT-Betrieb", M, "email;sms", {}),
            ("Sophie", "Wagner", "Disponentin", S, "email;sms", {}),
        ],
    },
    {
        "name": "Rheinwerk Energie AG", "country": "DE", "language": "de", "timezone": "Europe/Berlin",
        "tier": Tier.KEY, "tags": ["sensor-x200", "gateway-g5", "eu"], "owner": "ben",
        "contacts": [
            ("Michael", "Schneider", "Vorstand Technik", E, "email", {}),
            ("Anna", "Hoffmann", "Leiterin Netzleitstelle", M, "email;sms", {}),
            ("James", "Carter", "Site Reliability Engineer", S, "email;sms", {"language": "en"}),
        ],
    },
    {
        "name": "Bergmann Maschinenbau KG", "country": "DE", "language": "de", "timezone": "Europe/Berlin",
        "tier": Tier.KEY, "tags": ["dashboard", "sensor-x200", "eu"], "owner": "cora",
        "contacts": [
            ("Stefan", "Bergmann", "Geschäftsführer", E, "email;sms", {}),
            ("Claudia", "Schäfer", "Leiterin Qualitätssicherung", M, "email", {}),
            ("Lukas", "Fischer", "Servicetechniker", S, "sms", {}),
        ],
    },
    {
        "name": "Donau Versicherung AG", "country": "AT", "language": "de", "timezone": "Europe/Vienna",
        "tier": Tier.KEY, "tags": ["api", "dashboard", "eu"], "owner": "ben",
        "contacts": [
            ("Elisabeth", "Gruber", "Vorstandsvorsitzende", E, "email", {}),
            ("Markus", "Huber", "Leiter IT-Sicherheit", M, "email;sms", {}),
            ("Theresa", "Pichler", "Systemadministratorin", S, "email;sms", {}),
        ],
    },
    {
        "name": "Alpenbahn Service GmbH", "country": "AT", "language": "de", "timezone": "Europe/Vienna",
        "tier": Tier.STANDARD, "tags": ["mobile-app", "eu"], "owner": "cody",
        "contacts": [
            ("Florian", "Steiner", "Geschäftsführer", E, "email", {}),
            ("Julia", "Moser", "Leiterin Kundenservice", M, "email;sms", {}),
            ("David", "Mayer", "App-Entwickler", S, "email", {}),
        ],
    },
    {
        "name": "Sakura Robotics K.K.", "country": "JP", "language": "ja", "timezone": "Asia/Tokyo",
        "tier": Tier.STRATEGIC, "tags": ["api", "sensor-x200", "apac"], "owner": "cora",
        "contacts": [
            ("Hiroshi", "Tanaka", "代表取締役社長", E, "email", {}),
            ("Yuki", "Suzuki", "情報システム部長", M, "email;sms", {}),
            ("Haruto", "Sato", "インフラエンジニア", S, "email;sms", {}),
        ],
    },
    {
        "name": "Fuji Retail Holdings", "country": "JP", "language": "ja", "timezone": "Asia/Tokyo",
        "tier": Tier.STANDARD, "tags": ["payments", "mobile-app", "apac"], "owner": "cody",
        "contacts": [
            ("Kenji", "Yamamoto", "取締役 CTO", E, "email", {}),
            ("Aiko", "Watanabe", "決済システム課長", M, "email;sms", {}),
            ("Daniel", "Brooks", "Mobile Engineer", S, "email", {"language": "en"}),
        ],
    },
    {
        "name": "Verde Pagamentos S.A.", "country": "BR", "language": "pt-br", "timezone": "America/Sao_Paulo",
        "tier": Tier.KEY, "tags": ["payments", "api", "americas"], "owner": "ben",
        "contacts": [
            ("Fernanda", "Almeida", "Diretora de Tecnologia", E, "email", {}),
            ("Rafael", "Souza", "Gerente de Operações", M, "email;sms", {}),
            ("Camila", "Ribeiro", "Analista de Suporte", S, "email;sms", {"opted_out": True}),
        ],
    },
    {
        "name": "Horizonte Agro Ltda.", "country": "BR", "language": "pt-br", "timezone": "America/Sao_Paulo",
        "tier": Tier.STANDARD, "tags": ["gateway-g5", "dashboard", "americas"], "owner": "cody",
        "contacts": [
            ("Ricardo", "Carvalho", "Diretor-Presidente", E, "email", {}),
            ("Juliana", "Costa", "Coordenadora de TI", M, "email;sms", {}),
            ("Thiago", "Oliveira", "Técnico de Campo", S, "sms", {}),
        ],
    },
    {
        "name": "Iberia Salud S.L.", "country": "ES", "language": "es", "timezone": "Europe/Madrid",
        "tier": Tier.KEY, "tags": ["dashboard", "api", "eu"], "owner": "cora",
        "contacts": [
            ("Carmen", "Ruiz", "Directora General", E, "email", {}),
            ("Javier", "Morales", "Responsable de Sistemas", M, "email;sms", {}),
            ("Lucía", "Navarro", "Técnica de Soporte", S, "email;sms", {}),
        ],
    },
    {
        "name": "Mediterránea Logística S.A.", "country": "ES", "language": "es", "timezone": "Europe/Madrid",
        "tier": Tier.STANDARD, "tags": ["mobile-app", "eu"], "owner": "cody",
        "contacts": [
            ("Antonio", "García", "Director de Operaciones", E, "email", {}),
            ("Marta", "Jiménez", "Jefa de Tráfico", M, "email;sms", {}),
            ("Pablo", "Romero", "Coordinador de Almacén", S, "email", {"is_active": False}),
        ],
    },
    {
        "name": "Banco del Valle", "country": "MX", "language": "es", "timezone": "America/Mexico_City",
        "tier": Tier.STRATEGIC, "tags": ["payments", "api", "americas"], "owner": "ben",
        "contacts": [
            ("Alejandro", "Hernández", "Director de Tecnología", E, "email;sms", {}),
            ("Gabriela", "Ramírez", "Gerente de Continuidad de Negocio", M, "email;sms", {}),
            ("Luis", "Torres", "Ingeniero de Soporte", S, "email;sms", {}),
        ],
    },
    {
        "name": "Aztlán Telecom", "country": "MX", "language": "es", "timezone": "America/Mexico_City",
        "tier": Tier.STANDARD, "tags": ["gateway-g5", "americas"], "owner": "cody",
        "contacts": [
            ("Sofía", "Mendoza", "Directora de Operaciones", E, "email", {}),
            ("Diego", "Flores", "Gerente de Red", M, "email;sms", {"opted_out": True}),
            ("Valeria", "Castillo", "Analista NOC", S, "sms", {}),
        ],
    },
    {
        "name": "Lakeshore Health", "country": "US", "language": "en", "timezone": "America/Chicago",
        "tier": Tier.STRATEGIC, "tags": ["api", "dashboard", "americas"], "owner": "cora",
        "contacts": [
            ("Jennifer", "Miller", "Chief Information Officer", E, "email", {}),
            ("Robert", "Johnson", "IT Operations Manager", M, "email;sms", {}),
            ("María", "González", "Clinical Systems Analyst", S, "email;sms", {"language": "es"}),
        ],
    },
    {
        "name": "Pacific Freight Lines", "country": "US", "language": "en", "timezone": "America/Los_Angeles",
        "tier": Tier.KEY, "tags": ["mobile-app", "gateway-g5", "americas"], "owner": "ben",
        "contacts": [
            ("Michael", "Thompson", "VP Engineering", E, "email", {}),
            ("Ashley", "Davis", "Fleet Operations Manager", M, "email;sms", {}),
            ("Kevin", "Nguyen", "Dispatcher", S, "email;sms", {"timezone": "America/Phoenix"}),
        ],
    },
    {
        "name": "Thameside Utilities plc", "country": "GB", "language": "en", "timezone": "Europe/London",
        "tier": Tier.KEY, "tags": ["sensor-x200", "dashboard", "eu"], "owner": "cora",
        "contacts": [
            ("Oliver", "Bennett", "Chief Operating Officer", E, "email", {"has_phone": False}),
            ("Charlotte", "Hughes", "Head of Control Room", M, "email;sms", {}),
            ("Harry", "Patel", "Field Engineer", S, "sms", {}),
        ],
    },
    {
        "name": "Pennine Retail Group", "country": "GB", "language": "en", "timezone": "Europe/London",
        "tier": Tier.STANDARD, "tags": ["payments", "mobile-app", "eu"], "owner": "cody",
        "contacts": [
            ("Emma", "Clarke", "Managing Director", E, "email", {}),
            ("George", "Walker", "Payments Manager", M, "email;sms", {}),
            ("Amelia", "Wright", "Support Analyst", S, "email;sms", {}),
        ],
    },
    {
        "name": "Lumière Transports SAS", "country": "FR", "language": "fr", "timezone": "Europe/Paris",
        "tier": Tier.KEY, "tags": ["api", "mobile-app", "eu"], "owner": "ben",
        "contacts": [
            ("Isabelle", "Moreau", "Présidente", E, "email", {}),
            ("Nicolas", "Lefèvre", "Directeur des systèmes d'information", M, "email;sms", {}),
            ("Camille", "Girard", "Ingénieure d'exploitation", S, "email;sms", {}),
        ],
    },
    {
        "name": "Vignobles Duval", "country": "FR", "language": "fr", "timezone": "Europe/Paris",
        "tier": Tier.STANDARD, "tags": ["sensor-x200", "eu"], "owner": "cody",
        "contacts": [
            ("Pierre", "Duval", "Gérant", E, "email;sms", {}),
            ("Sandrine", "Laurent", "Responsable qualité", M, "email", {}),
            ("Hugo", "Bernard", "Technicien capteurs", S, "sms", {}),
        ],
    },
    {
        "name": "Polder Water Systems B.V.", "country": "NL", "language": "nl", "timezone": "Europe/Amsterdam",
        "tier": Tier.STANDARD, "tags": ["gateway-g5", "sensor-x200", "eu"], "owner": "ben",
        "contacts": [
            ("Sanne", "de Vries", "Algemeen directeur", E, "email", {}),
            ("Bram", "Jansen", "Hoofd ICT", M, "email;sms", {}),
            ("Lotte", "Bakker", "Storingsmonteur", S, "email;sms", {}),
        ],
    },
]
# fmt: on


@transaction.atomic
def demo_organization_load():
    """Create the demo organisation with its users, clients and contacts, or bring them back to the demo state.

    Users that already exist are left as they are (their passwords in particular).
    """
    organization = _ensure(
        Organization,
        {"slug": "northwind"},
        {
            "name": "Northwind Systems",
            # Founded years ago: the demo's history of past crises is detected after this.
            "created_at": dt.datetime(2019, 3, 1, tzinfo=dt.UTC),
            "country": "DE",
            "timezone": "Europe/Berlin",
            "default_language": "en",
            "sms_help_text": (
                "Northwind Systems incident updates. Questions: +49 30 1234567 or "
                "support@northwind.example. Reply STOP to opt out."
            ),
        },
    )
    users = {
        username: _user_load(organization, username, first, last, role) for username, first, last, role in DEMO_USERS
    }
    _operator_load()

    number = 0
    for spec in DEMO_CLIENTS:
        owner = users[spec["owner"]]
        client = _ensure(
            ClientAccount,
            {"organization": organization, "name": spec["name"]},
            {
                "country": spec["country"],
                "default_language": spec["language"],
                "timezone": spec["timezone"],
                "tier": spec["tier"],
                "tags": spec["tags"],
                "account_owner": owner if owner.organization_id == organization.pk else None,
            },
        )
        for first, last, title, seniority, channels, exceptions in spec["contacts"]:
            number += 1
            _contact_load(client, spec, number, first, last, title, seniority, channels, exceptions)
    return organization


def demo_mobile_number(country, number, *, timezone=""):
    """A mobile number valid for the country (phonenumbers agrees), distinct for each running number."""
    if country == "US":
        return f"+1{US_AREA_CODES[timezone]}55501{number % 100:02d}"
    prefix, digits = MOBILE_PREFIXES[country]
    body = str(2_345_678 + number * 104_729).rjust(digits, "2")[-digits:]
    return prefix + body


def _user_load(organization, username, first_name, last_name, role):
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@northwind.example",
            "organization": organization,
            "role": role,
            "phone": DEMO_USER_PHONES.get(username, ""),
            "is_staff": role == Role.ADMIN,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    elif user.is_superuser and user.organization_id:
        # Older demos made the organisation's admin a superuser, who saw every tenant.
        user.is_superuser = False
        user.save(update_fields=["is_superuser"])
    return user


def _operator_load():
    username, _, password = DEMO_OPERATOR_LOGIN
    operator, created = User.objects.get_or_create(
        username=username,
        defaults={"email": "operator@candor.example", "is_staff": True, "is_superuser": True, "organization": None},
    )
    if created:
        operator.set_password(password)
        operator.save(update_fields=["password"])
    return operator


def _contact_load(client, spec, number, first, last, title, seniority, channels, exceptions):
    accepts_sms = "sms" in channels.split(";")
    phone = ""
    if exceptions.get("has_phone", True):
        phone = normalize_phone(demo_mobile_number(spec["country"], number, timezone=spec["timezone"]))
    values = {
        "name": f"{first} {last}",
        "title": title,
        "seniority": seniority,
        "phone": phone,
        "language": exceptions.get("language", ""),
        "timezone": exceptions.get("timezone", ""),
        "accepts_email": "email" in channels.split(";"),
        "accepts_sms": accepts_sms,
        "is_active": exceptions.get("is_active", True),
    }
    # Consent is the contact's own once they exist: a STOP reply or a carrier's refusal in the demo's
    # history stays (load_demo --reset starts over).
    consent = {"sms_consent": SmsConsent.UNKNOWN, "sms_consent_at": None, "sms_opted_out_at": None}
    if exceptions.get("opted_out"):
        consent.update(
            sms_consent=SmsConsent.OPTED_OUT, sms_consent_at=DEMO_CONSENT_AT, sms_opted_out_at=DEMO_OPT_OUT_AT
        )
    elif accepts_sms:
        consent.update(sms_consent=SmsConsent.GRANTED, sms_consent_at=DEMO_CONSENT_AT)
    email = f"{_ascii_word(first)}.{_ascii_word(last)}@{slugify(client.name)}.example"
    return _ensure(Contact, {"client": client, "email": email}, values, create_only=consent)


def _ascii_word(text):
    """'Jürgen' -> 'juergen', 'de Vries' -> 'devries', 'Lucía' -> 'lucia': for demo email addresses."""
    text = text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(character for character in text if character.isalnum())


def _ensure(model, lookup, values, create_only=None):
    """get_or_create on the natural key, then write only the fields that differ from the demo state
    (`create_only` fields are set on creation and left alone afterwards)."""
    instance, created = model.objects.get_or_create(**lookup, defaults={**values, **(create_only or {})})
    if not created:
        changed = [name for name, value in values.items() if getattr(instance, name) != value]
        for name in changed:
            setattr(instance, name, values[name])
        if changed:
            instance.save(update_fields=changed)
    return instance
