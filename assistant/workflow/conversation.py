"""The guided method as a text conversation: one line in, one French reply out, slash commands included.

The terminal (``python -m assistant workflow``) and the replay of a script (``workflow replay``) both feed
lines to a ``Conversation``; neither holds state of its own, so a conversation stopped anywhere resumes from
the project files. Numbers in ``/confirmer 2`` and ``/supprimer 2`` are positions in the list of proposals
awaiting review of the current stage, the one ``/brouillon`` and ``/etat`` print.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from ..errors import AssistantError, InputError, ModelError, WorkflowError
from . import items
from .agenda import Agenda, agenda, can_advance
from .artifacts import STAGE_LABELS, STAGES, Strategy
from .engine import WorkflowEngine
from .extraction import Change, norm
from .items import pending_review
from .provenance import describe
from .report import build_report, pending_items, render_report

HELP = """Commandes :
  (texte libre)      répondre à la question posée
  /brouillon [ÉTAPE]  proposer des éléments tirés de vos documents (à valider)
  /confirmer N|ID|tout  valider une ou plusieurs propositions (N = numéro de la liste /etat)
  /supprimer N|ID     écarter une proposition ou un élément
  /passer            reporter la question (elle reviendra à la fin)
  /suivant           passer à l'étape suivante (si le contrôle de l'étape le permet)
  /forcer RAISON     passer à l'étape suivante malgré le contrôle ; la raison est consignée
  /retour ÉTAPE      revenir à une étape antérieure (nom ou numéro 1 à 6)
  /etat              où en est la démarche : étapes, manques, propositions à valider, leviers
  /aide              cette aide
  /quitter           terminer (tout est déjà enregistré)"""


class Reply(BaseModel):
    """The assistant's answer to one line. ``error``: the line could not be carried out; ``done``: /quitter."""

    text: str
    error: bool = False
    done: bool = False
    stage: str


