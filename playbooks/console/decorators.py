"""Who may see the pages for members of an organisation: the console, the debrief, the leadership
pages and the follow-ups all go through `member_required`."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def member_required(view=None, *, roles=None):
    """Logged-in members of an organisation only (optionally only these roles); times are shown in
    the member's timezone (candor.middleware.MemberLocaleMiddleware). Use bare (`@member_required`)
    or with `roles=(Role.ADMIN, ...)`."""
    if view is None:
        return functools.partial(member_required, roles=roles)

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        organization = request.user.organization
        if organization is None:
            raise PermissionDenied(_("These pages are for members of an organisation."))
        if roles is not None and request.user.role not in roles:
            raise PermissionDenied(_("Your role may not open this page."))
        return view(request, *args, **kwargs)

    return wrapper
