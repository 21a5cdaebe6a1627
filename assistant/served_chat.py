"""The served backends: LangChain's ChatOllama and ChatOpenAI, with Dyag's load-time checks.

Both talk to a server the user runs. Loading asks the server once (its model list), so an
unreachable host, a wrong key or a model that was never pulled fails at load time with a
message that says what to run or set — not in the middle of an answer.
"""

from __future__ import annotations

import logging

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


def load_openai(settings: Settings) -> BaseChatModel:
    try:
        import openai
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise BackendError("The OpenAI-compatible backend needs langchain-openai: pip install 'dyag[serve]'.") from None

    model = ChatOpenAI(
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
        raise BackendError(
            f"Cannot reach the OpenAI-compatible endpoint at {settings.openai_base_url}. Start the server, "
            "or set openai_base_url (DYAG_OPENAI_BASE_URL) to its address (ending in /v1)."
        ) from exc
    except openai.AuthenticationError as exc:
        raise BackendError(
            f"The endpoint at {settings.openai_base_url} refused the API key: set openai_api_key (DYAG_OPENAI_API_KEY)."
        ) from exc
    except openai.APIStatusError as exc:
        log.debug("%s/models answered %s; not checking the model list.", settings.openai_base_url, exc.status_code)
    return model
