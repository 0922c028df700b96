"""The API's token client, for the export and import endpoints."""

from tests.api.conftest import api  # noqa: F401
