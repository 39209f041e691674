"""Upload-link tokens and the store's secret key."""

from __future__ import annotations

import multiprocessing

import pytest

from nok_workflow import tokens


def _read_key(home, queue):
    queue.put(tokens.secret(home))


@pytest.mark.slow
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


def test_a_short_or_empty_key_is_refused_with_how_to_make_one(tmp_path, monkeypatch):
    import pytest

    from nok_workflow.problems import InputError

    monkeypatch.setenv("NOK_SECRET", "a")
    with pytest.raises(InputError) as refused:
        tokens.secret(tmp_path)
    assert str(refused.value.problems[0]).startswith("NOK_SECRET: секрет короче 32 байт (1)")
    assert "secrets.token_hex(32)" in str(refused.value.problems[0])
    monkeypatch.delenv("NOK_SECRET")
    for content in ("", "   \n", "short"):
        (tmp_path / "secret.key").write_text(content, encoding="utf-8")
        (tmp_path / "secret.key").chmod(0o600)
        with pytest.raises(InputError) as refused:
            tokens.secret(tmp_path)
        assert "ключ пуст или короче 32 байт" in str(refused.value.problems[0])
    assert (tmp_path / "secret.key").read_text(encoding="utf-8") == "short"  # nothing overwritten


def test_a_key_readable_by_others_is_repaired_to_0600(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("NOK_SECRET", raising=False)
    key = tokens.secret(tmp_path)
    path = tmp_path / "secret.key"
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with caplog.at_level("WARNING", logger="nok"):
        assert tokens.secret(tmp_path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert "стали 0600" in caplog.text


@pytest.mark.slow
def test_cli_with_a_short_secret_fails_cleanly(tmp_path):
    from tests.support.cli import run_nok

    result = run_nok("outbox", "dispatch", env={"NOK_HOME": str(tmp_path / ".nok"), "NOK_DATABASE_URL": "",
                                                "NOK_SECRET": "12345"})
    assert result.returncode == 1 and "NOK_SECRET: секрет короче 32 байт (5)" in result.stderr
    assert "Traceback" not in result.stderr
