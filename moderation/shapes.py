"""Declaring the JSON the service sends, once: typed dicts that mypy checks where they are built
and pydantic turns into the OpenAPI document (and checks in tests).

A shape is a ``TypedDict`` marked with ``@shape``: every key is declared (no others allowed).
Values that come from a fixed set take it from the tuple that defines the set (``OneOf``), never
from a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import ConfigDict, GetCoreSchemaHandler, WithJsonSchema, with_config
from pydantic_core import core_schema

T = TypeVar("T")

shape: Callable[[type[T]], type[T]] = with_config(ConfigDict(extra="forbid"))


@dataclass(frozen=True, slots=True)
class OneOf:
    """``Annotated[str, OneOf(VALUES)]``: one of the values of the tuple that defines them."""

    values: tuple[str, ...]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated and documented as a literal (an ``enum`` in JSON Schema)."""
        return core_schema.literal_schema(list(self.values))


Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
"""A datetime as ISO 8601 text (``datetime.isoformat()``)."""
