"""A member's remembered preferences (issue 17 §5), as staff record them beside the chat.

    PUT /v1/stores/{store}/members/{member}/preferences   PreferencesBody

A PUT sets the whole record: a field left out is emptied. Every text is cleaned (chalicelib/text_safety.py) and
length-limited; an error names the field at fault. Allergies are for staff only: member texts never carry them
(chalicelib/journeys/texts.py reads the other fields only).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.text_safety import clean_name, clean_text

MAX_NAME = 64
MAX_NOTES = 500
MAX_ITEM = 40
MAX_ITEMS = 10

_Line = Annotated[str, StringConstraints(max_length=MAX_NAME), AfterValidator(clean_name)]
_Item = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ITEM), AfterValidator(clean_name)]
_Notes = Annotated[
    str, StringConstraints(max_length=MAX_NOTES), AfterValidator(lambda v: clean_text(v).strip())
]
_Items = Annotated[list[_Item], Field(max_length=MAX_ITEMS)]


class PreferencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    favourite_stylist: _Line = ""
    style_notes: _Notes = ""
    colours: _Items = Field(default_factory=list)  # liked colours, e.g. "奶茶色"
    designs: _Items = Field(default_factory=list)  # liked designs and finishes, e.g. "磨砂质感"
    allergies: _Items = Field(default_factory=list)  # staff only, shown prominently; never sent to her

    def as_record(self) -> dict[str, Any]:
        """The fields as stored: lists without blanks or repeats, in the order given."""
        return {
            "favourite_stylist": self.favourite_stylist,
            "style_notes": self.style_notes,
            "colours": _distinct(self.colours),
            "designs": _distinct(self.designs),
            "allergies": _distinct(self.allergies),
        }


def _distinct(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))
