"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the incident timeline.

(The ORM refuses them everywhere; SQLite relies on that, since its test flush uses DELETE.)
"""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION candor_timeline_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the incident timeline is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER timeline_append_only
    BEFORE UPDATE OR DELETE ON playbooks_timelineentry
    FOR EACH ROW EXECUTE FUNCTION candor_timeline_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS timeline_append_only ON playbooks_timelineentry;
DROP FUNCTION IF EXISTS candor_timeline_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]
    operations = [migrations.RunPython(create_trigger, drop_trigger)]
