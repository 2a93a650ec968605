"""Running the SDKs' node test files (node's own test runner) from pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk"


def run_node_tests(package: str, files: list[str], env: dict[str, str] | None = None, timeout: int = 240) -> str:
    """`node --test` on `files` of sdk/<package>; fails the pytest test with
    node's report when any node test fails. Returns node's output."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the SDK tests (it builds the widget too).")
    folder = SDK / package
    if not (folder / "dist").exists() and package != "widget":
        pytest.fail(f"sdk/{package}/dist is missing: run `make sdk` (make test does).")
    proc = subprocess.run(  # noqa: S603 - our own test files
        [node, "--test", "--test-reporter=spec", *files],
        cwd=folder,
        env={**os.environ, **(env or {}), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"node --test in sdk/{package} failed:\n{output[-12000:]}", pytrace=False)
    return output
