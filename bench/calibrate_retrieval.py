"""Calibrate the retrieval fusion offline on a question file (default ../shared/eval/dev.jsonl).

Collects, once per question, the raw dense (cosine) and lexical (BM25) candidates of every searched project
(the territory's documents and the method), then replays fusion variants and weights in pure Python: seconds
instead of one index query per setting. Needs an index built beforehand, e.g.

    ASSISTANT_DATA_DIR=/tmp/evalcorpus .venv/bin/python -m assistant ingest ../shared/corpus --project corpus
    ASSISTANT_DATA_DIR=/tmp/evalcorpus .venv/bin/python bench/calibrate_retrieval.py --project corpus

Prints recall@1 / recall@5 / MRR per variant, then the best cosine of every question and the coverage threshold
that ``evaluation.suggest_threshold`` derives from them. Nothing is written to the index.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import shared_dir, Settings  # noqa: E402
from assistant.core import Assistant  # noqa: E402
from assistant.evaluation import (QuestionResult, coverage_rates, is_hit, load_questions,  # noqa: E402
                                  retrieval_metrics, suggest_threshold)
from assistant.retrieve import dedupe_key, fuse  # noqa: E402
from assistant.schemas import KNOWLEDGE_PROJECT  # noqa: E402

DEV = shared_dir() / "eval" / "dev.jsonl"
K = 5


def collect(assistant: Assistant, questions, project: str, n: int, knowledge: bool) -> list[dict]:
    projects = [project] + ([KNOWLEDGE_PROJECT] if knowledge else [])
    rows = []
    for q in questions:
        vec = assistant.embedder.embed_query(q.question)
        per = {}
        for p in projects:
            index = assistant._lexical.get(p, assistant.docstore.revision(p), lambda p=p: assistant.docstore.chunks(p),
                                           lambda p=p: assistant.docstore.titles(p))
            per[p] = {"dense": assistant.vectors.query(p, vec, n), "lexical": index.search(q.question, n)}
        rows.append({"q": q, "per": per})
    ids = {cid for r in rows for p in r["per"].values() for lst in p.values() for cid, _ in lst}
    chunks = assistant.docstore.get(sorted(ids))
    return [dict(r, chunks=chunks) for r in rows]


def cut(per: dict, n: int) -> dict:
    return {p: {kind: lst[:n] for kind, lst in v.items()} for p, v in per.items()}


def pooled(per: dict, kind: str) -> list[tuple[str, float]]:
    return sorted((x for p in per.values() for x in p[kind]), key=lambda t: -t[1])


def rrf(per: dict, wd: float, wl: float, per_project: bool, k_rrf: int = 60) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion; ``per_project`` = the previous code (ranks restart in every project)."""
    groups = list(per.values()) if per_project else [{"dense": pooled(per, "dense"), "lexical": pooled(per, "lexical")}]
    scores: dict[str, float] = {}
    for g in groups:
        for r, (cid, _) in enumerate(g["dense"], 1):
            scores[cid] = scores.get(cid, 0) + wd / (k_rrf + r)
        for r, (cid, _) in enumerate(g["lexical"], 1):
            scores[cid] = scores.get(cid, 0) + wl / (k_rrf + r)
    return sorted(scores.items(), key=lambda t: -t[1])


def zfusion(per: dict, wd: float) -> list[tuple[str, float]]:
    """The package's fusion (``retrieve.fuse``) over the pooled candidates, as ``Assistant.search`` does."""
    return [(cid, s) for cid, s, *_ in fuse(pooled(per, "dense"), pooled(per, "lexical"), wd, 1 - wd)]


def rank_of(row, fused, k=K) -> int | None:
    seen, kept = set(), []
    for cid, _ in fused:
        c = row["chunks"].get(cid)
        if c is None or dedupe_key(c.text) in seen:
            continue
        seen.add(dedupe_key(c.text))
        kept.append(c)
        if len(kept) == k:
            break
    return next((r for r, c in enumerate(kept, 1) if is_hit(row["q"], c)), None)


def score(rows, fusion) -> dict:
    return retrieval_metrics([rank_of(r, fusion(r["per"])) for r in rows if r["q"].covered], K)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default="corpus")
    ap.add_argument("--questions", default=str(DEV))
    ap.add_argument("--no-knowledge", action="store_true", help="search the project alone (not the method)")
    ap.add_argument("--cache", help="pickle of the collected candidates (reused if present)")
    args = ap.parse_args()
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():
        rows = pickle.loads(cache.read_bytes())
    else:
        rows = collect(Assistant(Settings()), load_questions(args.questions), args.project, 100, not args.no_knowledge)
        if cache:
            cache.write_bytes(pickle.dumps(rows))
    print(f"{len(rows)} questions, {sum(r['q'].covered for r in rows)} answerable")
    lines = []
    for n in (30, 50):
        lines.append((f"dense only, n={n}", score(rows, lambda per, n=n: pooled(cut(per, n), "dense"))))
        lines.append((f"lexical only, n={n}", score(rows, lambda per, n=n: pooled(cut(per, n), "lexical"))))
        for wd in (0.5, 0.7):
            lines.append((f"RRF per project {wd}/{1 - wd:.1f}, n={n}",
                          score(rows, lambda per, n=n, wd=wd: rrf(cut(per, n), wd, 1 - wd, True))))
            lines.append((f"RRF pooled {wd}/{1 - wd:.1f}, n={n}",
                          score(rows, lambda per, n=n, wd=wd: rrf(cut(per, n), wd, 1 - wd, False))))
        for wd in (0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7):
            lines.append((f"z-score fusion {wd}/{1 - wd:.2f}, n={n}",
                          score(rows, lambda per, n=n, wd=wd: zfusion(cut(per, n), wd))))
    for name, m in lines:
        print(f"{name:<36} r@1={m['recall@1']:.3f} r@5={m['recall@5']:.3f} mrr={m['mrr']:.3f}")
    # Coverage: best dense cosine over all searched projects, per question.
    results = [QuestionResult(id=r["q"].id, question=r["q"].question, covered=r["q"].covered,
                              best_dense=max((s for p in r["per"].values() for _, s in p["dense"][:1]), default=0))
               for r in rows]
    for r in sorted(results, key=lambda r: r.best_dense):
        print(f"  {r.id} {'answerable' if r.covered else 'NON_COUVERT'} {r.best_dense:.4f}")
    t = suggest_threshold(results)
    print("suggested threshold (answered_covered >= 0.90):", t, json.dumps(coverage_rates(results, t)))


if __name__ == "__main__":
    main()
