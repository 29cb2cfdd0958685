"""The two vector stores and the choice between them."""

from shortlist.embed.config import Settings
from shortlist.embed.store import VectorStore
from shortlist.embed.stores.edge import EdgeStore
from shortlist.embed.stores.qdrant_server import QdrantServerStore

__all__ = ["EdgeStore", "QdrantServerStore", "open_store"]


def open_store(settings: Settings, dimension: int, embedder_id: str | None = None) -> VectorStore:
    """The Qdrant server at ``SHORTLIST_QDRANT_URL`` when set, else Qdrant Edge under ``<state_dir>/vectors``.

    ``embedder_id`` is kept with the collections; ``start()`` refuses a store that holds another embedder's vectors.
    """
    if settings.qdrant_url:
        return QdrantServerStore(
            dimension, url=settings.qdrant_url, api_key=settings.qdrant_api_key, embedder_id=embedder_id
        )
    return EdgeStore(dimension, settings.state_path("vectors", "edge"), embedder_id=embedder_id)
