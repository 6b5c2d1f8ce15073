"""Load test of the served web UI: N simultaneous people asking questions, on 127.0.0.1 only.

Starts the real app (``ui.start``, the function behind ``python -m assistant serve``) in this process on a free
loopback port, over a temporary index of three corpus documents, then N threads (one gradio_client session each,
as N browsers) each ask Q questions through the same ``/respond`` endpoint the page uses. Bounded: N x Q requests,
a timeout per request and for the whole run; then the server stops.

The model is a fake that takes ``--fake-seconds`` per answer (the embedded model takes 10-60 s on 2 cores; what
is measured here is the server: queue, concurrency limit, retrieval and citation checks under load). Two settings
are compared: ``concurrency=1`` (the default, sized for the embedded model, which answers one question at a time)
and ``concurrency=N`` (a remote OpenAI-compatible model that serves requests in parallel). ``--real`` uses the
embedded GGUF and e5 instead (slow: use few users).

Writes ``bench/results/load.md``.

    .venv/bin/python bench/load_ui.py [--users 8] [--questions 3] [--fake-seconds 0.5]
    .venv/bin/python bench/load_ui.py --real --real-model qwen2.5-coder-0.5b --users 2 --questions 1
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

# Offline, before anything imports gradio, chromadb or huggingface_hub (gradio_client's dependency).
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from assistant.config import shared_dir  # noqa: E402

CORPUS = shared_dir() / "corpus"
OUT = ROOT / "bench" / "results" / "load.md"
DOCS = [
    "lassembleuse__dinan-pcaet/avis-codev_pcaet_dinan_2022.pdf",
    "lassembleuse__dinan-pcaet/pcaet_fiches_actions/fiche29.md",
    "incubateur-ademe__territoires-en-transitions/CAE_Reglement_label.pdf",
]
QUESTIONS = [
    "Quelle stratégie de développement du tourisme durable pour Dinan ?",
    "Quel avis le conseil de développement donne-t-il sur le PCAET ?",
    "Quelles sont les conditions pour obtenir le label Climat Air Énergie ?",
    "Quels sont les objectifs de la fiche action sur le tourisme ?",
]
PROJECT = "Dinan"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo_chat(seconds: float):
    """A fake model that takes ``seconds`` to answer and repeats the first sentence of passage [1], cited."""
    from assistant.llm import FakeChat

    def reply(messages):
        time.sleep(seconds)
        user = messages[-1]["content"]
        if "[1] (" not in user:
            return user.rsplit("Question", 1)[-1][:120]
        first = user.split("[1] (", 1)[1].split("\n", 1)[1]
        sentence = first.split(". ")[0].split("\n")[0][:300]
        return f"{sentence} [1]."

    return FakeChat(reply)


def build_assistant(data_dir: Path, *, concurrency: int, real: bool, fake_seconds: float,
                    real_model: str = "qwen2.5-coder-1.5b"):
    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.embeddings import HashingEmbedder

    settings = Settings(data_dir=data_dir, _env_file=None)
    settings.server.concurrency = concurrency
    if real:
        from assistant.llm import block_real_models

        block_real_models(False)
        settings.llm.model = real_model
        return Assistant(settings)
    settings.retrieval.min_dense_score = 0.0  # hashing vectors: similarity is not what is measured
    return Assistant(settings, chat=echo_chat(fake_seconds), embedder=HashingEmbedder())


def run(users: int, questions: int, *, concurrency: int, real: bool, fake_seconds: float,
        request_timeout: float, deadline_s: float, real_model: str = "qwen2.5-coder-1.5b") -> dict:
    from gradio_client import Client

    from assistant import ui

    with tempfile.TemporaryDirectory(prefix="load-ui-") as tmp:
        assistant = build_assistant(Path(tmp) / "data", concurrency=concurrency, real=real,
                                    fake_seconds=fake_seconds, real_model=real_model)
        assistant.ingest([CORPUS / d for d in DOCS], PROJECT)
        port = free_port()
        app = ui.start(assistant, "127.0.0.1", port, block=False)
        url = f"http://127.0.0.1:{port}/"
        try:
            clients = [Client(url, verbose=False) for _ in range(users)]  # one session per person
            if real:  # load the model before timing, as a running server would have
                clients[0].predict(QUESTIONS[0], PROJECT, api_name="/respond")
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            stop_at = time.monotonic() + deadline_s

            def person(i: int) -> None:
                for j in range(questions):
                    if time.monotonic() > stop_at:
                        with lock:
                            errors.append(f"utilisateur {i} : délai global dépassé")
                        return
                    question = QUESTIONS[(i + j) % len(QUESTIONS)]
                    start = time.perf_counter()
                    try:
                        job = clients[i].submit(question, PROJECT, api_name="/respond")
                        _chat, status, _box = job.result(timeout=request_timeout)
                        ok = "Réponse sourcée" in status or "non couverte" in status
                        problem = None if ok else f"statut inattendu : {status[:120]}"
                    except Exception as e:  # noqa: BLE001 - a load test reports every failure, never stops
                        problem = f"{type(e).__name__} : {str(e)[:120]}"
                    elapsed = time.perf_counter() - start
                    with lock:
                        if problem:
                            errors.append(f"utilisateur {i}, question {j} : {problem}")
                        else:
                            latencies.append(elapsed)

            wall = time.perf_counter()
            with ThreadPoolExecutor(max_workers=users) as pool:
                for future in as_completed([pool.submit(person, i) for i in range(users)]):
                    future.result()
            wall = time.perf_counter() - wall
        finally:
            app.close()
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)] if ordered else float("nan")
    return {"users": users, "concurrency": concurrency, "requests": users * questions, "answered": len(latencies),
            "errors": errors, "wall_s": wall, "throughput": len(latencies) / wall if wall else 0.0,
            "p50": statistics.median(ordered) if ordered else float("nan"), "p95": p95,
            "max": ordered[-1] if ordered else float("nan")}


TITLE = "# Charge de l'interface web (bench/load_ui.py)"
SECTIONS = {False: "## Modèle factice", True: "## Modèle embarqué réel"}


def merge_report(previous: str, section: str, real: bool) -> str:
    """Replace this run's section (fake or real model) in ``load.md``, keeping the other one."""
    parts: dict[bool, str] = {}
    for kind, heading in SECTIONS.items():
        if heading in previous:
            rest = previous.split(heading, 1)[1]
            other = SECTIONS[not kind]
            parts[kind] = heading + (rest.split(other, 1)[0] if other in rest else rest)
    parts[real] = section
    return "\n".join([TITLE, ""] + [parts[k].rstrip() + "\n" for k in (False, True) if k in parts])


