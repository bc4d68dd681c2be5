"""A whole cluster on one machine, for trying it and for the tests: Redis, PostgreSQL, an S3-compatible server
(moto), API replicas and CPU workers, each on a free port of 127.0.0.1, their state in `<root>/cluster.json`.

`scripts/cluster up|down` drives it; the cluster tests use the same functions, so what they test is what a user
starts. Nothing here is used by a deployment on real machines (see the README).
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

STATE = "cluster.json"
_SAVING = threading.Lock()
DATABASE = "diffuserve"
_PG_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def postgres_bin() -> Path | None:
    """Debian keeps the server programs off PATH (/usr/lib/postgresql/N/bin); elsewhere they are on it."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in folders:
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def as_server_user(*command: str | Path) -> list[str]:
    """PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return [*prefix, *(str(part) for part in command)]


def run_as_server_user(*command: str | Path) -> None:
    done = subprocess.run(as_server_user(*command), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def start_postgres(root: Path) -> tuple[str, int]:
    """initdb + pg_ctl start in `root` (stopped by stop_postgres); returns (server URL without database, port)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: run scripts/services")
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    run_as_server_user(bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
    for attempt in range(3):  # another process may take the free port before the server binds it
        port = free_port()
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {_PG_OPTIONS}"
        try:
            run_as_server_user(bin_dir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options, "-w", "start")
            return f"postgresql://postgres@127.0.0.1:{port}", port
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def stop_postgres(root: Path, mode: str = "immediate") -> None:
    bin_dir = postgres_bin()
    if bin_dir is not None and (root / "data" / "postmaster.pid").exists():
        run_as_server_user(bin_dir / "pg_ctl", "-D", root / "data", "-m", mode, "-w", "stop")


def restart_postgres(root: Path, port: int) -> None:
    bin_dir = postgres_bin()
    assert bin_dir is not None
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {_PG_OPTIONS}"
    run_as_server_user(bin_dir / "pg_ctl", "-D", root / "data", "-l", root / "server.log", "-o", options, "-w", "start")


@dataclass
class Proc:
    """A process the cluster started: how to start it again, and where it logs."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: str
    port: int
    pid: int = 0

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.pid = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            ).pid

    def kill(self, sig: int = signal.SIGKILL, grace_s: float = 20) -> None:
        """Sends `sig` to the process group; SIGKILL after `grace_s` if it still lives."""
        for current in (sig, signal.SIGKILL):
            try:
                os.killpg(self.pid, current)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + (grace_s if current != signal.SIGKILL else 10)
            while _alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _alive(self.pid):
                return

    @property
    def alive(self) -> bool:
        return _alive(self.pid)


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of another parent still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Cluster:
    root: str
    database_url: str
    postgres_port: int
    redis_url: str
    s3_endpoint: str
    blob_store_url: str
    api_urls: list[str]
    # PostgreSQL's folder: its own temporary folder, since the server user must reach it (not under root's).
    postgres_dir: str = ""
    key: str = ""
    secret: str = ""
    procs: dict[str, Proc] = field(default_factory=dict)

    def save(self) -> None:
        """Written whole or not at all (a temporary file renamed over the old one)."""
        path = Path(self.root, STATE)
        with _SAVING:  # threads restarting processes at once: the last write holds every new pid
            tmp = path.with_name(f".{STATE}.{os.getpid()}")
            tmp.write_text(json.dumps(asdict(self), indent=2))
            tmp.replace(path)

    @classmethod
    def load(cls, root: Path) -> Cluster:
        data = json.loads((root / STATE).read_text())
        procs = {name: Proc(**p) for name, p in data.pop("procs").items()}
        return cls(**data, procs=procs)

    def workers(self) -> list[Proc]:
        return [p for name, p in self.procs.items() if name.startswith("worker")]

    def apis(self) -> list[Proc]:
        return [p for name, p in self.procs.items() if name.startswith("api")]


def diffuserve_env(cluster: Cluster, data_dir: Path, demo_models_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIFFUSERVE_")}
    env.update(
        DIFFUSERVE_DATA_DIR=str(data_dir),
        DIFFUSERVE_DATABASE_URL=cluster.database_url,
        DIFFUSERVE_REDIS_URL=cluster.redis_url,
        DIFFUSERVE_BLOB_STORE_URL=cluster.blob_store_url,
        DIFFUSERVE_REGISTRY_PATH=str(Path(cluster.root, "models.yaml")),
        DIFFUSERVE_DEMO_MODELS_DIR=str(demo_models_dir),
        DIFFUSERVE_URL_SECRET=json.loads(Path(cluster.root, "secret.json").read_text()),
        AWS_ACCESS_KEY_ID="diffuserve",
        AWS_SECRET_ACCESS_KEY="diffuserve",  # moto accepts any key
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def _wait_http(url: str, what: str, proc: Proc | None, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive:
            raise RuntimeError(f"{what} exited while starting; see {proc.log}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not become ready at {url} within {timeout_s:.0f}s")


def up(
    root: Path,
    *,
    apis: int = 2,
    workers: int = 2,
    demo_models_dir: Path | None = None,
    worker_env: dict[str, str] | None = None,
    api_env: dict[str, str] | None = None,
) -> Cluster:
    """Starts everything and returns the cluster (also saved in <root>/cluster.json); on failure, stops what it
    started."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "secret.json").write_text(json.dumps(secrets.token_urlsafe(32)))
    exe = str(Path(sys.executable).parent / "diffuserve")
    cluster = Cluster(
        root=str(root), database_url="", postgres_port=0, redis_url="", s3_endpoint="", blob_store_url="", api_urls=[]
    )
    try:
        cluster.postgres_dir = tempfile.mkdtemp(prefix="diffuserve-pg-")
        server, pg_port = start_postgres(Path(cluster.postgres_dir))
        import psycopg

        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        cluster.database_url, cluster.postgres_port = f"{server}/{DATABASE}", pg_port
        redis_port, s3_port = free_port(), free_port()
        (root / "redis").mkdir(exist_ok=True)
        redis = Proc(
            "redis",
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(root / "redis"),
            ],
            dict(os.environ),
            str(root / "redis.log"),
            redis_port,
        )
        s3 = Proc(
            "s3",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
            dict(os.environ),
            str(root / "s3.log"),
            s3_port,
        )
        for proc in (redis, s3):
            proc.start()
            cluster.procs[proc.name] = proc
        cluster.redis_url = f"redis://127.0.0.1:{redis_port}/0"
        cluster.s3_endpoint = f"http://127.0.0.1:{s3_port}"
        cluster.blob_store_url = (
            f"s3://diffuserve/assets?endpoint_url={cluster.s3_endpoint}&region=us-east-1&create_bucket=true"
        )
        _wait_http(cluster.s3_endpoint, "the S3 server", s3, 60)
        _wait_redis(redis_port, redis)
        demo = demo_models_dir or root / "demo-models"
        setup_env = diffuserve_env(cluster, root / "setup", demo)
        for command in (["db", "upgrade"], ["models", "list"]):  # migrate once; build and register demo models once
            subprocess.run([exe, *command], env=setup_env, check=True, capture_output=True)
        for i in range(1, apis + 1):
            port = free_port()
            env = diffuserve_env(cluster, root / f"api-{i}", demo, **(api_env or {}))
            proc = Proc(f"api-{i}", [exe, "serve", "--port", str(port)], env, str(root / f"api-{i}.log"), port)
            proc.start()
            cluster.procs[proc.name] = proc
            cluster.api_urls.append(f"http://127.0.0.1:{port}")
        for i in range(1, workers + 1):
            port = free_port()
            extra = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(worker_env or {})}
            env = diffuserve_env(cluster, root / f"worker-{i}", demo, **extra)
            args = [exe, "worker", "--device", "cpu", "--name", f"worker-{i}", "--http-port", str(port)]
            proc = Proc(f"worker-{i}", args, env, str(root / f"worker-{i}.log"), port)
            proc.start()
            cluster.procs[proc.name] = proc
        for proc in cluster.apis():
            _wait_http(f"http://127.0.0.1:{proc.port}/readyz", proc.name, proc)
        for proc in cluster.workers():
            _wait_http(f"http://127.0.0.1:{proc.port}/readyz", proc.name, proc)
        created = subprocess.run([exe, "keys", "create", "--json"], env=setup_env, check=True, capture_output=True)
        credentials = json.loads(created.stdout)
        cluster.key, cluster.secret = credentials["key"], credentials["secret"]
        cluster.save()
        return cluster
    except BaseException:
        cluster.save()
        down(root)
        raise


