"""The rule registry is the whole catalogue: every code the tool can report has a rule with
a title and user documentation, each check reports its own code only, and the docs are
generated from it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from polysync_spec import validate
from polysync_spec.errors import Diagnostic, Position, Severity
from polysync_spec.manifest import codes, project
from polysync_spec.manifest.rules import CheckContext, Rule
from polysync_spec.providers.registry import RULES, rule
from polysync_spec.reference import codes_table, reference_markdown
from tests.conftest import CORPUS, EXAMPLES, ROOT

PACKAGE = ROOT / "polysync_spec"
CODE = re.compile(r"^PS\d{3}$")


def _constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(codes).items()
        if name.isupper() and isinstance(value, str) and CODE.match(value)
    }


def _named_in_source() -> set[str]:
    """Every code the package's source names: `codes.NAME` constants and "PSnnn" literals."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"\bcodes\.([A-Z][A-Z0-9_]*)\b", text):
            value = getattr(codes, name)
            found |= set(value.values()) if isinstance(value, dict) else {value}
        found |= set(re.findall(r"[\"'](PS\d{3})[\"']", text))
    return {code for code in found if CODE.match(code)}


def test_every_code_constant_has_a_rule() -> None:
    registered = {r.code for r in RULES}
    assert set(_constants().values()) == registered
    assert set(codes.FIELD_CODES.values()) <= registered


def test_every_code_the_source_names_has_a_rule() -> None:
    missing = _named_in_source() - {r.code for r in RULES}
    assert not missing, f"codes used without a registered rule: {sorted(missing)}"


@pytest.mark.parametrize("registered", RULES, ids=lambda r: r.code)
def test_every_rule_has_a_title_and_user_documentation(registered: Rule) -> None:
    assert registered is rule(registered.code)
    title, doc = registered.title, registered.doc
    assert title.strip() and not title.endswith(".")
    assert len(doc.split()) >= 8 and doc.rstrip().endswith((".", '"', "`")), doc
    assert "\n\n" not in doc  # one paragraph: rendered on one line in the reference


def test_plan_rules_have_a_plan_kind_and_validate_rules_do_not() -> None:
    for registered in RULES:
        if codes.is_plan_code(registered.code):
            assert registered.severity in (Severity.ERROR, Severity.DRIFT, Severity.NOTE)
            assert registered.check is None  # the planner reports them
        else:
            assert registered.severity in (Severity.ERROR, Severity.WARNING)


def _cases() -> list[Path]:
    return sorted((CORPUS / "invalid").glob("*.yaml")) + sorted(
        (EXAMPLES / "invalid").glob("*.yaml")
    )


def test_a_check_reports_only_its_own_code_and_severity(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: set[str] = set()

    def checked(ctx: CheckContext, platform_rules: Sequence[Rule] = ()) -> Iterator[Diagnostic]:
        # Every rule of every layer: the platforms' own arrive as `platform_rules`.
        assert set(platform_rules) <= set(RULES)
        for registered in RULES:
            if registered.check is None:
                continue
            for finding in registered.check(ctx):
                assert (finding.code, finding.severity) == (registered.code, registered.severity)
                assert finding.position is None and finding.doc_path is not None
                reported.add(registered.code)
                yield finding

    monkeypatch.setattr(project, "run_checks", checked)
    for case in _cases():
        validate(case, env={})
    # The corpus exercises every check, so the assertion above saw each of them.
    assert reported == {r.code for r in RULES if r.check is not None}


def test_a_checks_finding_is_located_from_its_path() -> None:
    path = CORPUS / "invalid" / "batch_no_queue.yaml"
    [finding] = [d for d in validate(path, env={}) if d.code == codes.BATCH_NO_QUEUE]
    assert finding.doc_path == ("jobs", "exp") and finding.at_key
    assert finding.position == Position(str(path), 8, 3)  # the job's key


def test_reference_documents_every_rule() -> None:
    text = reference_markdown()
    for registered in RULES:
        assert f"#### {registered.code}: {registered.title}\n" in text


@pytest.mark.parametrize("plan", [False, True])
def test_code_tables_list_validate_and_plan_codes_apart(plan: bool) -> None:
    listed = re.findall(r"^\| (PS\d{3}) \|", codes_table(plan=plan), re.M)
    assert listed == [r.code for r in RULES if codes.is_plan_code(r.code) == plan]


def test_a_module_over_400_lines_says_why_at_its_top() -> None:
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        name = path.relative_to(PACKAGE).as_posix()
        if len(lines) <= 400:
            continue
        if not (lines[0].startswith("# Over 400 lines: ") and len(lines[0]) > 30):
            unexplained.append(f"{name} ({len(lines)} lines)")
    assert not unexplained, "start these with '# Over 400 lines: <why>': " + ", ".join(unexplained)
