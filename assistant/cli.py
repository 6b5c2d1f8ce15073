"""Command line: the only typer importer. Results to stdout (``--json`` pipes into jq), progress to stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
import typer.rich_utils  # noqa: F401 — cli_french sets its French strings

from . import cli_french
from .config import shared_dir, Settings
from .errors import AssistantError

cli_french.install(typer)  # typer prints some words of its own (usage line, --help, type hints): in French

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
            streamed = []
            for event in assistant.ask_stream(question, project, history):
                if event.kind == "token":
                    streamed.append(event.text)
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif event.kind == "final":
                    typer.echo("")
                    answer = event.answer
                    # The stream is the model's draft; checks may renumber or drop citations and flag figures.
                    if " ".join(answer.answer.split()) != " ".join("".join(streamed).split()):
                        typer.echo(f"\nAprès vérification :\n{answer.answer}")
                    for flag in answer.flags:
                        typer.secho(f"  ⚠ {flag}", fg="yellow")
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
    from .evaluation import default_report_path, evaluate, load_questions, shown, write_report

    try:
        assistant = _assistant()
        items = load_questions(questions)
        if not assistant.documents(project):
            _missing_project(project)
        assistant.ensure_knowledge(progress=_progress)  # as when serving: the method is searched too
        result = evaluate(assistant, items, project, k=k, answers=answers, questions_file=str(questions),
                          progress=_progress)
        path = write_report(result, report or default_report_path(assistant.settings.data_dir, project))
    except AssistantError as e:
        _fail(e)
    s = result.summary
    if as_json:
        _out_json({**s, "report": str(path)})
        return
    rule, v = s["coverage_rule"], shown
    typer.echo(f"Questions : {s['questions']} ({s['n']} couvertes, {s['uncovered']} non couvertes)")
    typer.echo(f"recall@1 = {v(s['recall@1'])}   recall@{k} = {v(s[f'recall@{k}'])}   MRR = {v(s['mrr'])}   "
               f"(recherche : {s['median_search_ms']} ms médian)")
    typer.echo(f"Citation attendue lue par le modèle (passages et fenêtres qu'il reçoit) : {v(s['quote_read'])} "
               f"({s['quote_read_count']})")
    typer.echo(f"Seuil de couverture {rule['threshold']} : {v(rule['answered_covered'])} des questions couvertes "
               f"passent, {v(rule['refusal_uncovered'])} des non couvertes sont écartées (seuil suggéré : "
               f"{v(s['suggested_min_dense_score'])})")
    if "answers" in s:
        a = s["answers"]
        typer.echo(f"Réponses : citation juste {v(a['citation_hit'])}, refus des non couvertes "
                   f"{v(a['refusal_uncovered'])} ({a['refused_uncovered_count']}), réponses aux couvertes "
                   f"{v(a['answered_covered'])}, nombres non sourcés {a['unsupported_numbers']}")
        typer.echo(f"Temps médians : recherche {v(a['median_retrieval_ms'])} ms, premier mot "
                   f"{v(a['median_first_token_ms'])} ms, réponse complète {v(a['median_total_ms'])} ms")
    typer.echo(f"Rapport par question : {path}")


def _missing_project(project: str) -> None:
    typer.secho(f"Erreur : le projet « {project} » n'a aucun document — indexez-les d'abord avec « python -m "
                f"assistant ingest DOSSIER --project {project} ».", err=True, fg="red")
    raise typer.Exit(1)


# --- projects and the guided method ------------------------------------------------------------------------

project_app = typer.Typer(help="Projets (territoires) : créer, lister, afficher, supprimer.", no_args_is_help=True)
app.add_typer(project_app, name="project")
workflow_app = typer.Typer(help="Démarche guidée de marketing territorial, du cadrage au tableau de bord : "
                                "conversation dans le terminal (--project NOM), ou « replay » d'un script.")
app.add_typer(workflow_app, name="workflow")

NameArg = Annotated[str, typer.Argument(help="Nom du projet (territoire), ex. Dinan")]


def _space(project: str):
    from .session import ProjectSpace

    return ProjectSpace(_assistant(), project)


@project_app.command("new")
def project_new(
    name: NameArg,
    territory_type: Annotated[Optional[str], typer.Option("--type",
                                                          help="commune, epci, departement ou region")] = None,
    code: Annotated[Optional[str], typer.Option("--code", help="Code INSEE (ex. 22050) ou SIREN pour un EPCI")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Crée un projet et sa stratégie vide (étape 1 : cadrage)."""
    try:
        space = _space(name)
        strategy = space.engine().start(space.name, slug=space.slug, territory_type=territory_type, code=code)
    except AssistantError as e:
        _fail(e)
    if as_json:
        _out_json(strategy.model_dump(mode="json"))
        return
    typer.echo(f"Projet « {strategy.title} » créé (dossier {strategy.slug}).")
    typer.echo(f"Suite : python -m assistant ingest DOCUMENTS --project \"{strategy.title}\", puis "
               f"python -m assistant workflow --project \"{strategy.title}\"")


