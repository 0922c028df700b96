import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("comms", "0002_early_reports"),
    ]

    operations = [
        migrations.CreateModel(
            name="PreferenceChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                ("via", models.CharField(help_text="page, one_click, ...", max_length=20)),
                ("changes", models.JSONField(default=dict)),
                (
                    "contact",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="preference_changes",
                        to="accounts.contact",
                    ),
                ),
            ],
            options={"ordering": ["at", "id"]},
        ),
    ]
