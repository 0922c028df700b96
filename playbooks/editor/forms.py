"""The editor's forms: proper widgets for what the admin shows as JSON (tags, countries, rules)."""

from django import forms

from accounts.models import LANGUAGES, ClientAccount
from playbooks.models import ChecklistItem, Playbook, PlaybookStage


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class PlaybookSettingsForm(forms.ModelForm):
    audience_tags = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="Clients with any of these tags."
    )
    audience_countries = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="Clients in these countries."
    )
    required_phrases = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One phrase per line."
    )
    banned_words = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One word or phrase per line."
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


class ChecklistItemForm(forms.ModelForm):
    class Meta:
        model = ChecklistItem
        fields = ["title", "due_after_hours", "due_after_business_days", "guidance", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def values(self):
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