class Conversation:
    """One person working on one project's strategy, line by line."""

    def __init__(self, engine: WorkflowEngine, project: str) -> None:
        self.engine = engine
        self.project = project
        self._commands: dict[str, Callable[[str], str]] = {
            "brouillon": self._draft, "confirmer": self._confirm, "valider": self._confirm,
            "supprimer": self._delete, "passer": self._skip, "suivant": self._advance, "forcer": self._force,
            "retour": self._back, "etat": self._state, "aide": lambda _: HELP,
        }

    # --- entry points -------------------------------------------------------------------------------------

    def opening(self) -> str:
        """What to show when the conversation starts or resumes: the stage and the question to answer."""
        strategy = self._load()
        head = f"Projet « {strategy.title} » (version {strategy.version})."
        return "\n".join([head, stage_banner(strategy.current_stage), self._next_hint(strategy)])

    def handle(self, line: str, *, question: str | None = None) -> Reply:
        """Carry out one line. ``question`` (an id or its prefix, e.g. ``diagnostic.cibles``) says which question
        a plain answer answers; by default, the next one. Scripts use it to stay on track whatever the model read."""
        line = (line or "").strip()
        before = self._load().current_stage
        key = ""
        try:
            if not line:
                raise InputError("Réponse vide", fix="écrivez votre réponse, ou tapez /aide")
            if line.startswith("/"):
                name, _, arg = line[1:].partition(" ")
                key = norm(name).replace(" ", "")
                if key in ("quitter", "q", "fin"):
                    return Reply(text="Au revoir : tout est enregistré, reprenez quand vous voulez.", done=True,
                                 stage=before)
                if key not in self._commands:
                    raise InputError(f"Commande inconnue : « /{name} »",
                                     fix="tapez /aide pour la liste des commandes")
                text = self._commands[key](arg.strip())
            else:
                text = self._answer(line, question)
        except ModelError as e:
            return Reply(text=f"Erreur : {e.user_message}\nRien n'a été modifié : la question reste posée.",
                         error=True, stage=before)
        except AssistantError as e:
            return Reply(text=f"Erreur : {e.user_message}", error=True, stage=before)
        strategy = self._load()
        if strategy.current_stage != before:
            text = f"{text}\n{stage_banner(strategy.current_stage)}"
        if key not in ("etat", "aide"):  # those print the question themselves, or need none
            text = f"{text}\n{self._next_hint(strategy)}"
        return Reply(text=text, stage=strategy.current_stage)

    # --- plain answers ------------------------------------------------------------------------------------

    def _answer(self, text: str, question: str | None = None) -> str:
        question_id = self._question_id(question) if question else None
        result = self.engine.answer(self.project, text, question_id=question_id)
        if result.changes:
            lines = ["J'ai enregistré :"] + [f"- {describe_change(c)}" for c in result.changes]
        else:
            lines = ["Je n'ai rien trouvé à enregistrer dans cette réponse : reformulez en étant plus précis, "
                     "ou tapez /passer."]
        lines += [f"Attention : {w}" for w in result.warnings]
        return "\n".join(lines)

    def _question_id(self, wanted: str) -> str:
        strategy = self._load()
        view = agenda(strategy)
        for q in view.questions:
            if q.id == wanted or q.id.startswith(wanted + "."):
                return q.id
        asked = ", ".join(q.id for q in view.questions[:6]) or "aucune"
        raise WorkflowError(f"La question « {wanted} » n'est pas posée à l'étape « {view.label} »",
                            fix=f"questions en cours : {asked}")

    # --- commands -----------------------------------------------------------------------------------------

    def _draft(self, arg: str) -> str:
        stage = resolve_stage(arg) if arg else None
        result = self.engine.propose_draft(self.project, stage)
        lines = [f"Propositions pour « {STAGE_LABELS[result.stage]} » tirées de "
                 + (f"{len(result.passages)} passage(s) : " + " ; ".join(result.passages) if result.passages
                    else "aucun passage (indexez des documents dans ce projet)") + "."]
        lines.append(f"{len(result.changes)} proposition(s) ajoutée(s)" + (" :" if result.changes else "."))
        strategy = self._load()
        # Numbers are those of /confirmer N: the pending list of the current stage.
        numbers = ({p.item_id: n for n, p in enumerate(pending_items(strategy, result.stage), 1)}
                   if result.stage == strategy.current_stage else {})
        for change in sorted(result.changes, key=lambda c: numbers.get(c.item_id, len(numbers) + 1)):
            ref = items.find_item(strategy, change.item_id)
            lines.append(f"  {numbers.get(change.item_id, '-')}. [{change.item_id}] {change.what} : "
                         f"« {change.label} » — {describe(ref.item.provenance)}")
        if result.dropped:
            lines.append(f"{len(result.dropped)} proposition(s) écartée(s) :")
            lines += [f"  - {d}" for d in result.dropped]
        lines += [f"Attention : {w}" for w in result.warnings]
        if result.changes:
            lines.append("Vérifiez-les, puis /confirmer N (ou /confirmer tout) et /supprimer N pour celles à "
                         "écarter.")
        return "\n".join(lines)

    def _targets(self, arg: str, *, allow_all: bool) -> list[str]:
        """Item ids designated by numbers of the pending list, by ids, or by « tout »."""
        strategy = self._load()
        pending = pending_items(strategy, strategy.current_stage)
        words = arg.replace(",", " ").split()
        if not words:
            raise InputError("Aucun élément indiqué", fix="précisez un numéro de la liste /etat, un identifiant "
                             "(ex. sw-3fa2b1)" + (" ou « tout »" if allow_all else ""))
        if allow_all and [norm(w) for w in words] == ["tout"]:
            if not pending:
                raise WorkflowError("Aucune proposition à valider dans cette étape", fix="tapez /etat pour voir où "
                                    "vous en êtes")
            return [p.item_id for p in pending]
        ids = []
        for word in words:
            if word.isdigit():
                n = int(word)
                if not 1 <= n <= len(pending):
                    raise InputError(f"Pas de proposition n° {n} (il y en a {len(pending)} à valider)",
                                     fix="tapez /etat pour voir la liste numérotée")
                ids.append(pending[n - 1].item_id)
            else:
                ids.append(items.find_item(strategy, word).item.id)
        return list(dict.fromkeys(ids))

    def _confirm(self, arg: str) -> str:
        changes = [self.engine.confirm(self.project, item_id) for item_id in self._targets(arg, allow_all=True)]
        lines = [f"Validé : « {c.label} » [{c.item_id}]" for c in changes]
        return "\n".join(lines)

    def _delete(self, arg: str) -> str:
        lines = []
        for item_id in self._targets(arg, allow_all=False):
            ref = items.find_item(self._load(), item_id)
            self.engine.delete_item(self.project, ref.stage, item_id)
            lines.append(f"Supprimé : « {ref.item.label()} » [{item_id}]")
        return "\n".join(lines)

    def _skip(self, arg: str) -> str:
        skipped = self.engine.next_question(self.project)
        if skipped is None:
            raise WorkflowError("Aucune question à reporter", fix="tapez /suivant pour passer à l'étape suivante")
        self.engine.skip(self.project)
        return "Question reportée : elle reviendra après les autres."

    def _advance(self, arg: str) -> str:
        strategy = self._load()
        if strategy.current_stage == STAGES[-1]:
            raise WorkflowError("La stratégie est à sa dernière étape",
                                fix="tapez /etat pour relire les contrôles des leviers")
        gate = can_advance(strategy)
        if not gate.ok:
            lines = [f"L'étape « {STAGE_LABELS[gate.stage]} » n'est pas terminée. Il manque :"]
            lines += [f"  - {r}" for r in gate.reasons]
            lines.append("Complétez-la, ou passez outre en gardant une trace : /forcer RAISON "
                         "(ex. /forcer diagnostic complété en atelier le 12 mars).")
            return "\n".join(lines)
        self.engine.advance(self.project)
        lines = [f"Étape « {STAGE_LABELS[gate.stage]} » terminée."] + [f"Conseil : {w}" for w in gate.warnings]
        return "\n".join(lines)

    def _force(self, arg: str) -> str:
        if not arg.strip():
            raise InputError("La raison du passage forcé est vide",
                             fix="écrivez /forcer suivi de la raison, ex. /forcer validé en comité de pilotage")
        strategy = self._load()
        gate = can_advance(strategy)
        self.engine.advance(self.project, override_reason=arg)
        if gate.ok:
            head = f"Étape « {STAGE_LABELS[gate.stage]} » terminée (le contrôle passait : rien à forcer)."
        else:
            head = (f"Passage forcé de l'étape « {STAGE_LABELS[gate.stage]} », raison consignée : "
                    f"« {' '.join(arg.split())} ». "
                    f"Manques laissés en l'état : " + " ; ".join(gate.reasons))
        return head

    def _back(self, arg: str) -> str:
        if not arg:
            raise InputError("Aucune étape indiquée",
                             fix="ex. /retour diagnostic (étapes : " + ", ".join(STAGES) + ")")
        view = self.engine.back(self.project, resolve_stage(arg))
        return f"Retour à l'étape « {view.label} » : son contenu est conservé."

    def _state(self, arg: str) -> str:
        return render_report(build_report(self._load()))

    # --- helpers ------------------------------------------------------------------------------------------

    def _load(self) -> Strategy:
        return self.engine.storage.load(self.project)

    def _next_hint(self, strategy: Strategy, view: Agenda | None = None) -> str:
        view = view or agenda(strategy)
        if view.next is not None and not (view.gate.ok and not view.next.required):
            return f"Question : {view.next.text}"
        if view.gate.ok and view.next is not None:
            return (f"L'étape « {view.label} » est complète : tapez /suivant pour continuer, ou répondez à cette "
                    f"question facultative : {view.next.text}")
        if view.gate.ok:
            if view.stage == STAGES[-1]:
                return "La stratégie est complète : tapez /etat pour relire les contrôles des six leviers."
            return f"L'étape « {view.label} » est complète : tapez /suivant pour continuer."
        if pending_review(strategy, view.stage):
            return ("Il reste des propositions à valider : /confirmer N ou /supprimer N (liste : /etat), "
                    "puis /suivant.")
        return "Tapez /etat pour voir ce qui manque, ou /suivant."


def stage_banner(stage: str) -> str:
    return f"=== Étape {STAGES.index(stage) + 1}/{len(STAGES)} : {STAGE_LABELS[stage]} ==="


def resolve_stage(text: str) -> str:
    """« diagnostic », « 2 », « Diagnostic du territoire », « plan » → the stage key."""
    wanted = norm(text)
    if wanted.isdigit() and 1 <= int(wanted) <= len(STAGES):
        return STAGES[int(wanted) - 1]
    for stage in STAGES:
        if wanted in (norm(stage), norm(STAGE_LABELS[stage])):
            return stage
    matches = [s for s in STAGES if norm(s).startswith(wanted) or norm(STAGE_LABELS[s]).startswith(wanted)]
    if wanted and len(matches) == 1:
        return matches[0]
    raise InputError(f"Étape inconnue : « {text} »", fix="étapes : " + ", ".join(
        f"{i} {s}" for i, s in enumerate(STAGES, 1)))


def describe_change(change: Change) -> str:
    detail = f" ({', '.join(change.fields)})" if change.fields else ""
    return f"{change.action} — {change.what} : « {change.label} »{detail} [{change.item_id}]"
