"""What the client pages show, read in as few queries as possible and rendered once per version.

A request first reads a small "head" from the database (two queries): whether the page may be
shown and everything that decides its content (incident state, latest published update, the
client's acknowledgement...). Those values are the cache key, so a page is never stale and the
cache needs no invalidation: a new update changes the key, and the next request renders anew.
The rendered parts leave per-contact values as tokens (`-contact_name-`...), filled per request.
"""

import contextlib
import datetime as dt
import functools
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import ProgrammingError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from accounts.models import ClientAccount, Contact, Organization, User
from candor.helpers import display_name
from comms.links import preferences_url
from comms.rendering import (
    apply_substitutions,
    choose_language,
    format_local_time,
    render_text,
)
from playbooks.models import (
    FINAL_STATES,
    LIVE_STATES,
    ClientAcknowledgement,
    Incident,
    IncidentUpdate,
    State,
)
from playbooks.updates.audience import scope_of
from playbooks.updates.pipeline import READER_TOKENS, page_text
from playbooks.updates.services import message_context
from playbooks.updates.wording import stage_words

CACHE_FORMAT = "2"  # bump when what is cached changes shape
CLIENT_BLOCK_MARKER = "<!--candor:client-block-->"
CSRF_TOKEN = "-csrf_token-"
PREFERENCES_HREF = "-preferences_href-"  # the link as an attribute (in update texts it is written out)
PUBLIC_HISTORY_LIMIT = 50
FEED_LIMIT = 50

