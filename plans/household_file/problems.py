"""The household file's problems: pydantic's errors in the file's words.

Each problem is ``path: reason (value)``, the path in JSON terms (``members[2].role``),
listed in the file's order: unknown top-level keys, then the household, the plan and
each member, each object's unknown keys before its known ones.
"""

from __future__ import annotations

import json

SECTIONS = ("household", "plan", "members")
STRUCTURE = {  # error type -> reason, and whether the value is shown
    "missing": ("is required", False),
    "extra_forbidden": ("unknown key", False),
    "model_type": ("must be a JSON object", True),
    "list_type": ("must be a JSON array", True),
}
TYPES = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
}


class HouseholdFileRefused(Exception):
    """The household file has problems: nothing was changed. ``problems`` lists each of
    them as ``path: reason (value)``, the path in JSON terms (``members[2].role``)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing changed")
        self.problems = problems


def show(value: object) -> str:
    """A value as the file wrote it, shortened."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def json_path(loc: tuple) -> str:
    """``("members", 2, "role")`` -> ``members[2].role``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _reason(error: dict, field) -> tuple[str, bool]:
    if error["type"] in STRUCTURE:
        return STRUCTURE[error["type"]]
    if error["type"] == "datapool":
        return error["msg"], True
    stated = next((m for m in getattr(field, "metadata", ()) if hasattr(m, "text")), None)
    if stated is not None:
        return stated.text, True
    if error["type"] == "string_too_long":
        return f"must be at most {error['ctx']['max_length']} characters", True
    return TYPES.get(error["type"], error["msg"]), True


def _field(parts: dict, loc: tuple):
    """The pydantic field ``loc`` names, or None (an object, not a key of one)."""
    rest = loc[2:] if loc[:1] == ("members",) else loc[1:]
    if loc[0] not in parts or len(rest) != 1:
        return None
    return parts[loc[0]].model_fields.get(rest[0])


def _rank(parts: dict, loc: tuple, kind: str) -> tuple:
    if len(loc) == 1 and kind == "extra_forbidden":
        return (0,)
    section = SECTIONS.index(loc[0]) + 1
    index = loc[1] if loc[0] == "members" and len(loc) > 1 else -1
    rest = loc[2:] if loc[0] == "members" else loc[1:]
    if not rest:
        return (section, index, 0)
    if kind == "extra_forbidden":
        return (section, index, 1)
    names = list(parts[loc[0]].model_fields)
    return (section, index, 2, names.index(rest[0]), kind == "duplicate")


def _duplicates(data: dict, errors: list[dict]) -> list[tuple]:
    """(loc, problem) for each username that an earlier member already has."""
    raw_members = data.get("members", [])
    if not isinstance(raw_members, list):
        return []
    bad_names = {e["loc"] for e in errors}
    first_seen: dict[str, int] = {}
    found = []
    for index, raw in enumerate(raw_members):
        loc = ("members", index, "username")
        if not isinstance(raw, dict) or "username" not in raw or loc in bad_names:
            continue
        username = raw["username"]
        if username in first_seen:
            found.append(
                (
                    loc,
                    f"members[{index}].username: appears twice in the file, "
                    f"also at members[{first_seen[username]}] ({show(username)})",
                )
            )
            continue
        first_seen[username] = index
    return found


def problems_of(parts: dict, errors: list[dict], data: dict) -> list[str]:
    """Every problem of the file, in the file's order. ``parts``: the model of each
    section (``members``: of one member)."""
    ranked = []
    for error in errors:
        # A rule's problem may name a path below the error's and the value it refuses.
        context = error.get("ctx", {}) if error["type"] == "datapool" else {}
        loc = (*error["loc"], *context.get("at", ()))
        reason, with_value = _reason(error, _field(parts, loc))
        problem = f"{json_path(loc)}: {reason}"
        if with_value:
            problem += f" ({show(context.get('value', error['input']))})"
        ranked.append((_rank(parts, loc, error["type"]), problem))
    for loc, problem in _duplicates(data, errors):
        ranked.append((_rank(parts, loc, "duplicate"), problem))
    return [problem for _, problem in sorted(ranked, key=lambda pair: pair[0])]
