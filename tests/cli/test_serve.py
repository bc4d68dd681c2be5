"""`diffuserve serve` fails at once, with one line, on a port that is taken (before it says "serving" or touches
the data folder); once up, it says where it serves, which data folder it uses and whether API keys are needed."""

from __future__ import annotations

import queue
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from diffuserve.cli_startup import bind_listeners, start_banner
from diffuserve.config import Settings
from tests.cli.conftest import REPO, Cli
from tests.service_helpers import free_port


def test_a_taken_port_stops_serve_at_once_with_one_line(cli: Cli, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = tmp_path / "fresh"
        done = cli.run("serve", "--port", str(port), "--data-dir", str(data), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"diffuserve: port {port} on 127.0.0.1 is already in use (another diffuserve serve?); stop that process or "
        "pick another port with --port or DIFFUSERVE_PORT"
    )
    assert "serving" not in done.stderr + done.stdout
    assert not data.exists()  # nothing started


def test_listeners_are_tcp_sockets_so_connections_get_tcp_nodelay() -> None:
    """asyncio sets TCP_NODELAY on accepted connections only when the listening socket's proto is IPPROTO_TCP;
    with proto 0 every keep-alive answer (headers and body written apart) waited 40 ms for a delayed ACK."""
    sockets = bind_listeners("127.0.0.1", free_port())
    try:
        assert [s.proto for s in sockets] == [socket.IPPROTO_TCP] * len(sockets)
    finally:
        for s in sockets:
            s.close()


def test_the_banner_comes_once_the_server_answers_and_names_the_data_folder_and_the_key_it_needs(
    cli: Cli, tmp_path: Path
) -> None:
    port = free_port()
    data = tmp_path / "served"
    env = {**cli.env, "DIFFUSERVE_DEMO_MODELS": "false"}
    process = subprocess.Popen(
        cli.command("serve", "--port", str(port), "--data-dir", str(data)),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr
    threading.Thread(target=lambda: [lines.put(line) for line in stderr], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any(line.startswith("  API keys") for line in seen):
            assert time.monotonic() < deadline and process.poll() is None, "".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
        # Said once it answers: the URL works at once.
        assert httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).status_code == 401
    finally:
        process.terminate()
        process.wait(60)
    text = "".join(seen)
    folder = data.resolve()
    assert f"diffuserve: starting on 127.0.0.1:{port} with data folder {folder}" in text
    assert f"diffuserve serving on http://127.0.0.1:{port}\n" in text
    assert f"  data folder  {folder} (database, assets, models.yaml)\n" in text
    assert f"  API keys     required; create one with: diffuserve keys create --data-dir {folder}\n" in text
    assert text.index("Application startup complete") < text.index("diffuserve serving on")


def test_the_banner_of_open_mode_and_of_a_shared_database(tmp_path: Path) -> None:
    open_mode = start_banner(Settings(data_dir=tmp_path, open_mode=True, port=18399))
    assert "serving on http://127.0.0.1:18399" in open_mode
    assert "API keys     not required: open mode, loopback clients only" in open_mode
    cluster = start_banner(Settings(data_dir=tmp_path, database_url="postgresql://u:secret@db/x"))
    assert "database     postgresql://u:***@db/x" in cluster and "secret" not in cluster
    assert "create one with: diffuserve keys create (same DIFFUSERVE_DATABASE_URL)" in cluster
