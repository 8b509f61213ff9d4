"""Saving and loading ProfileRuns (`--save-run`, `optadvisor report`, `compare`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from optadvisor.inputs import DOCUMENT_BYTES, InputError, load_json
from optadvisor.models import PROFILE_RUN_KIND, ProfileRun


class ProfileRunError(ValueError):
    """A file that is not a readable profile run; the message names the file."""


def save_run(run: ProfileRun, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(run.to_dict(), indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_run(path: Path) -> ProfileRun:
    try:
        data = load_json(path, DOCUMENT_BYTES)
    except OSError as exc:
        raise ProfileRunError(f"cannot read {path}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise ProfileRunError(str(exc)) from None
    except ValueError as exc:
        raise ProfileRunError(f"{path} is not JSON: {exc}") from None
    try:
        return ProfileRun.from_dict(data)
    except ValueError as exc:
        raise ProfileRunError(f"{path}: {exc}") from None


def is_profile_run(data: Any) -> bool:
    """For `report`: tell a saved run from a scan report before loading it."""
    return isinstance(data, dict) and data.get("kind") == PROFILE_RUN_KIND
