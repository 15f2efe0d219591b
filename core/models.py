"""The shared plumbing's one table: idempotency records of requests that move money."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """The first successful response to a request sent with an ``Idempotency-Key``.

    ``response_status`` is null while the first request is still running (the
    key is *claimed*); a failed request deletes its claim so the key can be
    retried. Records are kept 24 hours (``core.idempotency.IDEMPOTENCY_TTL``).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=32, help_text='What the key guards, e.g. "charge" or "payment".')
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and canonical JSON body.")
    claim = models.UUIDField(default=uuid.uuid4, help_text="Which running request owns the key.")
    claimed_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_unique_per_user_scope"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.response_status or 'in progress'})"

    @property
    def completed(self) -> bool:
        return self.response_status is not None
