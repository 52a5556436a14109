"""deploy/: the compose file, the image and the proxy, read statically (Docker cannot run here).

Each piece is checked against the code it starts: the replicas' environment is read by the real `Settings`,
their command by the real CLI parser, the model server's by `server_args` and then llama_cpp.server's own
parser; hosts and ports are checked against the services and commands that serve them."""

from __future__ import annotations

import argparse
import re
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from bot import paths
from bot.cli import build_parser, cmd_run
from bot.model_server import server_args
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
CADDYFILE = DEPLOY / "Caddyfile"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# What `docker compose --env-file .env` would read from .env: the values the file requires.
DOTENV = {
    "PUBLIC_HOST": "bot.example.org",
    "WEBHOOK_SECRET": "replica-secret_1",
    "TELEGRAM_BOT_TOKEN": "123456:test-token",
}
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


# -- Compose's variable interpolation -----------------------------------------------------------------

_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?+])([^}]*))?\}|\$(\w+)")


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, $VAR and
    $$, over every string of the loaded file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1) or match.group(4), match.group(2), match.group(3)
        present, given = name in env, env.get(name, "")
        if operator in (":?", "?") and not (given if operator == ":?" else present):
            raise MissingVariable(f"{name}: {argument}")
        if operator == ":-":
            return given or argument
        if operator == "-":
            return given if present else argument
        if operator in (":+", "+"):
            return argument if (given if operator == ":+" else present) else ""
        return given

    return _VARIABLE.sub(one, value)


def load_compose(env: dict[str, str] = DOTENV) -> dict[str, Any]:
    return interpolate(yaml.safe_load(COMPOSE.read_text()), env)


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return load_compose()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    given = service.get("environment") or {}
    if isinstance(given, list):
        given = dict(item.split("=", 1) for item in given)
    return {name: str(value) for name, value in given.items()}


def bots(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: service for name, service in services.items() if service.get("command", [""])[0] == "articlebot"
    }


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Each mount's target, with its source (short syntax: source:target[:mode])."""
    return {volume.split(":")[1]: volume.split(":")[0] for volume in service.get("volumes", [])}


