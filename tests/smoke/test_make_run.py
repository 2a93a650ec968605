"""The README's first command, run as a newcomer runs it: `make run` in a fresh
clone, with only the runtime requirements installed.

The suite itself runs with the test requirements, which bring modules (pytest
brings `packaging`) that the runtime requirements may lack: this test is the
guard that fails when `make run` would. It

- clones this checkout into a temporary folder and applies its uncommitted
  changes and untracked files, so it tests the working tree as it is;
- runs `make run` there with its own database, Redis key prefix and free
  ports (the Makefile's PORT, DB, REDIS_PREFIX, DEMO_API_PORT) and a
  virtualenv built by the Makefile from requirements/base.txt + lock.txt only
  (kept between runs under ~/.cache/fastn/smoke-venvs, one per hash of those
  two files and the Python version: a change to either builds a new one;
  FASTN_SMOKE_FRESH_VENV=1 builds one in the temporary folder instead);
- waits for /api/v1/health; checks the banner (dashboard URL, demo login,
  demo key), the demo organization's seeded runs (they call the fake Demo
  CRM that the stack serves), the README's four calls and the workflow API
  tab's curl, each run exactly as shown with the printed key, and the
  product's own 404 page;
- creates an organization with bootstrap_org, runs an Instant workflow
  through a webhook trigger and a Standard workflow through the API, and
  checks both outputs;
- kills the worker's main process with SIGKILL and sees supervisord start it
  again and the next Standard execution complete;
- stops the stack as Ctrl-C does, checks nothing is left running, and drops
  its database and Redis keys.

It fails, printing the stack's last log lines, as soon as any process of the
stack exits on its own.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.smoke]

START_TIMEOUT = 420  # a first run builds the virtualenv (about a minute) and migrates a new database
LOG_TAIL = 80
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fastn" / "smoke-venvs"
# Variables of the test process that must not leak into the stack under test.
SCRUBBED_PREFIXES = ("FASTN_", "DJANGO_", "CELERY_", "PYTEST_", "MAKE", "MFLAGS", "VIRTUAL_ENV")


class StackFailed(AssertionError):
    pass


def clone_working_tree(destination: Path) -> str:
    """A clone of HEAD plus this checkout's uncommitted changes and untracked
    (not ignored) files. Returns a description for the failure message."""
    git = ["git", "-C", str(ROOT)]
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(destination)], check=True)
    diff = subprocess.run([*git, "diff", "--binary", "HEAD"], check=True, capture_output=True).stdout
    if diff:
        subprocess.run(
            ["git", "-C", str(destination), "apply", "--binary", "--whitespace=nowarn"], input=diff, check=True
        )
    untracked = subprocess.run(
        [*git, "ls-files", "--others", "--exclude-standard", "-z"], check=True, capture_output=True
    ).stdout.split(b"\0")
    copied = 0
    for name in filter(None, untracked):
        source = ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied += 1
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True)
    return f"HEAD {head.stdout.strip()} + {len(diff)} bytes of diff + {copied} untracked files"


def runtime_venv_path(clone: Path, tmp: Path) -> Path:
    if os.environ.get("FASTN_SMOKE_FRESH_VENV") == "1":
        return tmp / "venv"
    digest = hashlib.sha256()
    for name in ("requirements/base.txt", "requirements/lock.txt"):
        digest.update((clone / name).read_bytes())
    digest.update(sys.version.encode())
    return CACHE / digest.hexdigest()[:20]


class Stack:
    """`make run` in a clone, its log, and what its supervisord says."""

    def __init__(self, clone: Path, venv: Path, log_path: Path) -> None:
        self.clone = clone
        self.venv = venv
        self.log_path = log_path
        self.port = free_port()
        self.demo_api_port = free_port()
        suffix = uuid.uuid4().hex[:10]
        self.database = f"fastn_smoke_{suffix}"
        self.prefix = f"fastn-smoke-{suffix}"
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.allowed_exits: collections.Counter[str] = collections.Counter()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
        self.env.update(
            {
                # Small pools: the smoke test runs beside the rest of the suite.
                "WEB_CONCURRENCY": "1",
                "WEB_THREADS": "4",
                "FASTN_WORKER_CONCURRENCY": "4",
                "PYTHONUNBUFFERED": "1",
            }
        )

    @property
    def make_variables(self) -> list[str]:
        return [
            f"VENV={self.venv}",
            f"PORT={self.port}",
            f"DB={self.database}",
            f"REDIS_PREFIX={self.prefix}",
            f"DEMO_API_PORT={self.demo_api_port}",
        ]

    def start(self) -> None:
        self.log_file = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "run", *self.make_variables],
            cwd=self.clone,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, as a terminal gives it
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = LOG_TAIL) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def fail(self, message: str) -> None:
        raise StackFailed(f"{message}\n--- last {LOG_TAIL} lines of the stack's log ---\n{self.tail()}")

    def check_alive(self) -> None:
        """Fail when make (and so supervisord) ended, or when supervisord
        reports a process that exited without the test asking for it."""
        if self.proc.poll() is not None:
            self.fail(f"`make run` exited with status {self.proc.returncode}")
        seen: collections.Counter[str] = collections.Counter()
        for line in self.log().splitlines():
            match = re.search(r"\b(?:WARN|INFO|CRIT) (exited|gave up): '?(\w+)'?", line)
            if match:
                seen[match.group(2)] += 1
                if seen[match.group(2)] > self.allowed_exits[match.group(2)]:
                    self.fail(f"a process of the stack exited: {line.strip()}")

    def wait_for(self, what: str, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if predicate():
                return
            time.sleep(0.5)
        self.fail(f"timed out after {timeout:.0f} s waiting for {what}")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/api/v1/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def manage(self, *args: str) -> str:
        env = {
            **self.env,
            "FASTN_DATABASE_NAME": self.database,
            "FASTN_REDIS_PREFIX": self.prefix,
            "FASTN_BIND": f"127.0.0.1:{self.port}",
        }
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), "manage.py", *args],
            cwd=self.clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            self.fail(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def supervisorctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.venv / "bin" / "supervisorctl"), "-c", str(self.clone / ".run" / "supervisord.conf"), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout.strip()

    def stop(self) -> None:
        """Ctrl-C: SIGINT to the foreground process group (make and supervisord)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def leftovers(self) -> list[str]:
        """Processes still running from the clone (none once the stack stopped)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cwd = os.readlink(entry / "cwd")
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cwd.startswith(str(self.clone)) or str(self.clone) in cmdline:
                found.append(f"{entry.name}: {cmdline.strip()}")
        return found

    def drop_data(self) -> None:
        import psycopg
        from django.conf import settings
        from psycopg import sql

        from apps.core.redis import get_redis

        db = settings.DATABASES["default"]
        params = {
            "host": db.get("HOST") or "127.0.0.1",
            "port": db.get("PORT") or 5432,
            "user": db.get("USER") or "postgres",
            "password": db.get("PASSWORD") or None,
            "autocommit": True,
        }
        roles: list[str] = []
        with contextlib.suppress(psycopg.Error), psycopg.connect(**params, dbname=self.database) as conn:
            roles = [row[0] for row in conn.execute("SELECT role_name FROM fastn_sandbox.sandbox").fetchall()]
        with psycopg.connect(**params, dbname="postgres") as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))
            for role in roles:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        client = get_redis()
        names = list(client.scan_iter(match=f"{self.prefix}:*", count=1000))
        for start in range(0, len(names), 500):
            client.delete(*names[start : start + 500])


class Api:
    def __init__(self, base: str, account_id: str, key: str) -> None:
        self.client = httpx.Client(
            base_url=base,
            timeout=60,
            headers={"x-fastn-access-key": key, "x-fastn-account-id": account_id},
        )

    def call(self, method: str, path: str, expected: int, body=None) -> dict:
        response = self.client.request(method, path, json=body)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else {}

    def workflow(self, name: str, tier: str, code: str) -> str:
        slug = self.call("POST", "/api/v1/workflows", 201, {"name": name, "tier": tier, "code": code})["slug"]
        assert self.call("POST", f"/api/v1/workflows/{slug}/publish", 201, {})["version"] == 1
        self.call("POST", f"/api/v1/workflows/{slug}/deploy", 200, {"version": 1, "environment": "production"})
        return slug

    def run_standard(self, slug: str, body: dict, stack: Stack, timeout: float = 90) -> dict:
        started = self.call("POST", f"/api/v1/workflows/{slug}/run", 202, body)
        assert started["status"] == "queued", started
        execution: dict = {}

        def finished() -> bool:
            nonlocal execution
            execution = self.call("GET", f"/api/v1/executions/{started['execution_id']}", 200)
            return execution["status"] not in ("queued", "running")

        stack.wait_for(f"execution {started['execution_id']} to finish", finished, timeout)
        return execution


def api_tab_curl(stack: Stack, workflow: str) -> str:
    """The curl example of a workflow page's API tab, read as the demo owner."""
    with httpx.Client(base_url=stack.base, follow_redirects=True, timeout=30) as web:
        page = web.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        web.post(
            "/accounts/login/",
            data={"login": "demo@fastn.local", "password": "fastn-demo-password", "csrfmiddlewaretoken": token},
            headers={"Referer": f"{stack.base}/accounts/login/"},
        )
        detail = web.get(f"/o/demo/integrations/workflows/{workflow}/")
        assert detail.status_code == 200, detail.text[:500]
    found = re.search(r'<pre class="code" id="curl-run">(.*?)</pre>', detail.text, re.S)
    assert found, "the API tab shows a curl example"
    return html.unescape(found.group(1))


