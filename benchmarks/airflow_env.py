"""The Airflow contender's environment: apache-airflow and its amazon provider, in a
virtual environment of their own under `.bench/` (never the test environment), created
on first use from the package index. `airflow_contender.py` runs in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Verified to install and run on Python 3.11 (pip's resolver, from the package index).
PINS = ("apache-airflow==3.3.2", "apache-airflow-providers-amazon==9.39.0")
VENV = Path(__file__).resolve().parents[1] / ".bench" / "airflow-venv"
CONTENDER = Path(__file__).with_name("airflow_contender.py")
_MARKER = "polysync-bench-pins.txt"


def python(venv: Path = VENV) -> Path:
    """The environment's Python, created and installed first when it is missing or was
    installed with other pins. Raises RuntimeError (with pip's last words) on failure."""
    exe = venv / "bin" / "python"
    marker = venv / _MARKER
    wanted = "\n".join(PINS) + "\n"
    if exe.exists() and marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        return exe
    print(f"installing {', '.join(PINS)} into {venv} (once; a few minutes)", flush=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(exe), "-m", "pip", "install", "--quiet", *PINS],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(step[:4])} failed: {done.stderr[-1500:]}")
    marker.write_text(wanted, encoding="utf-8")
    return exe
