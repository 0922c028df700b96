"""A contact's preferences page (/p/<token>/) and one-click unsubscribe (/p/<token>/unsubscribe/),
reached from every message through a signed link, no login. Thin: the services are in
comms.preferences."""

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import Contact, EmailStatus, SmsConsent
from candor.helpers import private_link_headers

from .links import contact_id_from_preferences_token
from .preferences import contact_email_unsubscribe, contact_preferences_change

# Each language of accounts.models.LANGUAGES named in itself, so a reader finds their own.
LANGUAGE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt-br": "Português (Brasil)",
    "it": "Italiano",
    "nl": "Nederlands",
    "ja": "日本語",
}

WORDS = {
    "en": {
        "skip": "Skip to content",
        "title": "How we contact you",
        "intro": "{organization} keeps you informed when an incident affects {client}. Choose how.",
        "channels": "Channels",
        "email": "Email to {email}",
        "email_bad": "Emails to this address could not be delivered; tell {organization} a new address.",
        "sms": "SMS to {phone}",
        "sms_consent": "I agree to receive text messages about incidents. Reply STOP to any of them to stop.",
        "no_phone": "We have no mobile number for you, so we cannot send SMS.",
        "language": "Language of our messages",
        "language_default": "Same as {client}: {language}",
        "save": "Save my choices",
        "saved": "Saved. Your choices apply from the very next message.",
        "nothing": "You have turned off every channel: you will not hear from us about incidents.",
        "errors": "Please correct the following:",
        "unsubscribe_title": "Stop emails",
        "unsubscribe_text": "Stop all incident emails to {email}?",
        "unsubscribe_button": "Stop emails",
        "unsubscribed": "Done: you will receive no more emails from {organization}.",
        "unsubscribed_back": "Changed your mind? Choose your channels on your preferences page.",
    },
    "de": {
        "skip": "Zum Inhalt springen",
        "title": "Wie wir Sie erreichen",
        "intro": "{organization} informiert Sie, wenn ein Vorfall {client} betrifft. Wählen Sie, wie.",
        "channels": "Kanäle",
        "email": "E-Mail an {email}",
        "email_bad": "E-Mails an diese Adresse konnten nicht "
        "zugestellt werden; teilen Sie {organization} eine neue Adresse mit.",
        "sms": "SMS an {phone}",
        "sms_consent": "Ich bin einverstanden, SMS zu Vorfällen zu erhalten. Mit STOP als Antwort beende ich sie.",
        "no_phone": "Uns liegt keine Mobilnummer von Ihnen vor, daher können wir keine SMS senden.",
        "language": "Sprache unserer Nachrichten",
        "language_default": "Wie {client}: {language}",
        "save": "Auswahl speichern",
        "saved": "Gespeichert. Ihre Auswahl gilt ab der nächsten Nachricht.",
        "nothing": "Sie haben alle Kanäle abgeschaltet: Sie erhalten keine Meldungen zu Vorfällen.",
        "errors": "Bitte korrigieren Sie:",
        "unsubscribe_title": "Keine E-Mails mehr",
        "unsubscribe_text": "Alle E-Mails zu Vorfällen an {email} beenden?",
        "unsubscribe_button": "E-Mails beenden",
        "unsubscribed": "Erledigt: Sie erhalten keine E-Mails mehr von {organization}.",
        "unsubscribed_back": "Anders entschieden? Wählen Sie Ihre Kanäle auf Ihrer Einstellungsseite.",
    },
    "fr": {
        "skip": "Aller au contenu",
        "title": "Comment nous vous contactons",
        "intro": "{organization} vous informe lorsqu'un incident touche {client}. Choisissez comment.",
        "channels": "Canaux",
        "email": "E-mail à {email}",
        "email_bad": "Les e-mails à cette adresse n'ont pas pu être "
        "remis ; indiquez une nouvelle adresse à {organization}.",
        "sms": "SMS au {phone}",
        "sms_consent": "J'accepte de recevoir des SMS sur les incidents. Je peux répondre STOP pour les arrêter.",
        "no_phone": "Nous n'avons pas votre numéro de mobile : nous ne pouvons pas envoyer de SMS.",
        "language": "Langue de nos messages",
        "language_default": "Comme {client} : {language}",
        "save": "Enregistrer mes choix",
        "saved": "Enregistré. Vos choix s'appliquent dès le prochain message.",
        "nothing": "Vous avez désactivé tous les canaux : vous ne serez pas informé des incidents.",
        "errors": "Merci de corriger :",
        "unsubscribe_title": "Ne plus recevoir d'e-mails",
        "unsubscribe_text": "Arrêter tous les e-mails d'incident à {email} ?",
        "unsubscribe_button": "Arrêter les e-mails",
        "unsubscribed": "C'est fait : vous ne recevrez plus d'e-mails de {organization}.",
        "unsubscribed_back": "Changé d'avis ? Choisissez vos canaux sur votre page de préférences.",
    },
    "es": {
        "skip": "Ir al contenido",
        "title": "Cómo le contactamos",
        "intro": "{organization} le informa cuando un incidente afecta a {client}. Elija cómo.",
        "channels": "Canales",
        "email": "Correo a {email}",
        "email_bad": "No se pudieron entregar correos a esta dirección; indique una nueva a {organization}.",
        "sms": "SMS al {phone}",
        "sms_consent": "Acepto recibir SMS sobre incidentes. Puedo responder STOP para dejar de recibirlos.",
        "no_phone": "No tenemos su número de móvil, así que no podemos enviarle SMS.",
        "language": "Idioma de nuestros mensajes",
        "language_default": "Como {client}: {language}",
        "save": "Guardar mis preferencias",
        "saved": "Guardado. Sus preferencias se aplican desde el próximo mensaje.",
        "nothing": "Ha desactivado todos los canales: no recibirá avisos de incidentes.",
        "errors": "Corrija lo siguiente:",
        "unsubscribe_title": "Dejar de recibir correos",
        "unsubscribe_text": "¿Dejar de enviar correos de incidentes a {email}?",
        "unsubscribe_button": "Dejar de recibir correos",
        "unsubscribed": "Hecho: no recibirá más correos de {organization}.",
        "unsubscribed_back": "¿Ha cambiado de opinión? Elija sus canales en su página de preferencias.",
    },
    "pt-br": {
        "skip": "Ir para o conteúdo",
        "title": "Como entramos em contato",
        "intro": "A {organization} avisa você quando um incidente afeta a {client}. Escolha como.",
        "channels": "Canais",
        "email": "E-mail para {email}",
        "email_bad": "Não foi possível entregar e-mails neste endereço; informe um novo à {organization}.",
        "sms": "SMS para {phone}",
        "sms_consent": "Aceito receber SMS sobre incidentes. Posso responder STOP para parar.",
        "no_phone": "Não temos seu número de celular, então não podemos enviar SMS.",
        "language": "Idioma das nossas mensagens",
        "language_default": "Igual à {client}: {language}",
        "save": "Salvar minhas escolhas",
        "saved": "Salvo. Suas escolhas valem a partir da próxima mensagem.",
        "nothing": "Você desativou todos os canais: não receberá avisos sobre incidentes.",
        "errors": "Corrija o seguinte:",
        "unsubscribe_title": "Parar e-mails",
        "unsubscribe_text": "Parar todos os e-mails de incidentes para {email}?",
        "unsubscribe_button": "Parar e-mails",
        "unsubscribed": "Pronto: você não receberá mais e-mails da {organization}.",
        "unsubscribed_back": "Mudou de ideia? Escolha seus canais na sua página de preferências.",
    },
    "it": {
        "skip": "Vai al contenuto",
        "title": "Come la contattiamo",
        "intro": "{organization} la informa quando un incidente riguarda {client}. Scelga come.",
        "channels": "Canali",
        "email": "E-mail a {email}",
        "email_bad": "Non è stato possibile recapitare e-mail a "
        "questo indirizzo; comunichi un nuovo indirizzo a {organization}.",
        "sms": "SMS al {phone}",
        "sms_consent": "Accetto di ricevere SMS sugli incidenti. Posso rispondere STOP per interromperli.",
        "no_phone": "Non abbiamo il suo numero di cellulare, quindi non possiamo inviare SMS.",
        "language": "Lingua dei nostri messaggi",
        "language_default": "Come {client}: {language}",
        "save": "Salva le mie scelte",
        "saved": "Salvato. Le sue scelte valgono dal prossimo messaggio.",
        "nothing": "Ha disattivato tutti i canali: non riceverà avvisi sugli incidenti.",
        "errors": "Corregga quanto segue:",
        "unsubscribe_title": "Interrompi le e-mail",
        "unsubscribe_text": "Interrompere tutte le e-mail sugli incidenti a {email}?",
        "unsubscribe_button": "Interrompi le e-mail",
        "unsubscribed": "Fatto: non riceverà più e-mail da {organization}.",
        "unsubscribed_back": "Ha cambiato idea? Scelga i suoi canali nella pagina delle preferenze.",
    },
    "nl": {
        "skip": "Naar de inhoud",
        "title": "Hoe wij u bereiken",
        "intro": "{organization} houdt u op de hoogte als een incident {client} raakt. Kies hoe.",
        "channels": "Kanalen",
        "email": "E-mail naar {email}",
        "email_bad": "E-mails naar dit adres konden niet worden bezorgd; geef {organization} een nieuw adres door.",
        "sms": "Sms naar {phone}",
        "sms_consent": "Ik ga akkoord met sms'jes over incidenten. Met STOP als antwoord stop ik ze.",
        "no_phone": "We hebben geen mobiel nummer van u, dus we kunnen geen sms sturen.",
        "language": "Taal van onze berichten",
        "language_default": "Zoals {client}: {language}",
        "save": "Keuzes opslaan",
        "saved": "Opgeslagen. Uw keuzes gelden vanaf het volgende bericht.",
        "nothing": "U hebt alle kanalen uitgezet: u hoort niets van ons over incidenten.",
        "errors": "Corrigeer het volgende:",
        "unsubscribe_title": "Geen e-mails meer",
        "unsubscribe_text": "Alle incidentmails naar {email} stoppen?",
        "unsubscribe_button": "E-mails stoppen",
        "unsubscribed": "Klaar: u ontvangt geen e-mails meer van {organization}.",
        "unsubscribed_back": "Van gedachten veranderd? Kies uw kanalen op uw voorkeurenpagina.",
    },
    "ja": {
        "skip": "本文へ移動",
        "title": "連絡方法の設定",
        "intro": "{organization}は、{client}様に影響するインシデントが発生した際にお知らせします。連絡方法をお選びください。",
        "channels": "連絡手段",
        "email": "メール（{email}）",
        "email_bad": "このアドレスへのメールは配信できませんでした。新しいアドレスを{organization}へお知らせください。",
        "sms": "SMS（{phone}）",
        "sms_consent": "インシデントに関するSMSの受信に同意します。STOPと返信すると停止できます。",
        "no_phone": "携帯電話番号が登録されていないため、SMSは送信できません。",
        "language": "メッセージの言語",
        "language_default": "{client}と同じ：{language}",
        "save": "設定を保存",
        "saved": "保存しました。次のメッセージから適用されます。",
        "nothing": "すべての連絡手段がオフです。インシデントのお知らせは届きません。",
        "errors": "次の点を修正してください：",
        "unsubscribe_title": "メールの停止",
        "unsubscribe_text": "{email}へのインシデントメールをすべて停止しますか？",
        "unsubscribe_button": "メールを停止",
        "unsubscribed": "完了しました。{organization}からのメールは今後届きません。",
        "unsubscribed_back": "設定を戻す場合は、連絡方法の設定ページで選択してください。",
    },
}