def healthcheck_url(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    compile(test[3], "healthcheck", "exec")  # the probe is valid Python
    return re.search(r"https?://[^'\"]+", test[3]).group(0)


# -- The replicas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOTENV))
def test_compose_refuses_to_start_without_the_public_host_and_the_secrets(name):
    with pytest.raises(MissingVariable, match=name):
        load_compose({key: value for key, value in DOTENV.items() if key != name})
    with pytest.raises(MissingVariable, match=name):
        load_compose({**DOTENV, name: ""})


def test_two_replicas_configured_alike(services):
    replicas = bots(services)
    assert len(replicas) == 2, sorted(replicas)
    first, second = replicas.values()
    for key in ("image", "command", "environment", "env_file"):
        assert first.get(key) == second.get(key), key
    env = environment(first)
    assert env["WEBHOOK_SECRET"] == DOTENV["WEBHOOK_SECRET"]
    assert env["TELEGRAM_BOT_TOKEN"] == DOTENV["TELEGRAM_BOT_TOKEN"]
    assert env["WEBHOOK_LISTEN"] == "0.0.0.0", (
        "behind the proxy, a replica listens on its container's address"
    )
    assert (COMPOSE.parent / first["env_file"]).resolve() == ROOT / ".env", "the repository's .env"


def test_replicas_reach_services_defined_here(services):
    env = environment(next(iter(bots(services).values())))

    redis = urlsplit(env["REDIS_URL"])
    assert redis.scheme == "redis" and redis.hostname in services
    assert redis.port == 6379 and "--port" not in services[redis.hostname]["command"]

    chroma = services[env["CHROMA_HOST"]]
    assert chroma["command"][:2] == ["chroma", "run"]
    assert option(chroma["command"], "--port") == env["CHROMA_PORT"]
    assert option(chroma["command"], "--host") == "0.0.0.0"

    llm = urlsplit(env["LLM_BASE_URL"])
    assert llm.scheme == "http" and llm.path == "/v1", env["LLM_BASE_URL"]
    model = services[llm.hostname]
    assert model["command"][:3] == ["python", "-m", "bot.model_server"]
    assert option(model["command"], "--port") == str(llm.port)
    assert environment(model)["N_CTX"] == env["N_CTX"], "the bots lay out prompts for the server's context"


@pytest.mark.parametrize("kind", ["bot", "model"])
def test_environment_is_settings_the_code_reads(services, monkeypatch, kind):
    """Every variable given to a replica or to the model server is a setting, and the values validate: read by
    the real Settings from the environment, as in the container (which has no .env file of its own)."""
    service = next(iter(bots(services).values())) if kind == "bot" else services["model"]
    env = environment(service)
    assert set(env) <= SETTING_NAMES, f"not settings: {sorted(set(env) - SETTING_NAMES)}"
    assert not {"HOST", "PORT"} & set(env), "uvicorn would take these over the model server's arguments"
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    for name, value in env.items():
        read = getattr(settings, name.lower())
        read = read.get_secret_value() if hasattr(read, "get_secret_value") else read
        assert str(read) == value, name


def test_replica_command_parses_with_the_cli(services):
    command = next(iter(bots(services).values()))["command"]
    assert PYPROJECT["project"]["scripts"][command[0]] == "bot.cli:main"
    webhook = f"https://{DOTENV['PUBLIC_HOST']}/telegram"
    try:
        args = build_parser().parse_args(command[1:])
    except SystemExit:
        pytest.fail(f"`{' '.join(command)}` is refused by bot.cli's parser (is `run --webhook` there yet?)")
    assert args.func is cmd_run
    assert webhook in vars(args).values(), vars(args)


# -- The model server and the store ---------------------------------------------------------------------


def test_model_server_command_is_accepted_by_server_args_and_llama_cpp_server(
    services, monkeypatch, tmp_path
):
    from llama_cpp.server.cli import add_args_from_model
    from llama_cpp.server.settings import Settings as ServerSettings

    model = services["model"]
    command, env = model["command"], environment(model)
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # A model path given, so that no GGUF is assembled: the rest of the settings as the container reads them.
    gguf = tmp_path / "model.gguf"
    args = server_args(command[3:], Settings(_env_file=None, model_path=gguf))

    parser = argparse.ArgumentParser()  # as llama_cpp.server.__main__ builds it
    add_args_from_model(parser, ServerSettings)
    parser.add_argument("--config_file")
    parsed = parser.parse_args(args)
    assert parsed.model == str(gguf)
    assert parsed.host == "0.0.0.0"
    assert parsed.port == int(option(command, "--port"))
    assert parsed.n_ctx == int(env["N_CTX"]) and parsed.n_threads == int(env["N_THREADS"])
    assert parsed.logits_all is True and parsed.interrupt_requests is False


def test_state_lives_in_declared_volumes(services):
    declared = set(load_compose()["volumes"])
    redis, chroma, model = services["redis"], services["chroma"], services["model"]
    assert redis["image"] == "redis:7"
    assert option(redis["command"], "--appendonly") == "yes"
    assert mounts(redis)["/data"] in declared
    assert mounts(chroma)[option(chroma["command"], "--path")] in declared
    assert mounts(model)[environment(model)["MODEL_CACHE_DIR"]] in declared


# -- Start order and health -----------------------------------------------------------------------------


def test_bots_start_after_healthy_redis_chroma_and_model(services):
    first = next(iter(bots(services)))
    for name, bot in bots(services).items():
        conditions = {dependency: rule["condition"] for dependency, rule in bot["depends_on"].items()}
        # The first start indexes the default article into the shared Chroma: the others wait for it.
        waits_for = ("redis", "chroma", "model") if name == first else ("redis", "chroma", "model", first)
        assert conditions == dict.fromkeys(waits_for, "service_healthy"), name
        for dependency in conditions:
            assert services[dependency]["healthcheck"]["test"], f"{dependency} has no healthcheck"


def test_healthchecks_probe_what_each_service_serves(services):
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]

    chroma = urlsplit(healthcheck_url(services["chroma"]))
    assert chroma.path == "/api/v2/heartbeat"
    assert str(chroma.port) == option(services["chroma"]["command"], "--port")

    model = urlsplit(healthcheck_url(services["model"]))
    assert model.path == "/v1/models"
    assert str(model.port) == option(services["model"]["command"], "--port")

    for name, bot in bots(services).items():
        probe = bot["healthcheck"]["test"]
        compile(probe[3], "healthcheck", "exec")
        assert f"('127.0.0.1', {environment(bot)['WEBHOOK_PORT']})" in probe[3], name


# -- The proxy ------------------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] = field(default_factory=list)


def parse_caddyfile(text: str) -> list[Directive]:
    """The Caddyfile's directives, one per line, with their blocks (enough for the file here)."""
    top: list[Directive] = []
    stack = [top]
    for line in text.splitlines():
        words = re.sub(r"(^|\s)#.*$", "", line).split()
        if words == ["}"]:
            stack.pop()
        elif words:
            opens = words[-1] == "{"
            directive = Directive(words[0], words[1:-1] if opens else words[1:])
            stack[-1].append(directive)
            if opens:
                stack.append(directive.block)
    assert len(stack) == 1, "unbalanced braces"
    return top


def walk(directives: list[Directive]) -> list[Directive]:
    return [found for one in directives for found in (one, *walk(one.block))]


def test_only_the_proxy_publishes_ports(services):
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    assert published == {"proxy": ["80:80", "443:443"]}
    proxy = services["proxy"]
    assert proxy["image"] == "caddy:2"
    assert (COMPOSE.parent / mounts(proxy)["/etc/caddy/Caddyfile"]).resolve() == CADDYFILE