@project_app.command("list")
def project_list(as_json: JsonOpt = False) -> None:
    """Liste les projets : étape en cours de la stratégie et documents indexés."""
    from .session import list_projects
    from .workflow import ProjectStorage, slugify

    try:
        assistant = _assistant()
        storage = ProjectStorage(assistant.settings.projects_dir.resolve())
        strategies = {p.slug: p for p in storage.list_projects()}
        rows = []
        for name in list_projects(assistant):
            summary = strategies.get(slugify(name))
            rows.append({"name": name, "slug": slugify(name), "documents": len(assistant.documents(name)),
                         "stage": summary.current_stage if summary else None,
                         "version": summary.version if summary else None,
                         "updated_at": summary.updated_at if summary else None})
    except AssistantError as e:
        _fail(e)
    if as_json:
        _out_json(rows)
        return
    if not rows:
        typer.echo("Aucun projet. Créez-en un : python -m assistant project new NOM")
    from .workflow import STAGE_LABELS

    for r in rows:
        stage = f"étape : {STAGE_LABELS.get(r['stage'], r['stage'])} (version {r['version']})" if r["stage"] \
            else "pas encore de stratégie"
        typer.echo(f"{r['name']} — {stage}, {r['documents']} document(s)")


@project_app.command("show")
def project_show(name: NameArg, as_json: JsonOpt = False) -> None:
    """Affiche une stratégie : étapes et progression, question en cours, propositions et hypothèses, leviers."""
    from .errors import WorkflowError
    from .workflow import build_report, render_report

    try:
        space = _space(name)
        if not space.storage.exists(space.slug):
            raise WorkflowError(f"Le projet « {space.name} » n'a pas encore de stratégie",
                                fix=f"créez-la avec « python -m assistant project new \"{space.name}\" »")
        report = build_report(space.storage.load(space.slug))
        documents = [d.file for d in space.assistant.documents(space.name)]
    except AssistantError as e:
        _fail(e)
    if as_json:
        _out_json({**report.model_dump(mode="json"), "documents": documents})
        return
    typer.echo(render_report(report))
    typer.echo(f"Documents indexés ({len(documents)}) : " + (", ".join(documents) or "aucun"))


@project_app.command("delete")
def project_delete(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--oui", help="Confirme la suppression définitive")] = False,
) -> None:
    """Supprime un projet : sa stratégie (avec l'historique) et ses documents indexés."""
    import shutil

    from .errors import InputError, WorkflowError

    try:
        space = _space(name)
        indexed = [n for n in space.assistant.projects() if _same_slug(n, space.slug)]
        documents = sum(len(space.assistant.documents(n)) for n in indexed)
        if not indexed and not space.dir.exists():
            raise WorkflowError(f"Le projet « {space.name} » n'existe pas",
                                fix="vérifiez son nom avec « python -m assistant project list »")
        if not yes:
            raise InputError(f"Suppression non confirmée : le projet « {space.name} » (stratégie et "
                             f"{documents} document(s) indexé(s)) serait supprimé définitivement",
                             fix="relancez la commande avec --oui")
        for indexed_name in indexed:
            space.assistant.delete_project(indexed_name)
        if space.dir.exists() and space.dir.parent == space.assistant.settings.projects_dir.resolve():
            shutil.rmtree(space.dir)
    except AssistantError as e:
        _fail(e)
    typer.echo(f"Projet « {space.name} » supprimé ({documents} document(s) retiré(s) de l'index).")


