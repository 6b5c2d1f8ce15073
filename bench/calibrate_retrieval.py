"""Calibrate the retrieval fusion offline on a question file (default ../shared/eval/dev.jsonl).

Collects, once per question, the raw dense (cosine) and lexical (BM25) candidates of every searched project,
then replays fusion variants and weights in pure Python: seconds instead of one index query per setting.
Needs an index built beforehand (``python -m assistant ingest ../shared/corpus --project corpus`` with
ASSISTANT_DATA_DIR pointing at a scratch directory). Prints a table; nothing is written to the index.

    ASSISTANT_DATA_DIR=/tmp/evalcorpus .venv/bin/python bench/calibrate_retrieval.py --project corpus
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.core import Assistant  # noqa: E402
from assistant.evaluation import (coverage_rates, is_hit, load_questions, retrieval_metrics,  # noqa: E402
                                  suggest_threshold, QuestionResult)
from assistant.retrieve import dedupe_key  # noqa: E402
from assistant.schemas import KNOWLEDGE_PROJECT  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def collect(assistant: Assistant, questions, project: str, n: int, knowledge: bool) -> list[dict]:
    projects = [project] + ([KNOWLEDGE_PROJECT] if knowledge else [])
    rows = []
    for q in questions:
        vec = assistant.embedder.embed_query(q.question)
        per = {}
        for p in projects:
            dense = assistant.vectors.query(p, vec, n)
            index = assistant._lexical.get(p, assistant.docstore.revision(p), lambda p=p: assistant.docstore.chunks(p),
                                          lambda p=p: assistant.docstore.titles(p))
            lex = index.search(q.question, n)
            per[p] = {"dense": dense, "lexical": lex}
        rows.append({"q": q, "per": per})
    ids = {cid for r in rows for p in r["per"].values() for lst in p.values() for cid, _ in lst}
    chunks = assistant.docstore.get(sorted(ids))
    return [dict(r, chunks=chunks) for r in rows]


def rrf(per: dict, wd: float, wl: float, k_rrf: int = 60, global_ranks: bool = False) -> list[tuple[str, float]]:
    scores: dict[str, float] = {}
    if global_ranks:
        dense = sorted((x for p in per.values() for x in p["dense"]), key=lambda t: -t[1])
        lex = sorted((x for p in per.values() for x in p["lexical"]), key=lambda t: -t[1])
        lists = [{"dense": dense, "lexical": lex}]
    else:
        lists = list(per.values())
    for p in lists:
        for r, (cid, _) in enumerate(p["dense"], 1):
            scores[cid] = scores.get(cid, 0) + wd / (k_rrf + r)
        for r, (cid, _) in enumerate(p["lexical"], 1):
            scores[cid] = scores.get(cid, 0) + wl / (k_rrf + r)
    return sorted(scores.items(), key=lambda t: -t[1])


def convex(per: dict, alpha: float, lex_norm: str = "max") -> list[tuple[str, float]]:
    dense = {cid: s for p in per.values() for cid, s in p["dense"]}
    lex = {cid: s for p in per.values() for cid, s in p["lexical"]}
    if not dense:
        return []
    dmax, dmin = max(dense.values()), min(dense.values())
    lmax = max(lex.values(), default=0) or 1.0
    out = {}
    for cid in set(dense) | set(lex):
        d = (dense.get(cid, dmin) - dmin) / ((dmax - dmin) or 1)
        if lex_norm == "max":
            l = lex.get(cid, 0.0) / lmax
        else:  # saturating: BM25 / (BM25 + median), less dominated by one very high score
            l = lex.get(cid, 0.0)
            l = l / (l + lex_norm) if l else 0.0
        out[cid] = alpha * d + (1 - alpha) * l
    return sorted(out.items(), key=lambda t: -t[1])


DIVERSE = {"on": False}


def rank_of(row, fused, k) -> int | None:
    seen, kept = set(), []
    for cid, _ in fused:
        c = row["chunks"].get(cid)
        if c is None:
            continue
        key = (c.file, c.page, c.section) if DIVERSE["on"] else dedupe_key(c.text)
        if key in seen or dedupe_key(c.text) in seen:
            continue
        seen.add(key)
        seen.add(dedupe_key(c.text))
        kept.append(c)
        if len(kept) == k:
            break
    for r, c in enumerate(kept, 1):
        if is_hit(row["q"], c):
            return r
    return None


def score(rows, fuse, k=5) -> dict:
    ranks = [rank_of(r, fuse(r["per"]), k) for r in rows if r["q"].covered]
    return retrieval_metrics(ranks, k)


def cut(per: dict, n: int) -> dict:
    return {p: {kind: lst[:n] for kind, lst in v.items()} for p, v in per.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default="corpus")
    ap.add_argument("--questions", default=str(DEV))
    ap.add_argument("--no-knowledge", action="store_true", help="search the project alone (not the method)")
    ap.add_argument("--full", action="store_true", help="also the older grid (per-project RRF, saturating norm)")
    ap.add_argument("--cache", help="pickle of the collected candidates (reused if present)")
    args = ap.parse_args()
    questions = load_questions(args.questions)
    cache = Path(args.cache) if args.cache else None
    if cache and cache.exists():
        rows = pickle.loads(cache.read_bytes())
    else:
        rows = collect(Assistant(Settings()), questions, args.project, 100, not args.no_knowledge)
        if cache:
            cache.write_bytes(pickle.dumps(rows))
    print(f"{len(rows)} questions, {sum(r['q'].covered for r in rows)} answerable")
    lines = []
    for diverse in (False, True):
        DIVERSE["on"] = diverse
        tag = " +1/page" if diverse else ""
        for n in (30, 50):
            lines.append((f"dense only{tag}, n={n}", score(rows, lambda per, n=n: rrf(cut(per, n), 1, 0))))
            lines.append((f"lexical only{tag}, n={n}", score(rows, lambda per, n=n: rrf(cut(per, n), 0, 1))))
            for wd, wl in ((0.5, 0.5), (0.4, 0.6), (0.6, 0.4)):
                lines.append((f"RRF global {wd}/{wl}{tag}, n={n}",
                              score(rows, lambda per, n=n, wd=wd, wl=wl: rrf(cut(per, n), wd, wl, global_ranks=True))))
            for a in (0.3, 0.4, 0.5, 0.6, 0.7):
                lines.append((f"convex a={a}{tag}, n={n}", score(rows, lambda per, n=n, a=a: convex(cut(per, n), a))))
    DIVERSE["on"] = False
    for n in () if not args.full else (20, 30, 50, 100):
        lines.append((f"dense only, n={n}", score(rows, lambda per, n=n: rrf(cut(per, n), 1, 0))))
        lines.append((f"lexical only, n={n}", score(rows, lambda per, n=n: rrf(cut(per, n), 0, 1))))
        for wd, wl in ((0.5, 0.5), (0.7, 0.3), (0.8, 0.2), (0.6, 0.4)):
            lines.append((f"RRF per project {wd}/{wl}, n={n}",
                          score(rows, lambda per, n=n, wd=wd, wl=wl: rrf(cut(per, n), wd, wl))))
            lines.append((f"RRF global {wd}/{wl}, n={n}",
                          score(rows, lambda per, n=n, wd=wd, wl=wl: rrf(cut(per, n), wd, wl, global_ranks=True))))
        for a in (0.5, 0.6, 0.7, 0.8, 0.9):
            lines.append((f"convex a={a} max-norm, n={n}", score(rows, lambda per, n=n, a=a: convex(cut(per, n), a))))
            lines.append((f"convex a={a} sat-norm(10), n={n}",
                          score(rows, lambda per, n=n, a=a: convex(cut(per, n), a, 10.0))))
    for name, m in lines:
        print(f"{name:<44} r@1={m['recall@1']:.3f} r@5={m['recall@5']:.3f} mrr={m['mrr']:.3f}")
    # Coverage: best dense cosine over all searched projects, per question.
    results = [QuestionResult(id=r["q"].id, question=r["q"].question, covered=r["q"].covered,
                              best_dense=max((s for p in r["per"].values() for _, s in p["dense"][:1]), default=0))
               for r in rows]
    for r in sorted(results, key=lambda r: r.best_dense):
        print(f"  {r.id} {'C' if r.covered else 'U'} {r.best_dense:.4f}")
    t = suggest_threshold(results)
    print("suggested threshold", t, json.dumps(coverage_rates(results, t)))


if __name__ == "__main__":
    main()
