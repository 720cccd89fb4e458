from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class ExportState(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    READY = "ready", "ready"
    FAILED = "failed", "failed"


PENDING_STATES = (ExportState.QUEUED, ExportState.RUNNING)


class Export(models.Model):
    """A file of public incidents over a date range, built by a worker for one API key (architecture §5).

    The id is random: with the key scoping every lookup, another key can neither read nor guess it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key = models.ForeignKey("consumers.ApiKey", on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=8)
    start = models.DateTimeField()
    end = models.DateTimeField()
    state = models.CharField(max_length=8, choices=ExportState.choices, default=ExportState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    count = models.PositiveIntegerField(null=True, blank=True)
    file = models.CharField(max_length=200, blank=True)  # a name inside EXPORT_DIR
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["api_key", "state"], name="export_key_state_idx")]

    def __str__(self) -> str:
        return f"{self.format} {self.start:%Y-%m-%d}–{self.end:%Y-%m-%d} ({self.state})"
