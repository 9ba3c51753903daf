"""Pydantic field types the request contracts share: an id, a name, a free text.

The same rules as the booking webhook's hand-read fields (contracts/reading.py), which load no pydantic.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from chalicelib.contracts.reading import ID_PATTERN, NAME_MAX, TEXT_MAX
from chalicelib.ids import MAX_ID
from chalicelib.text_safety import clean_name, clean_text

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
# Names and free texts lose bidi and other control characters (text_safety.py); ids have a safe alphabet.
Name = Annotated[str, StringConstraints(max_length=NAME_MAX), AfterValidator(clean_name)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX), AfterValidator(clean_text)]


class Strict(BaseModel):
    """A request body: unknown keys ignored, strings stripped."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
