"""The playbooks app's admin, found by Django's autodiscovery here: each concept keeps its own admin
module beside its services."""

from playbooks.alerts import admin as alerts_admin  # noqa: F401
from playbooks.incidents import admin as incidents_admin  # noqa: F401
from playbooks.integrations import admin as integrations_admin  # noqa: F401
from playbooks.promises import admin as promises_admin  # noqa: F401
from playbooks.surveys import admin as surveys_admin  # noqa: F401
