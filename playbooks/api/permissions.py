"""Who may do what through the API: the console's roles.

Every member reads their own organisation's data. Writes are listed per action on each view
(`action_roles`); an unsafe action a view does not list is refused.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role

EVERYONE = frozenset(Role.values)
TEAM = frozenset({Role.ADMIN, Role.COMMANDER, Role.COMMUNICATOR})  # drafts and edits updates
RUNNERS = frozenset({Role.ADMIN, Role.COMMANDER})  # runs incidents, approves, publishes, edits contacts
ADMINS = frozenset({Role.ADMIN})  # changes playbooks


class RolePermission(BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.organization_id and user.role):
            self.message = "Only members of an organisation use the API."
            return False
        if not hasattr(view, request.method.lower()):
            return True  # the view answers 405 Method Not Allowed
        roles = getattr(view, "action_roles", {}).get(getattr(view, "action", None))
        if roles is None:
            return request.method in SAFE_METHODS
        if user.role in roles:
            return True
        self.message = f"A {user.get_role_display().lower()} cannot do this."
        return False
