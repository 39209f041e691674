"""How the messengers stand, for `nok status`: per channel, whether its token is set, how its
API answered last time, how many messages wait; and the chats unlinked because the person
blocked the bot. Never the token itself."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from nok_workflow.store.models import ChatLink, Mail, Party, ServiceHealth
from nok_workflow.text import plural
from nok_workflow.text import MESSENGERS

NAMES = MESSENGERS
VARIABLES = {"telegram": "NOK_TELEGRAM_TOKEN", "max": "NOK_MAX_TOKEN"}


def channel_lines(engine: Engine, configured: dict[str, bool]) -> list[tuple[bool, str]]:
    """(is it a problem, the line) for each messenger with a link, a message or a token."""
    lines: list[tuple[bool, str]] = []
    with Session(engine) as session:
        waiting = dict(session.execute(select(Mail.channel, func.count()).where(
            Mail.status.in_(("pending", "retry", "sending")), Mail.channel != "email").group_by(Mail.channel)).all())
        linked = dict(session.execute(select(ChatLink.channel, func.count()).where(
            ChatLink.unlinked_at.is_(None)).group_by(ChatLink.channel)).all())
        health = {h.name: h for h in session.execute(select(ServiceHealth).where(
            ServiceHealth.name.in_(tuple(NAMES)))).scalars()}
        blocked = session.execute(
            select(ChatLink.channel, ChatLink.plan_id, ChatLink.party_id, Party.name, ChatLink.unlinked_at)
            .outerjoin(Party, (Party.plan_id == ChatLink.plan_id) & (Party.id == ChatLink.party_id))
            .where(ChatLink.unlink_reason == "blocked").order_by(ChatLink.unlinked_at.desc()).limit(20)).all()
    for channel, name in NAMES.items():
        queued, chats = waiting.get(channel, 0), linked.get(channel, 0)
        if not (configured.get(channel) or queued or chats):
            continue
        what = (f"{name}: подключено чатов — {chats}, в очереди "
                f"{plural(queued, 'сообщение', 'сообщения', 'сообщений')}")
        if not configured.get(channel):
            lines.append((True, f"{what}; токен бота не задан ({VARIABLES[channel]}) — сообщения ждут"))
        elif channel in health and not health[channel].ok:
            lines.append((True, f"{health[channel].message} (с {health[channel].since:%Y-%m-%d %H:%M} UTC)"))
        else:
            lines.append((False, what + ("; API отвечает" if channel in health else "")))
    for channel, plan_id, party_id, party, since in blocked:
        lines.append((True, f"{NAMES.get(channel, channel)}: «{party or party_id}» (план {plan_id}) "
                            f"заблокировал бота {since:%Y-%m-%d %H:%M} UTC — чат отключён"))
    return lines
