# Over 400 lines: the emulator's one request path; RequestLog/Chaos/Pacing could move.
"""The embedded sandbox: a moto server on 127.0.0.1 with polysync's extensions.

Extensions, in one place and used by the demo and every test alike:
- realistic lifecycles and scripted outcomes (`lifecycle.py`), and moto's Glue runs and
  Batch jobs made to behave as AWS's (`moto_glue.py`: retries, log groups; `moto_batch.py`:
  array jobs, log configurations, definitions by ARN);
- Glue BatchStopJobRun and Batch TerminateJobs / CancelJobs, which moto lacks, with
  per-item errors as AWS reports them;
- a request-shape layer: requests the API references document as invalid, which moto would
  take, are refused as the service refuses them (`shapes.py` holds the rules);
- a log of every request the emulator received (service, operation, parameters), so that
  tests assert on what went over the wire and benchmarks count calls by operation;
- an IAM mode (`iam.py`): each call authorised against the caller's IAM policies, with
  the resources AWS checks, denials answered as the service answers them;
- the services' EventBridge events: Batch and Glue state changes put on the default
  bus as runs change state, delivered by the rules to SQS as the queue policy allows
  (`eventbridge.py`);
- control endpoints under `/_sandbox/` for processes that drive it over HTTP.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from polysync_spec.errors import PolysyncError
from polysync_spec.sandbox import eventbridge, iam, lifecycle, moto_glue, shapes
from polysync_spec.sandbox.lifecycle import LIFECYCLES, Outcome

DEFAULT_REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
SANDBOX_KEY = "sandbox"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Recorded:
    """One request the emulator received."""

    service: str
    operation: str
    params: Any
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "params": self.params,
            "at": self.at,
        }


class RequestLog:
    def __init__(self) -> None:
        self._items: list[Recorded] = []
        self._lock = threading.Lock()

    def add(self, item: Recorded) -> None:
        with self._lock:
            self._items.append(item)

    def items(self, operation: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self._items if operation is None or r.operation == operation]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(r.operation for r in self._items))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _batch_operations() -> dict[str, str]:
    """Batch is REST-JSON: the operation is named by its request path."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("batch")
    return {
        model.operation_model(name).http["requestUri"].rstrip("/").lower(): name
        for name in model.operation_names
    }


@dataclass
class Fault:
    """Make an operation fail as AWS would: an error code, a message, an HTTP status.
    `times` is how many calls fail (None: every call)."""

    code: str
    message: str
    status: int = 400
    times: int | None = None
    after: bool = False  # let the request take effect first (an ambiguous failure)
    hold_seconds: float = 0.0  # a timeout: how long the answer is held

    @classmethod
    def reset(cls, *, after: bool = False, times: int | None = None) -> Fault:
        """The connection drops without an answer."""
        return cls(_RESET, "connection reset", 0, times, after)

    @classmethod
    def delay(cls, hold_seconds: float, *, times: int | None = None) -> Fault:
        """The request is held `hold_seconds`, then answered as usual (a slow call, e.g.
        an S3 write that lands after a competitor's)."""
        return cls(_DELAY, "delayed", 0, times, False, hold_seconds)

    @classmethod
    def timeout(
        cls, hold_seconds: float, *, after: bool = False, times: int | None = None
    ) -> Fault:
        """No answer for `hold_seconds` (longer than the client's read timeout), then the
        connection drops; with `after`, the request takes effect once the hold is over."""
        return cls(_TIMEOUT, "read timeout", 0, times, after, hold_seconds)