def _same_slug(name: str, slug: str) -> bool:
    from .errors import InputError
    from .workflow import slugify

    try:
        return slugify(name) == slug
    except InputError:
        return False


def _conversation(project: str):
    """The conversation on a project's strategy, created empty the first time."""
    from .workflow import Conversation

    space = _space(project)
    space.strategy()
    return Conversation(space.engine(), space.slug)


def _is_model_turn(line: str) -> bool:
    return not line.startswith("/") or line.split()[0].lower() == "/brouillon"


@workflow_app.callback(invoke_without_command=True)
def workflow(
    ctx: typer.Context,
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Projet (territoire), ex. Dinan")] = None,
) -> None:
    """Conversation guidée dans le terminal : l'assistant pose les questions, /aide liste les commandes."""
    if ctx.invoked_subcommand is not None:
        return
    from .errors import InputError

    try:
        if not project:
            raise InputError("Aucun projet indiqué", fix="précisez-le avec --project NOM (ex. --project Dinan)")
        conversation = _conversation(project)
        typer.echo(conversation.opening())
    except AssistantError as e:
        _fail(e)
    typer.echo("(Tapez /aide pour les commandes, /quitter pour terminer : tout est enregistré à chaque réponse.)")
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            typer.echo("")
            break
        if not line:
            continue
        if _is_model_turn(line):
            typer.echo("… le modèle lit votre réponse", err=True)
        reply = conversation.handle(line)
        typer.secho(reply.text, err=reply.error, fg="red" if reply.error else None)
        if reply.done:
            break


def _load_script(path: Path) -> list[tuple[str, str, str | None]]:
    """(kind, text, question) turns of a replay script: « say » (a line typed by the user, answering ``question``
    if given, else the next one) or « comment » (shown only)."""
    from .errors import InputError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"Script illisible : {path}", fix="vérifiez le chemin du fichier JSON") from e
    except ValueError as e:
        raise InputError(f"Le script {path.name} n'est pas du JSON valide ({e})",
                         fix="une liste de tours : \"texte\", {\"say\": \"…\"} ou "
                         "{\"command\": \"/brouillon\"}") from e
    turns = data.get("turns") if isinstance(data, dict) else data
    if not isinstance(turns, list):
        raise InputError(f"Le script {path.name} doit être une liste de tours (ou un objet avec « turns »)",
                         fix="ex. [\"Nous sommes une commune rurale\", {\"command\": \"/brouillon\"}]")
    parsed: list[tuple[str, str, str | None]] = []
    for n, turn in enumerate(turns, 1):
        if isinstance(turn, str) and turn.strip():
            parsed.append(("say", turn.strip(), None))
            continue
        if not isinstance(turn, dict) or not all(isinstance(v, str) and v.strip() for v in turn.values()):
            raise InputError(f"Tour n° {n} du script illisible : {json.dumps(turn, ensure_ascii=False)[:80]}",
                             fix="un texte, ou un objet {\"say\": \"…\"}, {\"command\": \"/…\"}, "
                             "{\"comment\": \"…\"}")
        unknown = sorted(set(turn) - {"say", "command", "comment", "question"})
        kinds = [k for k in ("say", "command", "comment") if k in turn]
        if unknown or len(kinds) != 1 or ("question" in turn and kinds != ["say"]):
            keys = ", ".join(unknown or sorted(turn))
            raise InputError(f"Tour n° {n} du script : clé(s) « {keys} » inattendue(s)",
                             fix="un seul de say, command ou comment ; « question » accompagne say")
        kind, text = kinds[0], turn[kinds[0]].strip()
        if kind == "command":
            parsed.append(("say", text if text.startswith("/") else "/" + text, None))
        else:
            parsed.append((kind, text, turn.get("question")))
    return parsed