# The words of the client pages, per language (missing ones fall back to English).
PAGE_WORDS = {
    "en": {
        "skip": "Skip to content",
        "status_of": "Incident status",
        "stage_heading": "Current status",
        "affected_heading": "What is affected for you",
        "affected_tags": "Your services: {tags}.",
        "affected_countries": "Your region: {countries}.",
        "affected_chosen": "{client} is among the affected clients.",
        "affected_all": "All clients of {organization} are affected.",
        "next_update": "Next update by {time}",
        "next_none": "No further updates are planned.",
        "countdown_in": "in {minutes} min",
        "countdown_hours": "in {hours} h {minutes} min",
        "countdown_due": "due now",
        "updates_heading": "Updates",
        "no_updates": "No update has been published yet.",
        "published": "Published",
        "holding": "Holding statement",
        "contact_heading": "Whom to contact",
        "contact_owner": "Your account manager at {organization}:",
        "contact_org": "Reply to any of our messages to reach {organization}.",
        "ack_heading": "Please confirm",
        "ack_button": "Confirm",
        "ack_sms": "You can also reply {keyword} to our SMS.",
        "ack_done": "Confirmed by {name}, {time}. Thank you.",
        "ack_thanks": "Thank you: your confirmation is recorded.",
        "ack_nothing": "There is nothing to confirm now.",
        "expired_title": "This link has expired",
        "expired_text": "This incident was closed on {closed}. Status links stop working {days} days after an incident "
        "closes. Please contact {organization} if you need information about it.",
        "preferences": "Choose how we contact you",
        "footer": "Status updates from {organization}.",
        "public_title": "{organization} status",
        "current_heading": "Current incidents",
        "history_heading": "Past incidents",
        "no_current": "There are no incidents at the moment.",
        "no_history": "No past incidents.",
        "feed": "Follow the updates (Atom feed)",
        "reader": "customer",
        "reader_client": "your company",
        "updates_count": "updates",
        "last_update": "Last update",
    },
    "de": {
        "skip": "Zum Inhalt springen",
        "status_of": "Status des Vorfalls",
        "stage_heading": "Aktueller Stand",
        "affected_heading": "Was für Sie betroffen ist",
        "affected_tags": "Ihre Dienste: {tags}.",
        "affected_countries": "Ihre Region: {countries}.",
        "affected_chosen": "{client} gehört zu den betroffenen Kunden.",
        "affected_all": "Alle Kunden von {organization} sind betroffen.",
        "next_update": "Nächste Meldung bis {time}",
        "next_none": "Weitere Meldungen sind nicht geplant.",
        "countdown_in": "in {minutes} Min.",
        "countdown_hours": "in {hours} Std. {minutes} Min.",
        "countdown_due": "jetzt fällig",
        "updates_heading": "Meldungen",
        "no_updates": "Es wurde noch keine Meldung veröffentlicht.",
        "published": "Veröffentlicht",
        "holding": "Zwischenstand",
        "contact_heading": "Ihr Ansprechpartner",
        "contact_owner": "Ihre Kundenbetreuung bei {organization}:",
        "contact_org": "Antworten Sie auf eine unserer Nachrichten, um {organization} zu erreichen.",
        "ack_heading": "Bitte bestätigen",
        "ack_button": "Bestätigen",
        "ack_sms": "Sie können auch mit {keyword} auf unsere SMS antworten.",
        "ack_done": "Bestätigt von {name}, {time}. Vielen Dank.",
        "ack_thanks": "Vielen Dank: Ihre Bestätigung ist erfasst.",
        "ack_nothing": "Derzeit gibt es nichts zu bestätigen.",
        "expired_title": "Dieser Link ist abgelaufen",
        "expired_text": "Dieser Vorfall wurde am {closed} abgeschlossen. Statuslinks gelten bis {days} Tage nach dem "
        "Abschluss. Wenden Sie sich bei Fragen bitte an {organization}.",
        "preferences": "Wählen Sie, wie wir Sie erreichen",
        "footer": "Statusmeldungen von {organization}.",
        "public_title": "Status von {organization}",
        "current_heading": "Aktuelle Vorfälle",
        "history_heading": "Frühere Vorfälle",
        "no_current": "Derzeit gibt es keine Vorfälle.",
        "no_history": "Keine früheren Vorfälle.",
        "feed": "Meldungen abonnieren (Atom-Feed)",
        "reader": "Kunde",
        "reader_client": "Ihr Unternehmen",
        "updates_count": "Meldungen",
        "last_update": "Letzte Meldung",
    },
    "fr": {
        "skip": "Aller au contenu",
        "status_of": "État de l'incident",
        "stage_heading": "Situation actuelle",
        "affected_heading": "Ce qui vous concerne",
        "affected_tags": "Vos services : {tags}.",
        "affected_countries": "Votre région : {countries}.",
        "affected_chosen": "{client} fait partie des clients concernés.",
        "affected_all": "Tous les clients de {organization} sont concernés.",
        "next_update": "Prochain point avant {time}",
        "next_none": "Aucun autre point n'est prévu.",
        "countdown_in": "dans {minutes} min",
        "countdown_hours": "dans {hours} h {minutes} min",
        "countdown_due": "attendu maintenant",
        "updates_heading": "Points de situation",
        "no_updates": "Aucun point n'a encore été publié.",
        "published": "Publié",
        "holding": "Point d'attente",
        "contact_heading": "Qui contacter",
        "contact_owner": "Votre responsable de compte chez {organization} :",
        "contact_org": "Répondez à l'un de nos messages pour joindre {organization}.",
        "ack_heading": "Merci de confirmer",
        "ack_button": "Confirmer",
        "ack_sms": "Vous pouvez aussi répondre {keyword} à notre SMS.",
        "ack_done": "Confirmé par {name}, {time}. Merci.",
        "ack_thanks": "Merci : votre confirmation est enregistrée.",
        "ack_nothing": "Il n'y a rien à confirmer pour le moment.",
        "expired_title": "Ce lien a expiré",
        "expired_text": "Cet incident a été clos le {closed}. Les liens de suivi cessent de fonctionner {days} jours "
        "après la clôture. Contactez {organization} pour toute information.",
        "preferences": "Choisir comment nous vous contactons",
        "footer": "Informations de {organization}.",
        "public_title": "État des services de {organization}",
        "current_heading": "Incidents en cours",
        "history_heading": "Incidents passés",
        "no_current": "Aucun incident en cours.",
        "no_history": "Aucun incident passé.",
        "feed": "Suivre les points (flux Atom)",
        "reader": "client",
        "reader_client": "votre entreprise",
        "updates_count": "points",
        "last_update": "Dernier point",
    },
    "es": {
        "skip": "Ir al contenido",
        "status_of": "Estado del incidente",
        "stage_heading": "Situación actual",
        "affected_heading": "Lo que le afecta",
        "affected_tags": "Sus servicios: {tags}.",
        "affected_countries": "Su región: {countries}.",
        "affected_chosen": "{client} está entre los clientes afectados.",
        "affected_all": "Todos los clientes de {organization} están afectados.",
        "next_update": "Próxima actualización antes de {time}",
        "next_none": "No hay más actualizaciones previstas.",
        "countdown_in": "en {minutes} min",
        "countdown_hours": "en {hours} h {minutes} min",
        "countdown_due": "prevista ahora",
        "updates_heading": "Actualizaciones",
        "no_updates": "Aún no se ha publicado ninguna actualización.",
        "published": "Publicado",
        "holding": "Comunicado provisional",
        "contact_heading": "A quién contactar",
        "contact_owner": "Su gestor de cuenta en {organization}:",
        "contact_org": "Responda a cualquiera de nuestros mensajes para contactar con {organization}.",
        "ack_heading": "Por favor, confirme",
        "ack_button": "Confirmar",
        "ack_sms": "También puede responder {keyword} a nuestro SMS.",
        "ack_done": "Confirmado por {name}, {time}. Gracias.",
        "ack_thanks": "Gracias: su confirmación ha quedado registrada.",
        "ack_nothing": "No hay nada que confirmar ahora.",
        "expired_title": "Este enlace ha caducado",
        "expired_text": "Este incidente se cerró el {closed}. Los enlaces de estado dejan de funcionar {days} días "
        "después del cierre. Contacte con {organization} si necesita información.",
        "preferences": "Elija cómo le contactamos",
        "footer": "Actualizaciones de {organization}.",
        "public_title": "Estado de {organization}",
        "current_heading": "Incidentes actuales",
        "history_heading": "Incidentes anteriores",
        "no_current": "No hay incidentes en este momento.",
        "no_history": "No hay incidentes anteriores.",
        "feed": "Seguir las actualizaciones (feed Atom)",
        "reader": "cliente",
        "reader_client": "su empresa",
        "updates_count": "actualizaciones",
        "last_update": "Última actualización",
    },
    "pt-br": {
        "skip": "Ir para o conteúdo",
        "status_of": "Status do incidente",
        "stage_heading": "Situação atual",
        "affected_heading": "O que afeta você",
        "affected_tags": "Seus serviços: {tags}.",
        "affected_countries": "Sua região: {countries}.",
        "affected_chosen": "{client} está entre os clientes afetados.",
        "affected_all": "Todos os clientes de {organization} são afetados.",
        "next_update": "Próxima atualização até {time}",
        "next_none": "Não há mais atualizações previstas.",
        "countdown_in": "em {minutes} min",
        "countdown_hours": "em {hours} h {minutes} min",
        "countdown_due": "prevista agora",
        "updates_heading": "Atualizações",
        "no_updates": "Nenhuma atualização foi publicada ainda.",
        "published": "Publicado",
        "holding": "Comunicado provisório",
        "contact_heading": "Quem contatar",
        "contact_owner": "Seu gerente de conta na {organization}:",
        "contact_org": "Responda a qualquer uma de nossas mensagens para falar com a {organization}.",
        "ack_heading": "Por favor, confirme",
        "ack_button": "Confirmar",
        "ack_sms": "Você também pode responder {keyword} ao nosso SMS.",
        "ack_done": "Confirmado por {name}, {time}. Obrigado.",
        "ack_thanks": "Obrigado: sua confirmação foi registrada.",
        "ack_nothing": "Não há nada a confirmar agora.",
        "expired_title": "Este link expirou",
        "expired_text": "Este incidente foi encerrado em {closed}. Os links de status deixam de funcionar {days} dias "
        "após o encerramento. Fale com a {organization} se precisar de informações.",
        "preferences": "Escolha como entramos em contato",
        "footer": "Atualizações da {organization}.",
        "public_title": "Status da {organization}",
        "current_heading": "Incidentes atuais",
        "history_heading": "Incidentes anteriores",
        "no_current": "Não há incidentes no momento.",
        "no_history": "Nenhum incidente anterior.",
        "feed": "Acompanhar as atualizações (feed Atom)",
        "reader": "cliente",
        "reader_client": "sua empresa",
        "updates_count": "atualizações",
        "last_update": "Última atualização",
    },
    "it": {
        "skip": "Vai al contenuto",
        "status_of": "Stato dell'incidente",
        "stage_heading": "Situazione attuale",
        "affected_heading": "Cosa la riguarda",
        "affected_tags": "I suoi servizi: {tags}.",
        "affected_countries": "La sua regione: {countries}.",
        "affected_chosen": "{client} è tra i clienti coinvolti.",
        "affected_all": "Tutti i clienti di {organization} sono coinvolti.",
        "next_update": "Prossimo aggiornamento entro {time}",
        "next_none": "Non sono previsti altri aggiornamenti.",
        "countdown_in": "tra {minutes} min",
        "countdown_hours": "tra {hours} h {minutes} min",
        "countdown_due": "previsto ora",
        "updates_heading": "Aggiornamenti",
        "no_updates": "Non è ancora stato pubblicato alcun aggiornamento.",
        "published": "Pubblicato",
        "holding": "Comunicazione provvisoria",
        "contact_heading": "Chi contattare",
        "contact_owner": "Il suo referente presso {organization}:",
        "contact_org": "Risponda a uno dei nostri messaggi per contattare {organization}.",
        "ack_heading": "Per favore confermi",
        "ack_button": "Conferma",
        "ack_sms": "Può anche rispondere {keyword} al nostro SMS.",
        "ack_done": "Confermato da {name}, {time}. Grazie.",
        "ack_thanks": "Grazie: la sua conferma è registrata.",
        "ack_nothing": "Al momento non c'è nulla da confermare.",
        "expired_title": "Questo link è scaduto",
        "expired_text": "Questo incidente è stato chiuso il {closed}. I link di stato smettono di funzionare {days} "
        "giorni dopo la chiusura. Contatti {organization} per informazioni.",
        "preferences": "Scelga come contattarla",
        "footer": "Aggiornamenti di {organization}.",
        "public_title": "Stato di {organization}",
        "current_heading": "Incidenti in corso",
        "history_heading": "Incidenti passati",
        "no_current": "Al momento non ci sono incidenti.",
        "no_history": "Nessun incidente passato.",
        "feed": "Segui gli aggiornamenti (feed Atom)",
        "reader": "cliente",
        "reader_client": "la sua azienda",
        "updates_count": "aggiornamenti",
        "last_update": "Ultimo aggiornamento",
    },
    "nl": {
        "skip": "Naar de inhoud",
        "status_of": "Status van het incident",
        "stage_heading": "Huidige status",
        "affected_heading": "Wat voor u geraakt is",
        "affected_tags": "Uw diensten: {tags}.",
        "affected_countries": "Uw regio: {countries}.",
        "affected_chosen": "{client} is een van de getroffen klanten.",
        "affected_all": "Alle klanten van {organization} zijn getroffen.",
        "next_update": "Volgende update uiterlijk {time}",
        "next_none": "Er zijn geen verdere updates gepland.",
        "countdown_in": "over {minutes} min",
        "countdown_hours": "over {hours} u {minutes} min",
        "countdown_due": "nu verwacht",
        "updates_heading": "Updates",
        "no_updates": "Er is nog geen update gepubliceerd.",
        "published": "Gepubliceerd",
        "holding": "Tussenbericht",
        "contact_heading": "Contact",
        "contact_owner": "Uw accountmanager bij {organization}:",
        "contact_org": "Antwoord op een van onze berichten om {organization} te bereiken.",
        "ack_heading": "Graag bevestigen",
        "ack_button": "Bevestigen",
        "ack_sms": "U kunt ook {keyword} antwoorden op onze sms.",
        "ack_done": "Bevestigd door {name}, {time}. Dank u.",
        "ack_thanks": "Dank u: uw bevestiging is vastgelegd.",
        "ack_nothing": "Er is nu niets te bevestigen.",
        "expired_title": "Deze link is verlopen",
        "expired_text": "Dit incident is op {closed} afgesloten. Statuslinks werken tot {days} dagen na het afsluiten. "
        "Neem contact op met {organization} als u informatie nodig hebt.",
        "preferences": "Kies hoe wij u bereiken",
        "footer": "Statusupdates van {organization}.",
        "public_title": "Status van {organization}",
        "current_heading": "Actuele incidenten",
        "history_heading": "Eerdere incidenten",
        "no_current": "Er zijn op dit moment geen incidenten.",
        "no_history": "Geen eerdere incidenten.",
        "feed": "Volg de updates (Atom-feed)",
        "reader": "klant",
        "reader_client": "uw bedrijf",
        "updates_count": "updates",
        "last_update": "Laatste update",
    },
    "ja": {
        "skip": "本文へ移動",
        "status_of": "インシデントの状況",
        "stage_heading": "現在の状況",
        "affected_heading": "お客様への影響",
        "affected_tags": "対象サービス：{tags}",
        "affected_countries": "対象地域：{countries}",
        "affected_chosen": "{client}様は影響を受けるお客様に含まれます。",
        "affected_all": "{organization}のすべてのお客様が対象です。",
        "next_update": "次回のお知らせ：{time}まで",
        "next_none": "今後のお知らせの予定はありません。",
        "countdown_in": "あと{minutes}分",
        "countdown_hours": "あと{hours}時間{minutes}分",
        "countdown_due": "まもなく",
        "updates_heading": "お知らせ",
        "no_updates": "まだお知らせは公開されていません。",
        "published": "公開",
        "holding": "経過のお知らせ",
        "contact_heading": "お問い合わせ先",
        "contact_owner": "{organization}の担当者：",
        "contact_org": "{organization}へは、いずれかのメッセージへの返信でご連絡いただけます。",
        "ack_heading": "ご確認のお願い",
        "ack_button": "確認しました",
        "ack_sms": "SMSに「{keyword}」と返信していただくこともできます。",
        "ack_done": "{name}様が確認済み（{time}）。ありがとうございました。",
        "ack_thanks": "ありがとうございます。ご確認を記録しました。",
        "ack_nothing": "現在、確認が必要な事項はありません。",
        "expired_title": "このリンクは有効期限が切れています",
        "expired_text": "このインシデントは{closed}に終了しました。ステータスリンクは終了から{days}日後に無効になります。"
        "詳細は{organization}までお問い合わせください。",
        "preferences": "連絡方法の設定",
        "footer": "{organization}からのお知らせ",
        "public_title": "{organization} ステータス",
        "current_heading": "現在のインシデント",
        "history_heading": "過去のインシデント",
        "no_current": "現在、インシデントはありません。",
        "no_history": "過去のインシデントはありません。",
        "feed": "お知らせを購読（Atomフィード）",
        "reader": "お客様",
        "reader_client": "貴社",
        "updates_count": "件のお知らせ",
        "last_update": "最新のお知らせ",
    },
}