@dataclass
class Chaos:
    """Random faults on every AWS call, reproducible from `seed`:
    - throttling: Glue and STS answer 400 ThrottlingException, Batch 429
      TooManyRequestsException;
    - server errors: 500 / 503;
    - resets: the connection is dropped without an answer;
    - timeouts: the answer is held for `hold_seconds` (longer than the client's read
      timeout), so the client gives up waiting.
    Half the server errors, resets and timeouts strike after the backend has acted, as
    real ones can: the request took effect, the caller sees a failure."""

    throttle: float = 0.0
    server_error: float = 0.0
    reset: float = 0.0
    timeout: float = 0.0
    hold_seconds: float = 2.0
    seed: int = 0
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, service: str) -> tuple[Fault | None, bool]:
        """(fault, after): the fault to answer with, and whether to act first."""
        with self._lock:
            roll = self._random.random()
            after = self._random.random() < 0.5
        if roll < self.throttle:
            self.injected["throttle"] += 1
            return _throttle(service), False
        roll -= self.throttle
        if roll < self.server_error:
            self.injected["server_error_after" if after else "server_error"] += 1
            status = 500 if after else 503
            return Fault(
                "InternalServerError" if status == 500 else "ServiceUnavailable",
                "Internal error",
                status,
            ), after
        roll -= self.server_error
        if roll < self.reset:
            self.injected["reset_after" if after else "reset"] += 1
            return Fault.reset(), after
        roll -= self.reset
        if roll < self.timeout:
            self.injected["timeout_after" if after else "timeout"] += 1
            return Fault.timeout(self.hold_seconds), after
        return None, False


def _throttle(service: str) -> Fault:
    if service == "batch":
        return Fault("TooManyRequestsException", "Too Many Requests", 429)
    return Fault("ThrottlingException", "Rate exceeded", 400)


# Not AWS error codes: faults of the connection itself.
_RESET = "polysync:reset"
_TIMEOUT = "polysync:timeout"
_DELAY = "polysync:delay"


@dataclass
class Pacing:
    """What a real account adds to every call: `latency` seconds, and a token bucket of
    `tps` calls a second per service (e.g. Batch's account limit of 50), refilled
    continuously and `burst` deep. A call that finds the bucket empty is throttled the way
    the service throttles (Glue 400 ThrottlingException, Batch 429)."""

    latency: float = 0.0
    tps: float | None = None
    burst: float | None = None
    throttled: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def admit(self, service: str) -> bool:
        if self.tps is None:
            return True
        depth = self.burst if self.burst is not None else self.tps
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(service, (depth, now))
            tokens = min(depth, tokens + (now - last) * self.tps)
            admitted = tokens >= 1.0
            self._buckets[service] = (tokens - 1.0 if admitted else tokens, now)
        if not admitted:
            self.throttled[service] += 1
        return admitted


