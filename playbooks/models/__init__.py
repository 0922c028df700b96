"""The playbooks app's models, one module per concept; everything is importable from here."""

from playbooks.models.acknowledgements import *  # noqa: F403
from playbooks.models.alerts import *  # noqa: F403
from playbooks.models.core import *  # noqa: F403
from playbooks.models.debriefs import *  # noqa: F403
from playbooks.models.editor import *  # noqa: F403
from playbooks.models.promises import *  # noqa: F403