def report(results: list[dict], args: argparse.Namespace) -> str:
    load = os.getloadavg()
    model = (f"modèle embarqué réel ({args.real_model}, GGUF, et e5), réponse à blanc avant la mesure" if args.real
             else f"modèle factice, {args.fake_seconds} s par réponse")
    lines = [
        SECTIONS[args.real],
        "",
        f"Mesuré le {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} sur {platform.machine()}, "
        f"{os.cpu_count()} cœurs, charge moyenne au départ {load[0]:.1f} (machine partagée) ; Python "
        f"{platform.python_version()}.",
        "",
        f"Application réelle (`ui.start`) sur 127.0.0.1, {model}, index de {len(DOCS)} documents du corpus. "
        f"Chaque utilisateur a sa propre session gradio_client et pose {args.questions} question(s) à la suite par "
        "l'API `/respond` de la page ; latence = de l'envoi à la réponse finale vérifiée.",
        "",
        "| concurrence serveur | utilisateurs | requêtes | réponses | erreurs | débit (réponses/s) | p50 (s) | "
        "p95 (s) | max (s) | durée (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['concurrency']} | {r['users']} | {r['requests']} | {r['answered']} | {len(r['errors'])} "
                     f"| {r['throughput']:.2f} | {r['p50']:.2f} | {r['p95']:.2f} | {r['max']:.2f} "
                     f"| {r['wall_s']:.1f} |")
    lines += [
        "",
        "Lecture : avec `ASSISTANT_SERVER__CONCURRENCY=1` (défaut, modèle embarqué qui ne traite qu'une question "
        "à la fois), les réponses passent une par une dans la file d'attente de gradio : le débit est celui du "
        "modèle et la latence p95 croît avec le nombre de personnes qui attendent. Avec un modèle distant "
        "compatible OpenAI qui sert des requêtes en parallèle, `ASSISTANT_SERVER__CONCURRENCY` peut suivre sa "
        "capacité : la latence reste proche de celle d'une question seule.",
    ]
    for r in results:
        for e in r["errors"][:10]:
            lines.append(f"- erreur (concurrence {r['concurrency']}) : {e}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=8, help="personnes simultanées (threads)")
    parser.add_argument("--questions", type=int, default=3, help="questions posées par chaque personne")
    parser.add_argument("--fake-seconds", type=float, default=0.5, help="durée d'une réponse du modèle factice")
    parser.add_argument("--real", action="store_true", help="modèle embarqué réel (lent : peu d'utilisateurs)")
    parser.add_argument("--real-model", default="qwen2.5-coder-1.5b", help="préréglage du modèle embarqué (--real)")
    parser.add_argument("--request-timeout", type=float, default=600.0)
    parser.add_argument("--deadline", type=float, default=1200.0, help="durée maximale de chaque série (s)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not 1 <= args.users <= 64 or not 1 <= args.questions <= 20:
        parser.error("1 à 64 utilisateurs, 1 à 20 questions chacun (charge bornée)")
    settings = [1] if args.real else [1, args.users]
    results = []
    for concurrency in settings:
        result = run(args.users, args.questions, concurrency=concurrency, real=args.real,
                     fake_seconds=args.fake_seconds, request_timeout=args.request_timeout, deadline_s=args.deadline,
                     real_model=args.real_model)
        print(f"concurrence {concurrency} : {result['answered']}/{result['requests']} réponses, "
              f"{len(result['errors'])} erreur(s), {result['throughput']:.2f} réponses/s, p95 {result['p95']:.2f} s",
              file=sys.stderr)
        results.append(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    args.out.write_text(merge_report(previous, report(results, args), args.real), encoding="utf-8")
    print(args.out)
    if any(r["errors"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