@functools.cache
def cache_version():
    """Part of every page's cache key and ETag: changes when the templates or the page words do,
    so a deploy never serves (or confirms with a 304) a page rendered by the previous release."""
    templates = Path(settings.BASE_DIR) / "templates"
    sources = [templates / "base.html", *sorted((templates / "playbooks" / "public").glob("*.html"))]
    content = b"".join(path.read_bytes() for path in sources if path.exists())
    return _crc(CACHE_FORMAT, content, sorted(PAGE_WORDS.items()))


def page_words(language):
    words = PAGE_WORDS["en"]
    if language in PAGE_WORDS and language != "en":
        words = {**words, **PAGE_WORDS[language]}
    return words


def page_language(candidates):
    """The first language of `candidates` the pages are written in, else English."""
    return next((language for language in candidates if language in PAGE_WORDS), "en")


def _crc(*values):
    return format(zlib.crc32("\x1f".join(str(value) for value in values).encode()), "x")


def _stamp(moment):
    return moment.timestamp() if moment else ""


# ---------------------------------------------------------------------------------------------
# Private status page


@dataclass(frozen=True)
class Reader:
    """The contact a private page is for, and their client: what the page needs of them."""

    id: int
    name: str
    language: str
    timezone_name: str
    client_id: int
    client_name: str
    client_default_language: str
    client_country: str
    client_tags: tuple
    organization_id: int
    account_owner_id: int | None