def test_caddyfile_serves_the_webhook_url_over_both_replicas(services):
    sites = parse_caddyfile(CADDYFILE.read_text())
    webhook = urlsplit(option(next(iter(bots(services).values()))["command"], "--webhook"))
    assert webhook.scheme == "https" and webhook.port is None, "Telegram posts to 443, where the proxy is"

    # The site is PUBLIC_HOST, taken from the proxy's environment, the same host as the webhook URL's.
    placeholders = set(re.findall(r"\{\$(\w+)\}", CADDYFILE.read_text()))
    assert placeholders <= set(environment(services["proxy"]))
    [site] = sites
    assert site.name == "{$PUBLIC_HOST}"
    assert environment(services["proxy"])["PUBLIC_HOST"] == webhook.hostname

    # The webhook path, and only it, goes to the replicas: each by its service name and WEBHOOK_PORT.
    proxies = [directive for directive in walk(site.block) if directive.name == "reverse_proxy"]
    assert len(proxies) == 1
    [handle] = [one for one in site.block if proxies[0] in one.block]
    assert handle.name == "handle" and handle.args == [webhook.path]
    upstreams = set(proxies[0].args)
    assert upstreams == {f"{name}:{environment(bot)['WEBHOOK_PORT']}" for name, bot in bots(services).items()}

    options = {one.name: one.args for one in proxies[0].block}
    assert options["lb_policy"] == ["round_robin"]
    # Fail-over: a replica that cannot be reached is skipped within the request, and left out a while.
    for name in ("lb_try_duration", "fail_duration"):
        assert re.fullmatch(r"[1-9]\d*(ms|s|m)", options[name][0]), name


# -- The image ------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_every_python_service_runs_the_one_image(services):
    built = {name: service for name, service in services.items() if "build" in service}
    assert set(built) == {*bots(services), "chroma", "model"}
    for name, service in built.items():
        assert service["image"] == "articlebot:local", name
        assert (COMPOSE.parent / service["build"]["context"]).resolve() == ROOT, name
        assert ROOT / service["build"]["dockerfile"] == DOCKERFILE, name


def test_dockerfile_installs_the_lock_then_the_code():
    steps = dockerfile_instructions()
    base = next(argument for instruction, argument in steps if instruction == "FROM")
    assert base == "python:3.11-slim"
    assert "3.11" in SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert any(i == "RUN" and "build-essential" in a and "cmake" in a for i, a in steps)
    assert ("WORKDIR", "/app") in steps

    order = [i for i, (instruction, argument) in enumerate(steps) if instruction in ("COPY", "RUN")]
    copy_lock = steps.index(("COPY", "pyproject.toml uv.lock ./"))
    copy_code = steps.index(("COPY", ". ."))
    syncs = [i for i in order if steps[i][0] == "RUN" and "uv sync" in steps[i][1]]
    assert copy_lock < syncs[0] < copy_code < syncs[-1], "dependencies from the lock before the code"
    for i in syncs:
        assert {"--frozen", "--no-dev", "--all-extras"} <= set(steps[i][1].split())
    assert "uv" in next(a for i, a in steps if i == "RUN" and "pip install" in a)
    assert any(i == "ENV" and a.startswith("PATH=/app/.venv/bin:") for i, a in steps)


def test_secrets_stay_out_of_the_image_and_of_other_services(services):
    assert not re.search(r"TELEGRAM_BOT_TOKEN|WEBHOOK_SECRET", DOCKERFILE.read_text())
    raw = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in bots(services):
        assert environment(raw[name])["TELEGRAM_BOT_TOKEN"].startswith("${"), "from .env, not written here"
    for name, service in services.items():
        if name not in bots(services):
            assert "env_file" not in service, name
            assert not {"TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET"} & set(environment(service)), name


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts, ignored = path.split("/"), False
    for pattern in patterns:
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!").strip("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        candidates = [pattern, pattern.removeprefix("**/")] if pattern.startswith("**/") else [pattern]
        if any(fnmatch(prefix, candidate) for prefix in prefixes for candidate in candidates):
            ignored = not negated
    return ignored


def test_dockerignore_keeps_what_the_image_needs_and_drops_the_rest():
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and line[0] != "#"
    ]
    wheel = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {
        "pyproject.toml",
        "uv.lock",
        PYPROJECT["project"]["readme"],
        *wheel["packages"],
        *wheel["force-include"],
        "bot/cli.py",
        "bot/model_server.py",
        *(
            str(path.relative_to(paths.PROJECT_ROOT))
            for path in (paths.PROMPTS_DIR, paths.BUNDLED_ARTICLE, paths.EVAL_SET, paths.PUBLIC_SETS)
        ),
    }
    for path in sorted(needed):
        assert (ROOT / path).exists(), path
        assert not dockerignored(path, patterns), f"{path} is needed in the image"
    for path in (".env", ".venv", ".git", "var", "var/models/x.gguf", "bot/__pycache__/cli.cpython-311.pyc"):
        assert dockerignored(path, patterns), f"{path} must stay out of the image"
