"""WSGI entry point for production servers (gunicorn candor.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "candor.settings")
application = get_wsgi_application()
