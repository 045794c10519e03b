"""The redaction layer: every secret value the process holds, masked in every sink.

Secrets become known where they enter the process (manifest loading, the environment's
AWS keys, credential providers, a plan file's `{"$env": NAME}` slots) and are registered
here with `register`. Every sink then passes its text through `mask`, whoever wrote the
text: polysync's own messages, AWS error messages, a run's ErrorMessage / statusReason,
log lines, botocore's exception text. The sinks:

- stdout and stderr: `MaskingStream` wrappers, installed by `guarded_output()` around a
  CLI invocation (`polysync_spec.cli.run`); `click.echo`, `print` and logging handlers
  that write to `sys.stderr` all pass through them;
- logging: every record is masked when it is made (`RedactingFilter`, applied by a log
  record factory), so every handler sees masked text, including handlers other code adds;
- persisted text, masked explicitly: plan files, ledger rows (SQLite) and objects (S3);
- exception text: `PolysyncError.__str__`.

A value shorter than `MIN_LENGTH` is never registered: masking every "abc" would garble
output and protect nothing (such a value is guessed, not leaked). The embedded sandbox's
fixed keys are published, not secret, and never registered either.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TextIO, cast
from urllib.parse import quote

MASK: Final = "***"
MIN_LENGTH: Final = 4
# The embedded sandbox's fixed access key and secret (polysync_spec/sandbox/server.py
# SANDBOX_KEY), printed by `polysync sandbox` for anyone to export. Masking the word would
# garble every sandbox message ("sandbox at http://...", the "sandbox-ce" environment).
PUBLIC_VALUES: Final = frozenset({"sandbox"})
# Variables of the environment that hold AWS or CI credentials. Their values are secrets
# whichever platform (or botocore's default chain) ends up using them.
SECRET_ENVIRONMENT: Final = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "AZURE_CLIENT_SECRET",
)
# Variables naming files whose content is a token (botocore's and azure-identity's
# web identity sources).
SECRET_FILE_ENVIRONMENT: Final = ("AWS_WEB_IDENTITY_TOKEN_FILE", "AZURE_FEDERATED_TOKEN_FILE")
_TOKEN_FILE_LIMIT = 64 * 1024


class _Registry:
    """The secret values, and a pattern matching any of them (longest first, so that a
    secret containing another is masked whole)."""

    def __init__(self) -> None:
        self.values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: set[str]) -> None:
        fresh = values - self.values
        if fresh:
            self.values |= fresh
            self._pattern = None

    def pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.values:
            ordered = sorted(self.values, key=lambda v: (-len(v), v))
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        return self._pattern


class _Current:
    """The registry in force (`isolated` swaps it)."""

    registry = _Registry()


_lock = threading.Lock()


def variants(value: str) -> set[str]:
    """The forms in which `value` can show up in text: as is, stripped of surrounding
    whitespace (a token read with its trailing newline), each line of a multi-line value,
    and each of those as JSON, Python repr and URL encoding escape it. A value (or line)
    shorter than `MIN_LENGTH` once stripped, and the sandbox's public keys, give none."""

    def long_enough(text: str) -> bool:
        return len(text.strip()) >= MIN_LENGTH and text.strip() not in PUBLIC_VALUES

    bases = {value, value.strip()} if long_enough(value) else set()
    if "\n" in value or "\r" in value:
        bases.update(line.strip() for line in value.splitlines() if long_enough(line))
    forms = set(bases)
    for base in bases:
        forms.add(json.dumps(base, ensure_ascii=False)[1:-1])
        forms.add(json.dumps(base)[1:-1])
        forms.add(repr(base)[1:-1])
        forms.add(quote(base, safe=""))
    return forms


def register(value: object) -> None:
    """Make `value` (a string; anything else is ignored) a secret: from now on `mask`
    replaces it, in each of its `variants`, wherever it occurs. Thread-safe."""
    if not isinstance(value, str) or not value:
        return
    forms = variants(value)
    if forms:
        with _lock:
            _Current.registry.add(forms)


def register_environment(environ: Mapping[str, str]) -> None:
    """Register the credentials the environment holds (`SECRET_ENVIRONMENT`), and the
    content of the token files it names (`SECRET_FILE_ENVIRONMENT`; unreadable: skipped,
    the credential provider reports that)."""
    for name in SECRET_ENVIRONMENT:
        register(environ.get(name))
    for name in SECRET_FILE_ENVIRONMENT:
        path = environ.get(name)
        # Regular files only: opening a FIFO (or a device) would block, or never end.
        if path and os.path.isfile(path):
            with (
                contextlib.suppress(OSError, UnicodeDecodeError),
                open(path, encoding="utf-8") as stream,
            ):
                register(stream.read(_TOKEN_FILE_LIMIT))


