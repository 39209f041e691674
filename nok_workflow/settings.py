"""Settings from the environment (NOK_*): where the store lives, limits, delivery."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOK_", extra="ignore")

    home: Path = Path(".nok")
    database_url: str | None = None
    evidence_max_bytes: int = 50 * 1024 * 1024
    sqlite_busy_ms: int = 30_000  # how long a writer waits for SQLite's lock before failing
    work_pool: str = "nok-process"  # the Prefect work pool of deployments (scale-out)
    serve_host: str = "127.0.0.1"
    serve_port: int = 8470
    # Email: without NOK_SMTP_HOST messages are written as .eml files under NOK_HOME/outbox.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_ca_file: Path | None = None  # a CA to trust (e.g. a self-signed server certificate)
    smtp_timeout: float = 30.0
    smtp_connections: int = 4
    mail_from: str = "nok-workflow <nok@localhost>"
    # Messengers: a bot's token turns its channel on. Tokens are secrets: never logged, shown,
    # put in an error message or copied into a Prefect deployment.
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    max_token: SecretStr | None = None
    # dev.max.ru: requests go to platform-api2.max.ru, whose certificate is issued by the
    # Russian Trusted Root CA (Минцифры): trusted by the system, or given here as a PEM file.
    max_api_url: str = "https://platform-api2.max.ru"
    chat_ca_file: Path | None = None  # a CA to trust besides the system's, for the messengers' APIs
    chat_rate: float = 30.0  # messages a second to one messenger's API, at most
    base_url: str = "http://127.0.0.1:8470"
    # Web app
    link_grace_days: int = 90  # upload links work until the plan's period ends plus this
    session_hours: int = 12  # a coordinator's sign-in lasts this long
    login_link_minutes: int = 20
    # Host names the web app answers to (comma-separated); besides these, the host of
    # NOK_BASE_URL, localhost and 127.0.0.1. Anything else is refused (DNS rebinding).
    allowed_hosts: str = ""

    def hosts(self) -> set[str]:
        from urllib.parse import urlparse

        own = urlparse(self.base_url).hostname
        named = {h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()}
        return named | {"localhost", "127.0.0.1", "[::1]"} | ({own.lower()} if own else set())

    @property
    def url(self) -> str:
        """PostgreSQL when NOK_DATABASE_URL says so; else a SQLite file under NOK_HOME."""
        # An empty NOK_DATABASE_URL means the default, as an unset one does.
        return self.database_url or f"sqlite:///{(self.home / 'nok.db').resolve()}"

    def store_url(self) -> str:
        """The URL to connect to; for the embedded SQLite file, NOK_HOME is created first."""
        if self.embedded:
            self.home.mkdir(parents=True, exist_ok=True)
        return self.url

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def evidence_dir(self) -> Path:
        return self.home / "evidence"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"
