"""The served backends: LangChain's ChatOllama and ChatOpenAI, with Dyag's load-time checks.

Both talk to a server the user runs. Loading asks the server once (its model list), so an
unreachable host, a wrong key or a model that was never pulled fails at load time with a
message that says what to run or set — not in the middle of an answer. An OpenAI-compatible
server lost later, mid-answer, is the same :class:`BackendError`, not a client traceback.
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from typing import Any, Iterator

from langchain_core.language_models import BaseChatModel

from assistant.chat_common import BackendError
from core.config import Settings

log = logging.getLogger(__name__)


def load_ollama(settings: Settings) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise BackendError("The Ollama backend needs langchain-ollama: pip install 'dyag[serve]'.") from None

    try:
        # validate_model_on_init asks the server for its model list: an unreachable host or a model
        # that was never pulled/created fails here, with a message, rather than mid-answer.
        return ChatOllama(
            model=settings.generator_model,
            base_url=settings.ollama_host,
            temperature=settings.temperature,
            num_predict=settings.max_new_tokens,
            validate_model_on_init=True,
        )
    except (ValueError, ConnectionError) as exc:
        # langchain-ollama turns most failures into ValueError, but lets the ollama client's own
        # ConnectionError (raised for an unreachable host) through.
        cause = str(exc)
        if isinstance(exc, ConnectionError) or "Failed to connect" in cause:
            raise BackendError(
                f"Cannot reach the Ollama server at {settings.ollama_host}. Start it with `ollama serve`, "
                "or set ollama_host (DYAG_OLLAMA_HOST) to the address of a running server."
            ) from exc
        if "not found" in cause:
            raise BackendError(
                f"The Ollama server at {settings.ollama_host} has no model {settings.generator_model!r}. "
                f"Run `ollama pull {settings.generator_model}` (or `ollama create` with the Modelfile of "
                "`dyag export --format ollama`), or set generator_model to a model it serves."
            ) from exc
        raise BackendError(f"The Ollama server at {settings.ollama_host} answered with an error: {cause}") from exc


def _unreachable(base_url: str) -> str:
    return (
        f"Cannot reach the OpenAI-compatible endpoint at {base_url}. Start the server, "
        "or set openai_base_url (DYAG_OPENAI_BASE_URL) to its address (ending in /v1)."
    )


@contextmanager
def _connection_errors_as_backend_errors(base_url: str) -> Iterator[None]:
    import openai

    try:
        yield
    except openai.APIConnectionError as exc:
        raise BackendError(_unreachable(base_url)) from exc


@functools.cache
def _chat_openai_class() -> type[BaseChatModel]:
    """ChatOpenAI as self-hosted servers need it: the token limit under both of its names, and a
    server lost mid-answer as a BackendError saying what to do, as at load time.

    Built on first use: langchain-openai is an optional dependency.
    """
    from langchain_openai import ChatOpenAI

    class ServedChatOpenAI(ChatOpenAI):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            with _connection_errors_as_backend_errors(str(self.openai_api_base)):
                return super()._generate(*args, **kwargs)

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            with _connection_errors_as_backend_errors(str(self.openai_api_base)):
                yield from super()._stream(*args, **kwargs)

        def _get_request_payload(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            payload: dict[str, Any] = super()._get_request_payload(*args, **kwargs)
            # LangChain sends only max_completion_tokens, which llama-cpp-python's server (and other
            # self-hosted ones) ignore: generation then runs to the end of the context. Both are sent.
            if "max_completion_tokens" in payload:
                payload.setdefault("max_tokens", payload["max_completion_tokens"])
            return payload

    return ServedChatOpenAI


def load_openai(settings: Settings) -> BaseChatModel:
    try:
        import openai

        chat_openai = _chat_openai_class()
    except ImportError:
        raise BackendError("The OpenAI-compatible backend needs langchain-openai: pip install 'dyag[serve]'.") from None

    model = chat_openai(
        model=settings.generator_model,
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        temperature=settings.temperature,
        max_tokens=settings.max_new_tokens,
    )
    # One cheap request now (no retries) turns "server down" and "bad key" into a clear message at
    # load time; servers that do not implement /models are accepted as they are.
    try:
        model.root_client.with_options(max_retries=0, timeout=10).models.list()
    except openai.APIConnectionError as exc:
        raise BackendError(_unreachable(settings.openai_base_url)) from exc
    except openai.AuthenticationError as exc:
        raise BackendError(
            f"The endpoint at {settings.openai_base_url} refused the API key: set openai_api_key (DYAG_OPENAI_API_KEY)."
        ) from exc
    except openai.APIStatusError as exc:
        log.debug("%s/models answered %s; not checking the model list.", settings.openai_base_url, exc.status_code)
    return model
