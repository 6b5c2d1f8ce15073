"""Vector store: the only importer of chromadb. One collection per project, vectors keyed by chunk id.

Chroma is embedded (``PersistentClient`` in the data directory) by default, or a ``chroma run`` server
through ``HttpClient`` by configuration. We always pass our own vectors: Chroma's default embedding
function downloads a model at first use, which fails offline.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from .config import StoreSettings
from .errors import StoreError

# Must be set before chromadb is imported anywhere: no telemetry, ever.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def collection_name(project: str) -> str:
    """Chroma names allow [a-zA-Z0-9._-], 3–512 chars: a readable slug plus a hash keeps projects apart."""
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", project).strip("-").lower()[:40] or "projet"
    return f"p-{slug}-{hashlib.sha256(project.encode()).hexdigest()[:10]}"


class VectorStore:
    def __init__(self, settings: StoreSettings, path: Path) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        self.description: str
        try:
            if settings.mode == "http":
                self._client = chromadb.HttpClient(host=settings.host, port=settings.port, settings=chroma_settings)
                self._client.heartbeat()
                self.description = f"serveur Chroma http://{settings.host}:{settings.port}"
            else:
                Path(path).mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
                self.description = f"Chroma embarqué ({path})"
        except Exception as e:
            where = f"{settings.host}:{settings.port}" if settings.mode == "http" else str(path)
            raise StoreError(f"Impossible d'ouvrir la base vectorielle ({where}) : {e}",
                             fix="vérifiez ASSISTANT_STORE__MODE / HOST / PORT, ou les droits sur le dossier de données") from e
        self._collections: dict[str, object] = {}

    def _collection(self, project: str):
        if project not in self._collections:
            try:
                self._collections[project] = self._client.get_or_create_collection(
                    name=collection_name(project), embedding_function=None,
                    metadata={"project": project, "hnsw:space": "cosine"})
            except Exception as e:
                raise StoreError(f"Collection du projet « {project} » inaccessible : {e}",
                                 fix="relancez ; si l'erreur persiste, ré-indexez le projet") from e
        return self._collections[project]

    def _call(self, what: str, project: str, op):
        """Run ``op(collection)``; a failure becomes a StoreError that says where the store is and what to do.

        Another worker sharing the Chroma server may have deleted (and re-created) the project's collection since we
        cached it: the operation is retried once on a fresh handle.
        """
        from chromadb.errors import NotFoundError

        for attempt in (1, 2):
            try:
                return op(self._collection(project))
            except StoreError:
                raise
            except NotFoundError as e:
                self._collections.pop(project, None)
                if attempt == 2:
                    raise self._error(what, e) from e
            except Exception as e:
                raise self._error(what, e) from e

    def _error(self, what: str, e: Exception) -> StoreError:
        return StoreError(f"Base vectorielle ({self.description}) : {what} impossible ({type(e).__name__} : "
                          f"{str(e)[:160]})",
                          fix="vérifiez que le serveur Chroma répond et l'espace disque, puis relancez ; "
                              "l'indexation reprend où elle s'est arrêtée")

    def add(self, project: str, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        if not ids:
            return
        self._call("écriture", project, lambda col: col.upsert(ids=ids, embeddings=vectors.tolist(),
                                                                metadatas=metadatas))

    def query(self, project: str, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """Return (chunk id, cosine similarity) best first."""
        def run(col):
            # No count() first: it cost more than the query itself, and Chroma 1.x answers an empty collection
            # (or a filter matching nothing) with empty lists.
            return col.query(query_embeddings=[vector.tolist()], n_results=k, where=where or None,
                             include=["distances"])

        res = self._call("recherche", project, run)
        if res is None:
            return []
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]

    def similarities(self, project: str, ids: list[str], vector: np.ndarray) -> dict[str, float]:
        """Cosine similarity of the query to the given chunks' stored vectors (those not yet embedded are absent)."""
        if not ids:
            return {}
        res = self._call("lecture", project, lambda col: col.get(ids=ids, include=["embeddings"]))
        if res is None or not len(res["ids"]):
            return {}
        # Our vectors are L2-normalised: the dot product is the cosine.
        sims = np.asarray(res["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        return {cid: float(s) for cid, s in zip(res["ids"], sims)}

    def all(self, project: str) -> tuple[list[str], np.ndarray, list[str]]:
        """Every stored vector of the project: (chunk ids, matrix, file of each chunk)."""
        res = self._call("lecture", project, lambda col: col.get(include=["embeddings", "metadatas"]))
        if res is None or not len(res["ids"]):
            return [], np.zeros((0, 0), dtype=np.float32), []
        files = [(m or {}).get("file", "") for m in res["metadatas"]]
        return list(res["ids"]), np.asarray(res["embeddings"], dtype=np.float32), files

    def delete_file(self, project: str, file: str) -> None:
        self._call("suppression", project, lambda col: col.delete(where={"file": file}))

    def ids_for_file(self, project: str, file: str) -> list[str]:
        return self._call("lecture", project, lambda col: col.get(where={"file": file}, include=[])["ids"])

    def delete_ids(self, project: str, ids: list[str]) -> None:
        if ids:
            self._call("suppression", project, lambda col: col.delete(ids=ids))

    def delete_project(self, project: str) -> None:
        from chromadb.errors import NotFoundError

        try:
            self._client.delete_collection(collection_name(project))
        except (NotFoundError, ValueError):  # already absent: nothing to delete
            pass
        except Exception as e:
            raise StoreError(f"Base vectorielle ({self.description}) : suppression du projet « {project} » "
                             f"impossible ({type(e).__name__})",
                             fix="vérifiez que le serveur Chroma répond, puis relancez la suppression") from e
        finally:
            self._collections.pop(project, None)

    def count(self, project: str) -> int:
        return self._call("lecture", project, lambda col: col.count())

    def ids(self, project: str) -> set[str]:
        return set(self._call("lecture", project, lambda col: col.get(include=[])["ids"]))