def register_env_references(data: object, environ: Mapping[str, str]) -> None:
    """Register the value of every `{"$env": NAME}` slot in `data` (a plan as a dict:
    the secrets its requests are sent with)."""
    if isinstance(data, dict):
        if set(data) == {"$env"} and isinstance(data["$env"], str):
            register(environ.get(data["$env"]))
            return
        for value in data.values():
            register_env_references(value, environ)
    elif isinstance(data, list):
        for value in data:
            register_env_references(value, environ)


def mask(text: str) -> str:
    """`text` with every occurrence of a registered secret replaced by `MASK`."""
    if not text:
        return text
    with _lock:
        pattern = _Current.registry.pattern()
    return text if pattern is None else pattern.sub(MASK, text)


def mask_data(data: Any) -> Any:
    """A copy of `data` (JSON-like: dicts, lists, strings, scalars) with every string,
    keys included, masked. For documents that are persisted (plan files, ledger objects)."""
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, dict):
        return {mask(k) if isinstance(k, str) else k: mask_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [mask_data(v) for v in data]
    return data


def known() -> frozenset[str]:
    """Every registered form (for tests and diagnostics of the layer itself)."""
    with _lock:
        return frozenset(_Current.registry.values)


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Start from no registered secret, and restore the previous registry on exit: each
    CLI invocation knows the secrets it met itself, as a fresh process would."""
    with _lock:
        saved, _Current.registry = _Current.registry, _Registry()
    try:
        yield
    finally:
        with _lock:
            _Current.registry = saved


class MaskingStream(io.TextIOBase):
    """A text stream that masks secrets before they reach `inner`.

    Text is passed on a line at a time (and on `flush`), so a secret written in several
    pieces (`print` writes the text and the newline separately) is still whole when it
    is masked. There is deliberately no `buffer` attribute: a binary write would bypass
    the masking (click then writes text through this stream)."""

    def __init__(self, inner: TextIO) -> None:
        super().__init__()
        self.inner = inner
        self._pending = ""
        self._write_lock = threading.Lock()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._write_lock:
            self._pending += text
            end = self._pending.rfind("\n")
            if end >= 0:
                ready, self._pending = self._pending[: end + 1], self._pending[end + 1 :]
                self.inner.write(mask(ready))
        return len(text)

    def flush(self) -> None:
        with self._write_lock:
            if self._pending:
                ready, self._pending = self._pending, ""
                self.inner.write(mask(ready))
        self.inner.flush()

    def close(self) -> None:
        # Never closes `inner` (sys.stdout stays open after a CLI invocation); at garbage
        # collection, pending text goes out if `inner` still takes it.
        if not self.closed:
            with contextlib.suppress(OSError, ValueError):
                self.flush()
            with contextlib.suppress(OSError, ValueError):
                super().close()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    def writable(self) -> bool:
        return True

    # Read-only at runtime in io.TextIOBase (typeshed calls them attributes): click checks
    # them to decide whether the stream can be written to as it is.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    @property
    def name(self) -> Any:
        return getattr(self.inner, "name", "<masked>")


class RedactingFilter(logging.Filter):
    """Masks a log record in place: its message (formatted with its arguments), the
    traceback of its exception and its stack. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, masked
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def _masking_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    # A filter on a logger sees only the records logged on that very logger, not those of
    # its children; one on a handler misses handlers added later (pytest's, a user's).
    # Masking where records are made reaches every logger and every handler.
    redacting = RedactingFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redacting.filter(record)
        return record

    return factory


@contextlib.contextmanager
def guarded_output() -> Iterator[None]:
    """Mask stdout, stderr and logging for the duration: `MaskingStream`s replace
    `sys.stdout` and `sys.stderr`, and every log record is masked when it is made. On exit
    the wrappers are flushed and the previous streams and record factory are restored, so
    nested or repeated uses never stack wrappers."""
    stdout, stderr = sys.stdout, sys.stderr
    factory = logging.getLogRecordFactory()
    wrappers: list[MaskingStream] = []
    if stdout is not None:
        wrappers.append(MaskingStream(stdout))
        sys.stdout = cast(TextIO, wrappers[-1])
    if stderr is not None:
        wrappers.append(MaskingStream(stderr))
        sys.stderr = cast(TextIO, wrappers[-1])
    logging.setLogRecordFactory(_masking_factory(factory))
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        for wrapper in wrappers:
            with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed file
                wrapper.flush()
        sys.stdout, sys.stderr = stdout, stderr