@workflow_app.command("replay")
def workflow_replay(
    project: ProjectOpt,
    script: Annotated[Path, typer.Option("--script", "-s", help="Script JSON : liste des tours de l'utilisateur")],
    as_json: JsonOpt = False,
    durations: Annotated[bool, typer.Option("--durees", help="Indique la durée de chaque tour")] = False,
) -> None:
    """Rejoue un script de conversation et affiche la transcription (tests, démonstrations)."""
    import time

    try:
        turns = _load_script(script)
        conversation = _conversation(project)
        opening = conversation.opening()
    except AssistantError as e:
        _fail(e)
    if not as_json:
        typer.echo(opening)
    record, failed = [], []
    for n, (kind, text, question) in enumerate(turns, 1):
        if kind == "comment":
            record.append({"n": n, "comment": text})
            if not as_json:
                typer.echo(f"\n# {text}")
            continue
        if _is_model_turn(text):
            typer.echo(f"[tour {n}] … le modèle lit la réponse", err=True)
        start = time.perf_counter()
        reply = conversation.handle(text, question=question)
        seconds = time.perf_counter() - start
        record.append({"n": n, "input": text, "reply": reply.text, "error": reply.error, "stage": reply.stage,
                       "seconds": round(seconds, 1)})
        if reply.error:
            failed.append(n)
        if not as_json:
            timing = f"  ({seconds:.1f} s)".replace(".", ",") if durations else ""
            typer.echo(f"\n> {text}{timing}\n{reply.text}")
        if reply.done:
            break
    if as_json:
        _out_json({"project": project, "opening": opening, "turns": record, "failed": failed})
    if failed:
        typer.secho(f"Erreur : {len(failed)} tour(s) du script ont échoué (n° {', '.join(map(str, failed))}) — "
                    "voir la transcription ; le reste a été enregistré", err=True, fg="red")
        raise typer.Exit(1)


@app.command()
def schema(
    stage: Annotated[Optional[str], typer.Argument(
        help="Étape (cadrage, diagnostic, das, positionnement, plan_action, tableau_de_bord, ou 1 à 6) "
             "ou « strategy »")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Écrit tous les schémas dans ce dossier")] = None,
) -> None:
    """Affiche le schéma JSON d'une étape, ou écrit tous les schémas dans un dossier (--out)."""
    from .errors import InputError
    from .workflow import export_schemas, resolve_stage, stage_schema, strategy_schema

    try:
        if out is not None:
            for path in export_schemas(out):
                typer.echo(str(path))
            return
        if not stage:
            raise InputError("Aucune étape indiquée", fix="ex. « python -m assistant schema diagnostic », ou --out "
                             "DOSSIER pour tous les schémas")
        data = strategy_schema() if stage.lower() in ("strategy", "strategie", "stratégie") \
            else stage_schema(resolve_stage(stage))
    except AssistantError as e:
        _fail(e)
    except OSError as e:
        _fail(AssistantError(f"Impossible d'écrire dans {out} ({e.strerror})", fix="choisissez un dossier accessible"))
    _out_json(data)


# --- fiche territoire, territoires concurrents, entretiens, exports -----------------------------------------

CommunesOpt = Annotated[Optional[Path], typer.Option(
    "--communes", help="Populations légales INSEE (donnees_communes.csv) ; défaut : le corpus partagé")]
IndicatorsOpt = Annotated[Optional[Path], typer.Option(
    "--indicateurs", help="Indicateurs de l'Observatoire des territoires (datacom.csv) ; défaut : le corpus partagé")]
MetaOpt = Annotated[Optional[Path], typer.Option(
    "--meta", help="Dictionnaire des indicateurs (meta.xlsx) ; défaut : le corpus partagé")]
YearOpt = Annotated[Optional[str], typer.Option(
    "--millesime-population", help="Millésime des populations légales, s'il est connu (le fichier ne le dit pas)")]
CodeArg = Annotated[str, typer.Argument(help="Code commune INSEE à 5 caractères, ex. 22050 (Dinan)")]


_TERRITORY_DATA: dict[tuple, object] = {}


def _territory_data(communes: Optional[Path], indicateurs: Optional[Path], meta: Optional[Path],
                    year: Optional[str] = None):
    """The official data files: the shared corpus layout unless a path is given (kept while the files are unchanged)."""
    from .config import PROJECT_ROOT
    from .territory import TerritoryData

    default = TerritoryData.from_corpus(shared_dir() / "corpus")
    paths = (communes or default.communes_csv, indicateurs or default.indicators_csv, meta or default.indicators_meta)

    def stamp(path: Path) -> tuple:
        try:
            stat = path.stat()
        except OSError:
            return (str(path), None)
        return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)

    key = (*(stamp(Path(p)) for p in paths), year)
    if key not in _TERRITORY_DATA:
        _TERRITORY_DATA.clear()  # one data set at a time: the files weigh tens of megabytes in memory
        _TERRITORY_DATA[key] = TerritoryData(*paths, population_year=year)
    return _TERRITORY_DATA[key]