@dataclass
class StatusHead:
    """What one request must know before anything is rendered, from one query."""

    reader: Reader
    incident: dict  # selected fields of the incident, plus what the query derived
    candidates: list  # the reader's languages, in order of preference
    language: str  # the page's language
    timezone_name: str
    expires_at: dt.datetime | None
    scope: dict = field(default_factory=dict)

    @property
    def is_expired(self):
        return self.expires_at is not None and timezone.now() >= self.expires_at

    @property
    def body_key(self):
        incident = self.incident
        return ":".join(
            [
                "status-body",
                cache_version(),
                str(incident["id"]),
                incident["state"],
                str(incident["last_update_id"] or 0),
                str(_stamp(incident["next_update_due_at"])),
                self.language,
                ",".join(self.candidates),
                self.timezone_name,
                _crc(incident["title"], incident["organization_name"], incident.get("summary", "")),
            ]
        )

    @property
    def client_key(self):
        incident, reader = self.incident, self.reader
        return ":".join(
            [
                "status-client",
                cache_version(),
                str(incident["id"]),
                str(reader.client_id),
                incident["state"],
                self.language,
                self.timezone_name,
                str(incident["ack_id"] or 0),
                str(_stamp(incident["ack_confirmed_at"])),
                str(reader.account_owner_id or 0),
                _crc(sorted(self.scope.items()), reader.client_name),
            ]
        )

    @property
    def etag(self):
        reader = self.reader
        digest = hashlib.md5(
            f"{self.body_key}|{self.client_key}|{reader.id}|{reader.name}".encode(), usedforsecurity=False
        ).hexdigest()
        return f'W/"{digest}"'


