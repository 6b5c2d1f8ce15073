"""Assistant de stratégie territoriale: grounded answers on a territory's documents and a guided method."""

__version__ = "0.1.0"
__all__ = ["Assistant", "Settings"]


def __getattr__(name: str):
    # Lazy: importing the package must stay cheap (the CLI's --help does not load chromadb or llama.cpp).
    if name == "Assistant":
        from .core import Assistant
        return Assistant
    if name == "Settings":
        from .config import Settings
        return Settings
    raise AttributeError(name)