class SandboxApp:
    """WSGI middleware in front of moto's application."""

    def __init__(self, inner: WsgiApp, log: RequestLog) -> None:
        self.inner = inner
        self.log = log
        self.batch_paths = _batch_operations()
        self.faults: dict[str, Fault] = {}
        self._faults_lock = threading.Lock()
        self.chaos: Chaos | None = None
        self.pacing: Pacing | None = None
        # Held requests wait on this; reset() releases them all, so that no test leaves
        # a request held into the next one.
        self._release = threading.Event()
        self.holding = 0  # requests held right now
        # S3 evaluates a conditional write (If-Match, If-None-Match) and the write as one
        # step; moto checks, then writes, so two concurrent writes could both pass.
        self._s3_conditional = threading.Lock()

    def hold(self, seconds: float) -> bool:
        """Hold the calling request `seconds`, or until the sandbox is reset (then True:
        the request belongs to a test that is over and must not act)."""
        release = self._release
        with self._faults_lock:
            self.holding += 1
        try:
            return release.wait(seconds)
        finally:
            with self._faults_lock:
                self.holding -= 1

    def release_holds(self) -> None:
        self._release.set()
        self._release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/"):
            return self._control(environ, start_response, path)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, operation, params = self._identify(environ, path, body)
        self.log.add(Recorded(service, operation, params, time.time()))
        denial = iam.authorize(environ, body, service, operation, params)
        if denial is not None:
            return _error(
                start_response, service, environ, Fault(denial.code, denial.message, denial.status)
            )
        pacing = self.pacing
        if pacing is not None and service in ("glue", "batch", "sts", "logs"):
            time.sleep(pacing.latency)
            if service in ("glue", "batch") and not pacing.admit(service):
                return _error(start_response, service, environ, _throttle(service))
        # Before faults and chaos: a request AWS would refuse must never reach moto, not
        # even through a fault that lets it take effect.
        refusal = shapes.check(service, operation, params)
        if refusal is not None:
            rule = refusal.rule
            return _error(
                start_response, service, environ, Fault(rule.code, refusal.message, rule.status)
            )
        fault = self._take_fault(operation)
        if fault is not None and fault.code == _DELAY:
            self.hold(fault.hold_seconds)
        elif fault is not None:
            return self._inject(environ, start_response, service, fault, fault.after)
        if self.chaos is not None and service in ("glue", "batch", "sts"):
            chaotic, after = self.chaos.draw(service)
            if chaotic is not None:
                return self._inject(environ, start_response, service, chaotic, after)
        if service == "glue" and operation == "BatchStopJobRun":
            return _json(start_response, 200, _batch_stop_job_run(params, _region(environ)))
        if service == "batch" and operation in iam.BATCH_BULK_ACTIONS:
            answer = _bulk_stop(operation, params, _region(environ), iam.take_item_denials())
            return _json(start_response, 200, answer)
        if service == "batch" and operation in _PAGINATED:
            return self._paginated(environ, start_response, operation, params or {})
        if service == "s3" and ("HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ):
            with self._s3_conditional:
                return list(self.inner(environ, start_response))
        return self.inner(environ, start_response)

    def _inject(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        service: str,
        fault: Fault,
        after: bool,
    ) -> Iterable[bytes]:
        released = self.hold(fault.hold_seconds)
        if after and not released:  # it takes effect; the caller only sees the failure
            b"".join(self.inner(environ, lambda *_a, **_k: lambda _d: None))
        if fault.code in (_RESET, _TIMEOUT):
            _drop(environ)
        return _error(start_response, service, environ, fault)

    def _paginated(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        operation: str,
        params: dict[str, Any],
    ) -> Iterable[bytes]:
        """moto answers Batch listings in one page whatever maxResults says; AWS pages
        them. Ask moto for everything, then hand out the page that was asked for."""
        key = _PAGINATED[operation]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        body = b"".join(self.inner(environ, capture))
        if not captured.get("status", "").startswith("200"):
            start_response(captured["status"], captured["headers"])
            return [body]
        document = _parse_json(body) or {}
        items = document.get(key, [])
        start = int(params.get("nextToken") or 0)
        # Without maxResults AWS answers "up to 100 results and a nextToken value if
        # applicable" (the shape layer has already refused maxResults outside 1-100).
        size = int(params.get("maxResults") or 100)
        document[key] = items[start : start + size]
        document.pop("nextToken", None)
        if start + size < len(items):
            document["nextToken"] = str(start + size)
        return _json(start_response, 200, document)

    def _take_fault(self, operation: str) -> Fault | None:
        with self._faults_lock:
            fault = self.faults.get(operation)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[operation]
            return fault

    def _identify(self, environ: dict[str, Any], path: str, body: bytes) -> tuple[str, str, Any]:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(2) if scope else "unknown"
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            return service, target.rsplit(".", 1)[-1], _parse_json(body)
        if service == "batch":
            return service, self.batch_paths.get(path.rstrip("/").lower(), path), _parse_json(body)
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        if "Action" in form:
            params = {k: v[0] for k, v in form.items() if k != "Action"}
            return service, form["Action"][0], params
        return service, f"{environ.get('REQUEST_METHOD', '')} {path}", None

    def _control(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path == "/_sandbox/requests" and method == "GET":
            operation = query.get("operation", [None])[0]
            return _json(start_response, 200, [r.to_dict() for r in self.log.items(operation)])
        if path == "/_sandbox/counts" and method == "GET":
            return _json(start_response, 200, self.log.counts())
        if path == "/_sandbox/reset" and method == "POST":
            reset_state(self.log)
            return _json(start_response, 200, {"reset": True})
        if path == "/_sandbox/outcomes" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            data = _parse_json(environ["wsgi.input"].read(length)) or {}
            apply_outcomes(data)
            return _json(start_response, 200, {"ok": True})
        return _json(start_response, 404, {"message": f"no sandbox endpoint {method} {path}"})


_PAGINATED = {"DescribeJobDefinitions": "jobDefinitions", "DescribeJobQueues": "jobQueues"}


def apply_outcomes(data: Mapping[str, Any]) -> None:
    """`{"default": {...}, "glue": {job: {...}}, "batch": {definition: {...}}}`."""
    if "default" in data:
        LIFECYCLES.set_default(Outcome.from_dict(data["default"]))
    for name, outcome in (data.get("glue") or {}).items():
        LIFECYCLES.glue[name] = Outcome.from_dict(outcome)
    for name, outcome in (data.get("batch") or {}).items():
        LIFECYCLES.batch[name] = Outcome.from_dict(outcome)


def reset_state(log: RequestLog) -> None:
    """Forget every AWS object, clock, outcome and logged request."""
    from moto.moto_api._internal.models import moto_api_backend

    with eventbridge.EMITTER.lock:
        moto_api_backend.reset()
        LIFECYCLES.reset()
        eventbridge.EMITTER.seen.clear()
    log.clear()


def _batch_stop_job_run(params: Any, region: str) -> dict[str, Any]:
    """Glue BatchStopJobRun: per-run results, failures in `Errors` (never an exception)."""
    from moto.glue.models import glue_backends

    job_name = str((params or {}).get("JobName", ""))
    run_ids = list((params or {}).get("JobRunIds") or [])
    backend = glue_backends[ACCOUNT_ID][region]
    job = backend.jobs.get(job_name)
    if job is not None:
        moto_glue.spawn_retries(job)
    successes: list[dict[str, str]] = []
    errors: list[dict[str, Any]] = []
    for run_id in run_ids:
        run = next((r for r in job.job_runs if r.job_run_id == run_id), None) if job else None
        if run is None:
            errors.append(
                _stop_error(
                    job_name, run_id, "EntityNotFoundException", f"Job run {run_id} not found"
                )
            )
            continue
        state = run.status
        if state in lifecycle.GLUE_TERMINAL or state == "STOPPING":
            errors.append(
                _stop_error(
                    job_name,
                    run_id,
                    "InvalidInputException",
                    f"Job run {run_id} is in state {state} and cannot be stopped",
                )
            )
            continue
        LIFECYCLES.stop(run_id)
        successes.append({"JobName": job_name, "JobRunId": run_id})
    return {"SuccessfulSubmissions": successes, "Errors": errors}


def _bulk_stop(
    operation: str, params: Any, region: str, denied: Mapping[str, str]
) -> dict[str, Any]:
    """Batch TerminateJobs / CancelJobs (moto 5.2 has neither): each job as TerminateJob /
    CancelJob treats it, the answer HTTP 200 with `successful` job ids and `errors`
    (`{job, code, message}`) for the jobs IAM refused; "Jobs that can't be found are
    treated as successfully processed" (botocore 1.44.8 batch service-2.json). The shape
    layer has already refused more than 50 jobs or a reason over 1024 characters."""
    from moto.batch_simple.models import batch_simple_backends

    backend = batch_simple_backends[ACCOUNT_ID][region]
    reason = str((params or {}).get("reason", ""))
    successful: list[str] = []
    errors: list[dict[str, str]] = []
    for job_id in [str(j) for j in (params or {}).get("jobs") or []]:
        if job_id in denied:
            errors.append({"job": job_id, "code": "AccessDenied", "message": denied[job_id]})
            continue
        if operation == "TerminateJobs":
            backend.terminate_job(job_id, reason)
        else:
            backend.cancel_job(job_id, reason)
        successful.append(job_id)
    return {"successful": successful, "errors": errors}


def _stop_error(job_name: str, run_id: str, code: str, message: str) -> dict[str, Any]:
    return {
        "JobName": job_name,
        "JobRunId": run_id,
        "ErrorDetail": {"ErrorCode": code, "ErrorMessage": message},
    }


def _region(environ: Mapping[str, Any]) -> str:
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return scope.group(1) if scope else DEFAULT_REGION


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error(
    start_response: StartResponse, service: str, environ: Mapping[str, Any], fault: Fault
) -> Iterable[bytes]:
    """An AWS error response in the protocol the client speaks."""
    if environ.get("HTTP_X_AMZ_TARGET") or service == "batch":
        body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", fault.code)]
    else:  # query protocol (STS, IAM): an XML ErrorResponse
        from xml.sax.saxutils import escape

        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(fault.code)}</Code><Message>{escape(fault.message)}</Message>"
            "</Error><RequestId>polysync-sandbox</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    start_response(f"{fault.status} Error", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _drop(environ: Mapping[str, Any]) -> None:
    """Drop the client's connection without an answer: linger 0 makes the close a reset
    (RST) rather than an orderly FIN. werkzeug treats the ConnectionError as a client
    that went away, quietly."""
    import socket
    import struct

    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client already gave up (a read timeout): nothing left to drop
    raise ConnectionResetError("sandbox: connection dropped on purpose")


def _json(start_response: StartResponse, status: int, payload: Any) -> Iterable[bytes]:
    body = json.dumps(payload, default=str).encode()
    reason = {200: "OK", 404: "Not Found"}.get(status, "OK")
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
    )
    return [body]


