# The idempotency records move here from the wallet app: the table is adopted as
# it is (state only), then renamed to this app's name.

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("wallet", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("scope", models.CharField(help_text='What the key guards, e.g. "charge" or "payment".', max_length=32)),
                        ("key", models.CharField(max_length=255)),
                        ("fingerprint", models.CharField(help_text="sha256 of method, path and canonical JSON body.", max_length=64)),
                        ("claim", models.UUIDField(default=uuid.uuid4, help_text="Which running request owns the key.")),
                        ("claimed_at", models.DateTimeField()),
                        ("response_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("response_body", models.JSONField(blank=True, null=True)),
                        ("created_at", models.DateTimeField()),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "ordering": ["-id"],
                        "db_table": "wallet_idempotencyrecord",
                        "indexes": [models.Index(fields=["created_at"], name="idempotency_created")],
                        "constraints": [
                            models.UniqueConstraint(fields=("user", "scope", "key"), name="idempotency_key_unique_per_user_scope")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="idempotencyrecord", table=None),
    ]
