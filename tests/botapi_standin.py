"""A small Telegram Bot API stand-in on 127.0.0.1 for end-to-end tests: it records every call.

It speaks enough of the Bot API for python-telegram-bot's Application to run against it over HTTP: getMe,
getUpdates (long polling, fed by `push`), sendMessage, sendMessageDraft, editMessageText, deleteMessage,
editMessageReplyMarkup, sendChatAction, answerInlineQuery, answerCallbackQuery, set/getMyCommands,
setWebhook/deleteWebhook (with a webhook set, updates are posted to it, or spread over `replicas` as a
load balancer would, retried until one takes them). Like Telegram, it rejects bad HTML, texts over 4096
characters, callback data over 64 bytes, bad inline results, late inline answers and unmodified edits, and
it can be told to answer the next calls of a method with 429 (retry_after) or to drop the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
INLINE_DEADLINE_S = 10.0
# Parameters sent as plain strings; every other parameter arrives JSON-encoded.
STRING_PARAMS = frozenset(
    {"text", "parse_mode", "inline_message_id", "callback_query_id", "inline_query_id", "action", "url"}
)
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji"}
)
_HTML_TOKEN = re.compile(r"<(/?)([a-zA-Z-]*)([^<>]*)>|&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class Call:
    """One Bot API request as the stand-in received it."""

    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The plain text Telegram would show, or ApiError for HTML that Telegram refuses."""
    plain: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _HTML_TOKEN.finditer(text):
        plain.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if match.group(2):
            closing, name = match.group(1), match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{name}"')
            if not closing:
                stack.append(name)
            elif not stack or stack.pop() != name:
                raise ApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{name}"')
        elif len(token) > 1:
            plain.append(html.unescape(token))
        else:
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected {token!r} at {match.start()}")
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: Can't find end tag \"{stack[-1]}\"")
    plain.append(text[position:])
    return "".join(plain)


