"""Settings: one class, read from DIFFUSERVE_* environment variables; the CLI only overrides it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment can tune. Nothing happens when this module is imported."""

    model_config = SettingsConfigDict(env_prefix="DIFFUSERVE_", extra="ignore")

    # Root of everything diffuserve writes: database, assets, model cache, registry file.
    data_dir: Path = Path("./data")
    # The model registry file (YAML); default: <data_dir>/models.yaml.
    registry_path: Path | None = None
    # Where built-in demo models are built and cached; default: <data_dir>/demo-models.
    demo_models_dir: Path | None = None
    # Register the built-in tiny demo models in the registry when they are missing.
    demo_models: bool = True

    # Torch device: "auto" picks cuda, then mps, then cpu.
    device: str = "auto"
    # Torch dtype: "auto" is float16 on cuda/mps and float32 on cpu.
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    # Largest number of images denoised in one pipeline call, across the jobs of a batch; a job with more
    # samples runs in several calls.
    max_batch_images: int = Field(default=8, ge=1, le=128)
    # How long the worker waits for more jobs with the same batch key when a batch is not full (ms).
    batch_window_ms: int = Field(default=20, ge=0, le=10_000)
    # Jobs for a model the worker has loaded go first, unless the oldest queued job has waited this long (s).
    model_affinity_max_wait_s: float = Field(default=15.0, ge=0)
    # IP-Adapter reference image embeddings kept in memory (by image content and encoder).
    image_embed_cache_size: int = Field(default=256, ge=0)
    # Memory the pipeline cache may hold before it evicts the least recently used model (MiB).
    cache_budget_mb: int = Field(default=16384, ge=64)
    # Send a preview image every this many steps when a request asks for intermediate images.
    preview_every: int = Field(default=5, ge=1)

    # Speed switches, applied to each pipeline as it loads (engine/speed.py); all off unless set, since each has a cost.
    # torch.compile the UNet's transformer blocks: slow first calls; recompiles on new sizes, LoRAs, scales, IP-Adapter.
    compile: bool = False
    # torch.compile mode; "reduce-overhead" and "max-autotune" add CUDA graphs (GPU only) and compile for longer.
    compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = "default"
    # UNet and VAE weights in channels-last memory format: faster convolutions on CUDA, best together with compile.
    channels_last: bool = False
    # One matmul for each attention's q/k/v projections; LoRAs do not reach fused projections: keep off with LoRAs.
    fuse_qkv: bool = False
    # VAE decodes a batch one image at a time: lower peak memory for large batches, slightly slower.
    vae_slicing: bool = False
    # VAE decodes large images in overlapping tiles: bounded memory; pixels near tile seams differ slightly.
    vae_tiling: bool = False
    # Prepare LoRA hot-swap (diffusers' enable_lora_hotswap) up to this rank, the highest a served LoRA has; 0: off.
    lora_hotswap_rank: int = Field(default=0, ge=0)

    # HTTP server address.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Public base URL used in signed asset URLs; default: http://<host>:<port>.
    public_url: str | None = None
    # Secret for signing asset URLs; default: generated once and kept in <data_dir>/secret.key.
    url_secret: str | None = None
    # Lifetime of a signed asset URL (seconds).
    url_ttl_s: int = Field(default=24 * 3600, ge=60)
    # Unknown fields in a request body are a 400 (default: ignored, each named with the closest known field
    # in the response's `warnings`, so clients that send fields of a newer Scenario version keep working).
    strict_fields: bool = False
    # Serve without API keys; only allowed while the server listens on a loopback address.
    open_mode: bool = False

    # Limits (0 = none). The work of a request is images x width x height x steps run, in megapixel-steps: 4 SDXL
    # images at 1024x1024 and 30 steps are 126; the default budget admits 4 at 2048x2048 and 50 steps (839).
    max_work_per_request: float = Field(default=1000.0, ge=0)
    # Characters of a prompt / negative prompt. CLIP reads 77 tokens (about 300 characters) and T5 (Flux) 512
    # (about 2,000); the rest is never seen by the model, so longer text only costs memory and storage.
    max_prompt_chars: int = Field(default=4000, ge=1)
    # Per project: jobs queued or running at once (HTTP 429 beyond), and work submitted per rolling hour (429
    # with Retry-After when the hour's budget is spent).
    project_max_active_jobs: int = Field(default=100, ge=0)
    project_max_work_per_hour: float = Field(default=100_000.0, ge=0)
    # Whole queue: above this many queued jobs new ones are refused with 503 and Retry-After (0 = no bound).
    max_queued_jobs: int = Field(default=1000, ge=0)
    # Failed authentications (wrong secret; unknown or revoked key) allowed per key id, and per client address,
    # within auth_failure_window_s; past that, 429 with Retry-After before any hashing. Token buckets refilled
    # evenly over the window; a right secret costs no token. Addresses as uvicorn sees them (behind a proxy,
    # uvicorn's --forwarded-allow-ips makes them the clients').
    auth_failures_per_key: int = Field(default=10, ge=1)
    auth_failures_per_address: int = Field(default=30, ge=1)
    auth_failure_window_s: float = Field(default=60.0, gt=0)
    # MCP toolsets of a connection that names none (`/mcp?toolsets=...`, `diffuserve mcp --toolsets ...`),
    # comma-separated: default (Scenario's hosted task-level tools), scenario-api (the REST-shaped tools), full.
    mcp_toolsets: str = "default"
    # Where `diffuserve mcp` (stdio, no HTTP server) writes the images its results mention, for the agent to
    # open as files; default: <data_dir>/outputs.
    mcp_outputs_dir: Path | None = None

    # Graceful shutdown: how long the running job may take to finish before it is stopped and re-queued (s).
    shutdown_timeout_s: float = Field(default=30.0, ge=0)

    # Database URL; default: SQLite file <data_dir>/diffuserve.db (WAL mode).
    database_url: str | None = None
    # Where asset and preview bytes live: unset is <data_dir>/blobs; file://PATH; or an S3-compatible bucket,
    # s3://BUCKET[/PREFIX]?endpoint_url=...&region=... (storage/blob_stores.py; keys from the AWS environment).
    blob_store_url: str | None = None

    # Cluster: a Redis URL (redis://host:6379/0) carries job events, cancel requests and worker heartbeats, and
    # is Celery's broker for dispatching jobs to `diffuserve worker` processes. Unset: one process does it all.
    redis_url: str | None = None
    # Celery's broker, if not the Redis above.
    broker_url: str | None = None
    # This worker's name (its own queue and the owner of its leases); default: <hostname>-<pid>.
    worker_name: str | None = None
    # A claimed job's lease (s): renewed while its worker lives; once expired, the job is queued and run again.
    lease_s: float = Field(default=30.0, gt=0)
    # A queued job that no worker took within this many seconds is dispatched again (a lost message).
    redispatch_after_s: float = Field(default=15.0, gt=0)
    # Models a worker loads before it takes work (comma-separated ids): no cold start for its first jobs.
    preload_models: str = ""
    # Port of a worker's /healthz, /readyz and /metrics (`diffuserve worker`); 0: none.
    worker_http_port: int = Field(default=0, ge=0, le=65535)

    # Fetching image URLs (imagepipeline API): size cap, timeout, and whether private addresses are allowed.
    fetch_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    fetch_timeout_s: float = Field(default=15.0, gt=0)
    fetch_allow_private: bool = False
    # Image URLs fetched at once, all requests together (asynchronously: a fetch holds no request thread); a
    # request that finds no free slot within fetch_timeout_s is answered 503 with Retry-After.
    fetch_concurrency: int = Field(default=16, ge=1)
    # Webhook delivery: attempts and the first backoff delay (doubles each retry).
    webhook_attempts: int = Field(default=5, ge=1)
    webhook_backoff_s: float = Field(default=1.0, ge=0)
    # Signs webhooks (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature headers). Format
    # "whsec_" + base64 of 24 to 64 random bytes; default: generated once in <data_dir>/webhook-secret.key.
    # Every API replica of a cluster needs the same one.
    webhook_secret: str | None = None

    @classmethod
    def from_cli(cls, args: Any, **overrides: Any) -> Settings:
        """The environment's settings with the command line's values on top (`--data-dir` and `overrides`;
        options left out, None, change nothing)."""
        values = {"data_dir": getattr(args, "data_dir", None), **overrides}
        return cls(**{k: v for k, v in values.items() if v is not None})

    @property
    def resolved_broker_url(self) -> str | None:
        return self.broker_url or self.redis_url

    @property
    def resolved_registry_path(self) -> Path:
        return self.registry_path or self.data_dir / "models.yaml"

    @property
    def resolved_demo_models_dir(self) -> Path:
        return self.demo_models_dir or self.data_dir / "demo-models"

    @property
    def resolved_mcp_outputs_dir(self) -> Path:
        return self.mcp_outputs_dir or self.data_dir / "outputs"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'diffuserve.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
