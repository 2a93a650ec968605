"""The local stack of `make run`: every process of the Procfile under supervisord.

The Procfile stays the one list of processes (name: command, shell syntax for
variables). This module turns it into a supervisord configuration and runs
supervisord in the foreground, so that a process that exits (a worker killed
by the OOM killer, beat after a Redis restart) is started again with a log
line, and the others keep serving: honcho, used before, stops the whole
stack when one process exits. supervisord's rules, set below:

- a process that ran longer than START_SECONDS and exits is started again at once;
- one that exits sooner is retried after 1, 2, 3 … seconds (supervisord's
  back-off), START_RETRIES times, then left stopped ("gave up") while the
  rest keep running;
- Ctrl-C (SIGINT) or SIGTERM to supervisord stops every process, TERM first,
  KILL after STOP_WAIT_SECONDS.

Each process's output reaches the terminal prefixed with its name, like
honcho did, through a supervisord event listener (`listen`, below).

    python -m fastn.stack [--procfile Procfile]   # what `make run` does
    .venv/bin/supervisorctl -c .run/supervisord.conf status
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import shlex
import signal
import sys
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR_NAME = ".run"
START_SECONDS = 5
START_RETRIES = 10
STOP_WAIT_SECONDS = 20
COLORS = ["36", "33", "32", "35", "34", "96", "93", "92"]


def default_demo_api_bind(web_bind: str) -> str:
    """Where the demo's fake API (apps/demo/fake_api.py) listens unless
    FASTN_DEMO_API_BIND says: the web's port + 10000, so that stacks side by
    side (each with its own FASTN_BIND) do not collide."""
    host, _, port = web_bind.rpartition(":")
    return f"{host or '127.0.0.1'}:{int(port) + 10000}"


def procfile_read(path: Path) -> list[tuple[str, str]]:
    """(name, command) for each process line of a Procfile."""
    processes = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        name = name.strip()
        if not sep or not command.strip() or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"{path}:{number}: expected 'name: command', got {raw!r}")
        processes.append((name, command.strip()))
    if not processes:
        raise ValueError(f"{path} lists no process")
    return processes


def _ini_value(text: str) -> str:
    # supervisord expands %(name)s in values: a literal % is written %%.
    return text.replace("%", "%%")


def supervisord_config(
    *, processes: list[tuple[str, str]], run_dir: Path, python: str, color: bool, password: str
) -> str:
    """The supervisord configuration that runs `processes` from the project root."""
    width = max(len(name) for name, _ in processes)
    lines = [
        "[supervisord]",
        "nodaemon=true",
        # In the foreground supervisord logs to stdout already: no file too.
        "logfile=/dev/null",
        "logfile_maxbytes=0",
        "loglevel=info",
        f"pidfile={_ini_value(str(run_dir / 'supervisord.pid'))}",
        f"childlogdir={_ini_value(str(run_dir))}",
        f"directory={_ini_value(str(ROOT))}",
    ]
    if os.geteuid() == 0:
        # Says "root on purpose" (supervisord warns otherwise); a non-root
        # user cannot name a user to switch to.
        lines.append(f"user={getpass.getuser()}")
    lines += [
        "",
        "[unix_http_server]",
        f"file={_ini_value(str(run_dir / 'supervisor.sock'))}",
        "chmod=0700",
        "username=fastn",
        f"password={password}",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_ini_value(str(run_dir / 'supervisor.sock'))}",
        "username=fastn",
        f"password={password}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
    ]
    for index, (name, command) in enumerate(processes):
        # `exec` replaces the shell: the pid supervisord watches (and signals)
        # is the process itself. The shell expands ${VAR:-default}.
        shell = shlex.join(["/bin/sh", "-c", f"exec {command}"])
        lines += [
            f"[program:{name}]",
            f"command={_ini_value(shell)}",
            f"directory={_ini_value(str(ROOT))}",
            # Started in the Procfile's order, stopped in the reverse order.
            f"priority={100 + 10 * index}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECONDS}",
            # The whole process group: gunicorn's and Celery's children too.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            "stdout_logfile=NONE",
            "stdout_events_enabled=true",
            "",
        ]
    lines += [
        "[eventlistener:output]",
        f"command={_ini_value(shlex.join([python, '-m', 'fastn.stack', 'listen', '--width', str(width)]))}",
        f"directory={_ini_value(str(ROOT))}",
        "events=PROCESS_LOG_STDOUT",
        # Lines wait here while the listener writes; a full buffer drops the
        # oldest (supervisord logs it), it never blocks a process.
        "buffer_size=10000",
        "autorestart=true",
        "stdout_logfile=NONE",
        "stderr_logfile=/dev/stdout",
        "stderr_logfile_maxbytes=0",
        f"environment=FASTN_STACK_COLOR={'1' if color else '0'}",
        "",
    ]
    return "\n".join(lines)


def listen(*, width: int, stdin=None, stdout=None, stderr=None) -> None:
    """supervisord event listener: writes each process's output lines to
    stderr (which supervisord sends to its own stdout) as "name | line".

    The protocol (supervisord's docs, "Event Listeners"): write READY, read
    a header line and a payload of `len` bytes, answer RESULT 2\\nOK.
    """
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    stderr = stderr or sys.stderr.buffer
    color = os.environ.get("FASTN_STACK_COLOR") == "1"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # supervisord stopping it
    partial: dict[str, bytes] = {}
    while True:
        stdout.write(b"READY\n")
        stdout.flush()
        header_line = stdin.readline()
        if not header_line:
            return
        header = dict(token.split(":", 1) for token in header_line.decode().split())
        payload = stdin.read(int(header["len"]))
        meta, _, data = payload.partition(b"\n")
        fields = dict(token.split(":", 1) for token in meta.decode().split())
        name = fields.get("processname", "?")
        text = partial.pop(name, b"") + data
        *complete, rest = text.split(b"\n")
        if rest:
            partial[name] = rest
        if complete:
            label = name.ljust(width).encode()
            if color:
                code = COLORS[sum(name.encode()) % len(COLORS)]
                label = f"\x1b[{code}m".encode() + label + b"\x1b[0m"
            stderr.write(b"".join(label + b" | " + line + b"\n" for line in complete))
            stderr.flush()
        stdout.write(b"RESULT 2\nOK")
        stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fastn.stack", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the Procfile's processes under supervisord (the default)")
    run.add_argument("--procfile", default=str(ROOT / "Procfile"))
    run.add_argument("--print-config", action="store_true", help="print the configuration and exit")
    listener = sub.add_parser("listen", help="supervisord event listener (started by supervisord)")
    listener.add_argument("--width", type=int, default=16)
    args = parser.parse_args(argv)
    if args.command == "listen":
        listen(width=args.width)
        return
    # The processes read .env through Django's settings, but the Procfile's
    # own ${VARIABLES} (FASTN_BIND…) are expanded by the shell: give them the
    # same values. The environment still wins over the file.
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    os.environ.setdefault("FASTN_BIND", "127.0.0.1:8000")
    os.environ.setdefault("FASTN_DEMO_API_BIND", default_demo_api_bind(os.environ["FASTN_BIND"]))
    procfile = Path(getattr(args, "procfile", ROOT / "Procfile"))
    run_dir = ROOT / RUN_DIR_NAME
    run_dir.mkdir(exist_ok=True)
    config = supervisord_config(
        processes=procfile_read(procfile),
        run_dir=run_dir,
        python=sys.executable,
        color=sys.stdout.isatty(),
        password=secrets.token_urlsafe(24),
    )
    if getattr(args, "print_config", False):
        sys.stdout.write(config)
        return
    path = run_dir / "supervisord.conf"
    path.touch(mode=0o600)
    path.write_text(config)
    supervisord = Path(sys.executable).parent / "supervisord"
    sys.stdout.flush()
    os.execv(str(supervisord), [str(supervisord), "--nodaemon", "--configuration", str(path)])  # noqa: S606


if __name__ == "__main__":
    main()
