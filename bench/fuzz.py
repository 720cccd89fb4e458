"""A longer schemathesis run than CI's (tests/api/test_schema.py: every check, 10 examples per operation against
Django's live server), against the production-like run (scripts/prodlike: nginx, TLS, gunicorn, PostGIS), with the
rate limits off so that every generated request reaches the code. Not part of CI. Prints what it found and
exits non-zero when a check failed. Run:

    .venv/bin/python bench/fuzz.py [--max-examples 300] [--max-time 600] [--seed N] [--postgis URL] [--write]

It empties the PostGIS database it is given (default postgis://postgres@127.0.0.1:5432/alcabala_prod).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchdocs import record_section
from load import Redis, prepare_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.prodlike import ProdLike  # noqa: E402 -- after the checkout is on the path

# Every check, as CI's bounded run; the schema's own formats and the operations judged by rules no JSON Schema
# states are told to schemathesis by the same hooks and configuration as CI's (tests/api/).
CHECKS = "all"
HOOKS = ROOT / "tests" / "api" / "schemathesis_hooks.py"
CONFIG = ROOT / "tests" / "api" / "schemathesis.toml"
KEY_SCRIPT = "from consumers.services import api_key_create; print(api_key_create(name='fuzz')[1])"
RATE_LIMITS_OFF = {
    name: "off"
    for name in (
        "RATE_LIMIT_REPORTS_PER_NETWORK",
        "RATE_LIMIT_REPORTS_PER_DEVICE",
        "RATE_LIMIT_VOTES_PER_NETWORK",
        "RATE_LIMIT_VOTES_PER_DEVICE",
        "API_READ_RATE_ANON",
        "API_READ_RATE_KEY",
    )
}


def failures(output: str) -> list[str]:
    """One line per failure schemathesis printed: the operation, the check, what came back, the request."""
    found = []
    for block in re.split(r"\n_{3,} ", output)[1:]:
        operation = block.split(" _", 1)[0].strip()
        check = re.search(r"^- (ST\d+ .+|.+)$", block, flags=re.M)
        received = re.search(r"Received: (.+)", block)
        documented = re.search(r"Documented: (.+)", block)
        curl = re.search(r"curl (.+)", block)
        line = f"`{operation}`: {check.group(1).strip() if check else 'failed'}"
        if received:
            line += f" (received {received.group(1).strip()}"
            line += f", documented {documented.group(1).strip()})" if documented else ")"
        if curl:
            request = re.sub(r"https://127\.0\.0\.1:\d+", "", curl.group(1).strip())
            line += f", e.g. `curl {request}`"
        found.append(line)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-examples", type=int, default=300, help="examples per operation (CI: 25)")
    parser.add_argument("--max-time", type=int, default=900, help="seconds for the whole run")
    parser.add_argument("--seed", type=int, default=None, help="default: a new one, printed")
    parser.add_argument("--postgis", default="postgis://postgres@127.0.0.1:5432/alcabala_prod")
    parser.add_argument("--write", action="store_true", help="record the outcome in docs/benchmarks.md")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**31)

    workdir = Path(tempfile.mkdtemp(prefix="alcabala-fuzz-"))
    redis = Redis(workdir)
    try:
        print(f"==> Seeding 200 incidents into {args.postgis}", flush=True)
        prepare_database(args.postgis, redis.url, 200)
        # A real key, so that the operations that need one (webhooks, exports) are exercised, not only refused.
        key_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev", "DATABASE_URL": args.postgis}
        key = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", KEY_SCRIPT],
            cwd=ROOT,
            env={**key_env, "REDIS_URL": redis.url},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        prod = ProdLike(
            workdir / "run", env={"DATABASE_URL": args.postgis, "REDIS_URL": redis.url, **RATE_LIMITS_OFF}, install=True
        )
        prod.start()
        try:
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(CONFIG),
                "run",
                f"{prod.url}/api/v1/schema",
                "--checks",
                CHECKS,
                "--max-examples",
                str(args.max_examples),
                "--max-time",
                str(args.max_time),
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--seed",
                str(seed),
                "--tls-verify",
                str(prod.cafile),
                "--request-timeout",
                "30",
                "--workers",
                "2",
                "-H",
                f"Authorization: Token {key}",
            ]
            print(f"==> {' '.join(command[:-1])} [key]", flush=True)
            started = time.monotonic()
            env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "NO_COLOR": "1"}
            result = subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=env)
            elapsed = time.monotonic() - started
            server_errors = sum(
                1
                for path in (prod.workdir / "files" / "log").glob("gunicorn-*.log")
                for line in path.read_text(errors="replace").splitlines()
                if re.search(r'" 5\d\d ', line)
            )
        finally:
            prod.stop()
        output = result.stdout + result.stderr
        print(output[-20000:])
        found = failures(output)
        generated = re.search(r"(\d+) generated", output)
        verdict = "no failure" if result.returncode == 0 else f"FAILED (exit status {result.returncode})"
        print(f"==> {verdict} in {elapsed:.0f} s, seed {seed}; 5xx in the gunicorn access logs: {server_errors}")
        for line in found:
            print(f"  {line}")
        if args.write:
            section = "\n".join(
                [
                    "## Fuzzing the API (long run)",
                    "",
                    f"`bench/fuzz.py --max-examples {args.max_examples} --seed {seed}`, "
                    f"{datetime.now(UTC):%Y-%m-%d}: schemathesis (phases examples, coverage, fuzzing, stateful; "
                    "every check, with an API key) over `/api/v1/schema` against scripts/prodlike "
                    "(nginx with TLS, gunicorn, PostGIS) with the rate limits off; CI runs 10 examples per "
                    "operation against Django's live server.",
                    "",
                    f"Outcome: **{verdict}** in {elapsed:.0f} s, {generated.group(1) if generated else '?'} test "
                    f"cases; answers 5xx in the gunicorn access logs: {server_errors}.",
                    "",
                    *(f"- {line}" for line in found or ["nothing"]),
                ]
            )
            print(f"==> Recorded in {record_section(section)}")
        sys.exit(result.returncode)
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
