"""Forms of the commander console. They parse and validate input; the services decide."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import LANGUAGES, ClientAccount, JargonTerm, User
from comms.rendering import MessageTemplateError, render_text
from playbooks.models import Playbook, Severity
from playbooks.updates.services import TEXT_FIELDS

LANGUAGE_NAMES = dict(LANGUAGES)
# A text field's label with its language's name, e.g. "SMS text (German)".
TEXT_FIELD_LABELS = {
    "email_subject": gettext_lazy("Email subject (%(language)s)"),
    "email_body": gettext_lazy("Email text (%(language)s)"),
    "sms_body": gettext_lazy("SMS text (%(language)s)"),
}


def split_words(value):
    return [word.strip() for word in re.split(r"[,;\s]+", value or "") if word.strip()]


def add_service_errors(form, error):
    """Put a service's ValidationError next to the form's fields (unknown fields on the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class IncidentCreateForm(forms.Form):
    playbook = forms.ModelChoiceField(
        queryset=Playbook.objects.none(), label=gettext_lazy("Playbook"), empty_label=gettext_lazy("Choose a playbook")
    )
    title = forms.CharField(
        max_length=200,
        label=gettext_lazy("Title"),
        help_text=gettext_lazy("Short and plain, e.g. “Payments API errors”. Clients see it."),
    )
    severity = forms.TypedChoiceField(
        label=gettext_lazy("Severity"),
        choices=[("", gettext_lazy("The playbook's default")), *list(Severity.choices)],
        coerce=int,
        required=False,
        empty_value=None,
    )
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=gettext_lazy("Summary"),
        help_text=gettext_lazy("What happened, in a sentence or two. Messages may include it."),
    )
    affected_clients = forms.ModelMultipleChoiceField(
        queryset=ClientAccount.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Affected clients"),
        help_text=gettext_lazy("Leave all scope fields empty to use the playbook's audience rule."),
    )
    affected_tags = forms.CharField(
        required=False,
        label=gettext_lazy("Affected tags"),
        help_text=gettext_lazy("Clients with any of these tags, separated by commas (e.g. api, payments)."),
    )
    affected_countries = forms.CharField(
        required=False,
        label=gettext_lazy("Affected countries"),
        help_text=gettext_lazy("Clients in these countries: ISO codes separated by commas (e.g. DE, AT)."),
    )
    backup_commander = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=gettext_lazy("Backup commander")
    )
    detected_at = forms.DateTimeField(
        required=False,
        label=gettext_lazy("Detected at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["playbook"].queryset = Playbook.objects.filter(organization=organization, is_active=True)
        self.fields["playbook"].label_from_instance = lambda playbook: (
            _("%(name)s (v%(version)s)")
            % {
                "name": playbook.name,
                "version": playbook.version,
            }
        )
        self.fields["affected_clients"].queryset = ClientAccount.objects.filter(organization=organization)
        self.fields["backup_commander"].queryset = User.objects.filter(
            organization=organization, role__in=["commander", "admin"], is_active=True
        )
        self.fields["detected_at"].help_text = _(
            "When the problem was detected, in %(timezone)s time; empty: now. Regulatory deadlines count from it."
        ) % {"timezone": organization.timezone}

    def clean_affected_tags(self):
        return split_words(self.cleaned_data["affected_tags"])

    def clean_affected_countries(self):
        return clean_countries(self.cleaned_data["affected_countries"])


def clean_countries(value):
    countries = [code.upper() for code in split_words(value)]
    wrong = [code for code in countries if not re.fullmatch(r"[A-Z]{2}", code)]
    if wrong:
        raise ValidationError(_("Use two-letter country codes; not %(codes)s.") % {"codes": ", ".join(wrong)})
    return countries


class IncidentScopeForm(forms.Form):
    """Who a running incident affects: each field replaces the current value."""

    affected_clients = forms.ModelMultipleChoiceField(
        queryset=ClientAccount.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Affected clients"),
    )
    affected_tags = forms.CharField(
        required=False,
        label=gettext_lazy("Affected tags"),
        help_text=gettext_lazy("Clients with any of these tags, separated by commas (e.g. api, payments)."),
    )
    affected_countries = forms.CharField(
        required=False,
        label=gettext_lazy("Affected countries"),
        help_text=gettext_lazy("Clients in these countries: ISO codes separated by commas (e.g. DE, AT)."),
    )

    def __init__(self, *args, incident, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "affected_clients": list(incident.affected_clients.values_list("pk", flat=True)),
                "affected_tags": ", ".join(incident.affected_tags or []),
                "affected_countries": ", ".join(incident.affected_countries or []),
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["affected_clients"].queryset = ClientAccount.objects.filter(
            organization_id=incident.organization_id
        ).order_by("name")

    def clean_affected_tags(self):
        return split_words(self.cleaned_data["affected_tags"])

    def clean_affected_countries(self):
        return clean_countries(self.cleaned_data["affected_countries"])


class TransitionForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput,
        label=gettext_lazy("Note for the timeline (optional)"),
    )
    resolution_summary = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Resolution summary"),
        help_text=gettext_lazy("How the problem was resolved. Required to resolve."),
    )

    def __init__(self, *args, needs=(), **kwargs):
        super().__init__(*args, **kwargs)
        if "resolution_summary" in needs:
            self.fields["resolution_summary"].required = True
        else:
            del self.fields["resolution_summary"]


class ChecklistCompleteForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label=gettext_lazy("Note"))


class ApproveForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Approval note"),
        help_text=gettext_lazy("What you checked, for the timeline."),
    )


class UpdateTextsForm(forms.Form):
    """The words of an update in each of its languages, with optional added and removed languages."""

    next_update_due_at = forms.DateTimeField(
        required=False,
        label=gettext_lazy("Promise the next update by"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy(
            "In the organisation's timezone. Empty: the stage's cadence from the moment of publishing."
        ),
    )
    add_language = forms.ChoiceField(required=False, label=gettext_lazy("Add a language"))

    def __init__(self, *args, texts, **kwargs):
        super().__init__(*args, **kwargs)
        self.languages = list(texts)
        for language in self.languages:
            name = LANGUAGE_NAMES.get(language, language)
            for field in TEXT_FIELDS:
                widget = (
                    forms.TextInput()
                    if field == "email_subject"
                    else forms.Textarea(attrs={"rows": 14 if field == "email_body" else 3})
                )
                self.fields[self.field_name(language, field)] = forms.CharField(
                    required=False,
                    label=TEXT_FIELD_LABELS[field] % {"language": name},
                    widget=widget,
                    initial=texts[language].get(field, ""),
                    max_length=200 if field == "email_subject" else 20000,
                )
            if len(self.languages) > 1:
                self.fields[self.field_name(language, "remove")] = forms.BooleanField(
                    required=False, label=_("Remove the %(language)s version") % {"language": name}
                )
        self.fields["add_language"].choices = [("", "—")] + [
            (code, name) for code, name in LANGUAGES if code not in self.languages
        ]

    @staticmethod
    def field_name(language, field):
        return f"{language}__{field}"

    def language_fields(self):
        """[(language, name, [bound fields], remove field or None)] for the template."""
        rows = []
        for language in self.languages:
            remove = self.field_name(language, "remove")
            rows.append(
                (
                    language,
                    LANGUAGE_NAMES.get(language, language),
                    [self[self.field_name(language, field)] for field in TEXT_FIELDS],
                    self[remove] if remove in self.fields else None,
                )
            )
        return rows

    def clean(self):
        cleaned = super().clean()
        for language in self.languages:
            for field in TEXT_FIELDS:
                name = self.field_name(language, field)
                try:
                    render_text(cleaned.get(name) or "", {})
                except MessageTemplateError as exc:
                    self.add_error(
                        name,
                        _("%(error)s. Variables look like %(example)s.")
                        % {"error": str(exc).rstrip("."), "example": "{{ next_update_at }}"},
                    )
        return cleaned

    def texts(self, *, added_texts=None):
        """The texts to save: edited languages minus removed ones, plus an added language."""
        texts = {}
        for language in self.languages:
            if self.cleaned_data.get(self.field_name(language, "remove")):
                continue
            texts[language] = {
                field: self.cleaned_data.get(self.field_name(language, field)) or "" for field in TEXT_FIELDS
            }
        added = self.cleaned_data.get("add_language")
        if added and added not in texts and added_texts:
            texts[added] = added_texts
        return texts

    def add_text_errors(self, error):
        """Service errors about texts go next to the field they concern: their params name the
        language and text field (whatever language the words are in); others go above the form."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            if field != "texts":
                self.add_error(field if field in self.fields else None, errors)
                continue
            for text_error in errors:
                params = text_error.params or {}
                language = params.get("language")
                if language not in self.languages:
                    self.add_error(None, text_error)
                else:
                    self.add_error(self.field_name(language, params.get("text_field") or "email_body"), text_error)


class JargonTermForm(forms.ModelForm):
    class Meta:
        model = JargonTerm
        fields = ["term", "plain_words", "language"]
        widgets = {"language": forms.Select(choices=[("", gettext_lazy("Every language")), *LANGUAGES])}
        labels = {
            "term": gettext_lazy("Term"),
            "plain_words": gettext_lazy("Plain words"),
            "language": gettext_lazy("Language"),
        }
        help_texts = {
            "term": gettext_lazy("The word or phrase clients may not know, e.g. “latency”."),
            "plain_words": gettext_lazy("What to say instead, in plain words."),
            "language": gettext_lazy("Blank: every language."),
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.organization = organization

    def validate_unique(self):
        # organization is not a form field, so Django would skip the (organization, term, language) check.
        try:
            self.instance.validate_constraints()
        except ValidationError:
            self.add_error("term", _("This term is already on the list."))
