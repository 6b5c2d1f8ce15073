"""Answer benchmark: a RAG answer through our pipeline vs raw llama.cpp with the very same messages, same run.

Two subprocesses, one after the other (so each peak RSS is its own), same GGUF, same llama.cpp settings:

- ours: ``Assistant.ask_stream`` (query embedding, hybrid search, prompt assembly, streaming, then citation
  and number checks); the messages it sends to the model are recorded;
- raw: ``llama_cpp.Llama.create_chat_completion(messages, stream=True)`` with those recorded messages, in the
  same order (so llama.cpp's prompt-prefix reuse helps both alike).

Measured per question: time to first token, total answer time, generated pieces; then medians, and the peak
RSS of each process. The first question warms both up (model load, caches) and is not counted.
Writes ``bench/results/answer.md``. By default it indexes three Dinan/ADEME documents into a temporary
directory (about a minute); ``--data-dir DIR --project NAME`` reuses a full index instead.

    .venv/bin/python bench/bench_answer.py [--questions 6] [--data-dir /tmp/evalcorpus --project corpus]
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
OUT = ROOT / "bench" / "results" / "answer.md"
SMALL_SET = [
    "lassembleuse__dinan-pcaet/avis-codev_pcaet_dinan_2022.pdf",
    "lassembleuse__dinan-pcaet/pcaet_fiches_actions/fiche29.md",
    "incubateur-ademe__territoires-en-transitions/CAE_Reglement_label.pdf",
]
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def settings(data_dir: Path):
    from assistant.config import Settings

    models = Path(os.environ.get("ASSISTANT_MODELS_DIR", ROOT / "data" / "models"))
    return Settings(data_dir=data_dir, models_dir_override=models, _env_file=None)


def pick_questions(n: int, files: set[str] | None) -> list[str]:
    from assistant.evaluation import load_questions

    qs = [q for q in load_questions(DEV) if q.covered and (files is None or q.file_name in files)]
    return [q.question for q in qs[:n]]


def run_ours(data_dir: Path, project: str, questions: list[str], record: Path) -> dict:
    from assistant.core import Assistant

    assistant = Assistant(settings(data_dir))
    t = time.perf_counter()
    chat = assistant.chat  # load the model outside the timed answers (the raw worker does the same)
    load_s = time.perf_counter() - t
    sent: list[list[dict]] = []
    original = chat._stream

    def recording(messages, **kwargs):
        sent.append(messages)
        return original(messages, **kwargs)

    chat._stream = recording
    rows = []
    for question in questions:
        t0 = time.perf_counter()
        first, pieces, final, calls = None, 0, None, len(sent)
        for event in assistant.ask_stream(question, project):
            if event.kind == "token":
                pieces += 1
                if first is None:
                    first = time.perf_counter() - t0
            elif event.kind == "final":
                final = event.answer
        rows.append({"question": question, "ttft_s": first, "total_s": time.perf_counter() - t0, "pieces": pieces,
                     "covered": final.covered, "retrieval_ms": final.timings.retrieval_ms,
                     "citations": len(final.citations), "called_model": len(sent) > calls})
    record.write_text(json.dumps(sent, ensure_ascii=False), encoding="utf-8")
    return {"load_s": load_s, "rows": rows, "peak_rss_mb": peak_rss_mb(), "model": chat.name,
            "n_threads": assistant.settings.llm.n_threads, "n_threads_batch": assistant.settings.llm.n_threads_batch,
            "max_tokens": assistant.settings.llm.max_tokens, "temperature": assistant.settings.llm.temperature}


def run_raw(record: Path) -> dict:
    from llama_cpp import Llama

    from assistant.modelfiles import resolve_gguf

    s = settings(Path(tempfile.gettempdir()))
    path, _ = resolve_gguf(s.llm.model, s.llm.gguf_path, s.llm.gguf_sha256, s.models_dir)
    t = time.perf_counter()
    llm = Llama(model_path=str(path), n_ctx=s.llm.n_ctx, n_threads=s.llm.n_threads,
                n_threads_batch=s.llm.n_threads_batch, verbose=False)
    load_s = time.perf_counter() - t
    rows = []
    for messages in json.loads(record.read_text(encoding="utf-8")):
        t0 = time.perf_counter()
        first, pieces = None, 0
        for part in llm.create_chat_completion(messages=messages, max_tokens=s.llm.max_tokens,
                                               temperature=s.llm.temperature, stream=True):
            if part["choices"][0]["delta"].get("content"):
                pieces += 1
                if first is None:
                    first = time.perf_counter() - t0
        rows.append({"ttft_s": first, "total_s": time.perf_counter() - t0, "pieces": pieces,
                     "prompt_tokens": len(llm.tokenize(json.dumps(messages, ensure_ascii=False).encode()))})
    return {"load_s": load_s, "rows": rows, "peak_rss_mb": peak_rss_mb()}


def build_small_index(data_dir: Path) -> None:
    from assistant.core import Assistant

    assistant = Assistant(settings(data_dir))
    reports = assistant.ingest([CORPUS / f for f in SMALL_SET], "bench")
    assert all(r.status in ("indexed", "unchanged") for r in reports), [r.message for r in reports]
    assistant.ensure_knowledge()


def worker(args) -> None:
    record = Path(args.record)
    if args.worker == "ours":
        data = run_ours(Path(args.data_dir), args.project, json.loads(args.qs), record)
    else:
        data = run_raw(record)
    print(json.dumps(data))


def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main() -> None:
    ap = argparse.ArgumentParser(description="Answer benchmark: ours vs raw llama.cpp")
    ap.add_argument("--worker", choices=["ours", "raw"], help=argparse.SUPPRESS)
    ap.add_argument("--record", help=argparse.SUPPRESS)
    ap.add_argument("--qs", help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help="existing data directory (default: a small temporary index)")
    ap.add_argument("--project", default="bench")
    ap.add_argument("--questions", type=int, default=6, help="questions timed (plus one warm-up)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-answer-") as tmp:
        if args.data_dir:
            data_dir, files = Path(args.data_dir), None
        else:
            data_dir, files = Path(tmp) / "data", {Path(f).name for f in SMALL_SET}
            print("indexing the small set…", file=sys.stderr, flush=True)
            build_small_index(data_dir)
        questions = pick_questions(args.questions + 1, files)
        record = Path(tmp) / "messages.json"
        out = {}
        for name in ("ours", "raw"):
            print(f"{name}…", file=sys.stderr, flush=True)
            cmd = [sys.executable, __file__, "--worker", name, "--record", str(record), "--data-dir", str(data_dir),
                   "--project", args.project, "--qs", json.dumps(questions)]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if proc.returncode:
                sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
            out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    ours, raw = out["ours"], out["raw"]
    # Pair the answers: ours may refuse without calling the model (below the coverage threshold).
    generated = [r for r in ours["rows"] if r["called_model"]]
    assert len(generated) == len(raw["rows"])
    # A reply that is the NON_COUVERT sentinel is never streamed by ours (no first token): not paired either.
    pairs = [p for p in list(zip(generated, raw["rows"]))[1:] if p[0]["ttft_s"] is not None and p[1]["ttft_s"]]
    sentinel = sum(1 for r in generated[1:] if r["ttft_s"] is None)
    refused_without_model = len(ours["rows"]) - len(generated)
    o_ttft, r_ttft = med(p[0]["ttft_s"] for p in pairs), med(p[1]["ttft_s"] for p in pairs)
    o_total, r_total = med(p[0]["total_s"] for p in pairs), med(p[1]["total_s"] for p in pairs)
    overhead = [p[0]["ttft_s"] - p[1]["ttft_s"] for p in pairs]
    lines = [
        "# Answer benchmark: ours vs raw llama.cpp (same messages)", "",
        f"Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs (load average at start {', '.join(f'{x:.2f}' for x in load_start)}, "
        f"at end {', '.join(f'{x:.2f}' for x in os.getloadavg())}). Model: {ours['model']}, n_threads={ours['n_threads']}, "
        f"n_threads_batch={ours['n_threads_batch']}, max_tokens={ours['max_tokens']}, temperature={ours['temperature']}.",
        f"Index: {'`' + args.data_dir + '`, project `' + args.project + '`' if args.data_dir else 'three documents (avis du Conseil de développement de Dinan Agglomération and fiche 29, lassembleuse/dinan-pcaet, MIT; ADEME CAE label rules, incubateur-ademe/territoires-en-transitions, MIT)'} "
        f"plus the method (knowledge/). Questions: the first {len(questions)} answerable ones of `../shared/eval/dev.jsonl` "
        f"on those documents; the first is a warm-up. {refused_without_model} question(s) refused by our coverage rule "
        f"without calling the model, {sentinel} answered NON_COUVERT by the model (never streamed by ours): not paired.",
        "",
        f"| measure (median over {len(pairs)} answers) | ours (RAG pipeline) | raw llama.cpp |", "|---|---|---|",
        f"| time to first token (s) | {o_ttft:.2f} | {r_ttft:.2f} |",
        f"| total answer time (s) | {o_total:.2f} | {r_total:.2f} |",
        f"| generated pieces | {med(p[0]['pieces'] for p in pairs)} | {med(p[1]['pieces'] for p in pairs)} |",
        f"| model load (s) | {ours['load_s']:.1f} | {raw['load_s']:.1f} |",
        f"| peak RSS (MB) | {ours['peak_rss_mb']:.0f} | {raw['peak_rss_mb']:.0f} |", "",
        f"Our first-token overhead over raw llama.cpp (retrieval + prompt assembly): median {med(overhead):.2f} s; "
        f"our retrieval alone: median {med(r['retrieval_ms'] for r in generated[1:]) or 0:.0f} ms. "
        "Ours streams a held-back first piece (it waits until the reply cannot be the NON_COUVERT sentinel).", "",
        "| question | ours TTFT (s) | raw TTFT (s) | ours total (s) | raw total (s) |", "|---|---|---|---|---|",
        *[f"| {p[0]['question'][:70]} | {p[0]['ttft_s']:.2f} | {p[1]['ttft_s']:.2f} | {p[0]['total_s']:.2f} | "
          f"{p[1]['total_s']:.2f} |" for p in pairs], "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