def client_scope(incident, client_id, client_tags, client_country, plan_audience):
    """Why a client is affected: {"tags": [...], "countries": [...], "chosen": bool} or {"all":
    True}; empty when it is not. The one audience rule (playbooks.updates.audience)."""
    scope = scope_of(
        chosen_ids=[client_id] if incident["has_chosen_clients"] else [],
        tags=incident["affected_tags"],
        countries=incident["affected_countries"],
        plan_audience=plan_audience,
    )
    return scope.reason(
        client_id=client_id,
        client_tags=client_tags,
        client_country=client_country,
        is_chosen=incident["is_chosen_client"],
    )


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _aware(value):
    """A database datetime read without the ORM (a string on SQLite), as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=dt.UTC)


@functools.cache
def _status_head_sql():
    """One statement for the head: the contact, their client and organisation, and the incident
    with its latest published update, its scope for this client and the client's acknowledgement.

    Written out rather than built by the ORM because it runs on every request of a rush, where
    compiling the equivalent queryset cost more than the query itself (see bench/README.md).
    """
    contact, client, organization = Contact._meta, ClientAccount._meta, Organization._meta
    incident, update = Incident._meta, IncidentUpdate._meta
    chosen, acknowledgement = Incident.affected_clients.through._meta, ClientAcknowledgement._meta
    open_acknowledgement = (
        f"FROM {acknowledgement.db_table} a WHERE a.incident_id = i.id AND a.client_id = cl.id "
        "ORDER BY (CASE WHEN a.confirmed_at IS NULL THEN 0 ELSE 1 END), a.requested_at DESC, a.id DESC LIMIT 1"
    )
    return f"""
        SELECT c.id, c.name, c.language, c.timezone,
               cl.id, cl.name, cl.default_language, cl.timezone, cl.country, cl.tags, cl.account_owner_id,
               cl.organization_id, o.name,
               i.id, i.title, i.summary, i.state, i.closed_at, i.cancelled_at, i.next_update_due_at,
               i.affected_tags, i.affected_countries,
               (SELECT u.id FROM {update.db_table} u WHERE u.incident_id = i.id AND u.published_at IS NOT NULL
                ORDER BY u.published_at DESC, u.id DESC LIMIT 1),
               EXISTS (SELECT 1 FROM {chosen.db_table} m WHERE m.incident_id = i.id AND m.clientaccount_id = cl.id),
               EXISTS (SELECT 1 FROM {chosen.db_table} m WHERE m.incident_id = i.id),
               (SELECT a.id {open_acknowledgement}),
               (SELECT a.confirmed_at {open_acknowledgement})
        FROM {contact.db_table} c
        JOIN {client.db_table} cl ON cl.id = c.client_id
        JOIN {organization.db_table} o ON o.id = cl.organization_id
        JOIN {incident.db_table} i ON i.id = %s AND i.organization_id = cl.organization_id AND i.state <> '{State.DRAFT.value}'
        WHERE c.id = %s AND c.is_active
    """


def _run_hot_query(name, sql, params, types):
    """Run a statement of the request path and return its rows. On PostgreSQL it is prepared once
    per connection (PREPARE/EXECUTE): planning these joins cost several times running them.
    Should a prepared statement vanish (a pooler handing us another session), it is prepared again.
    """
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return cursor.fetchall()
        execute = f"EXECUTE {name} ({', '.join(['%s'] * len(params))})"
        prepared = getattr(connection.connection, "_candor_prepared", None)
        if prepared is None:
            prepared = connection.connection._candor_prepared = set()
        if name in prepared:
            # In autocommit (a request) a failed statement harms nothing; in a transaction, a
            # savepoint keeps it usable for the retry.
            guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
            try:
                with guard:
                    cursor.execute(execute, params)
                    return cursor.fetchall()
            except ProgrammingError:
                prepared.discard(name)
        numbered = sql
        for number in range(1, len(params) + 1):
            numbered = numbered.replace("%s", f"${number}", 1)
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f"PREPARE {name} ({', '.join(types)}) AS {numbered}")
        prepared.add(name)
        cursor.execute(execute, params)
        return cursor.fetchall()


def incident_plan_facts(incident_id):
    """What the page needs of an incident's frozen plan. The plan never changes once the incident
    exists, so it is read once and kept in the cache."""
    key = f"incident-plan:{CACHE_FORMAT}:{incident_id}"
    facts = cache.get(key)
    if facts is None:
        plan = Incident.objects.filter(pk=incident_id).values_list("plan", flat=True).first() or {}
        facts = {"audience": plan.get("audience") or {}, "default_language": plan.get("default_language") or ""}
        cache.set(key, facts, None)
    return facts


def status_head(*, incident_id, contact_id):
    """The head of a contact's private status page, or None when the pair may not see it: no
    such contact (or no longer active), an incident of another organisation, still a draft, or
    one that does not affect the contact's client."""
    rows = _run_hot_query("candor_status_head", _status_head_sql(), [incident_id, contact_id], ["bigint", "bigint"])
    if not rows:
        return None
    row = rows[0]
    (
        contact_id,
        name,
        language,
        timezone_name,
        client_id,
        client_name,
        client_language,
        client_timezone,
        country,
        client_tags,
        owner_id,
        organization_id,
        organization_name,
        incident_id,
        title,
        summary,
        state,
        closed_at,
        cancelled_at,
        next_update_due_at,
        affected_tags,
        affected_countries,
        last_update_id,
        is_chosen,
        has_chosen,
        ack_id,
        ack_confirmed_at,
    ) = row
    incident = {
        "id": incident_id,
        "organization_id": organization_id,
        "organization_name": organization_name,
        "title": title,
        "summary": summary or "",
        "state": state,
        "closed_at": _aware(closed_at),
        "cancelled_at": _aware(cancelled_at),
        "next_update_due_at": _aware(next_update_due_at),
        "affected_tags": _json(affected_tags),
        "affected_countries": _json(affected_countries),
        "last_update_id": last_update_id,
        "is_chosen_client": bool(is_chosen),
        "has_chosen_clients": bool(has_chosen),
        "ack_id": ack_id,
        "ack_confirmed_at": _aware(ack_confirmed_at),
    }
    facts = incident_plan_facts(incident_id)
    client_tags = tuple(_json(client_tags) or ())
    scope = client_scope(incident, client_id, client_tags, country, facts["audience"])
    if not scope:
        return None
    candidates = [each for each in (language, client_language, facts["default_language"]) if each]
    ended_at = incident["closed_at"] or incident["cancelled_at"]
    expires_at = ended_at + dt.timedelta(days=settings.CANDOR_STATUS_LINK_DAYS_AFTER_CLOSE) if ended_at else None
    reader = Reader(
        id=contact_id,
        name=name,
        language=language,
        timezone_name=timezone_name or client_timezone or "UTC",
        client_id=client_id,
        client_name=client_name,
        client_default_language=client_language,
        client_country=country,
        client_tags=client_tags,
        organization_id=organization_id,
        account_owner_id=owner_id,
    )
    return StatusHead(
        reader=reader,
        incident=incident,
        candidates=candidates,
        language=page_language(candidates),
        timezone_name=reader.timezone_name,
        expires_at=expires_at,
        scope=scope,
    )