def _words(language):
    return {**WORDS["en"], **WORDS.get(language, {})}


def _contact_or_404(token):
    contact_id = contact_id_from_preferences_token(token)
    contact = (
        Contact.objects.select_related("client__organization").filter(pk=contact_id).first()
        if contact_id is not None
        else None
    )
    if contact is None:
        raise Http404("No such page.")
    return contact


class PreferencesForm(forms.Form):
    accepts_email = forms.BooleanField(required=False)
    wants_sms = forms.BooleanField(required=False)
    language = forms.ChoiceField(required=False)

    def __init__(self, *args, contact, words, **kwargs):
        super().__init__(*args, **kwargs)
        client = contact.client
        self.fields["language"].choices = [
            (
                "",
                words["language_default"].format(
                    client=client.name, language=LANGUAGE_NAMES.get(client.default_language, client.default_language)
                ),
            ),
            *LANGUAGE_NAMES.items(),
        ]
        self.fields["language"].label = words["language"]
        self.fields["accepts_email"].label = words["email"].format(email=contact.email)
        self.fields["wants_sms"].label = words["sms"].format(phone=contact.phone)
        if not contact.email:
            self.fields["accepts_email"].disabled = True
        if not contact.phone:
            self.fields["wants_sms"].disabled = True


def _initial(contact):
    return {
        "accepts_email": contact.accepts_email,
        "wants_sms": contact.accepts_sms and contact.sms_consent == SmsConsent.GRANTED,
        "language": contact.language,
    }


