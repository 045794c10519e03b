"""Manifest sets: directories, merging by section, duplicates across files, ignores."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polysync_spec.errors import Diagnostic, Position

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]
from polysync_spec import load_project, validate
from tests.helpers import write


def test_sections_merge_across_files_recursively(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n")
    write(tmp_path, "jobs:\n  a: {platform: glue, external_id: a}\n", "jobs/a.yml")
    write(tmp_path, "jobs:\n  b: {platform: glue, external_id: b}\n", "jobs/deep/b.yaml")
    project = load_project(tmp_path, env={})
    assert project.ok
    assert sorted(project.jobs) == ["a", "b"]


def test_name_defined_twice_cites_both_places(tmp_path: Path) -> None:
    write(
        tmp_path, "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n", "a.yaml"
    )
    write(tmp_path, "platforms:\n\n  glue: {type: aws_glue, region: us-west-2}\n", "b.yaml")
    [dup] = [d for d in validate(tmp_path, env={}) if d.code == "PS106"]
    assert dup.position == Position(str(tmp_path / "b.yaml"), 3, 3)
    assert dup.related == (Position(str(tmp_path / "a.yaml"), 3, 3),)
    assert str(tmp_path / "a.yaml") + ":3:3" in dup.message


def test_positions_point_into_the_file_that_defines_the_entry(tmp_path: Path) -> None:
    write(
        tmp_path, "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n", "a.yaml"
    )
    write(
        tmp_path,
        "jobs:\n  a:\n    platform: glue\n    external_id: a\n    retry_attempts: 3\n",
        "z.yaml",
    )
    [d] = validate(tmp_path, env={})
    assert (d.code, d.position) == ("PS100", Position(str(tmp_path / "z.yaml"), 5, 5))


def test_polysyncignore_and_hidden_entries_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\n")
    write(tmp_path, "not: a manifest\n", "ci/workflow.yml")
    write(tmp_path, "not: a manifest\n", ".github/workflows/x.yml")
    write(tmp_path, "not: a manifest\n", ".hidden.yaml")
    write(tmp_path, "not: a manifest\n", "drafts/one.yaml")
    (tmp_path / ".polysyncignore").write_text("# comment\nci/\ndrafts/*.yaml\n")
    assert validate(tmp_path, env={}) == []


def test_a_directory_without_manifests_is_an_error(tmp_path: Path) -> None:
    [d] = validate(tmp_path, env={})
    assert d.code == "PS001" and d.is_error


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    [d] = validate(tmp_path / "nope.yaml", env={})
    assert d.code == "PS001"


def test_symlink_loop_in_a_manifest_directory_terminates(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\n")
    os.symlink(tmp_path, tmp_path / "loop")
    diagnostics = validate(tmp_path, env={})
    assert [d.code for d in diagnostics] == ["PS002"]
    assert not diagnostics[0].is_error


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    write(tmp_path, "\n".join(lines) + "\n")
    codes = [d.code for d in validate(tmp_path, env={})]
    assert "PS008" in codes


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nvariables: " + "[" * 200 + "]" * 200 + "\n")
    codes = [d.code for d in validate(tmp_path, env={})]
    assert "PS008" in codes


def test_an_integer_too_long_to_convert_is_refused_at_its_position(tmp_path: Path) -> None:
    # Python's int() refuses more than 4300 digits with a ValueError: once an internal
    # error of validate, as a value and as a key.
    digits = "1" * 5000
    path = write(tmp_path, f"version: 1\nvariables:\n  a: {{default: {digits}}}\n")
    found = [(d.code, d.position) for d in validate(path, env={})]
    assert found == [("PS008", Position(str(path), 3, 16))]
    path.write_text(f"version: 1\nvariables:\n  ? {digits}\n  : {{}}\n")
    [d] = validate(path, env={})
    assert (d.code, d.position) == ("PS008", Position(str(path), 3, 5))
    assert "integer of 5000 digits" in d.message


def test_unquoted_dates_stay_the_text_the_user_wrote(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\nvariables:\n  day: {default: 2026-01-01}\n")
    project = load_project(tmp_path, env={})
    assert project.variables == {"day": "2026-01-01"}


def test_scalars_follow_yaml_1_2_core(tmp_path: Path) -> None:
    from polysync_spec.manifest.loader import parse_text

    text = (
        "a: yes\nb: on\nc: 0o17\nd: 017\ne: 0x1F\nf: 1e3\ng: .inf\nh: ~\ni: 'true'\n"
        "j: True\nk: 2026-01-01\nl: 1_000\nm: !custom 5\n"
    )
    document = parse_text(text, "t.yaml", [])
    assert document is not None
    assert document.data == {
        "a": "yes", "b": "on", "c": 15, "d": 17, "e": 31, "f": 1000.0, "g": float("inf"),
        "h": None, "i": "true", "j": True, "k": "2026-01-01", "l": "1_000", "m": "5",
    }  # fmt: skip


def test_the_on_key_of_an_after_edge_is_not_a_boolean(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nplatforms: {g: {type: aws_glue, region: us-east-1}}\n"
        "jobs: {j: {platform: g, external_id: x}}\n"
        "run_plans:\n  p:\n    runs:\n      - {name: a, job: j}\n"
        "      - {name: b, job: j, after: [{run: a, on: failed}]}\n",
    )
    project = load_project(path, env={})
    assert project.ok
    assert project.run_plans["p"].runs[1].after[0].on.value == "failed"


def test_merge_keys_and_anchors_share_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nplatforms:\n  g: &glue {type: aws_glue, region: us-east-1}\n"
        "  h:\n    <<: *glue\n    region: eu-west-1\n",
    )
    project = load_project(path, env={})
    assert project.ok
    assert project.platforms["h"].region == "eu-west-1"
    assert project.platforms["h"].type == "aws_glue"


def test_loading_pauses_the_cyclic_gc_and_restores_it_as_it_was(tmp_path: Path) -> None:
    import gc

    from polysync_spec import validate
    from polysync_spec.manifest.project import gc_paused

    path = tmp_path / "m.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    validate(path, env={})
    assert gc.isenabled()
    gc.disable()
    try:
        validate(path, env={})
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
    path.write_bytes(b"\xff\xfe")  # a failing load restores it too
    validate(path, env={})
    assert gc.isenabled()


# ------------------------------------------------------------------ hostile paths


class _Opened:
    """Every path `os.open` is asked for, and every byte `os.read` returns, while active."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        self.bytes_read = 0
        real_open, real_read = os.open, os.read

        def recording_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            self.paths.append(os.path.realpath(path))
            return real_open(path, flags, *args, **kwargs)

        def recording_read(fd: int, size: int) -> bytes:
            data = real_read(fd, size)
            self.bytes_read += len(data)
            return data

        monkeypatch.setattr(os, "open", recording_open)
        monkeypatch.setattr(os, "read", recording_read)