def _wait_redis(port: int, proc: Proc, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not proc.alive:
            raise RuntimeError(f"redis-server exited while starting; see {proc.log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("redis-server did not answer")


def restart_redis(cluster: Cluster) -> None:
    redis = cluster.procs["redis"]
    redis.kill()
    redis.start()
    _wait_redis(redis.port, redis)
    cluster.save()


def down(root: Path) -> None:
    """Stops every process the cluster started (workers first), then PostgreSQL; keeps the logs."""
    root = root.resolve()
    if not (root / STATE).exists():
        return
    cluster = Cluster.load(root)
    order = [*cluster.workers(), *cluster.apis(), *(p for n, p in cluster.procs.items() if n in ("redis", "s3"))]
    for proc in order:
        if proc.pid:
            proc.kill(signal.SIGTERM if proc.name.startswith("api") else signal.SIGKILL)
    if cluster.postgres_dir:
        stop_postgres(Path(cluster.postgres_dir))
        shutil.rmtree(cluster.postgres_dir, ignore_errors=True)
    (root / STATE).unlink()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start Redis, PostgreSQL, S3 (moto), API replicas and CPU workers")
    start.add_argument("--dir", type=Path, default=Path(".cluster"), help="state, logs and data (default .cluster)")
    start.add_argument("--apis", type=int, default=2, help="API replicas (default 2)")
    start.add_argument("--workers", type=int, default=2, help="CPU workers, one torch thread each (default 2)")
    start.add_argument("--json", action="store_true", help="print the cluster state as JSON")
    start.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every API replica and worker, e.g. --set LEASE_S=5 (DIFFUSERVE_ prefix implied)",
    )
    stop = sub.add_parser("down", help="stop everything `up` started")
    stop.add_argument("--dir", type=Path, default=Path(".cluster"))
    args = parser.parse_args(argv)
    if args.command == "down":
        down(args.dir)
        print(f"cluster in {args.dir} stopped", file=sys.stderr)
        return 0
    if (args.dir / STATE).exists():
        print(f"a cluster is already running in {args.dir}: scripts/cluster down first", file=sys.stderr)
        return 1
    print("starting PostgreSQL, Redis, S3 (moto), the API replicas and the workers ...", file=sys.stderr)
    settings = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected NAME=VALUE")
        settings[f"DIFFUSERVE_{name.upper().removeprefix('DIFFUSERVE_')}"] = value
    cluster = up(args.dir, apis=args.apis, workers=args.workers, worker_env=settings, api_env=settings)
    if args.json:
        print(json.dumps(asdict(cluster)))
        return 0
    print(f"API: {' '.join(cluster.api_urls)}")
    print(f"key: {cluster.key}:{cluster.secret}")
    print(f"logs and state: {cluster.root}; stop with: scripts/cluster down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