@require_http_methods(["GET", "POST"])
def preferences(request, token):
    """Channels, language and SMS consent; the change applies to the very next message."""
    contact = _contact_or_404(token)
    language = contact.effective_language if contact.effective_language in WORDS else "en"
    words = _words(language)
    form = PreferencesForm(request.POST or None, contact=contact, words=words, initial=_initial(contact))
    if request.method == "POST":
        with translation.override(language):  # Django's own messages in the reader's language
            is_valid = form.is_valid()
        if is_valid:
            try:
                contact_preferences_change(
                    contact=contact,
                    accepts_email=form.cleaned_data["accepts_email"] if contact.email else contact.accepts_email,
                    wants_sms=form.cleaned_data["wants_sms"] if contact.phone else False,
                    language=form.cleaned_data["language"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                response = redirect(f"{request.path}?saved=1")
                response.status_code = 303
                return private_link_headers(response)
    organization = contact.client.organization
    return private_link_headers(
        render(
            request,
            "comms/preferences.html",
            {
                "page_language": language,
                "words": words,
                "contact": contact,
                "organization": organization,
                "form": form,
                "intro": words["intro"].format(organization=organization.name, client=contact.client.name),
                "email_bad": words["email_bad"].format(organization=organization.name)
                if contact.email and contact.email_status != EmailStatus.OK
                else "",
                "saved": request.method == "GET" and request.GET.get("saved") == "1",
                "nothing_on": not contact.can_receive_email and not contact.can_receive_sms,
            },
            status=400 if form.errors else 200,
        ),
        language=language,
    )


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no cookie or token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """One-click unsubscribe from email. GET only asks (link scanners must not unsubscribe
    anyone); POST stops email, and doing it again changes nothing."""
    contact = _contact_or_404(token)
    language = contact.effective_language if contact.effective_language in WORDS else "en"
    words = _words(language)
    if request.method == "POST":
        contact_email_unsubscribe(contact=contact)
    organization = contact.client.organization
    return private_link_headers(
        render(
            request,
            "comms/unsubscribe.html",
            {
                "page_language": language,
                "words": words,
                "organization": organization,
                "done": request.method == "POST",
                "question": words["unsubscribe_text"].format(email=contact.email),
                "done_text": words["unsubscribed"].format(organization=organization.name),
            },
        ),
        language=language,
    )
