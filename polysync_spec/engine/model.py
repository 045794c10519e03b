# Over 400 lines: the plan document and its parts, each with its dict form for plan files.
"""What a plan is: runs with their exact requests, findings, and live fingerprints.

Plain data, serialised to one stable, versioned JSON shape: the `--output json` document
and the plan file are the same thing. Secret values are never in it: a secret field holds
`{"$env": "NAME"}`, resolved from the environment when the request is sent.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from polysync_spec import redact
from polysync_spec.errors import Diagnostic, PolysyncError, Position, Severity
from polysync_spec.providers.base import ATTEMPT_SLOT
from polysync_spec.providers.cost import gate_figure
from polysync_spec.providers.registry import by_service

PLAN_FORMAT = 1

# A plan finding is a Diagnostic whose severity is error (blocks apply), drift or note;
# the plan document calls it the finding's "kind".
PLAN_KINDS = (Severity.ERROR, Severity.DRIFT, Severity.NOTE)


def finding_to_dict(finding: Diagnostic) -> dict[str, Any]:
    """A plan finding as the plan document holds it."""
    return {
        "kind": finding.severity.value,
        "code": finding.code,
        "message": finding.message,
        **Position.fields(finding.position),
    }


def finding_from_dict(data: dict[str, Any]) -> Diagnostic:
    position = Position(data["path"], data["line"], data["column"]) if data.get("path") else None
    return Diagnostic(data["code"], Severity(data["kind"]), data["message"], position)


class RunAction(enum.StrEnum):
    """What apply will do with a run, given what the ledger holds for its apply identity."""

    SUBMIT = "submit"  # nothing recorded (or --rerun / --retry-failed): a new attempt
    REATTACH = "re-attach"  # in flight: polled, never submitted again
    LOOK_UP = "look up"  # an attempt without a run id: found by its identity, or sent
    SKIP = "skip"  # ended in an earlier apply


@dataclass(frozen=True)
class LedgerView:
    """One run as the ledger has it, and what apply will therefore do."""

    action: RunAction
    status: str | None = None
    run_id: str | None = None
    reason: str | None = None  # why apply will skip a run the ledger does not hold

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerView:
        return cls(
            RunAction(data["action"]), data.get("status"), data.get("run_id"), data.get("reason")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "status": self.status,
            "run_id": self.run_id,
            "reason": self.reason,
        }


def native_edge(
    service: str, platform: str, dep_service: str, dep_platform: str, condition: str
) -> bool:
    """Whether an `after` edge is handed to AWS (e.g. as a `dependsOn`): both runs on the
    same platform, whose service can hold a run until the other meets `condition`. Other
    edges wait client-side."""
    return (
        service == dep_service
        and platform == dep_platform
        and by_service(service).holds_dependency(condition)
    )


def _secret(value: Any, env: Mapping[str, str] | None, run: str, attempt_id: str) -> Any:
    if isinstance(value, str):
        if redact.MASK in value:
            # A plan file keeps a secret that no `${env.NAME}` slot names (a variable's
            # value from the environment, --var or --var-file) only as ***: sending that
            # would run the job with the wrong value.
            raise PolysyncError(
                f"run {run!r}: the plan holds a masked secret (***) that it cannot send; "
                "apply from the manifests, or give the parameter `secret: true` with "
                "`${env.NAME}` so that a plan file names the variable"
            )
        return value.replace(ATTEMPT_SLOT, attempt_id) if ATTEMPT_SLOT in value else value
    if env is None or not (isinstance(value, dict) and set(value) == {"$env"}):
        return value
    name = value["$env"]
    if name not in env:
        raise PolysyncError(
            f"run {run!r} needs the secret from environment variable {name}, which is not set"
        )
    # A plan file's apply may meet a secret the manifests did not register (an edited
    # plan file): whatever is sent as a secret is masked wherever AWS echoes it.
    redact.register(env[name])
    return env[name]


@dataclass
class PlannedRun:
    """One run of the run plan as apply will make it."""

    key: str
    job: str
    platform: str
    service: str  # the platform's service (`Platform.service`)
    region: str
    api: str
    # The exact payload; each secret value replaced by {"$env": NAME}.
    request: dict[str, Any]
    live: str | None  # what the job resolved to, e.g. "nightly-export:3"
    compute: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {value, tier}
    after: list[dict[str, str]] = field(default_factory=list)
    findings: list[Diagnostic] = field(default_factory=list)
    # What the run costs (`providers.cost.CostEstimate.to_dict`); None: it cannot be sized.
    cost: dict[str, Any] | None = None

    @property
    def blocked(self) -> bool:
        return any(f.is_error for f in self.findings)

    def values(self) -> dict[str, Any]:
        """The resolved compute values by key, without their tiers."""
        return {key: entry.get("value") for key, entry in self.compute.items()}

    def resolved_request(self, env: Mapping[str, str] | None, attempt_id: str) -> dict[str, Any]:
        """The request one submission attempt sends: the attempt's identity in its slot
        (e.g. a job name or a marker argument) and each {"$env": NAME} replaced by
        that variable's value. `env=None` leaves the secrets out: enough to look the
        attempt up in AWS. Raises PolysyncError naming a secret's unset variable."""
        resolved: dict[str, Any] = {}
        for key, value in self.request.items():
            if isinstance(value, dict) and set(value) != {"$env"}:
                resolved[key] = {k: _secret(v, env, self.key, attempt_id) for k, v in value.items()}
            else:
                resolved[key] = _secret(value, env, self.key, attempt_id)
        return resolved

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [finding_to_dict(f) for f in self.findings]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannedRun:
        values = dict(data)
        values["findings"] = [finding_from_dict(f) for f in data.get("findings", [])]
        return cls(**values)


