"""polysync-spec: jobs-as-code for AWS Glue and AWS Batch.

Public API: `load_project()` reads and validates a manifest set; `validate()` reports every
problem in it.
"""

from polysync_spec.manifest import Project, load_project, validate

__version__ = "0.1.0"

__all__ = ["Project", "__version__", "load_project", "validate"]
