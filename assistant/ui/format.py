"""Text of the screens, without gradio: answers and their sources, stage progress, status lines, settings.

Plain Markdown (and one HTML list) built from the facades' objects, so that it can be read and tested alone.
"""

from __future__ import annotations

import html
import re

from .. import session
from ..core import Assistant
from ..schemas import KNOWLEDGE_PROJECT, Answer, Passage
from ..workflow.agenda import Agenda, Gate
from ..workflow.artifacts import STAGE_LABELS, STAGES, Strategy


# --- Discussion: answers and their sources --------------------------------------------------------------


def _escape(text: str) -> str:
    """Quotes come from documents: keep their characters from being read as Markdown or HTML."""
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def _where(page: int | None, section: str | None) -> str:
    return f"p. {page}" if page else (section or "")


def _source_link(space: session.ProjectSpace | None, project: str, file: str, page: int | None,
                 section: str | None) -> str:
    label = _escape(", ".join(x for x in (file, _where(page, section)) if x))
    if project == KNOWLEDGE_PROJECT:
        return f"{label} (méthode)"
    url = space.document_url(file, page) if space else None
    return f"[{label}]({url})" if url else label


def answer_markdown(answer: Answer, space: session.ProjectSpace | None) -> str:
    """The answer, then its verified sources: plain Markdown, so that the copy button copies readable text."""
    if not answer.covered:
        return f"> **Non couvert par les documents.** {answer.answer}"
    # A line of the model starting with ">" must not look like the "not covered" note.
    lines = [re.sub(r"(?m)^(\s*)>", r"\1\\>", answer.answer)]
    if answer.citations:
        lines += ["", "---", "**Sources vérifiées**", ""]
        for c in answer.citations:
            project = c.project or (space.name if space else "")
            link = _source_link(space, project, c.file, c.page, c.section)
            lines.append(f"- **[{c.n}]** {link} — « {_escape(c.quote)} »")
    if answer.flags:
        lines += ["", "**Points de vigilance**", ""] + [f"- {_escape(f)}" for f in answer.flags]
    return "\n".join(lines)


def passages_markdown(passages: list[Passage], space: session.ProjectSpace | None) -> str:
    if not passages:
        return "Aucun passage trouvé."
    lines = []
    for i, p in enumerate(passages, 1):
        c = p.chunk
        excerpt = _escape(c.text[:220]) + ("…" if len(c.text) > 220 else "")
        lines.append(f"{i}. {_source_link(space, c.project, c.file, c.page, c.section)} — {excerpt}")
    return "\n".join(lines)


# --- Paramètres -----------------------------------------------------------------------------------------


def settings_markdown(assistant: Assistant) -> str:
    s = assistant.settings
    if s.llm.provider == "embedded":
        model = f"modèle local **{s.llm.gguf_path.name if s.llm.gguf_path else s.llm.model}** (llama.cpp)"
    else:
        model = f"**{s.llm.model_name or '?'}** via un point d'accès compatible OpenAI ({s.llm.base_url or 'OpenAI'})"
    state = f"actif : {assistant.chat.name}" if assistant.chat_loaded else "chargé à la première question"
    embed = ("multilingual-e5-small (local)" if s.embeddings.provider == "embedded"
             else f"{s.embeddings.model_name} ({s.embeddings.base_url or 'OpenAI'})")
    store = "Chroma local" if s.store.mode == "embedded" else f"serveur Chroma {s.store.host}:{s.store.port}"
    auth = "activée" if s.server.auth_user and s.server.auth_password else "désactivée"
    return "\n".join([
        f"- **Modèle de réponse** : {model} — {state}",
        f"- **Fournisseur** : {s.llm.provider}",
        f"- **Recherche sémantique** : {embed}",
        f"- **Base de passages** : {store}, dossier de données `{s.data_dir}`",
        f"- **Passages retenus par question** : {s.retrieval.k} (seuil de couverture {s.retrieval.min_dense_score})",
        f"- **Connexion par mot de passe** : {auth}",
        "",
        "Les clés et mots de passe ne sont jamais affichés. Pour changer de modèle : variables `ASSISTANT_LLM__…` "
        "(voir `python -m assistant config`).",
    ])


# --- Démarche (guided method) ---------------------------------------------------------------------------


def stages_html(strategy: Strategy) -> str:
    current = STAGES.index(strategy.current_stage)
    forced_stages = {o.stage for o in strategy.overrides}
    items = []
    for i, stage in enumerate(STAGES):
        label = f"{i + 1}. {STAGE_LABELS[stage]}"
        if i < current and stage in forced_stages:
            items.append(f'<li class="faite forcee">{label} (passage forcé)</li>')
        elif i < current:
            items.append(f'<li class="faite">{label} <span class="sr">(faite)</span></li>')
        elif i == current:
            items.append(f'<li class="courante" aria-current="step">{label} <span class="sr">(en cours)</span></li>')
        else:
            items.append(f"<li>{label}</li>")
    percent = round(100 * current / len(STAGES))
    forced = "".join(f"<li>{html.escape(o.label())}</li>" for o in strategy.overrides)
    if forced:
        forced = ('<div class="passages-forces"><p>Passages d\'étape forcés (raisons consignées) :</p>'
                  f'<ul>{forced}</ul></div>')
    return (f'<nav aria-label="Étapes de la démarche"><ol>{"".join(items)}</ol></nav>'
            f'<p>Étape {current + 1} sur {len(STAGES)} — {percent} % de la démarche parcourue.</p>{forced}')


def _message_markdown(message: str) -> str:
    """The engine's messages are lines, some of them "- " items: give each plain line its own paragraph."""
    out: list[str] = []
    for line in message.splitlines():
        item = line.startswith("- ")
        if out and not (item and out[-1].startswith("- ")):
            out.append("")
        out.append(line if item else _escape_keep_quotes(line))
    return "\n".join(out)


def _escape_keep_quotes(line: str) -> str:
    return line.replace("*", "\\*").replace("_", "\\_")


def question_markdown(view: Agenda) -> str:
    if view.next is None:
        return (f"**{view.label}** — plus de question pour cette étape. Complétez ou validez les tableaux "
                "ci-dessous, puis passez à l'étape suivante.")
    optional = "" if view.next.required else " _(facultatif)_"
    return f"**Question — {view.label}**{optional}\n\n{view.next.text}"


def gate_markdown(gate: Gate) -> str:
    if gate.ok:
        lines = ["**Étape complète** : vous pouvez passer à l'étape suivante."]
    else:
        lines = ["**Pour passer à l'étape suivante, il manque :**", ""] + [f"- {_escape(r)}" for r in gate.reasons]
    if gate.warnings:
        lines += ["", "**Conseils :**", ""] + [f"- {_escape(w)}" for w in gate.warnings]
    return "\n".join(lines)


# --- status lines ---------------------------------------------------------------------------------------

LOADING = "Chargement du modèle local (≈10 s la première fois)…"


def _status(text: str, kind: str = "info") -> str:
    # Words, not colours or emoji, carry the kind of message (emoji fonts are missing on many desktops).
    prefix = {"info": "", "ok": "", "erreur": "**Erreur** — ", "alerte": "**Attention** — ",
              "attente": "**En cours** — "}[kind]
    return prefix + text


def project_text(space, frame) -> str:
    n = len(frame)
    return (f"Territoire **{space.name}** : {n} document(s) indexé(s)." if n else
            f"Territoire **{space.name}** : aucun document pour l'instant (onglet Documents).")
