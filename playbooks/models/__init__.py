"""The playbooks app's models, one module per concept; everything is importable from here."""
from .core import *  # noqa: F401,F403
