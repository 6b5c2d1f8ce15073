"""Command line: the only typer importer. Results to stdout (``--json`` pipes into jq), progress to stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import Settings
from .errors import AssistantError

app = typer.Typer(
    help="Assistant de stratégie territoriale : questions sourcées sur vos documents, démarche de marketing "
         "territorial guidée, exports.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)

ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Projet (territoire), ex. Dinan")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Sortie JSON sur la sortie standard")]


def _assistant():
    from .core import Assistant

    return Assistant(Settings())


def _out_json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _fail(error: AssistantError) -> None:
    typer.secho(f"Erreur : {error.user_message}", err=True, fg="red")
    raise typer.Exit(1)


def _progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:50]:<50}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Adresse d'écoute (défaut : 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (défaut : 7860)")] = None,
) -> None:
    """Démarre l'interface web (indexe la méthode au démarrage)."""
    from .ui import launch

    try:
        launch(Settings(), host=host, port=port)
    except AssistantError as e:
        _fail(e)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Fichiers ou dossiers à indexer")],
    project: ProjectOpt,
    as_json: JsonOpt = False,
) -> None:
    """Indexe des documents (PDF, DOCX, ODT, Markdown, HTML, TXT, CSV) dans un projet."""
    try:
        reports = _assistant().ingest(paths, project, progress=_progress)
    except AssistantError as e:
        _fail(e)
    if as_json:
        _out_json([r.model_dump() for r in reports])
    else:
        labels = {"indexed": "indexé", "unchanged": "inchangé", "replaced": "remplacé", "refused": "refusé"}
        for r in reports:
            typer.echo(f"{labels[r.status]:<9} {r.message}")
        counts = {s: sum(r.status == s for r in reports) for s in labels}
        typer.echo("Bilan : " + ", ".join(f"{n} {labels[s]}" for s, n in counts.items() if n))
    if any(r.status == "refused" for r in reports):
        raise typer.Exit(2)


@app.command()
def documents(project: ProjectOpt, as_json: JsonOpt = False) -> None:
    """Liste les documents indexés d'un projet."""
    try:
        docs = _assistant().documents(project)
    except AssistantError as e:
        _fail(e)
    if as_json:
        _out_json([d.model_dump() for d in docs])
        return
    if not docs:
        typer.echo(f"Aucun document dans le projet « {project} ».")
    for d in docs:
        state = "" if d.embedded else " (vectorisation en cours)"
        typer.echo(f"{d.file} — {d.pages} page(s), {d.chunks} passages, indexé le {d.ingested_at}{state}")


@app.command()
def forget(file: Annotated[str, typer.Argument(help="Nom du fichier à retirer")], project: ProjectOpt) -> None:
    """Retire un document (et ses passages) d'un projet."""
    try:
        removed = _assistant().forget(project, file)
    except AssistantError as e:
        _fail(e)
    if not removed:
        typer.secho(f"Erreur : « {Path(file).name} » n'est pas indexé dans « {project} » — vérifiez le nom avec "
                    f"« python -m assistant documents --project {project} ».", err=True, fg="red")
        raise typer.Exit(1)
    typer.echo(f"« {Path(file).name} » retiré du projet « {project} ».")


@app.command()
def knowledge() -> None:
    """Indexe (ou met à jour) la méthode de marketing territorial (dossier knowledge/)."""
    try:
        reports = _assistant().ensure_knowledge(progress=_progress)
    except AssistantError as e:
        _fail(e)
    for r in reports:
        typer.echo(r.message)