def _codes(text: Optional[str]) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _print_facts(result, what: str) -> None:
    for line in result.added:
        typer.echo(f"ajouté    {line}")
    for line in result.skipped:
        typer.echo(f"déjà là   {line}")
    for warning in result.warnings:
        typer.secho(f"  ⚠ {warning}", err=True, fg="yellow")
    typer.echo(f"Bilan : {len(result.added)} {what} ajouté(s), {len(result.skipped)} déjà présent(s) — projet "
               f"« {result.project} », version {result.version}.")


@app.command()
def territoire(
    code: CodeArg,
    as_json: JsonOpt = False,
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Projet à compléter")] = None,
    add: Annotated[bool, typer.Option("--ajouter-au-diagnostic", help="Ajoute les chiffres au diagnostic du "
                                                                      "projet (donnée officielle, avec millésime)")] = False,
    communes: CommunesOpt = None, indicateurs: IndicatorsOpt = None, meta: MetaOpt = None, year: YearOpt = None,
) -> None:
    """Fiche territoire : population INSEE et 9 indicateurs officiels, chacun avec sa source et son millésime."""
    from .errors import InputError
    from .territory import render_card_markdown
    from .territory_facts import add_card_to_diagnostic

    try:
        if add and not project:
            raise InputError("--ajouter-au-diagnostic sans projet", fix="précisez le projet avec --project NOM")
        card = _territory_data(communes, indicateurs, meta, year).card(code)
        result = None
        if add:
            space = _space(project)
            result = add_card_to_diagnostic(space.storage, space.slug, card, title=space.name)
    except AssistantError as e:
        _fail(e)
    if as_json:
        data = card.model_dump(mode="json")
        if result:
            data["ajout"] = {"project": result.project, "added": result.added, "skipped": result.skipped,
                             "version": result.version}
        _out_json(data)
        return
    typer.echo(render_card_markdown(card))
    if result:
        _print_facts(result, "chiffre(s)")