def check_text(text: Any, parse_mode: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(text, str) or (not text.strip() and not allow_empty):
        raise ApiError(400, "Bad Request: message text is empty")
    plain = parse_html(text) if str(parse_mode).upper() == "HTML" else text
    if utf16_len(plain) > TEXT_LIMIT:
        raise ApiError(400, "Bad Request: message is too long")
    if not plain.strip() and not allow_empty:
        raise ApiError(400, "Bad Request: text must be non-empty")
    return plain


def check_markup(markup: Any) -> None:
    if not markup:
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if data is None and "url" not in button and "switch_inline_query" not in button:
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")


class BotApiStandIn:
    """The fake Telegram server. Tests push updates into it and read back `calls`."""

    def __init__(self, token: str, *, bot_id: int = 7000001, username: str = "articlebot_test_bot") -> None:
        self.token = token
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "Article Bot",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.inline_messages: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._inline_born: dict[str, float] = {}
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self.blocked: set[int] = set()  # chats whose user blocked the bot: every send there is a 403
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.downloads: list[str] = []  # the file paths fetched from /file/bot<token>/, in order
        self.admins: set[tuple[int, int]] = set()  # (chat_id, user_id) of group owners
        # Webhook mode: Telegram posts each update to the URL set, with the secret, and retries until
        # a 2xx. `replicas` stands for a load balancer in front of several bots: round robin, and a
        # replica that refuses the connection or fails is skipped for the next one.
        self.webhook: dict[str, Any] = {}
        self.replicas: list[str] = []
        self.deliveries: list[tuple[int, str, int]] = []  # (update_id, url, HTTP status or 0: refused)
        self._turn = itertools.count()
        self._delivering: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for task in self._delivering:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None  # stopped: a test may stop it early, then the fixture again

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- what tests drive ------------------------------------------------------------------------------

    async def push(self, update: dict[str, Any], *, to: int | str | None = None) -> dict[str, Any]:
        """Queue an update for getUpdates, or post it to the webhook (the update_id is assigned here) and
        return it. With replicas, `to` picks one (its index) or "all" of them, as a duplicated delivery."""
        update = {"update_id": next(self._update_ids), **update}
        if self.webhook:
            self._remember(update)
            task = asyncio.create_task(self._deliver(update, to))
            self._delivering.add(task)
            task.add_done_callback(self._delivering.discard)
            return update
        self._remember(update)
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update

    def _remember(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if message:
            self.messages[(message["chat"]["id"], message["message_id"])] = message
        if "inline_query" in update:
            self._inline_born[update["inline_query"]["id"]] = time.monotonic()

    async def _deliver(self, update: dict[str, Any], to: int | str | None, patience: float = 120.0) -> None:
        """Post the update until a replica takes it (2xx), as Telegram retries a failing webhook."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook.get("secret_token", "")}
        targets = self.replicas or [self.webhook["url"]]
        if to == "all":
            chosen = list(targets)
        else:
            chosen = [targets[(to if isinstance(to, int) else next(self._turn)) % len(targets)]]
        deadline = time.monotonic() + patience
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            for first in chosen:
                url = first
                while time.monotonic() < deadline:
                    try:
                        async with session.post(url, json=update, headers=headers) as response:
                            status = response.status
                    except aiohttp.ClientError:
                        status = 0
                    self.deliveries.append((update["update_id"], url, status))
                    if 200 <= status < 300:
                        break
                    url = targets[(targets.index(url) + 1) % len(targets)]  # the balancer tries another
                    await asyncio.sleep(0.2)

    def add_file(self, content: bytes, file_name: str, mime_type: str = "text/plain") -> dict[str, Any]:
        """Store an uploaded file; returns the `document` of a message carrying it."""
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = (f"documents/{file_id}/{file_name}", content)
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }

    def add_voice(self, content: bytes, duration: int, kind: str = "voice") -> dict[str, Any]:
        """Store a recording as Telegram does (voice/file_N.oga); returns the message's `voice` (or
        `audio`, `video_note`) object, whose duration Telegram measured."""
        file_id = f"file{len(self.files) + 1}"
        self.files[file_id] = (f"{kind}/{file_id}.oga", content)
        media: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "duration": duration}
        media["file_size"] = len(content)
        if kind == "video_note":
            return media | {"length": 384}
        return media | {"mime_type": "audio/ogg"}

    def new_message_id(self) -> int:
        return next(self._message_ids)

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        retry_after: int = 1,
        drop: bool = False,
        status: int | None = None,
        description: str = "Internal Server Error",
        delay: float = 0.0,
    ) -> None:
        """Fault injection for the next `times` calls of `method`: a 429 with retry_after (the default), a
        dropped connection, an error `status` with `description` (500, or 400 "Bad Request: message is not
        modified"...), or, with only `delay`, a slow but successful answer."""
        if drop:
            fault: dict[str, Any] = {"drop": True}
        elif status is not None:
            fault = {"status": status, "description": description}
        elif delay:
            fault = {}
        else:
            fault = {"status": 429, "description": f"Too Many Requests: retry after {retry_after}"}
            fault["parameters"] = {"retry_after": retry_after}
        self._failures.setdefault(method, []).extend([{**fault, "delay": delay}] * times)

    def reset_faults(self) -> None:
        """Forget faults not yet served and blocked chats, so one test's faults never reach the next."""
        self._failures.clear()
        self.blocked.clear()

    def ok_calls(self, method: str | None = None, **where: Any) -> list[Call]:
        """Successful calls, optionally of one method and with some parameters equal to given values."""
        return [
            call
            for call in self.calls
            if call.ok
            and (method is None or call.method == method)
            and all(call.params.get(key) == value for key, value in where.items())
        ]

    async def wait_for(
        self, predicate: Callable[[list[Call]], Any], *, timeout: float = 30.0, what: str = "a condition"
    ) -> Any:
        """Wait until predicate(calls) is truthy and return its value; fail after `timeout` seconds."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.calls)), timeout)
            except TimeoutError:
                methods = [call.method for call in self.calls]
                raise AssertionError(f"timed out waiting for {what}; calls so far: {methods}") from None
        return predicate(self.calls)

    # --- the HTTP side -----------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params)
        if request.match_info["token"] != self.token:
            return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        failures = self._failures.get(method)
        fault = failures.pop(0) if failures else None
        if fault and fault["delay"]:
            await asyncio.sleep(fault["delay"])
        if fault and fault.get("drop"):
            await self._record(call, 599)
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if fault and "status" in fault:
            body = {"ok": False, "error_code": fault["status"], "description": fault["description"]}
            if "parameters" in fault:
                body["parameters"] = fault["parameters"]
            await self._record(call, fault["status"])
            return self._reply(fault["status"], body)
        if method.startswith(("send", "edit")) and int(params.get("chat_id") or 0) in self.blocked:
            await self._record(call, 403)
            return self._reply(
                403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            )
        handler = getattr(self, "_api_" + method, None)
        if handler is None:
            await self._record(call, 404)
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        try:
            if method == "getUpdates":
                result = await handler(params)
            else:
                result = handler(params)
        except ApiError as error:
            await self._record(call, error.code)
            body = {"ok": False, "error_code": error.code, "description": error.description}
            return self._reply(error.code, body)
        await self._record(call, 200, result)
        return self._reply(200, {"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            if not isinstance(value, str) or key in STRING_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    async def _record(self, call: Call, status: int, result: Any = None) -> None:
        call.status, call.result = status, result
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    @staticmethod
    def _reply(status: int, body: dict[str, Any]) -> web.Response:
        return web.json_response(body, status=status)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        wanted = request.match_info["path"]
        for file_path, content in self.files.values():
            if file_path == wanted:
                self.downloads.append(file_path)
                return web.Response(body=content)
        return web.Response(status=404)

    # --- the methods -------------------------------------------------------------------------------------

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        file_path, content = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": file_path,
        }

    def _api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if (chat_id, user_id) in self.admins:
            return {"status": "creator", "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        secret = str(params.get("secret_token") or "")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = {"url": str(params["url"]), "secret_token": secret}
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands[params.get("language_code", "")] = params["commands"]
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(params.get("language_code", ""), [])

    def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        async with self._changed:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
            if not self._updates and timeout:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates)), timeout)
            return list(self._updates[: int(params.get("limit") or 100)])

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        check_text(params.get("text"), params.get("parse_mode"))
        check_markup(params.get("reply_markup"))
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        missing = reply_to is not None and (chat_id, reply_to) not in self.messages
        if missing and not params["reply_parameters"].get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        message = {
            "message_id": self.new_message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self.bot_user,
            "text": params["text"],
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if (chat_id, reply_to) in self.messages:
            message["reply_to_message"] = self.messages[(chat_id, reply_to)]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        if self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _api_sendMessageDraft(self, params: dict[str, Any]) -> bool:
        if int(params["chat_id"]) <= 0:
            raise ApiError(400, "Bad Request: drafts can be sent only to private chats")
        if not int(params.get("draft_id") or 0):
            raise ApiError(400, "Bad Request: draft_id must be non-zero")
        check_text(params.get("text") or "", params.get("parse_mode"), allow_empty=True)
        return True

    def _edit_target(self, params: dict[str, Any]) -> dict[str, Any]:
        if "inline_message_id" in params:
            return self.inline_messages.setdefault(params["inline_message_id"], {"text": None})
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        check_text(params.get("text"), params.get("parse_mode"))
        check_markup(params.get("reply_markup"))
        target = self._edit_target(params)
        if target.get("text") == params["text"] and target.get("reply_markup") == params.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        target["text"] = params["text"]
        target["reply_markup"] = params.get("reply_markup")
        return True if "inline_message_id" in params else target

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        check_markup(params.get("reply_markup"))
        target = self._edit_target(params)
        target["reply_markup"] = params.get("reply_markup")
        return True if "inline_message_id" in params else target

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _api_answerInlineQuery(self, params: dict[str, Any]) -> bool:
        born = self._inline_born.get(params["inline_query_id"])
        if born is None or time.monotonic() - born > INLINE_DEADLINE_S:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        results = params.get("results") or []
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [result.get("id", "") for result in results]
        if len(set(ids)) != len(ids) or any(not 1 <= len(i.encode("utf-8")) <= 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            content = result.get("input_message_content") or {}
            check_text(content.get("message_text"), content.get("parse_mode"))
            check_markup(result.get("reply_markup"))
        return True
