"""Messages from a digest's context, with the Jinja2 templates beside this file.

StrictUndefined: a template asking for a missing variable is an error the dispatcher
records on the message, never a blank in someone's email.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifiers.base import Attachment, Message

TEMPLATES = Path(__file__).with_name("templates")
WIDTH = 72  # plain-text lines, as mail readers expect


@lru_cache(maxsize=16384)  # the same titles and documents recur in thousands of digests
def wrap(text: str, first: str = "", rest: str = "") -> str:
    """A plain-text paragraph with a hanging indent: a 200-character plan title or list of
    documents reads as a block under its label. Words, links and hyphenated words
    («План-график») are never split."""
    return textwrap.fill(text, width=WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html.j2",)),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["wrap"] = wrap
    return env


def render_digest(context: dict[str, Any], *, to_address: str, message_id: str,
                  attachments: tuple[Attachment, ...] = ()) -> Message:
    env = environment()
    return Message(
        to_address=to_address, to_name=context["name"], subject=context["subject"],
        text=env.get_template("digest.txt.j2").render(context),
        html=env.get_template("digest.html.j2").render(context),
        message_id=message_id, attachments=attachments,
    )
