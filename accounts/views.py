"""Pages every logged-in member may open, whatever their role: their own settings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.forms import MemberSettingsForm


@login_required
def member_settings(request):
    form = MemberSettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        # Said in the language just chosen (the browser's when none), as the next page will be.
        language = user.language or translation.get_language_from_request(request)
        with translation.override(language):
            messages.success(request, _("Your settings are saved."))
        return redirect("member_settings")
    return render(request, "accounts/settings.html", {"form": form}, status=400 if form.errors else 200)