@contextlib.contextmanager
def _fifos_end_at_once(*fifos: Path) -> Iterator[None]:
    """A writer waits on each FIFO and closes it as soon as a reader comes: should the
    code under test open one after all, its read ends (and the test fails on what it
    found) instead of hanging the suite."""
    real_open, real_close = os.open, os.close  # before any monkeypatch: not recorded

    def writer(fifo: Path) -> None:
        real_close(real_open(fifo, os.O_WRONLY))  # waits for a reader

    threads = [threading.Thread(target=writer, args=(f,), daemon=True) for f in fifos]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for fifo, thread in zip(fifos, threads, strict=True):
            if thread.is_alive():  # nobody read it: be the reader that lets it go
                fd = real_open(fifo, os.O_RDONLY | os.O_NONBLOCK)
                thread.join()
                real_close(fd)


def _only_ps002(diagnostics: list[Diagnostic], needle: str) -> Diagnostic:
    [d] = [d for d in diagnostics if d.code == "PS002"]
    assert d.is_error and needle in d.message, d.message
    assert d.position is not None
    return d


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_being_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Opening a FIFO for reading waits for a writer forever: it must never be opened.
    write(tmp_path, "version: 1\n")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with _fifos_end_at_once(fifo):
        opened = _Opened(monkeypatch)
        for path in (tmp_path, fifo):  # found in a directory, and named directly
            d = _only_ps002(validate(path, env={}), "named pipe (FIFO), not a regular file")
            assert d.position == Position(str(fifo), 1, 1)
        assert str(fifo.resolve()) not in opened.paths


# The child caps its own memory before it loads polysync.
_BOUNDED = (
    "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3)); "
    "from polysync_spec.cli import main; main(['validate', sys.argv[1]])"
)