def _rendered_update(update, *, incident, languages, timezone_name, reader):
    """One published update as a reader sees it: its words in the first of `languages` it has,
    times in their timezone; per-recipient values stay tokens unless `reader` fills them."""
    texts = update["texts"]
    language = choose_language(languages, texts.keys())
    words = texts.get(language) or {}
    context = {
        **message_context(
            organization_name=incident["organization_name"],
            title=incident["title"],
            summary=incident.get("summary", ""),
            stage=update["stage"],
            language=language,
            timezone_name=timezone_name,
            next_update_due_at=update["next_update_due_at"],
        ),
        **(reader or {}),
    }
    # The update's own words, not the email: no greeting, no links addressed to one reader, and the
    # summary once at the top of the page rather than in every update (playbooks.updates.pipeline.page_text).
    body = render_text(page_text(words.get("email_body") or words.get("sms_body") or ""), context)
    subject = render_text(words.get("email_subject") or "", context)
    return {
        "id": update["id"],
        "language": language,
        "subject": subject,
        "body": body,
        "stage": stage_words(update["stage"], language),
        "is_holding_statement": update["is_holding_statement"],
        "published_at": update["published_at"],
        "published_local": format_local_time(update["published_at"], language=language, timezone_name=timezone_name),
    }


def _published_updates(incident_ids):
    return (
        IncidentUpdate.objects.filter(incident_id__in=incident_ids, published_at__isnull=False)
        .order_by("-published_at", "-id")
        .values("id", "incident_id", "stage", "texts", "published_at", "next_update_due_at", "is_holding_statement")
    )


