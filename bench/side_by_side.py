"""Fastn beside n8n, in one sitting: the same wrk load, the same work, memory of every process.

    .venv/bin/python bench/side_by_side.py                 # n8n (if installed) then Fastn
    .venv/bin/python bench/side_by_side.py --install-n8n   # first install n8n with the shared harness (~5 min, 2.4 GB)
    .venv/bin/python bench/side_by_side.py --skip-n8n --dur 20s --record "after"

n8n runs through the shared harness (`/work/shared/bench/n8n/`, copied to
/tmp/peer-n8n): Webhook → Code node (sum `items`, double `a`) → respond,
every execution saved (SQLite). Fastn runs as `make run` starts it —
`manage.py ensure_database`, `migrate`, `ensure_demo`, then `honcho start -f
Procfile` with this checkout's `.env` (its own database, Redis prefix and
port) — with an Instant workflow doing the same sum behind a webhook trigger
(token URL), in an organization on the `unlimited` plan so quotas do not
answer 429. Both get the harness's `bench/post.lua` (same body) from `wrk`
at each concurrency after a warm-up; Fastn is also loaded through
`POST /api/v1/workflows/{slug}/run` with an API key.

Memory is the sum of VmRSS of every process of a stack (the process tree
under n8n's main process; under honcho for Fastn, honcho included), sampled
every second while wrk runs: max and mean. The machine's load average is
printed beside every row: on a shared machine only ratios from one sitting
mean anything. Everything this script starts is stopped at the end, also on
Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(os.environ.get("FASTN_PEER_HARNESS", "/work/shared/bench/n8n"))
PEER_DIR = Path(os.environ.get("PEER_DIR", "/tmp/peer-n8n"))
BODY = '{"a":21,"items":[1,2,3,4,5,6,7,8,9,10]}'
EXPECT = {"sum": 55, "doubled": 42}
CODE = (
    "export default async function (ctx) {\n"
    "  const { a, items } = ctx.input;\n"
    "  return { sum: items.reduce((x, y) => x + y, 0), doubled: a * 2 };\n"
    "}\n"
)
SLUG = "side-by-side-sum"
ORG_SLUG = "side-by-side"
RESULTS = ROOT / "bench" / "RESULTS.md"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- process trees and their memory ---------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(root: int) -> list[int]:
    children = _children_map()
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cmd(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def tree_rss_mb(root: int) -> float:
    return sum(_rss_kb(pid) for pid in tree(root)) / 1024


def tree_listing(root: int) -> list[tuple[int, float, str]]:
    return [(pid, _rss_kb(pid) / 1024, _cmd(pid)[:110]) for pid in tree(root)]


class Sampler(threading.Thread):
    """Sum of RSS of a process tree, every second."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.samples: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(tree_rss_mb(self.root))
            self._halt.wait(1.0)

    def stop(self) -> tuple[float, float]:
        self._halt.set()
        self.join()
        if not self.samples:
            return 0.0, 0.0
        return max(self.samples), sum(self.samples) / len(self.samples)


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class Row:
    target: str
    conc: int
    rps: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    errors: int = 0
    rss_max: float = 0.0
    rss_mean: float = 0.0
    load: str = ""
    extra: dict = field(default_factory=dict)


def wrk_script(headers: dict[str, str] | None = None) -> Path:
    """The harness's post.lua, with extra headers when asked (the /run path's API key)."""
    source = (HARNESS / "bench" / "post.lua").read_text()
    if not headers:
        path = Path("/tmp/fastn-side-post.lua")
    else:
        extra = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
        source = source.replace('wrk.headers["Content-Type"] = "application/json"\n', "", 1)
        source = 'wrk.headers["Content-Type"] = "application/json"\n' + extra + source
        path = Path("/tmp/fastn-side-post-run.lua")
    path.write_text(source)
    return path


def wrk(url: str, conc: int, dur: str, script: Path) -> dict:
    threads = 1 if conc < 2 else 2
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conc}", f"-d{dur}", "--timeout", "30s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    match = re.search(r"^RESULT (.*)$", out, re.MULTILINE)
    if not match:
        return {"rps": 0.0, "raw": out[-500:]}
    values = dict(re.findall(r"(\w+)=([\d.]+)", match[1]))
    return {k: float(v) for k, v in values.items()}


