"""The one place that wires the parts together: the container, the FastAPI app and its lifespan."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from diffuserve import __version__
from diffuserve.api import (
    routes_assets,
    routes_docs,
    routes_downloads,
    routes_generate,
    routes_health,
    routes_imagepipeline,
    routes_jobs,
    routes_keys,
    routes_models,
    routes_uploads,
    routes_web,
)
from diffuserve.api.access_log import redact_access_log
from diffuserve.api.errors import install_error_handlers
from diffuserve.api.limits import MAX_BODY_BYTES, BodySizeLimit
from diffuserve.api.openapi import install_openapi
from diffuserve.catalog.registry import Registry
from diffuserve.config import Settings
from diffuserve.errors import Conflict
from diffuserve.jobs.client import BusJobClient
from diffuserve.jobs.cluster.celery_app import make_celery
from diffuserve.jobs.cluster.dispatch import CeleryDispatcher
from diffuserve.jobs.cluster.leader import Leader, Reaper
from diffuserve.jobs.cluster.redis_bus import RedisBus
from diffuserve.jobs.events import LocalBus
from diffuserve.jobs.worker import Worker
from diffuserve.mcp.http import mount_mcp
from diffuserve.service.assets import AssetService
from diffuserve.service.auth_limits import AuthLimiter
from diffuserve.service.downloads import DownloadService
from diffuserve.service.fetch import SafeHttp
from diffuserve.service.imagepipeline import ImagePipelineService
from diffuserve.service.inference import InferenceService
from diffuserve.service.jobs import JobService
from diffuserve.service.keys import KeyService, is_loopback, loopback_hosts
from diffuserve.service.metrics import ApiMetrics
from diffuserve.service.models import ModelService
from diffuserve.service.quotas import Limits
from diffuserve.service.services import Services
from diffuserve.service.signing import UrlSigner, load_or_create_secret
from diffuserve.service.uploads import UploadService
from diffuserve.service.webhook_signature import load_or_create_secret as load_or_create_webhook_secret
from diffuserve.service.webhook_signature import parse_secret
from diffuserve.service.webhooks import WebhookNotifier
from diffuserve.storage.asset_repository import AssetRepository
from diffuserve.storage.asset_store import AssetStore
from diffuserve.storage.blob_stores import open_blob_store
from diffuserve.storage.blobs import BlobStore
from diffuserve.storage.database import Database
from diffuserve.storage.files import private_dir
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.key_repository import KeyRepository
from diffuserve.storage.sweep import sweep_at_start, sweep_stale
from diffuserve.storage.upload_repository import UploadRepository

if TYPE_CHECKING:  # the engine (torch) loads on the worker's thread
    from diffuserve.engine.engine import Engine

logger = logging.getLogger(__name__)


def check_settings(settings: Settings) -> None:
    """Open mode (no API keys) is refused unless the server listens on a loopback address."""
    if settings.open_mode and not is_loopback(settings.host):
        raise ValueError(
            f"open_mode serves without API keys and is only allowed on a loopback host, not {settings.host!r}"
        )


@contextmanager
def lock_data_dir(data_dir: Path) -> Iterator[None]:
    """One process per data folder: a second one would re-queue, and run again, the job the first is running."""
    private_dir(data_dir)
    with (data_dir / ".lock").open("a") as handle:  # closing the file releases the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"another diffuserve process is using {data_dir}", reason="data_dir_in_use") from None
        yield


def open_database(settings: Settings) -> Database:
    private_dir(settings.data_dir)
    db = Database(settings.resolved_database_url)
    db.upgrade()
    return db


@dataclass
class Stores:
    """What every process of a deployment shares: the database, the blob store and the model catalog."""

    db: Database
    blobs: BlobStore
    jobs: JobRepository
    assets: AssetStore
    registry: Registry


def open_stores(settings: Settings, stack: ExitStack, registry: Registry | None = None) -> Stores:
    """Opens the database (migrated to the current schema) and the blob store; registers built-in demo models."""
    db = open_database(settings)
    stack.callback(db.close)
    blobs = open_blob_store(settings.blob_store_url, settings.data_dir)
    registry = registry or Registry(settings.resolved_registry_path)
    if settings.demo_models:
        from diffuserve.engine.demo import register_demo_models

        register_demo_models(registry, settings.resolved_demo_models_dir)
    jobs = JobRepository(db)
    return Stores(db, blobs, jobs, AssetStore(AssetRepository(db), blobs), registry)


def readiness(stores: Stores, bus: RedisBus | None) -> dict[str, bool]:
    """Each service a process depends on, reachable right now or not."""
    checks = {"database": stores.db.ping()}
    if bus is not None:
        checks["redis"] = bus.ping()
    try:
        stores.blobs.exists("healthz/probe")
        checks["blob_store"] = True
    except Exception:
        checks["blob_store"] = False
    return checks


@dataclass
class Container:
    """Everything built at start, torn down in reverse order at shutdown."""

    settings: Settings
    stores: Stores
    jobs: BusJobClient
    worker: Worker | None
    leader: Leader | None
    webhooks: WebhookNotifier
    services: Services
    resources: ExitStack
    bus: RedisBus | None = None

    def workers(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(name, state, loaded models) of every worker: the embedded one, or those heartbeating over Redis."""
        if self.bus is not None:
            return [(w.name, w.state, w.loaded) for w in self.bus.workers()]
        if self.worker is not None:
            return [(self.worker.name, self.worker.state.value, tuple(self.worker.loaded_models()))]
        return []

    def readiness(self) -> dict[str, bool]:
        checks = readiness(self.stores, self.bus)
        if self.worker is not None:
            checks["worker"] = self.worker.ready.is_set()
        return checks

    @property
    def db(self) -> Database:
        return self.stores.db

    def close(self) -> None:
        """Stops the worker, then the webhooks, closes the database and frees the data folder; each step runs
        even when an earlier one fails."""
        try:
            self.resources.close()
        finally:
            logger.info("service stopped")