def status_body(head):
    """The page without its client block, rendered once per version and kept in the cache."""
    html = cache.get(head.body_key)
    if html is not None:
        return html
    incident, language, tz = head.incident, head.language, head.timezone_name
    words = page_words(language)
    languages = [language, *head.candidates]
    updates = [
        _rendered_update(update, incident=incident, languages=languages, timezone_name=tz, reader=None)
        for update in _published_updates([incident["id"]])
    ]
    due_at = incident["next_update_due_at"]
    is_over = incident["state"] not in LIVE_STATES
    html = render_to_string(
        "playbooks/public/status_page.html",
        {
            "page_language": language,
            "words": words,
            "incident": incident,
            "summary": incident.get("summary", ""),
            "stage": stage_words(incident["state"], language),
            "is_live": not is_over,
            "updates": updates,
            "next_update": None
            if is_over or due_at is None
            else {
                "at": due_at,
                "local": format_local_time(due_at, language=language, timezone_name=tz),
                # The time goes in a <time> element between the words around it.
                "before": words["next_update"].partition("{time}")[0],
                "after": words["next_update"].partition("{time}")[2],
            },
            "client_block_marker": CLIENT_BLOCK_MARKER,
            "footer": words["footer"].format(organization=incident["organization_name"]),
            "preferences_href": PREFERENCES_HREF,
        },
    )
    cache.set(head.body_key, html, settings.CANDOR_PAGE_CACHE_SECONDS)
    return html


def status_client_block(head):
    """What differs per client: why they are affected, whom to call, what to confirm."""
    html = cache.get(head.client_key)
    if html is not None:
        return html
    from playbooks.acknowledgements.services import acknowledgement_words

    incident, language, reader = head.incident, head.language, head.reader
    words = page_words(language)
    organization = incident["organization_name"]
    scope = head.scope
    affected = []
    if scope.get("all"):
        affected.append(words["affected_all"].format(organization=organization))
    if scope.get("chosen"):
        affected.append(words["affected_chosen"].format(client=reader.client_name))
    if scope.get("tags"):
        affected.append(words["affected_tags"].format(tags=", ".join(scope["tags"])))
    if scope.get("countries"):
        affected.append(words["affected_countries"].format(countries=", ".join(scope["countries"])))
    acknowledgement = None
    if incident["ack_id"]:
        row = ClientAcknowledgement.objects.select_related("confirmed_by").get(pk=incident["ack_id"])
        plan = Incident.objects.filter(pk=incident["id"]).values_list("plan", flat=True).first() or {}
        config = plan.get("stages", {}).get(row.stage, {}).get("acknowledgement")
        _, request, keyword = acknowledgement_words(config, [language, *head.candidates])
        acknowledgement = {
            "request": request,
            "keyword": keyword,
            "is_confirmed": row.is_confirmed,
            "can_confirm": not row.is_confirmed and incident["state"] not in FINAL_STATES,
            "done": words["ack_done"].format(
                name=row.confirmed_by.name if row.confirmed_by else reader.client_name,
                time=format_local_time(row.confirmed_at, language=language, timezone_name=head.timezone_name),
            )
            if row.is_confirmed
            else "",
        }
    owner = User.objects.filter(pk=reader.account_owner_id).first() if reader.account_owner_id else None
    html = render_to_string(
        "playbooks/public/_client_block.html",
        {
            "words": words,
            "affected": affected,
            "owner": {"name": display_name(owner), "email": owner.email} if owner else None,
            "contact_owner": words["contact_owner"].format(organization=organization),
            "contact_org": words["contact_org"].format(organization=organization),
            "acknowledgement": acknowledgement,
            "ack_sms": words["ack_sms"].format(keyword=acknowledgement["keyword"]) if acknowledgement else "",
            "csrf_token_value": CSRF_TOKEN,
        },
    )
    cache.set(head.client_key, html, settings.CANDOR_PAGE_CACHE_SECONDS)
    return html


