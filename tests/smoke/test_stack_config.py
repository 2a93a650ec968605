"""fastn/stack.py: the Procfile read as the one process list, the supervisord
configuration made from it, and the output listener's protocol. (The real
stack under supervisord is exercised by test_make_run.py.)"""

import configparser
import io

import pytest

from fastn import stack
from tests.conftest import ROOT


def test_every_procfile_process_becomes_a_supervised_program_restarted_with_back_off(tmp_path):
    processes = stack.procfile_read(ROOT / "Procfile")
    text = stack.supervisord_config(
        processes=processes, run_dir=tmp_path, python="/venv/bin/python", color=False, password="pw"
    )
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    programs = {section.split(":", 1)[1] for section in parser.sections() if section.startswith("program:")}
    assert programs == {name for name, _ in processes}
    assert {"web", "worker", "demo_api"} <= programs
    for name in programs:
        section = parser[f"program:{name}"]
        assert section["autorestart"] == "true"
        assert int(section["startretries"]) >= 3 and int(section["startsecs"]) > 0
        assert section["stopasgroup"] == section["killasgroup"] == "true"
    assert parser["supervisord"]["nodaemon"] == "true"


def test_a_percent_sign_in_a_command_reaches_the_shell_unchanged(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# comment\n\nworker: celery -A fastn worker -n one@%h --x ${A:-1}\n")
    text = stack.supervisord_config(
        processes=stack.procfile_read(procfile), run_dir=tmp_path, python="py", color=False, password="pw"
    )
    # supervisord's own interpolation turns %% back into %.
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser["program:worker"]["command"] == "/bin/sh -c 'exec celery -A fastn worker -n one@%h --x ${A:-1}'"


def test_a_malformed_procfile_line_is_refused_with_its_line_number(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("web: gunicorn x\nthis is not a process\n")
    with pytest.raises(ValueError, match=r"Procfile:2"):
        stack.procfile_read(procfile)


def _event(process: str, data: bytes) -> bytes:
    payload = f"processname:{process} groupname:{process} pid:1 channel:stdout\n".encode() + data
    header = f"ver:3.0 server:supervisor serial:1 pool:output eventname:PROCESS_LOG_STDOUT len:{len(payload)}"
    return header.encode() + b"\n" + payload


def test_the_listener_prefixes_whole_lines_with_the_process_name_and_acknowledges_each_event():
    stdin = io.BytesIO(_event("web", b"first line\nsecond ") + _event("beat", b"tick\n") + _event("web", b"half\n"))
    stdout, stderr = io.BytesIO(), io.BytesIO()
    stack.listen(width=6, stdin=stdin, stdout=stdout, stderr=stderr)
    assert stderr.getvalue().decode().splitlines() == ["web    | first line", "beat   | tick", "web    | second half"]
    assert stdout.getvalue() == b"READY\nRESULT 2\nOK" * 3 + b"READY\n"