def build_container(settings: Settings, *, engine: Engine | None = None) -> Container:
    """Builds and starts every part; `engine` lets a caller share an already warm engine (tests, bench).
    When a part fails to start, the ones already started are stopped again."""
    check_settings(settings)
    with ExitStack() as stack:
        if settings.redis_url is None:  # one process per data folder; a cluster's processes share nothing there
            stack.enter_context(lock_data_dir(settings.data_dir))
        container = _build(settings, engine, stack)
        container.resources = stack.pop_all()
    return container


def build_worker(
    settings: Settings, stores: Stores, bus: LocalBus | RedisBus, engine: Engine | None = None, **extra: Any
) -> Worker:
    """A worker over the shared stores, configured from `settings`; `extra` goes to Worker (name, heartbeat,
    metrics, ...). Its engine is built when the worker starts (on its thread, embedded), or `engine` is reused."""

    def make_engine() -> Engine:
        if engine is not None:
            return engine
        from diffuserve.engine.engine import Engine

        return Engine(stores.registry, settings)

    return Worker(
        make_engine=make_engine,
        jobs=stores.jobs,
        assets=stores.assets,
        blobs=stores.blobs,
        bus=bus,
        max_images=settings.max_batch_images,
        batch_window_s=settings.batch_window_ms / 1000,
        affinity_max_wait_s=settings.model_affinity_max_wait_s,
        lease_s=settings.lease_s,
        preload=[m.strip() for m in settings.preload_models.split(",") if m.strip()],
        **extra,
    )