def _pid_spawned(log: str, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"spawned: '{name}' with pid (\d+)", log)]


def test_make_run_from_a_fresh_clone_serves_runs_workflows_and_survives_a_killed_worker(tmp_path):
    began = time.monotonic()
    clone = tmp_path / "clone"
    described = clone_working_tree(clone)
    venv = runtime_venv_path(clone, tmp_path)
    venv.parent.mkdir(parents=True, exist_ok=True)
    stack = Stack(clone, venv, tmp_path / "stack.log")
    lock = (venv.parent / f"{venv.name}.lock").open("w")
    try:
        # One build at a time per virtualenv (several suites may run at once
        # on one machine); the stack itself shares the finished one.
        fcntl.flock(lock, fcntl.LOCK_EX)
        build = subprocess.run(
            ["make", "--no-print-directory", "install", f"VENV={venv}"],
            cwd=clone,
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        fcntl.flock(lock, fcntl.LOCK_UN)
        assert build.returncode == 0, f"make install failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
        installed = time.monotonic()

        stack.start()
        stack.wait_for("/api/v1/health to answer 200", stack.healthy, START_TIMEOUT)
        up = time.monotonic()
        banner = stack.log()
        assert f"http://127.0.0.1:{stack.port}/o/demo/" in banner, "make run prints the dashboard URL"
        assert "demo@fastn.local" in banner, "make run prints the demo login"
        demo_key = re.search(r"API key:\s+(\S+)", banner).group(1)
        demo_account = re.search(r"Account ID:\s+(\S+)", banner).group(1)
        demo = Api(stack.base, demo_account, demo_key)

        # The demo organization was seeded: its three runs reach the fake
        # Demo CRM through Acme's connection and complete.
        def seeded_runs_completed() -> bool:
            rows = demo.call("GET", "/api/v1/executions?workflow=list-crm-contacts", 200)["results"]
            return len(rows) >= 3 and all(row["status"] == "completed" for row in rows)

        stack.wait_for("the demo's seeded runs to complete", seeded_runs_completed, 90)

        # The README's four calls, exactly as written, with the key and
        # account id that make run printed.
        readme = (clone / "README.md").read_text()
        block = readme.split("## A workflow in four calls", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
        script = (
            block.replace("KEY", demo_key)
            .replace("ACCOUNT", demo_account)
            .replace("localhost:8000", f"127.0.0.1:{stack.port}")
            .replace("curl ", "curl -sS --fail-with-body ")
        )
        readme_run = subprocess.run(["bash", "-ec", script], capture_output=True, text=True, timeout=120)
        assert readme_run.returncode == 0, f"the README's calls failed:\n{readme_run.stdout}\n{readme_run.stderr}"
        last = readme_run.stdout[readme_run.stdout.rindex('{"execution_id"') :]
        assert json.loads(last)["output"] == 6, readme_run.stdout

        # The workflow page's API tab: its curl, as shown, runs the demo
        # workflow for a real customer.
        curl = api_tab_curl(stack, "list-crm-contacts")
        assert "customer-123" not in curl
        tab_run = subprocess.run(
            ["bash", "-ec", curl.replace("curl ", "curl -sS --fail-with-body ", 1)],
            env={**stack.env, "FASTN_API_KEY": demo_key},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert tab_run.returncode == 0, f"the API tab's curl failed:\n{curl}\n{tab_run.stdout}\n{tab_run.stderr}"
        ran = json.loads(tab_run.stdout)
        assert ran["status"] == "completed", ran
        assert ran["output"]["customer"] == "acme-corp" and ran["output"]["count"] == 3, ran

        created = json.loads(
            stack.manage("bootstrap_org", "--name", "Smoke Org", "--owner-email", "owner@smoke.test", "--plan", "pro")
        )
        api = Api(stack.base, created["account_id"], created["api_keys"]["live"])

        # make run serves the product's 404 page, not Django's debug page.
        missing = httpx.get(f"{stack.base}/o/demo/no-such-page", timeout=30)
        assert missing.status_code == 404 and "URLconf" not in missing.text, missing.text[:300]

        # Instant, through a webhook trigger: the hook answers with the result.
        sum_code = "export default async (ctx) => ({sum: ctx.input.numbers.reduce((a, b) => a + b, 0)})"
        instant = api.workflow("Smoke sum", "instant", sum_code)
        trigger = api.call("POST", "/api/v1/triggers", 201, {"type": "webhook", "workflow": instant, "config": {}})
        hook = httpx.post(f"{stack.base}{httpx.URL(trigger['url']).path}", json={"numbers": [1, 2, 3, 4]}, timeout=60)
        assert hook.status_code == 200, hook.text
        assert hook.json()["output"] == {"sum": 10}, hook.text

        # Standard, through the API: 202, then the execution completes.
        echo_code = "export default async (ctx) => ({hello: ctx.input.name, tier: ctx.execution.tier})"
        standard = api.workflow("Smoke echo", "standard", echo_code)
        execution = api.run_standard(standard, {"name": "smoke"}, stack)
        assert execution["status"] == "completed", execution
        assert execution["output"] == {"hello": "smoke", "tier": "standard"}, execution

        # A worker's main process dies: supervisord starts it again, the rest
        # keeps serving, and the next Standard execution completes.
        old_pid = int(stack.supervisorctl("pid", "worker"))
        stack.allowed_exits["worker"] += 1
        os.kill(old_pid, signal.SIGKILL)
        stack.wait_for(
            "worker to be started again",
            lambda: any(pid != old_pid for pid in _pid_spawned(stack.log(), "worker")),
            60,
        )
        assert re.search(r"exited: worker \(terminated by SIGKILL; not expected\)", stack.log())
        again = api.run_standard(standard, {"name": "after restart"}, stack, timeout=120)
        assert again["status"] == "completed" and again["output"]["hello"] == "after restart", again
        running = lambda: "RUNNING" in stack.supervisorctl("status", "worker")  # noqa: E731
        stack.wait_for("worker RUNNING", running, 30)
        stack.check_alive()
        checked = time.monotonic()

        stack.stop()
        left = stack.leftovers()
        assert not left, f"processes left running after Ctrl-C: {left}"
        print(  # noqa: T201 - the figures the report quotes (pytest -s shows them)
            f"\nsmoke: {described}; install {installed - began:.1f}s, start {up - installed:.1f}s, "
            f"checks {checked - up:.1f}s, stop {time.monotonic() - checked:.1f}s, "
            f"total {time.monotonic() - began:.1f}s"
        )
    finally:
        lock.close()
        stack.stop()
        for line in stack.leftovers():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
        stack.drop_data()
