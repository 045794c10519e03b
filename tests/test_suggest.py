"""The one "did you mean" hint that every message suggesting a name uses."""

from __future__ import annotations

import pytest

from polysync_spec.manifest.suggest import closest, did_you_mean


@pytest.mark.parametrize(
    ("word", "options", "kwargs", "hint"),
    [
        ("regoin", ["region", "auth"], {}, " (did you mean 'region'?)"),
        ("regoin", ["region", "auth"], {"clause": True}, "; did you mean 'region'?"),
        ("zzz", ["region", "auth"], {}, ""),
        (
            "zzz",
            ["region", "auth"],
            {"clause": True, "list_up_to": 12},
            "; expected one of: auth, region",
        ),
        ("zzz", ["region", "auth"], {"clause": True, "list_up_to": 1}, ""),
        ("zzz", [], {"list_up_to": 12}, ""),
        ("nightly", {"nightly_x": 1, "other": 2}, {}, " (did you mean 'nightly_x'?)"),
    ],
)
def test_did_you_mean(word: str, options: object, kwargs: dict[str, object], hint: str) -> None:
    assert did_you_mean(word, options, **kwargs) == hint  # type: ignore[arg-type]


def test_closest_needs_a_close_enough_option() -> None:
    assert closest("platfrom", ["platform", "type"]) == "platform"
    assert closest("x", ["platform", "type"]) is None


def test_no_other_module_writes_its_own_hint() -> None:
    from tests.conftest import ROOT

    for path in (ROOT / "polysync_spec").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "suggest.py":
            assert "get_close_matches" not in text and "did you mean '{" not in text, path
