"""The one "did you mean" hint, for a misspelled name, key or value in any message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, options: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The option `word` most likely misspells, if one is close enough (difflib ratio >=
    `cutoff`)."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(
    word: str, options: Iterable[str], *, clause: bool = False, list_up_to: int = 0
) -> str:
    """A hint to append to a message: ` (did you mean 'x'?)`, or `; did you mean 'x'?`
    with `clause`. When no option is close, "" or, if there are at most `list_up_to`
    options, `; expected one of: a, b, c`."""
    choices = list(options)
    match = closest(word, choices)
    if match is not None:
        return f"; did you mean '{match}'?" if clause else f" (did you mean '{match}'?)"
    if choices and len(choices) <= list_up_to:
        return f"; expected one of: {', '.join(sorted(choices))}"
    return ""
