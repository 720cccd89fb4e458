"""Writes of exports: request one, build its file, purge what is past retention (architecture §5, §8.7).

An export holds the public incidents on the map at some moment of its range, ended ones included, exactly
as the public API shows them (incidents/public/): never report data. One key has at most one export queued
or running; the range is at most EXPORT_MAX_DAYS.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from archive import conf, writers
from archive.models import PENDING_STATES, Export, ExportState
from config.celery import app
from consumers.models import ApiKey
from incidents.errors import DomainError
from incidents.models import Incident
from incidents.public.features import features_page
from incidents.public.status import published_q

logger = logging.getLogger(__name__)

BUILD_EXPORT = "archive.build_export"
MEDIA_TYPES = {"gpkg": "application/geopackage+sqlite3", "csv": "text/csv; charset=utf-8"}


def incidents_in_range(*, start: datetime, end: datetime) -> QuerySet[Incident]:
    """Public incidents on the map at some moment of [start, end): first reported before `end`, expiring
    after `start`, whatever their status now. Rejected ones that were public are kept, marked rejected, as
    `?status=rejected` shows them; what was never public is not there."""
    return Incident.objects.filter(published_q()).filter(first_reported_at__lt=end, expires_at__gt=start).order_by("pk")


def export_request(*, api_key_id: int, format: str, start: datetime, end: datetime) -> Export:
    """Queue an export for a key, unless it already has one queued or running (409)."""
    if format not in conf.FORMATS:
        raise ValueError(format)
    with transaction.atomic():
        # Serialise the key's requests on its row, so that two at once cannot both pass the check.
        ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
        pending = Export.objects.filter(api_key_id=api_key_id, state__in=PENDING_STATES).first()
        if pending is not None:
            raise DomainError(
                "export_running",
                f"This key already has an export in progress ({pending.pk}); wait until it is ready or failed.",
                status_code=409,
            )
        export = Export.objects.create(api_key_id=api_key_id, format=format, start=start, end=end)
        transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _enqueue(export_id) -> None:
    # By the task's name, as incidents/queue.py sends: tasks import services, never the reverse.
    try:
        app.send_task(BUILD_EXPORT, args=[str(export_id)])
    except Exception as exc:  # noqa: BLE001 -- the export stands; the purge marks it failed, the key asks again
        logger.warning("broker unavailable, export not enqueued: %s", exc.__class__.__name__)


def file_path(export: Export) -> Path:
    return conf.export_dir() / export.file


def export_build(*, export_id: str, now: datetime | None = None) -> Export | None:
    """Build the file of a queued export, reporting progress per batch. Safe to run twice: only the run that
    claims the queued row builds; a gone row is a quiet no-op."""
    now = now or timezone.now()
    claimed = Export.objects.filter(pk=export_id, state=ExportState.QUEUED).update(
        state=ExportState.RUNNING, started_at=now, progress=0
    )
    if claimed != 1:
        return Export.objects.filter(pk=export_id).first()
    export = Export.objects.get(pk=export_id)
    try:
        count = _write(export, now)
    except Exception:
        logger.exception("export %s failed", export.pk)
        Export.objects.filter(pk=export.pk).update(
            state=ExportState.FAILED, error="The file could not be built.", finished_at=timezone.now()
        )
        raise
    Export.objects.filter(pk=export.pk).update(
        state=ExportState.READY, progress=100, count=count, finished_at=timezone.now()
    )
    export.refresh_from_db()
    return export


def _write(export: Export, now: datetime) -> int:
    queryset = incidents_in_range(start=export.start, end=export.end)
    total = queryset.count()
    directory = conf.export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{export.pk}.{export.format}"
    work = Path(tempfile.mkdtemp(prefix="export-", dir=directory))
    try:
        target = work / name
        writer = writers.writer_for(export.format, target, work)
        done, after_id = 0, None
        while True:
            page_set = queryset if after_id is None else queryset.filter(pk__gt=after_id)
            page = features_page(page_set, limit=conf.BATCH, now=now)
            writer.add(page.body)
            done += page.count
            after_id = page.last_id
            # The last few percent are the file's finishing (ogr2ogr for a GeoPackage).
            Export.objects.filter(pk=export.pk).update(progress=min(95, (95 * done) // max(total, 1)))
            if not page.has_more:
                break
        writer.finish()
        target.replace(directory / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Export.objects.filter(pk=export.pk).update(file=name)
    return done


def exports_purge(*, now: datetime | None = None) -> int:
    """Delete exports (rows and files) EXPORT_RETENTION_HOURS after they were built or failed, and mark
    failed those queued or running for so long that their worker or message was lost. Returns the number
    deleted."""
    now = now or timezone.now()
    Export.objects.filter(state__in=PENDING_STATES, created_at__lte=now - conf.stuck_after()).update(
        state=ExportState.FAILED, error="The export was lost; ask again.", finished_at=now
    )
    gone = 0
    for export in Export.objects.filter(finished_at__lte=now - conf.retention()).iterator():
        if export.file:
            file_path(export).unlink(missing_ok=True)
        export.delete()
        gone += 1
    _purge_strays(before=now - conf.retention())
    if gone:
        logger.info("purged %d exports past retention", gone)
    return gone


def _purge_strays(*, before: datetime) -> None:
    """Files no export names (its key was deleted) and a killed build's work directories, once as old as
    retention: the directory holds only recent copies, whatever happened to their rows."""
    directory = conf.export_dir()
    if not directory.is_dir():
        return
    named = set(Export.objects.exclude(file="").values_list("file", flat=True))
    for path in directory.iterdir():
        if path.name in named or path.stat().st_mtime > before.timestamp():
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
