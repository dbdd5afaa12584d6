"""Media assets (视频/音频素材) and their renditions."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Enum, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import UTCDateTime, utcnow
from lms.extensions import db


class AssetStatus(enum.Enum):
    uploading = "uploading"
    queued = "queued"
    transcoding = "transcoding"
    ready = "ready"
    failed = "failed"


class Asset(db.Model):
    """An uploaded video or audio recording and, once transcoded, its ladder of renditions."""

    __tablename__ = "media_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    status: Mapped[AssetStatus] = mapped_column(
        Enum(AssetStatus, name="media_asset_status", native_enum=False, length=16),
        default=AssetStatus.uploading, index=True)
    kind: Mapped[str | None] = mapped_column(String(8))  # "video" | "audio", once probed
    original_name: Mapped[str] = mapped_column(String(255), default="")
    source_ext: Mapped[str] = mapped_column(String(8), default="")
    # Resumable upload: the declared size and the bytes the server holds.
    upload_size: Mapped[int] = mapped_column(BigInteger, default=0)
    upload_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # Probe facts.
    duration: Mapped[float | None] = mapped_column(Float)
    size: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    rotation: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    screen: Mapped[bool] = mapped_column(Boolean, default=False)
    probe: Mapped[dict | None] = mapped_column(JSON)
    # Transcoding job.
    version: Mapped[int] = mapped_column(Integer, default=0)  # published files live in v<version>/
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_detail: Mapped[str | None] = mapped_column(Text)  # technical, for admins
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="Rendition.position")

    @property
    def error_message(self) -> str | None:
        from media.messages import error_message

        return error_message(self.error_code) if self.error_code else None

    def __repr__(self) -> str:
        return f"<Asset {self.id} {self.status.value}>"


class Rendition(db.Model):
    """One rung of an asset's published ladder (or its audio-only rung)."""

    __tablename__ = "media_renditions"
    __table_args__ = (UniqueConstraint("asset_id", "name", name="uq_media_renditions_asset_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    bitrate: Mapped[int] = mapped_column(Integer, default=0)  # measured average, bits/s
    bandwidth: Mapped[int] = mapped_column(Integer, default=0)  # declared cap in the master playlist
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    playlist: Mapped[str] = mapped_column(String(255))  # relative to the version folder

    asset: Mapped[Asset] = relationship(back_populates="renditions")

    @property
    def label(self):
        """What a person calls the rung: the audio rung is the player's "listen only" mode."""
        from flask_babel import lazy_gettext as _l

        return _l("Listen only") if self.kind == "audio" else self.name


class StorageAlert(db.Model):
    """The media volume ran out of space (or nearly): shown to admins until one marks it handled."""

    __tablename__ = "media_storage_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # "upload_refused" (not enough space up front), "upload" (ran out while writing a piece),
    # "transcode" (ran out while converting)
    kind: Mapped[str] = mapped_column(String(16))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("media_assets.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    needed: Mapped[int | None] = mapped_column(BigInteger)  # bytes, when known
    free: Mapped[int | None] = mapped_column(BigInteger)  # bytes free on the media volume then
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
