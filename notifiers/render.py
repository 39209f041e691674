"""Messages from a digest's context, with the Jinja2 templates beside this file.

StrictUndefined: a template asking for a missing variable is an error the dispatcher
records on the message, never a blank in someone's email.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifiers.base import Attachment, Message

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html.j2",)),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_digest(context: dict[str, Any], *, to_address: str, message_id: str,
                  attachments: tuple[Attachment, ...] = ()) -> Message:
    env = environment()
    return Message(
        to_address=to_address, to_name=context["name"], subject=context["subject"],
        text=env.get_template("digest.txt.j2").render(context),
        html=env.get_template("digest.html.j2").render(context),
        message_id=message_id, attachments=attachments,
    )
