"""Candor's settings plus the usual Django email stack, for `make bench-baseline` only:
django-post-office queueing, django-anymail's SendGrid backend sending, both at their defaults."""

import os

from candor.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "post_office", "anymail"]  # noqa: F405
EMAIL_BACKEND = "post_office.EmailBackend"
POST_OFFICE = {"BACKENDS": {"default": "anymail.backends.sendgrid.EmailBackend"}}
ANYMAIL = {"SENDGRID_API_KEY": "SG.bench", "SENDGRID_API_URL": os.environ["SENDGRID_API_HOST"] + "/v3/"}
DEFAULT_FROM_EMAIL = "Bench Corp <updates@bench.example>"
