"""The guided strategy workflow: ask the next question, read the answer into the stage artifact, draft, gate.

Each call loads the project, changes it, saves it: the files on disk are the only state, so the CLI, the web
UI and a restarted process all resume where the user stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, Field, ValidationError

from ..errors import InputError, WorkflowError
from ..llm import ChatModel
from ..schemas import Passage
from . import items
from .agenda import Agenda, Gate, Question, agenda, can_advance, check_levers, check_steps
from .artifacts import (
    INSEE_PATTERN, SIREN_PATTERN, STAGE_LABELS, STAGES, GateOverride, Strategy, Territory, TerritoryType,
    check_stage,
)
from .drafting import apply_draft, gather, render_passages
from .extraction import Change, Merged, keep_written_numbers
from .levers import LeverCheck, StepCheck
from .prompting import describe_fields, load_prompt
from .provenance import STAKEHOLDER_LABELS, InterviewSource, Provenance, StakeholderType, UserSource
from .stages import DRAFTS, EXTRACTORS
from .storage import ProjectStorage, set_stage_back, slugify

MAX_ANSWER_CHARS = 2000  # the local model has a 4k-token context shared by prompt, answer and reply
KNOWN_CHARS = 400
MAX_OVERRIDE_CHARS = 500


class TurnResult(BaseModel):
    """What one answer changed, and what comes next — ``message`` is the French text shown to the user."""

    stage: str
    question: Question
    changes: list[Change] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    next_question: Question | None = None
    gate: Gate
    message: str


class DraftResult(BaseModel):
    stage: str
    changes: list[Change] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list, description="Propositions écartées, avec la raison")
    warnings: list[str] = Field(default_factory=list)
    passages: list[str] = Field(default_factory=list, description="Passages montrés au modèle (fichier, page)")
    message: str


class WorkflowEngine:
    def __init__(self, chat: ChatModel, storage: ProjectStorage,
                 search: Callable[[str], list[Passage]] | None = None, *, prompts_dir: Path | None = None) -> None:
        self.chat = chat
        self.storage = storage
        self.search = search
        self.prompts_dir = prompts_dir

    # --- reading the state --------------------------------------------------------------------------------

    def start(self, title: str, *, slug: str | None = None, territory_type: str | None = None,
              code: str | None = None) -> Strategy:
        """Create the project's strategy; the territory's type and official code may be given at once."""
        if territory_type is None and not code:
            return self.storage.create(title, slug=slug)
        territory = new_territory(title, territory_type, code)
        if self.storage.exists(slug or slugify(title)):
            return self.storage.create(title, slug=slug)  # raises the usual « existe déjà »
        strategy = Strategy(slug=slug or slugify(title), title=title.strip() or slug or slugify(title))
        strategy.cadrage.territory = territory
        return self.storage.save(strategy)

    def agenda(self, project: str, stage: str | None = None) -> Agenda:
        return agenda(self.storage.load(project), stage)

    def next_question(self, project: str) -> Question | None:
        return self.agenda(project).next

    def checks(self, project: str) -> tuple[list[LeverCheck], list[StepCheck]]:
        strategy = self.storage.load(project)
        return check_levers(strategy), check_steps(strategy)

    # --- answers ------------------------------------------------------------------------------------------

    def answer(self, project: str, user_text: str, *, question_id: str | None = None,
               interview_with: StakeholderType | None = None) -> TurnResult:
        """Read ``user_text`` as the answer to the next question (or ``question_id``) and merge it."""
        text = (user_text or "").strip()
        if not text:
            raise InputError("Réponse vide", fix="écrivez votre réponse, ou passez la question")
        if len(text) > MAX_ANSWER_CHARS:
            raise InputError(f"Réponse trop longue ({len(text)} caractères, {MAX_ANSWER_CHARS} au plus)",
                             fix="découpez-la en plusieurs réponses plus courtes")
        if interview_with is not None and interview_with not in STAKEHOLDER_LABELS:
            raise InputError(f"Type de partie prenante inconnu : « {interview_with} »",
                             fix="types possibles : " + ", ".join(STAKEHOLDER_LABELS))
        strategy = self.storage.load(project)
        question = self._question(strategy, question_id)
        extractor = EXTRACTORS[question.extractor]
        messages = [
            {"role": "system", "content": load_prompt("workflow_system", self.prompts_dir,
                                                      stage=STAGE_LABELS[question.stage])},
            {"role": "user", "content": load_prompt("workflow_extract", self.prompts_dir,
                                                    territory=_territory(strategy), question=question.text,
                                                    answer=text, fields=describe_fields(extractor.model))},
        ]
        extracted, invented = keep_written_numbers(self.chat.complete_json(messages, extractor.model), text)

        def source() -> Provenance:
            if interview_with:
                return InterviewSource(stakeholder_type=interview_with, note=question.id)
            return UserSource(question=question.id)

        try:
            merged = extractor.merge(strategy, extracted, question, source)
        except ValidationError as e:
            raise WorkflowError(f"Réponse non enregistrée : {e.errors()[0]['msg']}",
                                fix="reformulez votre réponse plus précisément") from e
        merged.warnings[:0] = invented
        if merged.changes:
            if question.id in strategy.skipped:
                strategy.skipped.remove(question.id)
            self.storage.save(strategy)
        view = agenda(strategy, question.stage)
        return TurnResult(stage=question.stage, question=question, changes=merged.changes, warnings=merged.warnings,
                          next_question=view.next, gate=view.gate,
                          message=_turn_message(question, merged, view))

    def _question(self, strategy: Strategy, question_id: str | None) -> Question:
        if question_id is None:
            view = agenda(strategy)
            if view.next is None:
                raise WorkflowError(f"Plus aucune question pour l'étape « {view.label} »",
                                    fix="passez à l'étape suivante, ou demandez des propositions tirées des "
                                    "documents")
            return view.next
        stage = question_id.split(".", 1)[0]
        if stage in STAGES:
            for q in agenda(strategy, stage).questions:
                if q.id == question_id:
                    return q
        raise WorkflowError(f"La question « {question_id} » n'est plus d'actualité",
                            fix="reprenez la question suivante proposée par l'assistant")

    def skip(self, project: str, question_id: str | None = None) -> Question | None:
        """Postpone a question: it comes back after the others. Returns the new next question."""
        strategy = self.storage.load(project)
        question = self._question(strategy, question_id)
        if question.id not in strategy.skipped:
            strategy.skipped.append(question.id)
            self.storage.save(strategy)
        return agenda(strategy).next

    # --- drafts and review --------------------------------------------------------------------------------

    def propose_draft(self, project: str, stage: str | None = None) -> DraftResult:
        """Draft items of ``stage`` from the project's documents; each waits for a person's confirmation."""
        strategy = self.storage.load(project)
        stage = check_stage(stage or strategy.current_stage)
        spec = DRAFTS[stage]
        passages = gather(self.search, spec.queries(strategy))
        known = "; ".join(ref.item.label() for ref in items.iter_items(strategy, stage))[:KNOWN_CHARS] or "rien"
        messages = [
            {"role": "system", "content": load_prompt("workflow_draft_system", self.prompts_dir,
                                                      stage=STAGE_LABELS[stage])},
            {"role": "user", "content": load_prompt(
                "workflow_draft", self.prompts_dir, territory=_territory(strategy),
                goal=load_prompt(f"workflow_draft_{stage}", self.prompts_dir), known=known,
                passages=render_passages(passages), fields=describe_fields(spec.model))},
        ]
        reply = self.chat.complete_json(messages, spec.model, max_tokens=900)
        merged, dropped = apply_draft(strategy, spec, reply.elements, passages)  # type: ignore[attr-defined]
        if merged.changes:
            self.storage.save(strategy)
        return DraftResult(stage=stage, changes=merged.changes, dropped=dropped, warnings=merged.warnings,
                           passages=[p.label for p in passages],
                           message=_draft_message(stage, merged, dropped, passages))

    def confirm(self, project: str, item_id: str) -> Change:
        strategy = self.storage.load(project)
        ref = items.find_item(strategy, item_id)
        items.confirm_item(strategy, item_id)
        self.storage.save(strategy)
        return Change(action="validation", stage=ref.stage, item_id=item_id, what="élément", label=ref.item.label())

    def update_item(self, project: str, stage: str, item_id: str, changes: dict) -> Strategy:
        return self.storage.update_item(project, stage, item_id, changes)

    def delete_item(self, project: str, stage: str, item_id: str) -> Strategy:
        return self.storage.delete_item(project, stage, item_id)

    # --- stages -------------------------------------------------------------------------------------------

    def advance(self, project: str, override_reason: str | None = None) -> Agenda:
        """Go to the next stage if the current one passes its gate; otherwise say what is missing.

        With ``override_reason``, a refused gate is passed anyway and the reason is kept in the strategy
        (``Strategy.overrides``), with what was missing: the export shows it, nothing is hidden.
        """
        strategy = self.storage.load(project)
        gate = can_advance(strategy)
        index = STAGES.index(strategy.current_stage)
        if index == len(STAGES) - 1:
            raise WorkflowError("La stratégie est à sa dernière étape",
                                fix="consultez les contrôles des leviers et ajustez au besoin")
        if not gate.ok:
            reason = " ".join((override_reason or "").split())
            if override_reason is not None and not reason:
                raise InputError("La raison du passage forcé est vide",
                                 fix="dites pourquoi vous passez outre, ex. « diagnostic complété en atelier »")
            if not reason:
                raise WorkflowError(f"L'étape « {STAGE_LABELS[strategy.current_stage]} » n'est pas terminée : "
                                    + " ; ".join(gate.reasons), fix="répondez aux questions restantes, validez les "
                                    "propositions en attente, ou passez outre en donnant une raison")
            if len(reason) > MAX_OVERRIDE_CHARS:
                raise InputError(f"Raison trop longue ({len(reason)} caractères, {MAX_OVERRIDE_CHARS} au plus)",
                                 fix="résumez-la en une phrase")
            strategy.overrides.append(GateOverride(stage=strategy.current_stage, reasons_overridden=gate.reasons,
                                                   reason=reason))
        strategy.current_stage = STAGES[index + 1]
        self.storage.save(strategy)
        return agenda(strategy)

    def back(self, project: str, stage: str) -> Agenda:
        strategy = self.storage.load(project)
        set_stage_back(strategy, stage)
        self.storage.save(strategy)
        return agenda(strategy)


def new_territory(name: str, territory_type: str | None, code: str | None) -> Territory:
    """The territory as the person declared it when creating the project (name, type, INSEE code or SIREN)."""
    if territory_type is not None and territory_type not in get_args(TerritoryType):
        raise InputError(f"Type de territoire inconnu : « {territory_type} »",
                         fix="types possibles : " + ", ".join(get_args(TerritoryType)))
    code = re.sub(r"\s+", "", code or "").upper() or None
    data: dict = {"name": name.strip(), "type": territory_type, "provenance": UserSource(question="project new")}
    if code:
        if re.match(SIREN_PATTERN, code):
            data["siren"] = code
        elif re.match(INSEE_PATTERN, code):
            data["code_insee"] = code
        else:
            raise InputError(f"« {code} » n'est ni un code INSEE ni un numéro SIREN",
                             fix="code INSEE à 5 caractères pour une commune (ex. 22050), 2 ou 3 pour un "
                             "département, SIREN à 9 chiffres pour un EPCI")
    try:
        return Territory.model_validate(data)
    except ValidationError as e:
        raise InputError(f"Territoire refusé : {e.errors()[0]['msg'].removeprefix('Value error, ')}",
                         fix="vérifiez le type et le code (5 caractères pour une commune, 2 pour une région)") from e


def _territory(strategy: Strategy) -> str:
    t = strategy.cadrage.territory
    if not t or not t.name:
        return "non précisé"
    details = [d for d in (t.type, t.code_insee or t.siren, t.settlement) if d]
    return t.name + (f" ({', '.join(details)})" if details else "")


def _turn_message(question: Question, merged: Merged, view: Agenda) -> str:
    if merged.changes:
        lines = ["J'ai enregistré :"] + [f"- {c.describe()}" for c in merged.changes]
    else:
        lines = [f"Je n'ai rien trouvé à enregistrer dans votre réponse à : « {question.text} » "
                 "Reformulez en étant plus précis, ou passez la question."]
    lines += [f"Attention : {w}" for w in merged.warnings]
    if view.next is not None:
        lines.append(f"Question suivante : {view.next.text}")
    if view.gate.ok:
        index = STAGES.index(view.stage)
        lines.append(f"L'étape « {view.label} » est complète"
                     + (f" : vous pouvez passer à « {STAGE_LABELS[STAGES[index + 1]]} »." if index + 1 < len(STAGES)
                        else " : la stratégie est complète."))
    return "\n".join(lines)


def _draft_message(stage: str, merged: Merged, dropped: list[str], passages: list[Passage]) -> str:
    lines = [f"{len(merged.changes)} proposition(s) ajoutée(s) à « {STAGE_LABELS[stage]} », à valider :"]
    lines += [f"- {c.describe()}" for c in merged.changes]
    if not passages:
        lines.append("Aucun passage de document trouvé : ces propositions sont des hypothèses à confirmer.")
    if dropped:
        lines.append(f"{len(dropped)} proposition(s) écartée(s) :")
        lines += [f"- {d}" for d in dropped]
    lines += [f"Attention : {w}" for w in merged.warnings]
    return "\n".join(lines)