class Sandbox:
    """A moto server with polysync's extensions, on 127.0.0.1. One per process: moto's
    backends are process-wide.

    >>> with Sandbox() as sandbox:          # doctest: +SKIP
    ...     boto3.client("glue", endpoint_url=sandbox.endpoint_url, ...)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not host.startswith("127.") and host not in ("localhost", "::1"):
            raise ValueError("the sandbox listens on loopback only")
        self.host = host
        self.port = port
        self.log = RequestLog()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._app: SandboxApp | None = None

    def start(self) -> Sandbox:
        try:
            import moto  # noqa: F401
        except ImportError:
            raise PolysyncError(
                "the sandbox needs moto: pip install 'polysync-spec[sandbox]'"
            ) from None
        from moto.core.config import default_user_config
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # Batch without Docker; the lifecycle patches give its jobs their states.
        default_user_config["batch"] = {"use_docker": False}
        lifecycle.install()
        iam.install()
        eventbridge.patch()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = SandboxApp(DomainDispatcherApplication(create_backend_app), self.log)
        self._app = app
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="polysync-sandbox", daemon=True
        )
        self._thread.start()
        # The services' state-change events, put on EventBridge as runs change state.
        eventbridge.EMITTER.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            eventbridge.EMITTER.stop()  # one start, one stop: it counts its sandboxes
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self, region: str = DEFAULT_REGION) -> dict[str, str]:
        """Environment for a process that should talk to this sandbox (no real AWS)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": SANDBOX_KEY,
            "AWS_SECRET_ACCESS_KEY": SANDBOX_KEY,
            "AWS_DEFAULT_REGION": region,
        }

    def reset(self) -> None:
        iam.enforce(False)
        reset_state(self.log)
        if self._app is not None:
            self._app.release_holds()
            self._app.faults.clear()
            self._app.chaos = None
            self._app.pacing = None

    def iam_user(self, name: str, policy: Mapping[str, Any]) -> tuple[str, str]:
        """An IAM user with `policy` (a policy document) as its policy: its access key id
        and secret. Its calls are checked against the policy once `enforce_iam(True)`."""
        return iam.create_user(name, policy)

    def enforce_iam(self, on: bool = True) -> None:
        """Authorise every call against its caller's IAM policies (off again on reset).
        The sandbox's fixed keys belong to no IAM user: with IAM enforced, only the keys
        of `iam_user` are accepted."""
        iam.enforce(on)

    def chaos(self, chaos: Chaos | None) -> None:
        """Inject random faults into every Glue, Batch and STS call (None: stop)."""
        assert self._app is not None, "start the sandbox first"
        self._app.chaos = chaos

    def pace(self, pacing: Pacing | None) -> None:
        """Add latency and a per-service rate limit to every AWS call (None: stop)."""
        assert self._app is not None, "start the sandbox first"
        self._app.pacing = pacing

    def fail(self, operation: str, fault: Fault | None) -> None:
        """Make `operation` fail with `fault` (e.g. an STS denial, an expired key); None:
        stop (the calls of `fault.times` not yet made are not failed)."""
        assert self._app is not None, "start the sandbox first"
        with self._app._faults_lock:
            if fault is None:
                self._app.faults.pop(operation, None)
            else:
                self._app.faults[operation] = fault

    def requests(self, operation: str | None = None) -> list[Recorded]:
        return self.log.items(operation)

    @property
    def holding(self) -> int:
        """How many requests the sandbox holds unanswered right now."""
        return self._app.holding if self._app is not None else 0

    def script(self, service: str, name: str, outcome: Outcome) -> None:
        """Script how runs of Glue job `name` (or Batch definition `name`) behave."""
        apply_outcomes({service: {name: outcome.to_dict()}})