@app.command()
def search(
    question: Annotated[str, typer.Argument(help="Question ou mots-clés")],
    project: ProjectOpt,
    k: Annotated[int, typer.Option("-k", help="Nombre de passages")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Recherche les passages les plus pertinents (sans génération)."""
    try:
        result = _assistant().search(question, project, k=k)
    except AssistantError as e:
        _fail(e)
    rows = [{"file": p.chunk.file, "page": p.chunk.page, "section": p.chunk.section, "project": p.chunk.project,
             "score": round(p.score, 5), "text": p.chunk.text} for p in result.passages]
    if as_json:
        _out_json(rows)
        return
    for i, row in enumerate(rows, 1):
        where = f"p. {row['page']}" if row["page"] else (row["section"] or "")
        typer.echo(f"[{i}] {row['file']}, {where} (score {row['score']})\n    {row['text'][:300]}\n")


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        data = answer.model_dump()
        _out_json(data)
        return
    typer.echo(answer.answer)
    if answer.citations:
        typer.echo("\nSources :")
        for c in answer.citations:
            where = f"p. {c.page}" if c.page else (c.section or "")
            typer.echo(f"  [{c.n}] {c.file}, {where} — « {c.quote} »")
    for flag in answer.flags:
        typer.secho(f"  ⚠ {flag}", err=True, fg="yellow")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="La question, en français")],
    project: ProjectOpt,
    as_json: JsonOpt = False,
) -> None:
    """Pose une question : réponse courte avec sources vérifiées (page exacte)."""
    try:
        answer = _assistant().ask(question, project)
    except AssistantError as e:
        _fail(e)
    _print_answer(answer, as_json)


@app.command()
def chat(project: ProjectOpt) -> None:
    """Conversation dans le terminal (les questions de suivi tiennent compte de l'historique)."""
    from .answer import Turn

    assistant = _assistant()
    history: list[Turn] = []
    typer.echo("Posez vos questions (ligne vide ou Ctrl-D pour quitter).")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            for event in assistant.ask_stream(question, project, history):
                if event.kind == "token":
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif event.kind == "final":
                    typer.echo("")
                    answer = event.answer
                    for c in answer.citations:
                        where = f"p. {c.page}" if c.page else (c.section or "")
                        typer.echo(f"  [{c.n}] {c.file}, {where} — « {c.quote} »")
                    history.append(Turn(question=event.question, answer=answer.answer))
        except AssistantError as e:
            typer.secho(f"Erreur : {e.user_message}", err=True, fg="red")


@app.command()
def doctor(
    as_json: JsonOpt = False,
    no_generation: Annotated[bool, typer.Option("--sans-generation", help="Ne pas tester une génération")] = False,
) -> None:
    """Vérifie la configuration : modèle, embeddings, base, méthode indexée."""
    report = _assistant().doctor(generate=not no_generation)
    if as_json:
        _out_json(report)
    else:
        names = {"llm": "Modèle de conversation", "embeddings": "Embeddings", "store": "Base vectorielle",
                 "knowledge": "Méthode indexée"}
        for key, label in names.items():
            part = report[key]
            mark = "OK " if part["ok"] else "ÉCHEC"
            detail = ", ".join(f"{k}={v}" for k, v in part.items() if k not in ("ok", "error", "text"))
            typer.echo(f"[{mark}] {label} : {detail}")
            if part.get("error"):
                typer.echo(f"       → {part['error']}")
    if not report["ok"]:
        raise typer.Exit(1)


@app.command()
def config() -> None:
    """Affiche la configuration effective (sans les secrets)."""
    _out_json(Settings().public_dump())



@app.command("eval")
def eval_(
    questions: Annotated[Path, typer.Option("--questions", "-q", help="Fichier de questions JSON lines (format de "
                                                                      "../shared/eval/dev.jsonl)")],
    project: ProjectOpt,
    as_json: JsonOpt = False,
    answers: Annotated[bool, typer.Option("--answers", help="Génère aussi les réponses (lent : modèle "
                                                            "de conversation)")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Rapport par question (.jsonl ou .md ; "
                                                                     "défaut : <données>/eval/)")] = None,
    k: Annotated[int, typer.Option("-k", help="Passages retenus par question")] = 5,
) -> None:
    """Mesure la recherche (recall@1, recall@5, MRR) et, avec --answers, les réponses sur un jeu de questions."""
    from .evaluation import default_report_path, evaluate, load_questions, write_report

    try:
        assistant = _assistant()
        items = load_questions(questions)
        if not assistant.documents(project):
            _missing_project(project)
        assistant.ensure_knowledge()  # as when serving: the method is searched with the project
        result = evaluate(assistant, items, project, k=k, answers=answers, questions_file=str(questions),
                          progress=_progress)
        path = write_report(result, report or default_report_path(assistant.settings.data_dir, project))
    except AssistantError as e:
        _fail(e)
    s = result.summary
    if as_json:
        _out_json({**s, "report": str(path)})
        return
    rule = s["coverage_rule"]
    typer.echo(f"Questions : {s['questions']} ({s['n']} couvertes, {s['uncovered']} non couvertes)")
    typer.echo(f"recall@1 = {s['recall@1']}   recall@{k} = {s[f'recall@{k}']}   MRR = {s['mrr']}   "
               f"(recherche : {s['median_search_ms']} ms médian)")
    typer.echo(f"Seuil de couverture {rule['threshold']} : {rule['answered_covered']} des questions couvertes "
               f"passent, {rule['refusal_uncovered']} des non couvertes sont écartées (seuil suggéré : "
               f"{s['suggested_min_dense_score']})")
    if "answers" in s:
        a = s["answers"]
        typer.echo(f"Réponses : citation juste {a['citation_hit']}, refus des non couvertes {a['refusal_uncovered']} "
                   f"({a['refused_uncovered_count']}), réponses aux couvertes {a['answered_covered']}, "
                   f"nombres non sourcés {a['unsupported_numbers']}")
        typer.echo(f"Temps médians : recherche {a['median_retrieval_ms']} ms, premier mot "
                   f"{a['median_first_token_ms']} ms, réponse complète {a['median_total_ms']} ms")
    typer.echo(f"Rapport par question : {path}")


def _missing_project(project: str) -> str:
    typer.secho(f"Erreur : le projet « {project} » n'a aucun document — indexez-les d'abord avec « python -m "
                f"assistant ingest DOSSIER --project {project} ».", err=True, fg="red")
    raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
