"""The Glue versions AWS runs and the ones it has retired, from one data file.

`versions.json` (package data) holds the supported versions and, for each retired one,
its end-of-life date and the version to move to, with the AWS page they come from
(`source`, the "AWS Glue version support policy") and the day it was checked. At end of
life "you can no longer start job runs on these AWS Glue versions": a run of a job on one
fails to start, so validate (a declared `glue_version`, PS320) and plan (the live job's
GlueVersion, PS726) refuse it before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

PYTHON_SHELL = "pythonshell"
_VERSION = re.compile(r"^(\d+)\.(\d+)")


@dataclass(frozen=True)
class RetiredVersion:
    """A Glue version past its end of life: `spark` and `pythonshell` name the version
    AWS's migration guides move each kind of job to."""

    version: str
    end_of_life: dt.date
    spark: str
    pythonshell: str

    def replacement(self, command: str | None = None) -> str:
        """The version to move to: for a job whose Command.Name is `command`, or both
        kinds when the command is not known (offline)."""
        if command == PYTHON_SHELL:
            return self.pythonshell
        if command is not None:
            return self.spark
        return f"{self.spark} (Spark and Ray jobs) or {self.pythonshell} (Python shell jobs)"

    def message(self, where: str, command: str | None = None) -> str:
        """Why a run of a job on this version cannot start; `where` says whose version
        it is ("the Glue job's GlueVersion", "glue_version")."""
        return (
            f"{where} is '{self.version}', which AWS retired on {self.end_of_life.isoformat()} "
            f"(end of life: no job runs start on it); use Glue version "
            f"{self.replacement(command)} (AWS Glue version support policy, {SOURCE})"
        )


@cache
def _data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("versions.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


SOURCE: str = _data()["source"]
SUPPORTED: tuple[str, ...] = tuple(_data()["supported"])


def retired(version: str | None, today: dt.date | None = None) -> RetiredVersion | None:
    """The retirement of Glue version `version` ("2.0"), if its end of life is on or
    before `today` (default: the current UTC date); None for a supported version, `auto`
    or None."""
    if version is None:
        return None
    entry = _data()["retired"].get(version)
    if entry is None:
        return None
    end = dt.date.fromisoformat(entry["end_of_life"])
    if end > (today or dt.datetime.now(dt.UTC).date()):
        return None
    replacement = entry["replacement"]
    return RetiredVersion(version, end, replacement["spark"], replacement["pythonshell"])


def parse(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of a dotted Glue version, None for `auto`, None or another form."""
    match = _VERSION.match(version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None