def _build(settings: Settings, engine: Engine | None, stack: ExitStack) -> Container:
    """Builds and starts the parts; `stack` stops them in the reverse order of its callbacks."""
    stores = open_stores(settings, stack, engine.registry if engine is not None else None)
    jobs = stores.jobs
    signer = UrlSigner(
        settings.url_secret or load_or_create_secret(settings.data_dir / "secret.key"),
        base_url=settings.resolved_public_url,
        ttl_s=settings.url_ttl_s,
    )
    bus: LocalBus | RedisBus
    leader: Leader | None = None
    dispatcher: CeleryDispatcher | None = None
    if settings.redis_url is None:
        bus = LocalBus()
        queue = BusJobClient(jobs, bus)
    else:
        bus = RedisBus(settings.redis_url)
        stack.callback(bus.close)
        broker = settings.resolved_broker_url
        assert broker is not None
        dispatcher = CeleryDispatcher(make_celery(broker), bus, jobs)
        queue = BusJobClient(jobs, bus, dispatch=dispatcher.dispatch)
    http = SafeHttp(
        allow_private=settings.fetch_allow_private,
        max_bytes=settings.fetch_max_bytes,
        timeout_s=settings.fetch_timeout_s,
        max_concurrent=settings.fetch_concurrency,
    )
    strict = settings.strict_fields
    inference = InferenceService(
        registry=stores.registry,
        jobs=jobs,
        assets=stores.assets,
        queue=queue,
        signer=signer,
        strict_fields=settings.strict_fields,
        limits=Limits(
            max_work_per_request=settings.max_work_per_request,
            max_prompt_chars=settings.max_prompt_chars,
            project_max_active_jobs=settings.project_max_active_jobs,
            project_max_work_per_hour=settings.project_max_work_per_hour,
            max_queued_jobs=settings.max_queued_jobs,
        ),
    )
    services = Services(
        inference=inference,
        jobs=JobService(jobs=jobs, queue=queue, signer=signer, blobs=stores.blobs, strict_fields=strict),
        assets=AssetService(assets=stores.assets, signer=signer, strict_fields=strict),
        models=ModelService(stores.registry),
        keys=KeyService(
            KeyRepository(stores.db),
            AuthLimiter(
                per_key=settings.auth_failures_per_key,
                per_address=settings.auth_failures_per_address,
                window_s=settings.auth_failure_window_s,
            ),
        ),
        imagepipeline=ImagePipelineService(
            inference=inference, jobs=jobs, registry=stores.registry, http=http, signer=signer
        ),
        signer=signer,
        uploads=UploadService(
            uploads=UploadRepository(stores.db), assets=stores.assets, signer=signer, strict_fields=strict
        ),
        downloads=DownloadService(assets=stores.assets, signer=signer, strict_fields=strict),
        open_mode=settings.open_mode,
        strict_fields=strict,
    )
    webhooks = WebhookNotifier(
        jobs=jobs,
        queue=queue,
        http=http,
        signer=signer,
        attempts=settings.webhook_attempts,
        backoff_s=settings.webhook_backoff_s,
        secret_key=parse_secret(
            settings.webhook_secret or load_or_create_webhook_secret(settings.data_dir / "webhook-secret.key")
        ),
    )
    # At shutdown the worker stops first, so jobs that end in its grace period still get their webhooks.
    stack.callback(webhooks.stop)
    worker = None
    if isinstance(bus, LocalBus):
        worker = build_worker(settings, stores, bus, engine, name=settings.worker_name or "embedded")
        # Alone on its data folder and before any work: remove what an earlier crash left.
        sweep_at_start(stores.assets, UploadRepository(stores.db))
        # The worker starts first: the jobs its start fails (too many interrupted runs) are then owed
        # webhooks that the notifier's start finds.
        worker.start()
        stack.callback(worker.stop, timeout_s=settings.shutdown_timeout_s)
        webhooks.start()
    else:
        # A cluster: one replica at a time reaps expired leases, re-dispatches, sends owed webhooks and removes
        # what crashed writers left pending.
        assert dispatcher is not None
        reaper = Reaper(jobs, dispatcher, settings.redispatch_after_s)
        sweep: Callable[[], None] = partial(sweep_stale, stores.assets)
        duties = [reaper.reap, reaper.redispatch, webhooks.send_owed, sweep]
        leader = Leader(bus.redis, f"{socket.gethostname()}-{os.getpid()}", duties)
        webhooks.start(listen=False)
        leader.start()
        stack.callback(leader.stop)
    logger.info(
        "service started data_dir=%s models=%d mode=%s",
        settings.data_dir,
        len(stores.registry.list()),
        "embedded" if settings.redis_url is None else "cluster",
    )
    return Container(
        settings=settings,
        stores=stores,
        jobs=queue,
        worker=worker,
        leader=leader,
        webhooks=webhooks,
        services=services,
        resources=ExitStack(),
        bus=bus if isinstance(bus, RedisBus) else None,
    )


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The FastAPI app; its lifespan builds the container and closes it, whatever happens."""
    check_settings(settings)
    if settings.redis_url is None:
        with lock_data_dir(settings.data_dir):  # fail before the server starts (the lifespan takes it for good)
            pass

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = await asyncio.to_thread(build_container, settings, engine=engine)
        gc.freeze()  # what start-up built lives as long as the process: out of the collector's full passes
        app.state.container = container
        app.state.services = container.services
        app.state.metrics = ApiMetrics(container.stores.jobs, container.workers)
        try:
            async with mcp_endpoint.lifespan():  # MCP sessions start after the services and end before them
                yield
        finally:
            await asyncio.to_thread(container.close)

    redact_access_log()
    app = FastAPI(
        title="diffuserve",
        version=__version__,
        description="Scenario-compatible image generation API and imagepipeline-style API over diffusers.",
        lifespan=lifespan,
        docs_url=None,  # routes_docs serves /docs and /redoc from the package, offline
        redoc_url=None,
    )
    if is_loopback(settings.host):
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=loopback_hosts(settings.resolved_public_url))
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)  # images arrive inline; cap what one request holds
    install_error_handlers(app)
    modules = (
        routes_generate,
        routes_jobs,
        routes_assets,
        routes_downloads,
        routes_uploads,
        routes_models,
        routes_imagepipeline,
        routes_web,
        routes_docs,
        routes_health,
        routes_keys,
    )
    for module in modules:
        app.include_router(module.router)
    install_openapi(app)
    mcp_endpoint = mount_mcp(app, settings)
    return app
