"""The project's own files agree with each other."""

import re
import tomllib

from tests.conftest import ROOT


def _requirements(path):
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_pyproject_pins_match_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = dict(dep.lower().split("==") for dep in project["dependencies"])
    assert declared == _requirements("requirements/base.txt")
    test_declared = dict(dep.lower().split("==") for dep in project["optional-dependencies"]["test"])
    test_pins = {k: v for k, v in _requirements("requirements/test.txt").items()}
    assert test_declared == test_pins


def test_every_requirement_is_pinned_in_the_lock_file():
    lock = {k.replace("_", "-"): v for k, v in _requirements("requirements/lock.txt").items()}
    for name, version in {**_requirements("requirements/base.txt"), **_requirements("requirements/test.txt")}.items():
        name = re.sub(r"\[.*\]", "", name).replace("_", "-")
        assert lock.get(name) == version, name


def test_workers_use_the_configured_time_limits():
    """`make run` has one worker for the three queues (each task carries its tier's
    limits: tests/core/test_worker_layout.py); compose runs one per queue with them."""
    from django.conf import settings

    procfile = (ROOT / "Procfile").read_text()
    (line,) = [line for line in procfile.splitlines() if line.startswith("worker:")]
    assert "-Q instant,standard,long " in line and "time-limit" not in line
    compose = (ROOT / "docker" / "compose.yaml").read_text()
    for queue, limits in settings.CELERY_QUEUE_TIME_LIMITS.items():
        assert f'"{limits["soft"]}", "--time-limit", "{limits["hard"]}"' in compose, queue


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("## ")]
    assert "make run" in head and "make test" in head
