"""Packaging hook: the Lambda code in ``lambda/`` ships inside the package as ``drgen/_lambda``.

setup.cfg holds the configuration; this file only extends build_py, because setuptools cannot map a directory
outside the package (the repository's top-level ``lambda/``) into it from configuration alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "lambda"
TARGET = Path("drgen") / "_lambda"


class BuildWithLambdaCode(build_py):
    def run(self) -> None:
        super().run()
        destination = Path(self.build_lib) / TARGET
        shutil.rmtree(destination, ignore_errors=True)
        for path in sorted(SOURCE.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            copied = destination / path.relative_to(SOURCE)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copied)


setup(cmdclass={"build_py": BuildWithLambdaCode})
