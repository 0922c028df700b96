"""Forms for members: their own console settings."""

import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User


def _timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class MemberSettingsForm(forms.ModelForm):
    """The language the console speaks to this member and the timezone their times are shown in."""

    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        help_text=gettext_lazy("The console and your team notices speak it."),
    )
    timezone = forms.ChoiceField(
        label=gettext_lazy("Timezone"),
        required=False,
        help_text=gettext_lazy("Every date and time in the console is shown in it."),
    )

    class Meta:
        model = User
        fields = ["language", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Language names stay in their own language, so that anyone finds theirs.
        self.fields["language"].choices = [("", _("The browser's language")), *settings.LANGUAGES]
        organization = self.instance.organization
        if organization is not None:
            default = _("The organisation's (%(timezone)s)") % {"timezone": organization.timezone}
        else:
            default = _("The server's (%(timezone)s)") % {"timezone": settings.TIME_ZONE}
        self.fields["timezone"].choices = [("", default), *_timezone_choices()]
