"""The editor's forms: proper widgets for what the admin shows as JSON (tags, countries, rules)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import LANGUAGES, ClientAccount
from playbooks.models import ChecklistItem, Playbook, PlaybookStage


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class PlaybookSettingsForm(forms.ModelForm):
    audience_tags = forms.MultipleChoiceField(
        label=_("Audience tags"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Clients with any of these tags."),
    )
    audience_countries = forms.MultipleChoiceField(
        label=_("Audience countries"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Clients in these countries."),
    )
    required_phrases = forms.CharField(
        label=_("Required phrases"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One phrase per line."),
    )
    banned_words = forms.CharField(
        label=_("Banned words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One word or phrase per line."),
    )

    class Meta:
        model = Playbook
        fields = [
            "name",
            "is_active",
            "description",
            "default_severity",
            "default_language",
            "audience_all_clients",
            "audience_tags",
            "audience_countries",
            "requires_authority_notification",
        ]
        labels = {
            "name": _("Name"),
            "is_active": _("Active"),
            "description": _("Description"),
            "default_severity": _("Default severity"),
            "default_language": _("Default language"),
            "audience_all_clients": _("All clients"),
            "requires_authority_notification": _("Requires authority notification"),
        }
        help_texts = {
            "audience_all_clients": _("Every client is affected unless the incident narrows it."),
            "requires_authority_notification": _(
                "Compliance: an authority must be notified before clients (assessing -> authority_notified)."
            ),
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "default_language": forms.Select(choices=LANGUAGES),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        playbook = self.instance
        clients = ClientAccount.objects.filter(organization_id=playbook.organization_id)
        tags = sorted({tag for client in clients for tag in client.tags or []} | set(playbook.audience_tags or []))
        countries = sorted(set(clients.values_list("country", flat=True)) | set(playbook.audience_countries or []))
        self.fields["audience_tags"].choices = [(tag, tag) for tag in tags]
        self.fields["audience_countries"].choices = [(country, country) for country in countries if country]
        self.fields["audience_tags"].initial = playbook.audience_tags
        self.fields["audience_countries"].initial = playbook.audience_countries
        rules = playbook.content_rules or {}
        self.fields["required_phrases"].initial = "\n".join(rules.get("required_phrases", []))
        self.fields["banned_words"].initial = "\n".join(rules.get("banned_words", []))

    def values(self):
        data = self.cleaned_data
        values = {name: data[name] for name in self.Meta.fields}
        values["content_rules"] = {
            key: _lines(data[key]) for key in ("required_phrases", "banned_words") if _lines(data[key])
        }
        return values


class StageSettingsForm(forms.ModelForm):
    class Meta:
        model = PlaybookStage
        fields = ["cadence_minutes", "needs_approval", "auto_holding_statement"]
        labels = {
            "cadence_minutes": _("Cadence (minutes)"),
            "needs_approval": _("Needs approval"),
            "auto_holding_statement": _("Automatic holding statement"),
        }
        help_texts = {
            "cadence_minutes": _("Promise the next update this many minutes after each update."),
            "needs_approval": _("A second person must approve an update in this stage before it is published."),
            "auto_holding_statement": _(
                "When an update is overdue, publish this stage's pre-approved holding statement."
            ),
        }


class ChecklistItemForm(forms.ModelForm):
    """One checklist item; `position` is its place in the list, 1 first (empty: last for a new item,
    where it is for an existing one)."""

    position = forms.IntegerField(
        label=_("Order"), required=False, min_value=1, help_text=_("1 is first. Empty: where it is (new: last).")
    )

    class Meta:
        model = ChecklistItem
        fields = [
            "title",
            "due_after_hours",
            "due_after_business_days",
            "business_calendar",
            "guidance",
            "description",
        ]
        labels = {
            "title": _("Task"),
            "due_after_hours": _("Deadline in hours"),
            "due_after_business_days": _("Deadline in business days"),
            "business_calendar": _("Business calendar"),
            "guidance": _("Citation"),
            "description": _("Description"),
        }
        help_texts = {
            "due_after_hours": _("Counted from detection."),
            "due_after_business_days": _(
                "Counted in the organisation's country and timezone. Hours or days, not both."
            ),
            "business_calendar": _(
                "Whose public holidays business days skip: a country code such as US; empty: yours."
            ),
            "guidance": _("The rule behind the deadline. Guidance, not legal advice."),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        data = super().clean()
        if data.get("due_after_hours") is not None and data.get("due_after_business_days") is not None:
            self.add_error("due_after_business_days", _("Give the deadline in hours or in business days, not both."))
        return data

    def values(self):
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if self.cleaned_data.get("position") is not None:
            values["position"] = self.cleaned_data["position"]
        return values
