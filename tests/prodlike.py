"""Start `scripts/prodlike` (nginx, two gunicorn masters, Celery workers and beat, production settings) for a
test or a bench, wait until it is ready, and stop it. Also a private PostgreSQL cluster a test may restart."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProdLike:
    """`scripts/prodlike --port PORT` in its own session; `start()` returns once it printed "Ready:"."""

    def __init__(self, workdir: Path, *, env: dict[str, str] | None = None, celery_workers: int = 2, install=False):
        self.workdir = workdir
        self.port = free_port()
        self.celery_workers = celery_workers
        self.install = install
        self.extra_env = env or {}
        self.log = workdir / "prodlike.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cafile(self) -> Path:
        return self.workdir / "files" / "tls" / "cert.pem"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def logs(self, tail: int = 3000) -> str:
        """The script's output and the end of every process's log, for a failing assertion."""
        parts = [self.output()[-tail:]]
        for path in sorted((self.workdir / "files" / "log").glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def start(self, timeout: float = 240) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VAR_DIR", "SECRET_KEY"}
            and not key.startswith(("PYTEST", "DJANGO_ALLOW_ASYNC_UNSAFE", "PW_"))
        }
        env.update(VENV=sys.prefix, PRODLIKE_DIR=str(self.workdir / "files"), **self.extra_env)
        command = ["bash", str(ROOT / "scripts" / "prodlike"), "--port", str(self.port)]
        command += ["--celery-workers", str(self.celery_workers)]
        if not self.install:
            command.append("--no-install")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "==> Ready: " in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"scripts/prodlike exited with {self.process.returncode}:\n{self.logs()}")
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"scripts/prodlike was not ready within {timeout:.0f} s:\n{self.logs()}")

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM, as systemd or a terminal would; the script stops its children in order."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
                raise RuntimeError(f"scripts/prodlike did not stop within {timeout:.0f} s:\n{self.logs()}") from None
        return self.process.returncode

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        *,
        source: str = "127.0.0.1",
        headers: dict[str, str] | None = None,
        timeout: float = 15,
    ) -> tuple[int, dict]:
        """One HTTPS request through nginx from the loopback address `source` (nginx passes it on in
        X-Forwarded-For, so each source is a client of its own); the status and the JSON body."""
        data = json.dumps(body).encode() if body is not None else None
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=self.ssl_context(), source_address=(source, 0)
        )
        try:
            connection.request(
                method,
                path,
                body=data,
                headers={"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
            )
            response = connection.getresponse()
            status, raw = response.status, response.read()
        finally:
            connection.close()
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, {"raw": raw[:500].decode(errors="replace")}


class PrivatePostgres:
    """A PostgreSQL cluster of our own on a free loopback port, which a test may stop and start: never the
    machine's shared one. As root, initdb refuses to run, so the cluster belongs to the `postgres` user."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bindir = bins[-1].parent
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="alcabala-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "sockets"
        self.logfile = self.base / "server.log"
        self.as_postgres = os.geteuid() == 0

    def url(self, name: str) -> str:
        return f"postgis://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}\n{self.server_log()}")

    def server_log(self) -> str:
        return self.logfile.read_text(errors="replace")[-3000:] if self.logfile.exists() else ""

    def init(self) -> None:
        self.sockets.mkdir()
        if self.as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.base, ignore_errors=True)
