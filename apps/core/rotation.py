"""Re-encrypting stored values under the newest key (`rotate_encryption_keys`).

Core owns the keys (apps.core.crypto); each app knows what it encrypted. An
app registers, from its `AppConfig.ready()`, a function that re-encrypts its
values and returns how many it did: per organization (run inside the
organization's schema and a transaction), or once for the whole database.
They run in the order of INSTALLED_APPS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rotation:
    label: str  # what it counts: "secrets", "connection credentials", …
    rotate: Callable[[], int]
    where: str = ""  # for database-wide rotations: the name printed before the count


_per_organization: list[Rotation] = []
_database_wide: list[Rotation] = []


def register_rotation(label: str, rotate: Callable[[], int], *, database_wide_as: str = "") -> None:
    """`rotate` runs in every organization's schema, or once (`database_wide_as`
    names it in the report) for values kept outside the organizations' schemas."""
    rotation = Rotation(label, rotate, database_wide_as)
    target = _database_wide if database_wide_as else _per_organization
    if all(r.rotate is not rotate for r in target):
        target.append(rotation)


def organization_rotations() -> list[Rotation]:
    return list(_per_organization)


def database_wide_rotations() -> list[Rotation]:
    return list(_database_wide)
