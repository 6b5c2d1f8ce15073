"""Answer benchmark: a RAG answer through our pipeline vs raw llama.cpp with the very same messages, same run.

Two subprocesses (so each peak RSS is its own), same GGUF, same llama.cpp settings, both kept up for the whole run
and answering in turn, question by question (so that the drifting load of a shared machine hits both alike):

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


class Ours:
    """Our pipeline in this process: ``Assistant.ask_stream``, recording the messages sent to the model."""

    def __init__(self, data_dir: Path, project: str) -> None:
        from assistant.core import Assistant

        self.assistant = Assistant(settings(data_dir))
        self.project = project
        t = time.perf_counter()
        self.chat = self.assistant.chat  # load the model outside the timed answers (the raw worker does the same)
        self.load_s = time.perf_counter() - t
        self.sent: list[list[dict]] = []
        original = self.chat._stream

        def recording(messages, **kwargs):
            self.sent.append(messages)
            return original(messages, **kwargs)

        self.chat._stream = recording

    def answer(self, request: dict) -> dict:
        question, calls = request["question"], len(self.sent)
        t0 = time.perf_counter()
        first, pieces, final = None, 0, None
        for event in self.assistant.ask_stream(question, self.project):
            if event.kind == "token":
                pieces += 1
                if first is None:
                    first = time.perf_counter() - t0
            elif event.kind == "final":
                final = event.answer
        called = len(self.sent) > calls
        return {"question": question, "ttft_s": first, "total_s": time.perf_counter() - t0, "pieces": pieces,
                "covered": final.covered, "retrieval_ms": final.timings.retrieval_ms,
                "citations": len(final.citations), "called_model": called,
                "messages": self.sent[-1] if called else None}

    def facts(self) -> dict:
        s = self.assistant.settings.llm
        return {"model": self.chat.name, "n_threads": s.n_threads, "n_threads_batch": s.n_threads_batch,
                "max_tokens": s.max_tokens, "temperature": s.temperature}


class Raw:
    """llama-cpp-python alone, same GGUF and settings, given the messages our pipeline sent."""

    def __init__(self) -> None:
        from llama_cpp import Llama

        from assistant.modelfiles import resolve_gguf

        self.s = settings(Path(tempfile.gettempdir()))
        path, _ = resolve_gguf(self.s.llm.model, self.s.llm.gguf_path, self.s.llm.gguf_sha256, self.s.models_dir)
        t = time.perf_counter()
        self.llm = Llama(model_path=str(path), n_ctx=self.s.llm.n_ctx, n_threads=self.s.llm.n_threads,
                         n_threads_batch=self.s.llm.n_threads_batch, verbose=False)
        self.load_s = time.perf_counter() - t

    def answer(self, request: dict) -> dict:
        messages = request["messages"]
        t0 = time.perf_counter()
        first, pieces = None, 0
        for part in self.llm.create_chat_completion(messages=messages, max_tokens=self.s.llm.max_tokens,
                                                    temperature=self.s.llm.temperature, stream=True):
            if part["choices"][0]["delta"].get("content"):
                pieces += 1
                if first is None:
                    first = time.perf_counter() - t0
        return {"ttft_s": first, "total_s": time.perf_counter() - t0, "pieces": pieces,
                "prompt_tokens": len(self.llm.tokenize(json.dumps(messages, ensure_ascii=False).encode()))}

    def facts(self) -> dict:
        return {}


def serve(args) -> None:
    """One worker process, kept alive for the whole run: a JSON request per line in, a JSON reply per line out."""
    runner = Ours(Path(args.data_dir), args.project) if args.worker == "ours" else Raw()
    print(json.dumps({"ready": True, "load_s": runner.load_s, **runner.facts()}), flush=True)
    for line in sys.stdin:
        print(json.dumps(runner.answer(json.loads(line)), ensure_ascii=False), flush=True)
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)


class Worker:
    def __init__(self, name: str, data_dir: Path, project: str, log: Path) -> None:
        cmd = [sys.executable, __file__, "--worker", name, "--data-dir", str(data_dir), "--project", project]
        self.name, self.log = name, log
        # stderr to a file: a pipe nobody reads would block the worker once full (progress bars, warnings).
        with open(log, "w", encoding="utf-8") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                                         cwd=ROOT)
        self.ready = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"{self.name} failed:\n{self.log.read_text(encoding='utf-8')[-3000:]}")
        return json.loads(line)

    def ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> dict:
        self.proc.stdin.close()
        last = self._read()
        self.proc.wait()
        return last


def build_small_index(data_dir: Path) -> None:
    from assistant.core import Assistant

    assistant = Assistant(settings(data_dir))
    reports = assistant.ingest([CORPUS / f for f in SMALL_SET], "bench")
    assert all(r.status in ("indexed", "unchanged") for r in reports), [r.message for r in reports]
    assistant.ensure_knowledge()


def med(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main() -> None:
    ap = argparse.ArgumentParser(description="Answer benchmark: ours vs raw llama.cpp")
    ap.add_argument("--worker", choices=["ours", "raw"], help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help="existing data directory (default: a small temporary index)")
    ap.add_argument("--project", default="bench")
    ap.add_argument("--questions", type=int, default=6, help="questions timed (plus one warm-up)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if args.worker:
        serve(args)
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
        # Both processes stay up and answer in turn, question by question: ours, then raw llama.cpp on the messages
        # ours sent. On a shared machine the load drifts over minutes; paired answers seconds apart see the same.
        print("loading both models…", file=sys.stderr, flush=True)
        ours_w = Worker("ours", data_dir, args.project, Path(tmp) / "ours.log")
        raw_w = Worker("raw", data_dir, args.project, Path(tmp) / "raw.log")
        out = {"ours": {**ours_w.ready, "rows": []}, "raw": {**raw_w.ready, "rows": []}}
        try:
            for i, question in enumerate(questions):
                print(f"question {i + 1}/{len(questions)}…", file=sys.stderr, flush=True)
                row = ours_w.ask({"question": question})
                messages = row.pop("messages")
                out["ours"]["rows"].append(row)
                if messages is not None:
                    out["raw"]["rows"].append(raw_w.ask({"messages": messages}))
        finally:
            out["ours"].update(ours_w.close())
            out["raw"].update(raw_w.close())
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
        f"| time to first token (s) | {o_ttft:.2f} ({o_ttft / r_ttft:.2f}×; median of the per-question ratios "
        f"{med(p[0]['ttft_s'] / p[1]['ttft_s'] for p in pairs):.2f}×) | {r_ttft:.2f} |",
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
