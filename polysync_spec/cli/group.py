"""The `polysync` click group and its logging."""

from __future__ import annotations

import logging

import click

from polysync_spec.version import __version__

# Their debug output holds request bodies: tokens, keys and secret parameter values. They
# stay at WARNING whatever the root logger says; --verbose is for polysync's own loggers.
WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "azure", "msal")


def configure_logging(verbose: bool) -> None:
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    own = logging.getLogger("polysync_spec")
    own.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if verbose and not own.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        own.addHandler(handler)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="polysync")
@click.option("--verbose", "-v", is_flag=True, help="Log what polysync does (never secrets).")
def cli(verbose: bool) -> None:
    """Jobs-as-code for AWS Glue and AWS Batch."""
    configure_logging(verbose)
