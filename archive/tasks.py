"""The export task: thin and id-taking; the service claims the row, so running twice builds once."""

from __future__ import annotations

from celery import shared_task

from archive import conf, services


@shared_task(
    name="archive.build_export",
    soft_time_limit=conf.TIME_LIMIT_S,
    time_limit=conf.TIME_LIMIT_S + 30,
)
def build_export(export_id: str) -> str | None:
    export = services.export_build(export_id=export_id)
    return export.state if export is not None else None
