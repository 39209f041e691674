"""Benchmark: digests to a messenger (the `chat` benchmark of `python -m benchmarks`).

Against the local Telegram Bot API stub (tests/support/bot_stubs.py, a real uvicorn server):

  (a) raw httpx: the same sendMessage bodies POSTed over one AsyncClient by as many workers as
      the notifier uses — the baseline;
  (b) notifiers.chat.ChatNotifier over notifiers.bots.TelegramBot, no rate limit: target ≥ 0.8×
      the raw rate;
  (c) the same with `chat_rate` = 30: the rate it keeps, and the most messages in any one
      second (target ≤ 30).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from benchmarks.figures import Section

TEXT = ("<b>План-график НОКО 2025</b>\n\n<b>Скоро срок</b>\n"
        + "• <b>Пункт 1.2:</b> Анкетирование получателей услуг (МБОУ «Школа № 7»)\n   Срок: 11 октября 2025 г.\n" * 8)
BUTTON = ("Загрузить документы", "https://nok.example.org/u/region-2025/school-00007/abcdef")


def _messages(n: int):
    from notifiers import Message

    return [Message(to_address=f"telegram:{1000 + i}", to_name="", subject="", text="", html="", message_id="",
                    parts=(TEXT,), button=BUTTON) for i in range(n)]


async def _raw(api_url: str, token: str, n: int, workers: int) -> float:
    bodies = [{"chat_id": str(1000 + i), "text": TEXT, "link_preview_options": {"is_disabled": True},
               "parse_mode": "HTML", "reply_markup": {"inline_keyboard": [[{"text": BUTTON[0], "url": BUTTON[1]}]]}}
              for i in range(n)]
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(trust_env=False) as client:
        async def worker() -> None:
            while queue:
                response = await client.post(f"{api_url}/bot{token}/sendMessage", json=queue.pop())
                assert response.status_code == 200
        start = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(workers)])
        return time.perf_counter() - start


async def _ours(api_url: str, token: str, n: int, rate: float) -> tuple[float, list[float]]:
    from notifiers.bots import TelegramBot
    from notifiers.chat import ChatNotifier

    notifier = ChatNotifier(TelegramBot(token, api_url), rate, "html", (token,))
    stamps: list[float] = []

    async def record(index, outcome) -> bool:  # noqa: ANN001
        assert outcome.delivered, outcome.response
        stamps.append(time.perf_counter())
        return True

    start = time.perf_counter()
    await notifier.deliver(_messages(n), record)
    return time.perf_counter() - start, stamps


def _busiest_second(stamps: list[float]) -> int:
    stamps, best, first = sorted(stamps), 0, 0
    for last, t in enumerate(stamps):
        while t - stamps[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def sections(n: int, repeats: int) -> list[Section]:
    from notifiers.chat import WORKERS
    from tests.support.bot_stubs import telegram_stub

    section = Section("Messengers: digests to a bot API (issue 25)",
                      f"{n} one-part digests with a button to the local Telegram stub, {WORKERS} at once; "
                      "best of the runs. Both rates are bounded by the stub (uvicorn in a thread of this "
                      "process): the ratio is the figure")
    with telegram_stub() as tg:
        asyncio.run(_raw(tg.api_url, tg.token, min(n, 50), WORKERS))  # warm-up
        raw = min(asyncio.run(_raw(tg.api_url, tg.token, n, WORKERS)) for _ in range(repeats))
        ours = min(asyncio.run(_ours(tg.api_url, tg.token, n, 0))[0] for _ in range(repeats))
        limited_n = 90 if n >= 90 else max(n, 31)
        took, stamps = asyncio.run(_ours(tg.api_url, tg.token, limited_n, 30))
    section.add("raw httpx (baseline)", f"{n / raw:,.0f} msg/s")
    share = raw / ours
    section.add("ChatNotifier, no limit", f"{n / ours:,.0f} msg/s", baseline=f"{share:.2f}× raw",
                target="≥ 0.8× raw", met=share >= 0.8)
    busiest = _busiest_second(stamps)
    section.add("ChatNotifier, chat_rate 30", f"{limited_n / took:,.1f} msg/s, at most {busiest} in any second",
                target="≤ 30 msg/s", met=busiest <= 30)
    return [section]