def _validate_in_a_bounded_process(path: Path) -> subprocess.CompletedProcess[str]:
    """`polysync validate PATH` in a child process with 1 GiB of address space: code that
    reads a device or a huge file whole fails there (MemoryError) instead of taking this
    machine's memory; the timeout only stops a hang."""
    return subprocess.run(
        [sys.executable, "-c", _BOUNDED, str(path)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip


@pytest.mark.skipif(
    not os.path.exists("/dev/zero") or resource is None, reason="needs /dev/zero and rlimits"
)
def test_dev_zero_through_a_committed_symlink_is_refused_naming_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Once read until memory ran out (2.6 GiB, then MemoryError).
    write(tmp_path, "version: 1\n")
    link = tmp_path / "jobs" / "zero.yaml"
    link.parent.mkdir()
    os.symlink("/dev/zero", link)
    result = _validate_in_a_bounded_process(tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"{link}:1:1: error PS002: symbolic link {link} leads outside" in result.stdout
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    opened = _Opened(monkeypatch)
    d = _only_ps002(validate(tmp_path, env={}), "(to /dev/zero)")
    assert d.position == Position(str(link), 1, 1)
    _only_ps002(validate("/dev/zero", env={}), "/dev/zero is a character device, not a regular")
    assert "/dev/zero" not in opened.paths and opened.bytes_read < 100


@pytest.mark.skipif(resource is None, reason="needs rlimits")
def test_a_huge_file_is_refused_before_a_byte_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as stream:
        stream.truncate(1024**3)  # sparse: 1 GiB on paper, nothing on disk
    message = f"error PS002: file is {1024**3} bytes; manifests are limited to 10485760 bytes"
    result = _validate_in_a_bounded_process(huge)
    assert result.returncode == 1 and message in result.stdout, result.stderr
    opened = _Opened(monkeypatch)
    _only_ps002(validate(huge, env={}), message.removeprefix("error PS002: "))
    assert opened.bytes_read == 0


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_the_read_itself_is_bounded_whatever_the_size_said(tmp_path: Path) -> None:
    # /proc files are regular files that say they hold 0 bytes: only a bounded read
    # notices that they hold more.
    from polysync_spec.manifest.loader import read_manifest

    diagnostics: list[Diagnostic] = []
    assert (
        read_manifest(Path("/proc/self/status"), Path("/proc/self"), diagnostics, limit=64) is None
    )
    _only_ps002(diagnostics, "turned out larger as it was read; manifests are limited to 64 bytes")


def test_symlinks_may_not_lead_out_of_the_manifest_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    write(project, "version: 1\nplatforms:\n  glue: {type: aws_glue, region: us-east-1}\n")
    write(tmp_path, "jobs:\n  stolen: {platform: glue, external_id: x}\n", "elsewhere.yaml")
    write(project, "jobs:\n  shared: {platform: glue, external_id: y}\n", "shared/jobs.yaml")
    os.symlink("../elsewhere.yaml", project / "outside.yaml")
    os.symlink("shared/jobs.yaml", project / "inside.yaml")  # inside: still read
    os.symlink("../project/shared/jobs.yaml", project / "roundabout.yaml")  # resolves inside
    opened = _Opened(monkeypatch)
    loaded = load_project(project, env={})
    d = _only_ps002(loaded.diagnostics, f"symbolic link {project / 'outside.yaml'} leads outside")
    assert str(tmp_path / "elsewhere.yaml") in d.message
    assert "stolen" not in loaded.jobs
    assert str(tmp_path / "elsewhere.yaml") not in opened.paths
    # A file named directly: its manifest directory is the one that holds it.
    _only_ps002(validate(project / "outside.yaml", env={}), "leads outside the manifest directory")
    # fmt reads through the same gate.
    from polysync_spec.manifest.fmt import format_path

    result = format_path(project, write=False)
    _only_ps002(result.diagnostics, "leads outside the manifest directory")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fmt_and_polysyncignore_never_open_a_fifo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from polysync_spec.manifest.fmt import format_path

    write(tmp_path, "version: 1\n")
    fifos = (tmp_path / "pipe.yaml", tmp_path / ".polysyncignore")
    for fifo in fifos:
        os.mkfifo(fifo)
    with _fifos_end_at_once(*fifos):
        opened = _Opened(monkeypatch)
        result = format_path(tmp_path, write=False)
        assert result.unchanged == [tmp_path / "polysync.yaml"]
        assert sorted(d.message.split(" is ")[0] for d in result.diagnostics) == [
            str(tmp_path / ".polysyncignore"),
            str(tmp_path / "pipe.yaml"),
        ]
        assert opened.paths == [str((tmp_path / "polysync.yaml").resolve())]