@dataclass(frozen=True)
class Selection:
    """Which runs of the run plan one apply handles (`--only`): the runs named
    (`only`), the runs they wait on, transitively, included as prerequisites (none with
    `exact`); every other run is left out: not submitted, not recorded, not cancelled.
    Not part of the plan's identity, so the runs left out keep their place in the ledger
    for a later apply of the whole plan."""

    only: tuple[str, ...]
    prerequisites: tuple[str, ...] = ()
    exact: bool = False

    def includes(self, key: str) -> bool:
        return key in self.only or key in self.prerequisites

    def to_dict(self, left_out: list[str]) -> dict[str, Any]:
        return {
            "only": list(self.only),
            "prerequisites": list(self.prerequisites),
            "exact": self.exact,
            "left_out": left_out,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        return cls(tuple(data["only"]), tuple(data.get("prerequisites", ())), data["exact"])


@dataclass
class Plan:
    """Every run of one run plan, the live objects they depend on, and what was found."""

    run_plan: str
    target: str | None
    manifest_path: str
    variables: dict[str, Any]
    runs: list[PlannedRun]
    # Live object -> what it looked like when planned (a modification time, a definition
    # revision's ARN, a queue's state): apply refuses a plan whose fingerprints moved.
    fingerprints: dict[str, str] = field(default_factory=dict)
    findings: list[Diagnostic] = field(default_factory=list)  # not tied to one run
    max_concurrency: int = 4
    on_failure: str = "stop"
    # What the ledger holds for this plan's identity, by run key (plan reads it; not part
    # of the identity, and a plan file's copy is only what was true when it was made).
    ledger: dict[str, LedgerView] = field(default_factory=dict)
    # `--only`: the runs this apply handles; None: every run.
    selection: Selection | None = None

    def selects(self, key: str) -> bool:
        """Whether apply handles the run `key` (every run, without a selection)."""
        return self.selection is None or self.selection.includes(key)

    @property
    def selected_runs(self) -> list[PlannedRun]:
        """The runs apply handles, in plan order."""
        return [run for run in self.runs if self.selects(run.key)]

    @property
    def left_out(self) -> list[str]:
        """The runs `--only` leaves out, in plan order."""
        return [run.key for run in self.runs if not self.selects(run.key)]

    def unwaited(self, key: str) -> list[str]:
        """The upstreams (`after`) of a selected run that apply does not wait for:
        those `--only-exact` leaves out."""
        run = next(r for r in self.runs if r.key == key)
        return [e["run"] for e in run.after if not self.selects(e["run"])]

    # The most the plan's expected cost may be, in USD (`plan --max-cost`, the run plan's
    # `max_cost`); None: no limit.
    max_cost: float | None = None

    def cost_totals(self) -> tuple[float, float | None, list[str]]:
        """(expected USD, upper-bound USD or None when a priced run has none, the keys
        of runs without a price). A run without history counts at its upper bound in
        the expected total (`providers.cost.gate_figure`)."""
        expected, upper, unpriced = 0.0, 0.0, []
        upper_known = True
        for run in self.runs:
            figure = gate_figure(run.cost) if run.cost else None
            if figure is None:
                unpriced.append(run.key)
                continue
            expected += figure
            bound = (run.cost or {}).get("upper") or {}
            if bound.get("usd") is None:
                upper_known = False
            else:
                upper += float(bound["usd"])
        return expected, (upper if upper_known else None), unpriced

    def cost_over_limit(self) -> str | None:
        """Why the plan fails its cost gate (the expected total over `max_cost`), naming
        the total, the limit and the runs that cost most; None when within it."""
        if self.max_cost is None:
            return None
        expected, _, _ = self.cost_totals()
        if expected <= self.max_cost:
            return None
        figures = sorted(
            (
                (gate_figure(r.cost) or 0.0, r.key, not r.cost.get("expected"))
                for r in self.runs
                if r.cost
            ),
            reverse=True,
        )
        most = ", ".join(
            f"{key} ${usd:,.2f}" + (" (its upper bound: no run history)" if bounded else "")
            for usd, key, bounded in figures[:3]
            if usd > 0
        )
        return (
            f"the plan's expected cost ${expected:,.2f} exceeds the limit of "
            f"${self.max_cost:,.2f}; costing most: {most}"
        )

    def action(self, key: str) -> RunAction:
        view = self.ledger.get(key)
        return view.action if view else RunAction.SUBMIT

    @property
    def pending(self) -> bool:
        """Whether apply would submit anything (or may: a submission to look up)."""
        return any(
            self.action(run.key) in (RunAction.SUBMIT, RunAction.LOOK_UP)
            for run in self.selected_runs
        )

    def all_findings(self) -> list[Diagnostic]:
        """The plan's findings and those of the runs apply handles (with `--only`, a run
        left out is listed, and its findings neither counted nor blocking)."""
        return [*self.findings, *(f for run in self.selected_runs for f in run.findings)]

    def count(self, kind: Severity) -> int:
        return sum(f.severity is kind for f in self.all_findings())

    @property
    def has_errors(self) -> bool:
        """Errors that block apply: the plan's own, and those of the runs it handles (a
        run `--only` leaves out is shown with its findings, and blocks nothing)."""
        return self.count(Severity.ERROR) > 0

    @property
    def plan_id(self) -> str:
        """A digest of what the plan would submit: the apply identity of DESIGN.md §5."""
        identity = {
            "run_plan": self.run_plan,
            "target": self.target,
            "variables": self.variables,
            "requests": [[r.key, r.api, r.request] for r in self.runs],
        }
        blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def summary(self) -> str:
        errors, drift = self.count(Severity.ERROR), self.count(Severity.DRIFT)
        actions = [self.action(run.key) for run in self.selected_runs]
        runs = actions.count(RunAction.SUBMIT)
        parts = [f"{runs} run{'s' if runs != 1 else ''} to start"]
        for action, label in (
            (RunAction.LOOK_UP, "to look up"),
            (RunAction.REATTACH, "to re-attach"),
            (RunAction.SKIP, "ended in an earlier apply"),
        ):
            if actions.count(action):
                parts.append(f"{actions.count(action)} {label}")
        if self.left_out:
            parts.append(f"{len(self.left_out)} left out (--only)")
        return f"{', '.join(parts)}, {drift} drift, {errors} error{'s' if errors != 1 else ''}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "polysync-plan",
            "version": PLAN_FORMAT,
            "id": self.plan_id,
            "run_plan": self.run_plan,
            "target": self.target,
            "manifest_path": self.manifest_path,
            "variables": self.variables,
            "max_concurrency": self.max_concurrency,
            "on_failure": self.on_failure,
            "summary": {
                "runs": len(self.runs),
                "errors": self.count(Severity.ERROR),
                "drift": self.count(Severity.DRIFT),
                "notes": self.count(Severity.NOTE),
                "to_submit": sum(
                    self.action(r.key) is RunAction.SUBMIT for r in self.selected_runs
                ),
            },
            "findings": [finding_to_dict(f) for f in self.findings],
            "max_cost": self.max_cost,
            "cost": self._cost_document(),
            "runs": [run.to_dict() for run in self.runs],
            "ledger": {key: view.to_dict() for key, view in self.ledger.items()},
            "fingerprints": dict(sorted(self.fingerprints.items())),
            **(
                {"selection": self.selection.to_dict(self.left_out)}
                if self.selection is not None
                else {}
            ),
        }

    def _cost_document(self) -> dict[str, Any]:
        expected, upper, unpriced = self.cost_totals()
        return {
            "expected_usd": round(expected, 4),
            "upper_usd": None if upper is None else round(upper, 4),
            "unpriced": unpriced,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """A plan from its document. Trusts the shape it is given: a plan file from
        outside is read with `engine.planfile.read_plan_file`, which checks it first."""
        if data.get("format") != "polysync-plan" or data.get("version") != PLAN_FORMAT:
            raise ValueError(
                f"not a polysync plan file of version {PLAN_FORMAT} "
                f"(format={data.get('format')!r}, version={data.get('version')!r})"
            )
        return cls(
            run_plan=data["run_plan"],
            target=data.get("target"),
            manifest_path=data.get("manifest_path", ""),
            variables=data.get("variables", {}),
            runs=[PlannedRun.from_dict(r) for r in data["runs"]],
            fingerprints=data.get("fingerprints", {}),
            findings=[finding_from_dict(f) for f in data.get("findings", [])],
            max_concurrency=data.get("max_concurrency", 4),
            on_failure=data.get("on_failure", "stop"),
            selection=Selection.from_dict(data["selection"]) if data.get("selection") else None,
            max_cost=data.get("max_cost"),
            # What the ledger held when the plan was made: apply checks it still agrees.
            ledger={
                key: LedgerView.from_dict(view) for key, view in (data.get("ledger") or {}).items()
            },
        )
