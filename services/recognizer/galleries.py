"""Open the gallery a setting names: a SQLite file or a PostgreSQL server. Apart from
gallery.py, which the stores themselves import."""

from __future__ import annotations

from services.recognizer.gallery import Gallery


def open_gallery(spec: str, dimensions: int) -> Gallery:
    """A SQLite file path, or a postgresql:// URL."""
    if spec.startswith(("postgresql://", "postgres://")):
        from services.recognizer.postgres_gallery import PostgresGallery  # noqa: PLC0415

        return PostgresGallery(spec, dimensions)
    from services.recognizer.sqlite_gallery import SqliteGallery  # noqa: PLC0415

    return SqliteGallery(spec, dimensions)