def status_page_html(head, *, status_link, csrf_token=""):
    """The whole page for this contact: cached parts plus their own values."""
    html = status_body(head).replace(CLIENT_BLOCK_MARKER, status_client_block(head))
    reader = head.reader
    link = escape(status_link)
    preferences_link = escape(preferences_url(reader.id))
    return apply_substitutions(
        html,
        {
            READER_TOKENS["contact_name"]: escape(reader.name),
            READER_TOKENS["client_name"]: escape(reader.client_name),
            READER_TOKENS["status_url"]: f'<a href="{link}">{link}</a>',
            READER_TOKENS["preferences_url"]: f'<a href="{preferences_link}">{preferences_link}</a>',
            PREFERENCES_HREF: preferences_link,
            CSRF_TOKEN: escape(csrf_token),
        },
    )


# ---------------------------------------------------------------------------------------------
# Public status page and feed


@dataclass
class PublicHead:
    organization: Organization
    incidents: list  # (id, state, title, last_update_id) of the public incidents shown

    @property
    def key(self):
        organization = self.organization
        return ":".join(
            [
                "public-page",
                cache_version(),
                str(organization.pk),
                organization.default_language,
                organization.timezone,
                _crc(organization.name, self.incidents),
            ]
        )

    @property
    def etag(self):
        return '"' + hashlib.md5(self.key.encode(), usedforsecurity=False).hexdigest() + '"'


@functools.cache
def _public_head_sql():
    """The organisation and the versions of its public incidents, in one statement (written out
    for the same reason as the private page's)."""
    organization, incident, update = Organization._meta, Incident._meta, IncidentUpdate._meta
    return f"""
        SELECT o.id, o.name, o.slug, o.default_language, o.timezone, i.id, i.state, i.title,
               (SELECT u.id FROM {update.db_table} u WHERE u.incident_id = i.id AND u.published_at IS NOT NULL
                ORDER BY u.published_at DESC, u.id DESC LIMIT 1)
        FROM {organization.db_table} o
        LEFT JOIN {incident.db_table} i ON i.organization_id = o.id AND i.is_public AND i.state <> '{State.DRAFT.value}'
        WHERE o.slug = %s
        ORDER BY i.created_at DESC, i.id DESC
        LIMIT {PUBLIC_HISTORY_LIMIT}
    """


def public_head(*, slug):
    """The organisation and its public incidents' versions (one query), or None."""
    rows = _run_hot_query("candor_public_head", _public_head_sql(), [slug], ["text"])
    if not rows:
        return None
    organization_id, name, slug, default_language, timezone_name = rows[0][:5]
    organization = Organization(
        id=organization_id, name=name, slug=slug, default_language=default_language, timezone=timezone_name
    )
    incidents = [tuple(row[5:]) for row in rows if row[5] is not None]
    return PublicHead(organization=organization, incidents=incidents)


def _public_reader(organization, words):
    """What the per-recipient values of an update read as on a public page."""
    return {
        "contact_name": words["reader"],
        "client_name": words["reader_client"],
        "status_url": f"{settings.CANDOR_PUBLIC_URL}/status/{organization.slug}/",
        "preferences_url": "",
    }


def public_updates(head, *, limit=None):
    """Published updates of the public incidents, newest first, rendered for the public in the
    organisation's language and timezone (incident_id, incident title, update...)."""
    organization = head.organization
    language = page_language([organization.default_language])
    words = page_words(language)
    titles = {incident_id: title for incident_id, _, title, _ in head.incidents}
    plan_languages = (
        dict(Incident.objects.filter(pk__in=titles).values_list("pk", "plan__default_language")) if titles else {}
    )
    updates = _published_updates(list(titles))
    if limit:
        updates = updates[:limit]
    rendered = []
    for update in updates:
        incident = {"organization_name": organization.name, "title": titles[update["incident_id"]]}
        item = _rendered_update(
            update,
            incident=incident,
            languages=[organization.default_language, plan_languages.get(update["incident_id"])],
            timezone_name=organization.timezone,
            reader=_public_reader(organization, words),
        )
        item["incident_id"] = update["incident_id"]
        item["incident_title"] = incident["title"]
        rendered.append(item)
    return rendered


def public_page_html(head):
    html = cache.get(head.key)
    if html is not None:
        return html
    organization = head.organization
    language = page_language([organization.default_language])
    words = page_words(language)
    by_incident = {}
    for update in public_updates(head):
        by_incident.setdefault(update["incident_id"], []).append(update)
    current, history = [], []
    for incident_id, state, title, _ in head.incidents:
        updates = by_incident.get(incident_id, [])
        entry = {
            "id": incident_id,
            "title": title,
            "stage": stage_words(state, language),
            "updates": updates,
            "last_update": updates[0] if updates else None,
        }
        (current if state in LIVE_STATES else history).append(entry)
    html = render_to_string(
        "playbooks/public/public_page.html",
        {
            "page_language": language,
            "words": words,
            "organization": organization,
            "title": words["public_title"].format(organization=organization.name),
            "footer": words["footer"].format(organization=organization.name),
            "current": current,
            "history": history,
        },
    )
    cache.set(head.key, html, settings.CANDOR_PAGE_CACHE_SECONDS)
    return html