def load_row(target: str, url: str, conc: int, dur: str, script: Path, root: int) -> Row:
    row = Row(target, conc, load=loadavg())
    sampler = Sampler(root)
    sampler.start()
    result = wrk(url, conc, dur, script)
    row.rss_max, row.rss_mean = sampler.stop()
    row.rps = result.get("rps", 0.0)
    row.p50, row.p99 = result.get("p50_ms", 0.0), result.get("p99_ms", 0.0)
    row.errors = int(sum(result.get(k, 0) for k in ("non2xx", "connect_err", "read_err", "write_err", "timeouts")))
    if "raw" in result:
        row.extra["wrk"] = result["raw"]
    log(
        f"{target} c={conc}: {row.rps:.0f} req/s, p50 {row.p50:.1f} ms, p99 {row.p99:.1f} ms, "
        f"errors {row.errors}, RSS {row.rss_max:.0f}/{row.rss_mean:.0f} MB, load {row.load}"
    )
    return row


# --- n8n through the shared harness --------------------------------------------------------------


def n8n_install() -> None:
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HARNESS, PEER_DIR, dirs_exist_ok=True)
    subprocess.run([str(PEER_DIR / "run.sh"), "install"], env={**os.environ, "PEER_DIR": str(PEER_DIR)}, check=True)


def n8n_installed() -> bool:
    return (PEER_DIR / "node_modules" / ".bin" / "n8n").exists() and (PEER_DIR / "run.sh").exists()