@app.command()
def concurrents(
    code: CodeArg,
    scope: Annotated[str, typer.Option("--portee", help="Communes de taille comparable : departement ou region")]
    = "departement",
    codes: Annotated[Optional[str], typer.Option("--codes", help="Liste de codes à comparer, ex. 22187,22093 "
                                                                 "(remplace la recherche automatique)")] = None,
    count: Annotated[int, typer.Option("--nombre", help="Nombre de communes proposées")] = 5,
    chart: Annotated[Optional[Path], typer.Option("--graphique", help="Graphique PNG (défaut : "
                                                                      "concurrents-CODE.png, sauf avec --json)")] = None,
    keep: Annotated[Optional[str], typer.Option("--garder", help="Codes à enregistrer comme territoires "
                                                                 "concurrents du projet, ex. 22187,22093")] = None,
    project: Annotated[Optional[str], typer.Option("--project", "-p", help="Projet où garder les concurrents")]
    = None,
    as_json: JsonOpt = False,
    communes: CommunesOpt = None, indicateurs: IndicatorsOpt = None, meta: MetaOpt = None, year: YearOpt = None,
) -> None:
    """Territoires concurrents : tableau des indicateurs côte à côte, graphique, et choix de ceux à garder."""
    from .errors import InputError
    from .territory_facts import add_competitors, comparison_markdown, comparison_panels

    try:
        if keep and not project:
            raise InputError("--garder sans projet", fix="précisez le projet avec --project NOM")
        data = _territory_data(communes, indicateurs, meta, year)
        target = data.card(code)
        others = data.comparables(code, scope=scope, limit=count, codes=_codes(codes) or None)
        rows = data.comparison_table([target.code] + [c.code for c in others])
        chart_path = None
        if chart is not None or not as_json:
            from .charts import charts_available, draw_panels

            if charts_available():
                chart_path = draw_panels(chart or Path(f"concurrents-{target.code}.png"),
                                         f"{target.name} et communes comparables", comparison_panels(rows),
                                         footer="Sources : INSEE, populations légales ; Observatoire des "
                                         "territoires (datacom.csv) — détail dans le tableau")
        result = None
        if keep:
            wanted = _codes(keep)
            by_code = {c.code: c for c in others}
            space = _space(project)
            result = add_competitors(space.storage, space.slug, target,
                                     [by_code.get(c) or data.card(c) for c in wanted], title=space.name)
    except AssistantError as e:
        _fail(e)
    if as_json:
        data_out = {"territoire": target.code, "communes": [c.code for c in others], "tableau": rows,
                    "graphique": str(chart_path) if chart_path else None}
        if result:
            data_out["garde"] = {"project": result.project, "added": result.added, "skipped": result.skipped}
        _out_json(data_out)
        return
    typer.echo(f"### {target.name} ({target.code}) et communes comparables\n")
    typer.echo(comparison_markdown(rows))
    typer.echo("Sources :\n" + "\n".join(f"- {a}" for a in target.attribution))
    if chart_path:
        typer.echo(f"\nGraphique : {chart_path}")
    if result:
        _print_facts(result, "territoire(s) concurrent(s)")
    elif not keep:
        typer.echo(f"\nPour garder des concurrents : --garder {','.join(c.code for c in others[:2]) or 'CODE'} "
                   "--project NOM")


entretiens_app = typer.Typer(help="Entretiens : guides par partie prenante, notes versées au diagnostic.",
                             no_args_is_help=True)
app.add_typer(entretiens_app, name="entretiens")


