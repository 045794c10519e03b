"""IAM policies the least-privilege tests grant in the sandbox."""

from __future__ import annotations

from typing import Any

# Exactly the product documents' permission list: 000's "IAM permissions checklist" for
# Glue, the calls 003 names for Batch (SubmitJob, DescribeJobs, TerminateJob,
# DescribeJobDefinitions), and logs:GetLogEvents for `polysync logs`.
PRODUCT_DOCUMENTS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "glue:ListJobs",
                "glue:GetJobs",
                "glue:GetJob",
                "glue:StartJobRun",
                "glue:GetJobRun",
                "glue:BatchStopJobRun",
                "batch:SubmitJob",
                "batch:DescribeJobs",
                "batch:TerminateJob",
                "batch:DescribeJobDefinitions",
                "logs:GetLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


def allowing(*actions: str) -> dict[str, Any]:
    """A policy allowing `actions` on every resource."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}],
    }


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """`policy` with `action` taken out of every statement (a statement left with no
    action is dropped)."""
    statements = []
    for statement in policy["Statement"]:
        actions = [a for a in statement["Action"] if a != action]
        if actions:
            statements.append({**statement, "Action": actions})
    return {**policy, "Statement": statements}
