"""The model seam over HTTP: an OpenAI-compatible server generates instead of a GGUF loaded in-process.

Set LLM_BASE_URL to llama-cpp-python's server (`python -m bot.model_server`) or llama.cpp's llama-server.
Both keep the last prompt's evaluated tokens and reuse its longest shared prefix, so the article (the
system turn) is evaluated once per article, as in-process; a state file has no use here.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from bot.engine.llm import Message, Progress, Token
from bot.errors import ModelLoadError
from bot.settings import Settings

logger = logging.getLogger(__name__)

# Reading a whole article (up to N_CTX tokens) before the first byte takes up to a minute on 2 cores, and
# the server may be busy with another bot's question first.
TIMEOUT = httpx.Timeout(180.0, connect=5.0)
# Logprobs of the most likely first tokens: a token outside the top 20 has a probability under 1/21, far
# below the refusal threshold, and counts as 0.
TOP_LOGPROBS = 20
CHARS_PER_TOKEN = 3  # the estimate when the server cannot count tokens


class ServerModel:
    """A model behind LLM_BASE_URL; greedy (temperature 0, fixed seed) unless asked to draw, as LlamaModel."""

    def __init__(self, settings: Settings) -> None:
        assert settings.llm_base_url, "ServerModel needs LLM_BASE_URL"
        self._settings = settings
        self._base = settings.llm_base_url.rstrip("/")
        self._root = self._base.removesuffix("/v1")  # the servers' own endpoints (tokenize) sit there
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(headers=headers, timeout=TIMEOUT)
        self.name = self._base
        self._model_id: str | None = None
        self._last_system: str | None = None  # the system turn of the last prompt the server took from here
        self._first_tokens: dict[str, str | None] = {}
        self._counting: str | None = None  # which tokenize endpoint answers: "extras", "llama-server", "none"
        self._lean_off = False  # the server gave no logprobs once: it never will

    @property
    def context_size(self) -> int:
        return self._settings.n_ctx

    def load(self) -> ServerModel:
        """Check the server answers, and take the model's id from it."""
        try:
            listed = self._request("GET", f"{self._base}/models").json()
        except ValueError:
            raise self._failure("did not list its models: check that it ends in /v1") from None
        models = (listed.get("data") if isinstance(listed, dict) else None) or []
        if models and models[0].get("id"):
            self._model_id = self.name = str(models[0]["id"])
        return self

    # -- generating -----------------------------------------------------------------------------------

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        openings: Sequence[str] = (),
        temperature: float = 0.0,
        seed: int = 0,
    ) -> Iterator[Token]:
        """The reply, with the first token's probability only: llama_cpp.server sorts the whole vocabulary
        in Python for each token's logprobs (0.1 s a token on 2 cores). The first position's top logprobs
        come from a one-token request first; the reply's request then reuses its evaluated prompt."""
        top = self._first_position(messages) if openings else {}
        chances = tuple(self._chance(opening, top) for opening in openings)
        first = True
        drawn = {"temperature": temperature, "seed": seed} if temperature > 0 else {}
        for chunk in self._events(self._chat(messages, max_tokens=max_tokens, **drawn)):
            delta = (chunk.get("choices") or [{}])[0].get("delta") or {}
            if text := delta.get("content"):
                if first:
                    yield Token(text, math.exp(top[text]) if text in top else None, chances)
                else:
                    yield Token(text, None)
                first = False

    def next_token_probabilities(self, messages: list[Message], openings: Sequence[str]) -> list[float]:
        top = self._first_position(messages)
        return [self._chance(opening, top) for opening in openings]

    def _first_position(self, messages: list[Message]) -> dict[str, float]:
        """The top logprobs of the reply's first token; empty from a server that gives none."""
        if self._lean_off:
            return {}
        top = self._top_logprobs(messages)
        if top is None:
            self._lean_off = True
            logger.warning(
                "the model server at LLM_BASE_URL=%s gives no logprobs, so the refusal lean is off with it "
                "(the other checks still apply); llama_cpp.server gives them with --logits_all true",
                self._base,
            )
            return {}
        return top

    def _chance(self, opening: str, top: dict[str, float]) -> float:
        """The probability that the reply opens with the opening's first token (0 outside the top)."""
        if not top:
            return 0.0
        first = self._first_token(opening, top)
        return math.exp(top[first]) if first in top else 0.0

    def _top_logprobs(self, messages: list[Message]) -> dict[str, float] | None:
        """The reply's most likely first tokens and their logprobs; None if the server gives none."""
        # Streamed even for one token: llama_cpp.server then computes the logprobs of that token's row
        # only, where a plain reply computes them for every prompt token (a second or more per question).
        body = self._chat(messages, max_tokens=1, logprobs=True, top_logprobs=TOP_LOGPROBS)
        top: dict[str, float] | None = None
        try:
            for chunk in self._events(body):  # read to the end: a dropped stream is noise in the server's log
                content = ((chunk.get("choices") or [{}])[0].get("logprobs") or {}).get("content") or []
                if content and top is None:
                    top = {entry["token"]: entry["logprob"] for entry in content[0].get("top_logprobs", [])}
        except ModelLoadError as error:
            if isinstance(error.__cause__, httpx.TimeoutException):
                raise
            # llama_cpp.server without logits_all fails the request (or breaks off its stream); a server
            # that still answers then cannot give logprobs, one that does not is down.
            self._request("GET", f"{self._base}/models")
        return top or None

    def keep_prefix(
        self, messages: list[Message], state_file: Path | None, progress: Progress | None = None
    ) -> str:
        """Have the server evaluate the messages once (it keeps the last prompt's tokens), so a question
        pays only for its own; "kept" when the last prompt sent from here began with them already."""
        system = _system_turn(messages)
        if system is not None and system == self._last_system:
            return "kept"
        total = self.count_tokens("\n".join(message["content"] for message in messages)) if progress else 0
        if progress:
            progress(0, total)
        self._last_system = None
        self._request("POST", f"{self._base}/chat/completions", json=self._chat(messages, max_tokens=1))
        self._last_system = system
        if progress:
            progress(total, total)
        return "evaluated"

    # -- tokens ---------------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """The server's count (llama_cpp.server: /extras/tokenize/count, llama-server: /tokenize); an
        estimate when it has neither or does not answer, so an article is still read whole or in part."""
        try:
            if self._counting in (None, "extras"):
                count = self._helper(f"{self._root}/extras/tokenize/count", {"input": text})
                if count is not None:
                    self._counting = "extras"
                    return int(count["count"])
            if self._counting in (None, "llama-server"):
                tokens = self._helper(f"{self._root}/tokenize", {"content": text})
                if tokens is not None:
                    self._counting = "llama-server"
                    return len(tokens["tokens"])
        except ModelLoadError as error:
            logger.warning("%s; estimating %d characters a token", error, CHARS_PER_TOKEN)
            return len(text) // CHARS_PER_TOKEN
        if self._counting is None:
            self._counting = "none"
            logger.warning(
                "the model server at LLM_BASE_URL=%s cannot count tokens: estimating %d characters a token",
                self._base,
                CHARS_PER_TOKEN,
            )
        return len(text) // CHARS_PER_TOKEN

    def _first_token(self, opening: str, top: dict[str, float]) -> str:
        """The text of the opening's first token, from the server's tokenizer; without one, the longest of
        the top tokens the opening starts with."""
        if opening not in self._first_tokens:
            try:
                self._first_tokens[opening] = self._tokenize_first(opening)
            except ModelLoadError:
                return _longest_start(opening, top)  # asked again next time
        first = self._first_tokens[opening]
        return first if first is not None else _longest_start(opening, top)

    def _tokenize_first(self, text: str) -> str | None:
        pieces = self._helper(f"{self._root}/tokenize", {"content": text, "with_pieces": True})
        if pieces is not None and pieces.get("tokens") and isinstance(pieces["tokens"][0], dict):
            return str(pieces["tokens"][0]["piece"])  # llama-server
        tokens = self._helper(f"{self._root}/extras/tokenize", {"input": text})
        for token in (tokens or {}).get("tokens", [])[:2]:  # past a BOS some models add
            piece = self._helper(f"{self._root}/extras/detokenize", {"tokens": [token]})
            if piece and piece.get("text"):
                return str(piece["text"])
        return None

    # -- HTTP -----------------------------------------------------------------------------------------

    def _chat(self, messages: list[Message], *, max_tokens: int, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "seed": self._settings.seed,
            # llama_cpp.server penalizes repeats by default (1.1); in-process decoding does not.
            "repeat_penalty": 1.0,
            "cache_prompt": True,  # llama-server: reuse the evaluated prefix
            **extra,
        }
        if self._model_id:
            body["model"] = self._model_id
        return body

    def _events(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The chunks of a streamed reply (server-sent events)."""
        url = f"{self._base}/chat/completions"
        self._last_system = None
        try:
            with self._client.stream("POST", url, json={**body, "stream": True}) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._refused(response)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue  # comments (pings) and blank separators
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        return
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise self._failure(f"failed mid-reply: {_first_line(str(chunk['error']))}")
                    # A first chunk means the prompt was evaluated: the server now holds its prefix.
                    self._last_system = _system_turn(body["messages"])
                    yield chunk
        except httpx.HTTPError as error:
            raise self._unreachable(error) from error

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise self._unreachable(error) from error
        if response.status_code >= 400:
            raise self._refused(response)
        return response

    def _helper(self, url: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """A helper endpoint's answer (tokenizing), None where the server has no such endpoint."""
        try:
            response = self._client.post(url, json=body)
        except httpx.HTTPError as error:
            raise self._unreachable(error) from error
        if not response.is_success:
            return None
        try:
            answer = response.json()
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None

    def _failure(self, what: str) -> ModelLoadError:
        return ModelLoadError(f"the model server at LLM_BASE_URL={self._base} {what}")

    def _unreachable(self, error: httpx.HTTPError) -> ModelLoadError:
        if isinstance(error, httpx.TimeoutException) and not isinstance(error, httpx.ConnectTimeout):
            return self._failure(f"gave no answer within {TIMEOUT.read:.0f} s")
        reason = _first_line(str(error)) or type(error).__name__
        return ModelLoadError(
            f"cannot reach the model server at LLM_BASE_URL={self._base} ({reason}): start it, or unset "
            "LLM_BASE_URL to load the model in this process"
        )

    def _refused(self, response: httpx.Response) -> ModelLoadError:
        if response.status_code in (401, 403):
            return self._failure(f"refused the request ({response.status_code}): check LLM_API_KEY")
        try:
            detail = response.json()
            detail = detail.get("error", detail) if isinstance(detail, dict) else detail
            detail = detail.get("message", detail) if isinstance(detail, dict) else detail
        except ValueError:
            detail = response.text
        hint = " (LLM_BASE_URL usually ends in /v1)" if response.status_code == 404 else ""
        return self._failure(f"answered {response.status_code}: {_first_line(str(detail))[:200]}{hint}")


def _system_turn(messages: list[Message]) -> str | None:
    return messages[0]["content"] if messages and messages[0]["role"] == "system" else None


def _longest_start(opening: str, top: dict[str, float]) -> str:
    """Without the server's tokenizer: the longest of the top tokens that the opening starts with."""
    return max((token for token in top if token and opening.startswith(token)), key=len, default=opening)


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]