@entretiens_app.command("guide")
def entretiens_guide(
    project: ProjectOpt,
    kind: Annotated[Optional[str], typer.Option("--type", help="Type de partie prenante (entreprises, habitants, "
                                                               "elus…) ; défaut : tous")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, docx ou odt")] = "md",
    out: Annotated[Optional[Path], typer.Option("--out", help="Fichier à écrire (défaut : sortie standard en md)")]
    = None,
) -> None:
    """Kit d'entretien : un guide par partie prenante, tiré de la méthode et de ce qui manque au diagnostic."""
    from .errors import InputError
    from .exports import write_document
    from .exports.to_markdown import render_markdown
    from .interviews import build_kit, interview_types, kit_document

    try:
        if fmt not in ("md", "docx", "odt"):
            raise InputError(f"Format « {fmt} » non prévu pour le kit", fix="choisissez md, docx ou odt")
        space = _space(project)
        strategy = space.strategy()
        guides = build_kit(strategy, interview_types(strategy, kind),
                           knowledge_dir=space.assistant.settings.knowledge_dir)
        doc = kit_document(strategy, guides)
        if out is None and fmt == "md":
            typer.echo(render_markdown(doc), nl=False)
            return
        path = write_document(doc, fmt, out or Path(f"entretiens-{space.slug}.{fmt}"))
    except AssistantError as e:
        _fail(e)
    typer.echo(f"Kit d'entretien écrit : {path} ({len(guides)} guide(s) : {', '.join(g.label for g in guides)})")


@entretiens_app.command("notes")
def entretiens_notes(
    file: Annotated[Path, typer.Argument(help="Notes d'entretien (TXT, Markdown, DOCX ou ODT)")],
    project: ProjectOpt,
    kind: Annotated[str, typer.Option("--type", help="Type de partie prenante interrogée (entreprises, "
                                                     "habitants…)")],
    no_model: Annotated[bool, typer.Option("--sans-modele", help="Pseudonymise et garde les notes sans en "
                                                                 "extraire les constats")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Verse des notes d'entretien au diagnostic : pseudonymisation, puis constats à valider (avis de partie prenante)."""
    from .errors import ConfigError, ModelError, WorkflowError
    from .interview_notes import add_interview_notes

    warning = None
    try:
        space = _space(project)
        if not space.storage.exists(space.slug):
            raise WorkflowError(f"Le projet « {space.name} » n'a pas encore de stratégie",
                                fix=f"créez-le avec « python -m assistant project new \"{space.name}\" »")
        chat = None
        if not no_model:
            try:
                chat = space.assistant.chat
            except (ModelError, ConfigError) as e:
                warning = f"modèle indisponible ({e.user_message}) : notes gardées sans extraction des constats"
        result = add_interview_notes(space.storage, space.slug, file, kind, chat,
                                     prompts_dir=space.assistant.settings.prompts_dir)
    except AssistantError as e:
        _fail(e)
    if warning:
        typer.secho(f"  ⚠ {warning}", err=True, fg="yellow")
    if as_json:
        _out_json({"file": result.file, "type": result.stakeholder_type, "saved_to": str(result.saved_to),
                   "pseudonymisation": result.pseudonymized.summary(), "added": result.added,
                   "dropped": result.dropped, "version": result.version})
        return
    typer.echo(f"Notes pseudonymisées ({result.pseudonymized.summary()}) : {result.saved_to}")
    for line in result.added:
        typer.echo(f"ajouté    {line}")
    for line in result.dropped:
        typer.echo(f"écarté    {line}")
    if result.model_used:
        typer.echo(f"Bilan : {len(result.added)} avis ajouté(s) au diagnostic, à valider (projet version "
                   f"{result.version}). Relisez les notes pseudonymisées avant de les partager.")


@app.command("export")
def export_(
    project: ProjectOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="docx, odt, md (document) ; xlsx, ods, csv (plan "
                                                            "d'action) ; json (stratégie complète)")] = "docx",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Fichier à écrire (défaut : "
                                                                    "strategie-PROJET.FORMAT)")] = None,
) -> None:
    """Exporte la stratégie : document (DOCX, ODT, Markdown), plan d'action (XLSX, ODS, CSV) ou JSON."""
    from .errors import WorkflowError
    from .exports import default_name, export_strategy

    try:
        space = _space(project)
        if not space.storage.exists(space.slug):
            raise WorkflowError(f"Le projet « {space.name} » n'a pas encore de stratégie",
                                fix=f"créez-le avec « python -m assistant project new \"{space.name}\" »")
        strategy = space.storage.load(space.slug)
        result = export_strategy(strategy, fmt, out or Path(default_name(strategy, fmt.lower().lstrip("."))))
    except AssistantError as e:
        _fail(e)
    typer.echo(f"Export écrit : {result.path} — {result.summary}")
    for extra in result.extra_files:
        typer.echo(f"Fichier joint : {extra}")


def main() -> None:
    cli_french.run(app, typer)


if __name__ == "__main__":
    main()
