"""The playbooks app's models, one module per concept; everything is importable from here."""
from .core import *  # noqa: F401,F403
from .client_side import *  # noqa: F401,F403
from .promises import *  # noqa: F401,F403
from .debriefs import *  # noqa: F401,F403
