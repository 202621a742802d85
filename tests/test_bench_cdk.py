"""The benchmark against the CDK anchor (bench/cdk.py) skips itself in one line when it cannot run."""

from __future__ import annotations

import shutil

from bench import cdk


def test_without_node_or_npm_the_cdk_section_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "npm" else f"/usr/bin/{tool}")
    assert cdk.cdk_figures(5, tmp_path) == ([], [], ["cdk: skipped, npm not found on PATH"])


def test_without_the_anchor_the_cdk_section_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(cdk, "ANCHOR", tmp_path / "no-anchor")
    figures, targets, [note] = cdk.cdk_figures(5, tmp_path)
    assert (figures, targets) == ([], []) and note.startswith("cdk: skipped, no CDK anchor at")


def test_the_drgen_processes_use_this_checkout_and_bytecode(monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = cdk.drgen_env()
    assert env["PYTHONPATH"].split(":")[0] == str(cdk.REPO) and "PYTHONDONTWRITEBYTECODE" not in env
