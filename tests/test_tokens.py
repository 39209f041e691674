"""Upload-link tokens and the store's secret key."""

from __future__ import annotations

import multiprocessing

from nok_workflow import tokens


def _read_key(home, queue):
    queue.put(tokens.secret(home))


def test_processes_starting_at_once_share_one_whole_key(tmp_path, monkeypatch):
    monkeypatch.delenv("NOK_SECRET", raising=False)
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, as separate `nok` processes are
    queue = ctx.Queue()
    workers = [ctx.Process(target=_read_key, args=(tmp_path, queue)) for _ in range(8)]
    for w in workers:
        w.start()
    keys = [queue.get(timeout=30) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    assert len(set(keys)) == 1
    assert len(keys[0]) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


def test_token_is_stable_and_depends_on_plan_person_and_key():
    key = b"k" * 32
    first = tokens.upload_token(key, "plan", "ivanov")
    assert first == tokens.upload_token(key, "plan", "ivanov")
    assert first != tokens.upload_token(key, "plan", "petrov")
    assert first != tokens.upload_token(key, "other", "ivanov")
    assert first != tokens.upload_token(b"x" * 32, "plan", "ivanov")
    assert tokens.upload_link("http://h/", key, "plan", "ivanov") == f"http://h/u/plan/ivanov/{first}"
