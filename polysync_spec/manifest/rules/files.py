"""PS0xx: reading manifest files and their YAML. The loader reports all of them."""

from __future__ import annotations

from polysync_spec.errors import Severity
from polysync_spec.manifest import codes
from polysync_spec.manifest.rules.base import Rule

PATH_NOT_FOUND = Rule(
    codes.PATH_NOT_FOUND,
    "manifest path not found or holds no manifests",
    doc="""The PATH given to a command (default `$POLYSYNC_PATH`, else the current
    directory) does not exist, or is a directory with no `*.yaml` / `*.yml` file below it.
    Hidden entries and paths matched by `.polysyncignore` are skipped.""",
)
FILE_UNREADABLE = Rule(
    codes.FILE_UNREADABLE,
    "file cannot be read (permissions, size, encoding, links, not a regular file)",
    doc="""A manifest is read only when it is safe to read: a regular file (not a FIFO,
    device, socket or directory), within the size limit, valid UTF-8, and, for a symbolic
    link, leading to a place inside the manifest directory. Anything else is reported
    without being opened. A symbolic link to a directory is not followed (a warning).""",
)
EMPTY_FILE = Rule(
    codes.EMPTY_FILE,
    "empty manifest file",
    Severity.WARNING,
    doc="""A file holds no YAML document. It is skipped; a manifest set made only of empty
    files has nothing to run, which is PS108.""",
)
YAML_SYNTAX = Rule(
    codes.YAML_SYNTAX,
    "YAML syntax error",
    doc="""The file is not valid YAML, or holds more than one YAML document (`---`).
    The position is where the parser stopped; an indentation that does not match its
    siblings is named as such.""",
)
YAML_TAB = Rule(
    codes.YAML_TAB,
    "tab used for indentation",
    doc="""YAML indentation must use spaces; a tab where indentation is expected is an
    error at the tab's position.""",
)
DUPLICATE_KEY = Rule(
    codes.DUPLICATE_KEY,
    "duplicate key in a mapping",
    doc="""A key appears twice in one mapping. A YAML parser would silently keep the last
    value; polysync reports the second key and cites the first.""",
)
NOT_A_MAPPING = Rule(
    codes.NOT_A_MAPPING,
    "top level is not a mapping",
    doc="""The top level of a manifest file must be a mapping of sections (`version`,
    `variables`, `platforms`, `jobs`, `run_plans`, `targets`), not a list or a scalar.""",
)
YAML_TOO_LARGE = Rule(
    codes.YAML_TOO_LARGE,
    "document too deep or too large (alias bomb)",
    doc="""A document nested too deeply, one whose aliases expand to too many values (an
    alias bomb), or an integer with more digits than Python converts, is refused before
    it is built. Quote a long number that is meant as text.""",
)
YAML_TAG_MISMATCH = Rule(
    codes.YAML_TAG_MISMATCH,
    "value does not fit its explicit YAML tag (`!!int abc`)",
    doc="""A scalar carries an explicit tag (`!!int`, `!!float`, `!!bool`, `!!null`) but its
    text is not a YAML 1.2 value of that type. Fix the value or remove the tag.""",
)

RULES = (
    PATH_NOT_FOUND,
    FILE_UNREADABLE,
    EMPTY_FILE,
    YAML_SYNTAX,
    YAML_TAB,
    DUPLICATE_KEY,
    NOT_A_MAPPING,
    YAML_TOO_LARGE,
    YAML_TAG_MISMATCH,
)