def n8n_run(concs: list[int], dur: str, warmup: str) -> list[Row]:
    """`run.sh n8n-on` (n8n saving every execution), one round per concurrency; rows from its summary."""
    shutil.copytree(HARNESS, PEER_DIR, dirs_exist_ok=True)  # the harness's scripts, as shipped
    summary = PEER_DIR / "results" / "summary.tsv"
    before = summary.read_text().splitlines() if summary.exists() else []
    env = {
        **os.environ,
        "PEER_DIR": str(PEER_DIR),
        "CONCS": " ".join(map(str, concs)),
        "ROUNDS": "1",
        "DUR": dur,
        "WARMUP": warmup,
    }
    loads: dict[int, str] = {}
    process = subprocess.Popen(
        [str(PEER_DIR / "run.sh"), "n8n-on"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            match = re.search(r"wrk n8n-save-on-c(\d+)-r1", line)
            if match:
                loads[int(match[1])] = loadavg()
            print("  n8n| " + line.rstrip(), flush=True)
        process.wait()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # run.sh stops n8n on exit (its trap)
            process.wait(60)
    after = summary.read_text().splitlines() if summary.exists() else []
    rows = []
    for line in after[len(before) :]:
        name, conc, _round, rest = line.split("\t")
        if name != "n8n-save-on":
            continue
        kv = dict(re.findall(r"(\w+)=([\w.]+)", rest))
        rows.append(
            Row(
                "n8n webhook",
                int(conc),
                rps=float(kv.get("rps", 0)),
                p50=float(kv.get("p50_ms", 0)),
                p99=float(kv.get("p99_ms", 0)),
                errors=sum(int(kv.get(k, 0)) for k in ("non2xx", "connect_err", "read_err", "write_err", "timeouts")),
                rss_max=float(kv.get("rss_max_mb", 0) if kv.get("rss_max_mb", "NA") != "NA" else 0),
                rss_mean=float(kv.get("rss_mean_mb", 0) if kv.get("rss_mean_mb", "NA") != "NA" else 0),
                load=loads.get(int(conc), ""),
            )
        )
    return rows


# --- Fastn as `make run` starts it ------------------------------------------------------------------


def venv_python(root: Path = ROOT) -> str:
    for candidate in (root / ".venv" / "bin" / "python", ROOT / ".venv" / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    return sys.executable


def dotenv() -> dict[str, str]:
    values: dict[str, str] = {}
    path = ROOT / ".env"
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                values[name.strip()] = value.strip().strip("'\"")
    return values


PREPARE = r"""
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn.settings.dev")
import django
django.setup()
from apps.accounts.principals import Principal
from apps.core.models import Organization
from apps.core.services import organization_create
from apps.core.tenancy import organization_context
from apps.settings.services import api_key_create
from apps.triggers.models import Trigger
from apps.triggers.services.triggers import trigger_create, trigger_rotate_token, trigger_url
from apps.workflows import services
from apps.workflows.models import Workflow

org_slug, slug, code = sys.argv[1], sys.argv[2], sys.argv[3]
org = Organization.objects.filter(slug=org_slug).first()
if org is None:
    org = organization_create(
        name="Side by side", owner_email=f"bench@{org_slug}.test", plan_slug="unlimited"
    ).organization
with organization_context(org):
    system = Principal.system(organization=org, label="side-by-side bench")
    _, key = api_key_create(actor=system, name="side-by-side bench", kind="live")
    workflow = Workflow.objects.filter(slug=slug).first()
    if workflow is None:
        workflow = services.workflow_create(actor=system, name=slug, slug=slug, code=code, tier="instant")
        services.workflow_publish(actor=system, workflow=workflow)
        services.workflow_deploy(actor=system, workflow=workflow, version_number=1, environment_slug="production")
    trigger = Trigger.objects.filter(workflow=workflow, type="webhook").first()
    if trigger is None:
        trigger = trigger_create(actor=system, type="webhook", workflow=slug, config={}).trigger
    else:
        trigger = trigger_rotate_token(actor=system, trigger=trigger)
    hook_path = trigger_url(trigger).split("/hooks/", 1)[1]
    if not Workflow.objects.filter(slug=slug + "-standard").exists():
        standard = services.workflow_create(
            actor=system, name=slug + "-standard", slug=slug + "-standard", code=code, tier="standard"
        )
        services.workflow_publish(actor=system, workflow=standard)
        services.workflow_deploy(actor=system, workflow=standard, version_number=1, environment_slug="production")
    out = {"account_id": str(org.account_id), "key": key, "hook_path": hook_path, "schema": org.schema_name}
    print(json.dumps(out))
"""


class FastnStack:
    def __init__(self, env: dict[str, str], root: Path = ROOT) -> None:
        self.env = env
        self.root = root
        self.process: subprocess.Popen | None = None
        self.log = Path("/tmp/fastn-side-by-side-stack.log")

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [venv_python(self.root), "manage.py", *args],
            cwd=self.root,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def prepare(self) -> dict:
        self.manage("ensure_database")
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("ensure_demo")
        done = subprocess.run(
            [venv_python(self.root), "-c", PREPARE, ORG_SLUG, SLUG, CODE],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"Preparing the bench organization failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self) -> int:
        venv_bin = Path(venv_python(self.root)).parent
        env = {**self.env, "PATH": f"{venv_bin}:{self.env.get('PATH', '')}"}
        # As the Makefile's `run` target: the supervisor when the checkout has it, else honcho.
        if (self.root / "fastn" / "stack.py").exists():
            command = [venv_python(self.root), "-m", "fastn.stack", "run"]
        else:
            command = [str(venv_bin / "honcho"), "start", "-f", "Procfile"]
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        pids = tree(self.process.pid)
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            pass
        for pid in pids:  # anything left of the stack, by its own pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass


def post(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=BODY.encode(), headers={"Content-Type": "application/json", **(headers or {})}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


def wait_ready(url: str, headers: dict[str, str] | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = post(url, headers)
        if status == 200 and body.get("output") == EXPECT:
            return True
        time.sleep(1)
    return False


def fastn_run(
    concs: list[int],
    dur: str,
    warmup: str,
    settle: float,
    root: Path = ROOT,
    label: str = "Fastn",
    standard_dur: str = "",
) -> tuple[list[Row], dict]:
    env = {**os.environ, **{k: v for k, v in dotenv().items() if k not in os.environ}}
    env.setdefault("LOG_LEVEL", "WARNING")
    if root != ROOT:
        # Another checkout gets a database and Redis prefix of its own: its
        # code may not write to a schema this checkout's migrations changed.
        url = env.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fastn")
        env["DATABASE_URL"] = url + "_before"
        env["FASTN_REDIS_PREFIX"] = env.get("FASTN_REDIS_PREFIX", "fastn") + "-before"
    bind = env.get("FASTN_BIND", "127.0.0.1:8000")
    base = f"http://{bind}"
    stack = FastnStack(env, root)
    info: dict = {}
    rows: list[Row] = []
    try:
        target = stack.prepare()
        root = stack.start()
        hook = f"{base}/hooks/{target['hook_path']}"
        run_url = f"{base}/api/v1/workflows/{SLUG}/run"
        api_headers = {"x-fastn-access-key": target["key"], "x-fastn-account-id": target["account_id"]}
        if not wait_ready(hook, None, 120):
            raise RuntimeError(f"Fastn did not answer the webhook correctly; see {stack.log}")
        status, body = post(hook)
        log(f"Fastn webhook answer: {status} {json.dumps(body)}")
        status, body = post(run_url, api_headers)
        log(f"Fastn /run answer: {status} {json.dumps(body)}")
        time.sleep(settle)
        info["idle_mb"] = tree_rss_mb(root)
        info["idle_processes"] = tree_listing(root)
        log(f"{label} idle: {info['idle_mb']:.0f} MB in {len(info['idle_processes'])} processes")
        post_lua, run_lua = wrk_script(), wrk_script(api_headers)
        wrk(hook, 10, warmup, post_lua)
        for conc in concs:
            rows.append(load_row(f"{label} webhook", hook, conc, dur, post_lua, root))
        wrk(run_url, 10, warmup, run_lua)
        for conc in concs:
            rows.append(load_row(f"{label} POST /run", run_url, conc, dur, run_lua, root))
        info["loaded_processes"] = tree_listing(root)
        if standard_dur:
            info["standard"] = standard_throughput(
                env, target, f"{base}/api/v1/workflows/{SLUG}-standard/run", wrk_script(api_headers), standard_dur
            )
            info["standard"]["label"] = label
    finally:
        stack.stop()
    return rows, info


def standard_throughput(env: dict, target: dict, url: str, script: Path, dur: str, conc: int = 20) -> dict:
    """Standard runs through the API for `dur` at `conc`: accepted per second, and
    executions per second from the first request until every one has completed."""
    import psycopg

    table = f'"{target["schema"]}".workflows_execution'
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        started = conn.execute("SELECT now()").fetchone()[0]
        result = wrk(url, conc, dur, script)
        deadline = time.monotonic() + 600
        while True:
            total, unfinished, completed, last = conn.execute(
                f"SELECT count(*), count(*) FILTER (WHERE status IN ('queued', 'running')), "  # noqa: S608
                f"count(*) FILTER (WHERE status = 'completed'), max(finished_at) FROM {table} "
                f"WHERE workflow_slug = %s AND created_at >= %s",
                [SLUG + "-standard", started],
            ).fetchone()
            if unfinished == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
    seconds = (last - started).total_seconds() if last else 0
    figures = {
        "accepted_per_s": result.get("rps", 0.0),
        "executions": total,
        "completed": completed,
        "unfinished": unfinished,
        "seconds": seconds,
        "per_s": completed / seconds if seconds else 0.0,
        "load": loadavg(),
    }
    log(f"Standard through /run: {figures}")
    return figures


# --- report ------------------------------------------------------------------------------------------


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| target | conc | req/s | p50 ms | p99 ms | errors | stack RSS max / mean MB | load avg (1/5/15 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.target} | {row.conc} | {row.rps:.0f} | {row.p50:.1f} | {row.p99:.1f} | {row.errors} | "
            f"{row.rss_max:.0f} / {row.rss_mean:.0f} | {row.load} |"
        )
    return lines


def ratios(rows: list[Row]) -> list[str]:
    by = {(row.target, row.conc): row for row in rows}
    lines = []
    n1, n10 = by.get(("n8n webhook", 1)), by.get(("n8n webhook", 10))
    for target in ("Fastn before webhook", "Fastn before POST /run", "Fastn webhook", "Fastn POST /run"):
        f1, f10 = by.get((target, 1)), by.get((target, 10))
        if n1 and f1 and n1.p50:
            lines.append(f"- {target}: c=1 p50 {f1.p50:.1f} ms = {f1.p50 / n1.p50:.2f} × n8n's {n1.p50:.1f} ms")
        if n10 and f10 and n10.rps:
            lines.append(
                f"- {target}: c=10 {f10.rps:.0f} req/s = {f10.rps / n10.rps:.2f} × n8n's {n10.rps:.0f}; "
                f"p99 {f10.p99:.1f} ms vs n8n's p50 {n10.p50:.1f} ms"
            )
    fastn_mem = max(
        (row.rss_max for row in rows if row.target.startswith("Fastn ") and "before" not in row.target), default=0
    )
    n8n_mem = max((row.rss_max for row in rows if row.target.startswith("n8n")), default=0)
    if fastn_mem and n8n_mem:
        lines.append(
            f"- memory under load: Fastn {fastn_mem:.0f} MB = {fastn_mem / n8n_mem:.2f} × n8n's {n8n_mem:.0f} MB"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--install-n8n", action="store_true", help="install n8n with the shared harness first")
    parser.add_argument("--skip-n8n", action="store_true")
    parser.add_argument("--skip-fastn", action="store_true")
    parser.add_argument("--concs", default="1 10")
    parser.add_argument("--dur", default="30s")
    parser.add_argument("--warmup", default="10s")
    parser.add_argument(
        "--standard", default="20s", help="Standard runs through /run at c=20 for this long ('' to skip)"
    )
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before the idle memory reading")
    parser.add_argument("--record", metavar="LABEL", help="append the table to bench/RESULTS.md under this label")
    parser.add_argument(
        "--before",
        metavar="CHECKOUT",
        type=Path,
        help="also run Fastn from another checkout (e.g. `git archive <commit>` unpacked), same database and port",
    )
    args = parser.parse_args()
    concs = [int(c) for c in args.concs.split()]
    if shutil.which("wrk") is None and not args.install_n8n:
        print("wrk is missing: --install-n8n installs it (or apt-get install wrk)", file=sys.stderr)
        return 2
    started = dt.datetime.now(dt.UTC)
    rows: list[Row] = []
    if args.install_n8n:
        n8n_install()
    if not args.skip_n8n:
        if n8n_installed():
            rows += n8n_run(concs, args.dur, args.warmup)
        else:
            log("n8n is not installed in PEER_DIR: rerun with --install-n8n, or --skip-n8n")
    info: dict = {}
    before_info: dict = {}
    if args.before:
        before_rows, before_info = fastn_run(
            concs,
            args.dur,
            args.warmup,
            args.settle,
            root=args.before.resolve(),
            label="Fastn before",
            standard_dur=args.standard,
        )
        rows += before_rows
    if not args.skip_fastn:
        fastn_rows, info = fastn_run(concs, args.dur, args.warmup, args.settle, standard_dur=args.standard)
        rows += fastn_rows
    head = (
        f"{started:%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GB RAM, "
        f"wrk {args.dur} per row after a {args.warmup} warm-up at c=10"
    )
    lines = [head, "", *table(rows), "", *ratios(rows)]
    for each in (before_info, info):
        figures = each.get("standard") if each else None
        if figures:
            lines += [
                "",
                f"{figures['label']}, Standard through POST /run (wrk c=20): "
                f"{figures['accepted_per_s']:.0f} accepted/s; "
                f"{figures['completed']} of {figures['executions']} completed "
                f"{figures['seconds']:.1f} s after the first request: {figures['per_s']:.0f} executions/s "
                f"(load {figures['load']}).",
            ]
    if before_info:
        count = len(before_info["idle_processes"])
        lines += ["", f"Fastn before: idle {before_info['idle_mb']:.0f} MB in {count} processes."]
    if info:
        lines += [
            "",
            f"Fastn idle: {info['idle_mb']:.0f} MB in {len(info['idle_processes'])} processes; under load:",
            "",
            *[f"    {pid:>7} {mb:6.1f} MB  {cmd}" for pid, mb, cmd in info.get("loaded_processes", [])],
        ]
    print("\n" + "\n".join(lines))
    if args.record:
        with RESULTS.open("a") as f:
            f.write(f"\n## Side by side with n8n (bench/side_by_side.py): {args.record} — " + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
