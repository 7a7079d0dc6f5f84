"""Participants are updated in place by every batch of results: on PostgreSQL, leave half of each
page free so that the updates stay on their page (HOT) and no index is rewritten. SQLite has no
such setting."""

from django.db import migrations


def leave_room(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE campaigns_participant SET (fillfactor = 50)")


def pack(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE campaigns_participant RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(leave_room, pack)]
