"""Fastn: an open-source, self-hostable embedded integration platform."""

from fastn.celery import app as celery_app

__all__ = ["celery_app"]
