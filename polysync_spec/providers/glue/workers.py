"""What each Glue worker type needs: the Glue versions and the job commands AWS documents
for it (botocore's StartJobRun WorkerType and the job's GlueVersion). Pure data and two
questions, asked by validate (PS313, PS315) and by plan against the live job (PS716, PS724)."""

from __future__ import annotations

from collections.abc import Mapping

from polysync_spec.providers.glue.versions import parse

# The first Glue version each worker type runs on, with the sentence of botocore's model
# that says so (StartJobRun's WorkerType; for Ray, the job's GlueVersion).
_SPARK_3 = "This worker type is available only for Glue version 3.0 or later Spark ETL jobs"
_SPARK_4 = "This worker type is available only for Glue version 4.0 or later Spark ETL jobs"
WORKER_MIN_VERSION: Mapping[str, tuple[tuple[int, int], str]] = {
    "G.025X": (
        (3, 0),
        "This worker type is only available for Glue version 3.0 or later streaming jobs",
    ),
    "G.4X": ((3, 0), _SPARK_3),
    "G.8X": ((3, 0), _SPARK_3),
    "G.12X": ((4, 0), _SPARK_4),
    "G.16X": ((4, 0), _SPARK_4),
    "R.1X": ((4, 0), _SPARK_4),
    "R.2X": ((4, 0), _SPARK_4),
    "R.4X": ((4, 0), _SPARK_4),
    "R.8X": ((4, 0), _SPARK_4),
    "Z.2X": ((4, 0), "Ray jobs should set GlueVersion to 4.0 or greater"),
}


def version_too_old(worker_type: str, glue_version: str, source: str = "") -> str | None:
    """Why `worker_type` cannot run on `glue_version` (which `source` says where it comes
    from), or None when it can, or when the version is not a number (`auto`)."""
    needed = WORKER_MIN_VERSION.get(worker_type)
    version = parse(glue_version)
    if needed is None or version is None:
        return None
    (major, minor), sentence = needed
    if version >= (major, minor):
        return None
    return (
        f"worker type '{worker_type}' needs Glue version {major}.{minor} or later, but the "
        f"Glue version is '{glue_version}'{source} (StartJobRun WorkerType: {sentence})"
    )


# A job's Command.Name and the worker types it takes ("Accepts a value of G.025X, G.1X,
# [...] for Spark jobs. Accepts the value Z.2X for Ray jobs."; G.025X: "only available
# for Glue version 3.0 or later streaming jobs"). Python shell jobs take none (PS710).
RAY = "glueray"
STREAMING = "gluestreaming"
RAY_WORKER_TYPE = "Z.2X"
STREAMING_ONLY = "G.025X"


def command_refuses(worker_type: str, command: str | None) -> str | None:
    """Why a job whose command is `command` cannot run on `worker_type`, or None when it
    can (or when the command is unknown, or a Python shell job's: PS710 says so)."""
    if command is None or command == "pythonshell":
        return None
    if command == RAY and worker_type != RAY_WORKER_TYPE:
        return (
            f"worker type '{worker_type}' on a Ray job: StartJobRun WorkerType accepts the "
            f"value {RAY_WORKER_TYPE} for Ray jobs (and the Spark worker types for Spark jobs)"
        )
    if command != RAY and worker_type == RAY_WORKER_TYPE:
        return (
            f"worker type {RAY_WORKER_TYPE} on a '{command}' job: StartJobRun WorkerType "
            "accepts it for Ray jobs (glueray) only"
        )
    if worker_type == STREAMING_ONLY and command != STREAMING:
        return (
            f"worker type {STREAMING_ONLY} on a '{command}' job: StartJobRun WorkerType says "
            "it is only available for Glue version 3.0 or later streaming jobs (gluestreaming)"
        )
    return None


# ExecutionClass FLEX: "Only jobs with Glue version 3.0 and above and command type glueetl
# will be allowed to set ExecutionClass to FLEX" (botocore's StartJobRun ExecutionClass);
# "Flexible job runs are supported for jobs using AWS Glue version 3.0 or later and G.1X
# or G.2X worker types" (AWS Glue developer guide, Job properties:
# https://docs.aws.amazon.com/glue/latest/dg/add-job.html).
FLEX_COMMAND = "glueetl"
FLEX_MIN_VERSION = (3, 0)
FLEX_WORKER_TYPES = ("G.1X", "G.2X")


def flex_refuses(
    command: str | None, glue_version: str | None, worker_type: str | None
) -> str | None:
    """Why a run cannot be FLEX on a job whose command is `command`, on `glue_version`,
    with `worker_type` (each None when not known), or None when it can."""
    if command is not None and command != FLEX_COMMAND:
        return (
            f"ExecutionClass FLEX on a '{command}' job: only Spark ETL jobs ({FLEX_COMMAND}) "
            "may run FLEX (StartJobRun ExecutionClass)"
        )
    version = parse(glue_version)
    if version is not None and version < FLEX_MIN_VERSION:
        return (
            f"ExecutionClass FLEX needs Glue version 3.0 or later, but the Glue version is "
            f"'{glue_version}' (StartJobRun ExecutionClass)"
        )
    if worker_type is not None and worker_type not in FLEX_WORKER_TYPES:
        return (
            f"ExecutionClass FLEX runs on G.1X or G.2X workers only, but the worker type is "
            f"'{worker_type}' (AWS Glue developer guide, Job properties: flexible job runs)"
        )
    return None
