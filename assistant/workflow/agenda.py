"""What the current stage still lacks, the next most useful question, and the gate to the next stage: pure code.

Each stage function returns the missing elements (French, they become the gate's reasons) and the questions
that fill them, most useful first. Questions the user postponed (``Strategy.skipped``) come back last.
The method's 5 steps are checked here from the gates; the 6 levers live in ``levers`` (re-exported).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field

from .artifacts import (
    AXIS_LABELS, STAGE_LABELS, STAGES, Action, Das, Kpi, Stage, Strategy, check_stage,
)
from .items import iter_items, pending_review
from .levers import LeverCheck, StepCheck, check_levers
from .provenance import STAKEHOLDER_LABELS, HypothesisSource, is_sourced

__all__ = ["Agenda", "Gate", "LeverCheck", "Question", "StepCheck", "agenda", "can_advance", "check_levers",
           "check_steps", "next_question"]

MIN_STAKEHOLDER_TYPES = 3
MIN_STRENGTHS = 3
MIN_WEAKNESSES = 3
MIN_SOURCED_SWOT = 1  # forces or faiblesses backed by a document or an official dataset
MIN_AXES = 3


class Question(BaseModel):
    """One question of the agenda; ``extractor`` names the small model that reads the answer."""

    id: str
    stage: Stage
    text: str
    extractor: str
    subject_id: str | None = Field(None, description="Élément ou axe visé par la question")
    required: bool = Field(True, description="Faux : utile mais ne bloque pas le passage à l'étape suivante")


class Gate(BaseModel):
    stage: str
    ok: bool
    reasons: list[str] = Field(default_factory=list, description="Ce qui bloque le passage à l'étape suivante")
    warnings: list[str] = Field(default_factory=list, description="Conseils qui ne bloquent pas")


class Agenda(BaseModel):
    stage: str
    label: str
    missing: list[str]
    questions: list[Question]
    next: Question | None
    gate: Gate


_AXIS_OF = {"transport": "des infrastructures de transport", "fiscalite": "de la fiscalité",
            "main_oeuvre": "de la qualification de la main-d'œuvre", "qualite_vie": "de la qualité de vie",
            "atouts_economiques": "des atouts économiques"}

Found = tuple[list[str], list[Question], list[str]]  # missing, questions, warnings


def _name(s: Strategy) -> str:
    t = s.cadrage.territory
    return t.name if t and t.name else "le territoire"


def _cadrage(s: Strategy) -> Found:
    missing, qs = [], []
    t, name = s.cadrage.territory, _name(s)

    def ask(qid: str, text: str, extractor: str, lack: str | None, subject: str | None = None) -> None:
        if lack:
            missing.append(lack)
        qs.append(Question(id=qid, stage="cadrage", text=text, extractor=extractor, subject_id=subject,
                           required=lack is not None))

    if not t or not t.name:
        ask("cadrage.territoire", "Quel territoire porte la démarche ? Donnez son nom, son type (commune, EPCI, "
            "département ou région) et, si vous l'avez, son code INSEE.", "territoire", "le nom du territoire")
    if not t or not t.type:
        ask("cadrage.type", f"{name} est-il une commune, un EPCI (communauté de communes, d'agglomération…), "
            "un département ou une région ?", "territoire", "le type de territoire")
    if not t or not (t.code_insee or t.siren):
        ask("cadrage.code", f"Quel est le code INSEE de {name} (5 caractères pour une commune, ex. 22050), "
            "ou son numéro SIREN pour un EPCI ?", "territoire", "le code INSEE ou le numéro SIREN")
    if not t or not t.settlement:
        ask("cadrage.caractere", f"{name} est-il plutôt rural, urbain ou mixte ?", "territoire",
            "le caractère rural, urbain ou mixte")
    if not s.cadrage.ambition:
        ask("cadrage.ambition", "Quelle est l'ambition de la démarche : quels publics attirer ou retenir, pour quoi "
            "faire, à quel horizon ?", "ambition", "l'ambition de la démarche (publics, horizon)")
    types = {p.type for p in s.cadrage.stakeholders}
    if len(types) < MIN_STAKEHOLDER_TYPES:
        ask("cadrage.parties_prenantes", "Quelles parties prenantes associer (entreprises, associations, écoles, "
            "habitants, élus…) ? Pour chacune : ce qu'elle attend et comment elle participera.",
            "parties_prenantes", f"au moins {MIN_STAKEHOLDER_TYPES} types de parties prenantes "
            f"({len(types)} pour l'instant)")
    for p in s.cadrage.stakeholders:
        if not p.expectations:
            label = STAKEHOLDER_LABELS[p.type]
            ask(f"cadrage.attentes.{p.id}", f"Qu'attendent les {label} de la démarche, et comment participeront-ils ?",
                "attentes", f"les attentes des {label}", p.id)
    if "habitants" not in types:
        ask("cadrage.habitants", "Comment les habitants seront-ils écoutés (enquête, réunions publiques, conseils "
            "de quartier…) et qu'attendent-ils ?", "parties_prenantes", None)
    return missing, qs, []


def _diagnostic(s: Strategy) -> Found:
    d, missing, qs, name = s.diagnostic, [], [], _name(s)
    covered = {e.axis for e in d.evidence} | {i.axis for i in d.strengths + d.weaknesses if i.axis}
    lacking = [a for a in AXIS_LABELS if a not in covered]
    if len(covered) < MIN_AXES:
        missing.append(f"des éléments sur au moins {MIN_AXES} des 5 axes ({len(covered)} pour l'instant ; "
                       f"manquent : {', '.join(AXIS_LABELS[a] for a in lacking)})")
    for axis in lacking:
        qs.append(Question(id=f"diagnostic.axe.{axis}", stage="diagnostic", extractor="axe", subject_id=axis,
                           required=len(covered) < MIN_AXES,
                           text=f"Que savez-vous {_AXIS_OF[axis]} à {name} ? Donnez des chiffres avec leur "
                           "source et leur année, et dites ce qui est une force ou une faiblesse."))
    if len(d.strengths) < MIN_STRENGTHS or len(d.weaknesses) < MIN_WEAKNESSES:
        missing.append(f"au moins {MIN_STRENGTHS} forces et {MIN_WEAKNESSES} faiblesses "
                       f"({len(d.strengths)} et {len(d.weaknesses)} pour l'instant)")
        qs.append(Question(id="diagnostic.swot", stage="diagnostic", extractor="swot",
                           text=f"Quelles sont les principales forces et faiblesses de {name} ?"))
    sourced = [i for i in d.strengths + d.weaknesses if is_sourced(i.provenance)]
    if len(sourced) < MIN_SOURCED_SWOT:
        missing.append(f"au moins {MIN_SOURCED_SWOT} force ou faiblesse sourcée par un document ou une donnée "
                       "officielle (aucune pour l'instant)")
    # Always open (a sourced constat is never too many); required only while none exists.
    qs.append(Question(id="diagnostic.sources", stage="diagnostic", extractor="swot_source",
                       required=len(sourced) < MIN_SOURCED_SWOT,
                       text=f"Quelle force ou faiblesse de {name} s'appuie sur une source vérifiable : un document "
                       "ou une donnée officielle (INSEE, Observatoire des territoires…) ? Donnez le constat, la "
                       "source et son année — ou tapez /brouillon pour la tirer de vos documents."))
    if not d.targets:
        missing.append("au moins 1 cible prioritaire")
        qs.append(Question(id="diagnostic.cibles", stage="diagnostic", extractor="cibles",
                           text="Quelles cibles prioritaires voulez-vous développer (touristes internationaux, "
                           "entreprises innovantes, étudiants, nouveaux habitants…) ? Pourquoi celles-là ?"))
    if not d.competitors:
        missing.append("au moins 1 territoire concurrent")
        qs.append(Question(id="diagnostic.concurrents", stage="diagnostic", extractor="concurrents",
                           text="Quels territoires concurrents s'adressent aux mêmes cibles, et sur quoi ?"))
    if not d.opportunities and not d.threats:
        qs.append(Question(id="diagnostic.environnement", stage="diagnostic", extractor="environnement",
                           required=False, text="Quelles opportunités et quelles menaces viennent de "
                           "l'environnement du territoire (tendances, projets voisins, réglementation) ?"))
    return missing, qs, []


def _das(s: Strategy) -> Found:
    missing, qs, warnings = [], [], []
    domains, targets = s.das.domains, {t.id: t for t in s.diagnostic.targets}
    if not domains:
        missing.append("au moins 1 domaine d'activité stratégique")
        qs.append(Question(id="das.liste", stage="das", extractor="das_liste",
                           text="Quels grands domaines d'activité la collectivité mobilise-t-elle pour ses cibles ? "
                           "Pour chacun : les activités ou services regroupés et les cibles visées."))
    for das in domains:
        lacks = _das_lacks(das)
        if lacks:
            missing.append(f"DAS « {das.name} » : {', '.join(lacks)}")
        for qid, extractor, needed, text in (
            ("critere", "das_critere", not das.criterion or not das.target_ids,
             f"Pourquoi regrouper ces activités dans « {das.name} » : visent-elles les mêmes publics (critère "
             "externe) ou utilisent-elles les mêmes ressources (critère interne) ? Quelles cibles vise-t-il ?"),
            ("mission", "das_mission", not das.mission or not das.objectives,
             f"Quelle est la mission du DAS « {das.name} » et quels sont ses objectifs ?"),
            ("moyens", "das_moyens", not das.key_success_factors or not das.resources,
             f"Quels sont les facteurs clés de succès de « {das.name} » et sur quelles ressources et compétences "
             "de la collectivité s'appuie-t-il ?"),
            ("budget", "budget", not das.budget and not das.budget_note,
             f"Quel budget propre est consacré à « {das.name} » (montant annuel, ou « non chiffré ») ?"),
        ):
            if needed:
                qs.append(Question(id=f"das.{qid}.{das.id}", stage="das", extractor=extractor, subject_id=das.id,
                                   text=text))
        dangling = [t for t in das.target_ids if t not in targets]
        if dangling:
            missing.append(f"DAS « {das.name} » : cible(s) supprimée(s) du diagnostic ({', '.join(dangling)})")
    # The seed's criteria: same actors and same resources → one DAS, not two.
    for i, a in enumerate(domains):
        for b in domains[i + 1:]:
            if a.target_ids and set(a.target_ids) == set(b.target_ids) and set(a.resources) & set(b.resources):
                warnings.append(f"« {a.name} » et « {b.name} » visent les mêmes cibles et partagent des "
                                "ressources : selon les critères externe et interne, ils devraient former un seul DAS")
    uncovered = [t.name for t in targets.values() if not any(t.id in d.target_ids for d in domains)]
    if domains and uncovered:
        warnings.append("cible(s) prioritaire(s) sans DAS : " + ", ".join(uncovered))
    return missing, qs, warnings


def _das_lacks(das: Das) -> list[str]:
    checks = [(das.activities, "activités"), (das.target_ids, "cibles visées"), (das.mission, "mission"),
              (das.objectives, "objectifs"), (das.key_success_factors, "facteurs clés de succès"),
              (das.resources, "ressources et compétences"), (das.budget or das.budget_note, "budget propre"),
              (das.criterion and das.rationale, "critère de regroupement justifié")]
    return [label for value, label in checks if not value]


def _positionnement(s: Strategy) -> Found:
    missing, qs = [], []
    by_target = {p.target_id: p for p in s.positionnement.positionings}
    targets = {t.id: t for t in s.diagnostic.targets}
    if not targets:
        missing.append("aucune cible prioritaire : revenez au diagnostic")
    for t in targets.values():
        p = by_target.get(t.id)
        lacks = ["positionnement"] if p is None else [label for value, label in (
            (p.advantages, "avantages compétitifs"), (p.promise, "promesse"),
            (p.identity_markers or p.slogan, "marqueurs identitaires ou slogan")) if not value]
        if lacks:
            missing.append(f"cible « {t.name} » : {', '.join(lacks)}")
            qs.append(Question(id=f"positionnement.{t.id}", stage="positionnement", extractor="positionnement",
                               subject_id=t.id, text=f"Pour la cible « {t.name} » : quels avantages compétitifs "
                               "mettre en avant, quelle promesse lui faire, quels marqueurs identitaires et quel "
                               "slogan ?"))
    for p in s.positionnement.positionings:
        if p.target_id not in targets:
            missing.append(f"le positionnement « {p.label()} » vise une cible supprimée : supprimez-le ou "
                           "rattachez-le à une cible")
    return missing, qs, []


def _plan_action(s: Strategy) -> Found:
    missing, qs = [], []
    actions = s.plan_action.actions
    for t in s.diagnostic.targets:
        if not any(t.id in a.target_ids for a in actions):
            missing.append(f"aucune action pour la cible « {t.name} »")
            qs.append(Question(id=f"plan_action.cible.{t.id}", stage="plan_action", extractor="actions",
                               subject_id=t.id, text=f"Quelles actions prévoir pour toucher la cible « {t.name} » "
                               "(campagne ciblée, événement, site web multilingue, réseaux sociaux…) ? Pour "
                               "chacune : le canal et le porteur."))
    if not actions and not s.diagnostic.targets:
        missing.append("au moins 1 action")
    for a in actions:
        lacks = _action_lacks(a)
        if lacks:
            missing.append(f"action « {a.title} » : {', '.join(lacks)}")
        if not a.channel or not a.owner:
            qs.append(Question(id=f"plan_action.porteur.{a.id}", stage="plan_action", extractor="action_porteur",
                               subject_id=a.id, text=f"Qui porte l'action « {a.title} » et par quel canal ?"))
        if not (a.start or a.period) or not (a.budget or a.budget_note):
            qs.append(Question(id=f"plan_action.calendrier.{a.id}", stage="plan_action",
                               extractor="action_calendrier", subject_id=a.id,
                               text=f"Quand se déroule l'action « {a.title} » (début et fin, ex. 2025-03 à "
                               "2025-06) et quel est son budget ?"))
    return missing, qs, []


def _action_lacks(a: Action) -> list[str]:
    checks = [(a.target_ids, "cible"), (a.channel, "canal"), (a.owner, "porteur"),
              (a.start or a.period, "calendrier"), (a.budget or a.budget_note, "budget (ou note)")]
    return [label for value, label in checks if not value]


def _tableau_de_bord(s: Strategy) -> Found:
    missing, qs = [], []
    kpis = s.tableau_de_bord.kpis
    for a in s.plan_action.actions:
        if not a.kpi_ids:
            missing.append(f"aucun indicateur ne mesure l'action « {a.title} »")
            qs.append(Question(id=f"tableau_de_bord.action.{a.id}", stage="tableau_de_bord", extractor="kpi",
                               subject_id=a.id, text=f"Comment mesurer l'action « {a.title} » ? Donnez un "
                               "indicateur : son nom, quantitatif ou qualitatif, sa formule, sa source, sa fréquence "
                               "et qui le suit."))
    for k in kpis:
        lacks = _kpi_lacks(k)
        if lacks:
            missing.append(f"indicateur « {k.name} » : {', '.join(lacks)}")
        if not k.target or not k.baseline:
            qs.append(Question(id=f"tableau_de_bord.valeurs.{k.id}", stage="tableau_de_bord",
                               extractor="kpi_valeurs", subject_id=k.id,
                               text=f"Pour l'indicateur « {k.name} » : quelle est la valeur de départ (et son "
                               "année) et quelle valeur visez-vous (et pour quelle année) ?"))
    natures = {k.nature for k in kpis}
    for nature in ("quantitatif", "qualitatif"):
        if kpis and nature not in natures:
            missing.append(f"au moins 1 indicateur {nature}")
            # Ask for it on the action measured by the fewest indicators, so the new KPI is linked at once.
            action = min(s.plan_action.actions, key=lambda a: len(a.kpi_ids), default=None)
            if action is not None:
                example = ("taux de satisfaction des habitants, image perçue" if nature == "qualitatif"
                           else "nombre de visiteurs, de contacts, d'implantations")
                qs.append(Question(id=f"tableau_de_bord.{nature}", stage="tableau_de_bord", extractor="kpi",
                                   subject_id=action.id, text=f"Il manque un indicateur {nature} ({example}). "
                                   f"Lequel suivrait l'action « {action.title} » ? Donnez son nom, sa formule, "
                                   "sa source, sa fréquence et qui le suit."))
    if not kpis and not s.plan_action.actions:
        missing.append("au moins 1 indicateur (et d'abord des actions à mesurer)")
    return missing, qs, []


def _kpi_lacks(k: Kpi) -> list[str]:
    checks = [(k.formula or k.definition, "formule ou définition"), (k.source, "source"),
              (k.frequency, "fréquence"), (k.owner, "responsable"), (k.target, "valeur cible"),
              (k.baseline, "valeur de départ"), (k.action_ids, "action mesurée")]
    return [label for value, label in checks if not value]


_STAGE_FUNCS: dict[str, Callable[[Strategy], Found]] = {
    "cadrage": _cadrage, "diagnostic": _diagnostic, "das": _das, "positionnement": _positionnement,
    "plan_action": _plan_action, "tableau_de_bord": _tableau_de_bord,
}


def _gate(s: Strategy, stage: str, missing: list[str], warnings: list[str]) -> Gate:
    reasons = list(missing)
    pending = pending_review(s, stage)
    if pending:
        names = ", ".join(f"« {p.label} »" for p in pending[:5]) + (" …" if len(pending) > 5 else "")
        reasons.append(f"{len(pending)} proposition(s) à valider ou supprimer : {names}")
    validated = _confirmed_hypotheses(s, stage)
    if validated:
        warnings = warnings + [f"{len(validated)} hypothèse(s) validée(s) restent à sourcer : "
                               + ", ".join(validated[:5])]
    return Gate(stage=stage, ok=not reasons, reasons=reasons, warnings=warnings)


def _confirmed_hypotheses(s: Strategy, stage: str) -> list[str]:
    found = []
    for ref in iter_items(s, stage):
        sources = [ref.item.provenance] + [f.provenance for _, f in ref.item.figures()]
        if any(isinstance(p, HypothesisSource) and p.confirmed for p in sources):
            found.append(f"« {ref.item.label()} »")
    return found


def agenda(strategy: Strategy, stage: str | None = None) -> Agenda:
    """Missing elements, ordered questions and gate of ``stage`` (the current stage by default)."""
    stage = check_stage(stage or strategy.current_stage)
    missing, questions, warnings = _STAGE_FUNCS[stage](strategy)
    # Required questions first, then useful ones; postponed questions come back last.
    questions.sort(key=lambda q: (q.id in strategy.skipped, not q.required))
    return Agenda(stage=stage, label=STAGE_LABELS[stage], missing=missing, questions=questions,
                  next=questions[0] if questions else None, gate=_gate(strategy, stage, missing, warnings))


def next_question(strategy: Strategy) -> Question | None:
    return agenda(strategy).next


def can_advance(strategy: Strategy, stage: str | None = None) -> Gate:
    """Whether ``stage`` (the current one by default) is complete enough to go on, with the reasons in French."""
    gate = agenda(strategy, stage).gate
    if gate.stage == STAGES[-1] and gate.ok:
        gate.warnings.append("dernière étape : la stratégie est complète")
    return gate


STEPS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "Rassemblement des acteurs et parties prenantes", ("cadrage",)),
    (2, "Analyse marketing", ("diagnostic",)),
    (3, "Missions, positionnements et engagements des acteurs", ("das", "positionnement")),
    (4, "Conception et lancement du plan d'actions", ("plan_action",)),
    (5, "Estimation des efforts pour ajuster la stratégie", ("tableau_de_bord",)),
)


def check_steps(strategy: Strategy) -> list[StepCheck]:
    """The seed's 5 steps, each judged by the gates of the stages that carry it."""
    checks = []
    for number, label, stages in STEPS:
        reasons = [r for st in stages for r in agenda(strategy, st).gate.reasons]
        more = f" (+{len(reasons) - 3} autre(s))" if len(reasons) > 3 else ""
        detail = "complète" if not reasons else " ; ".join(reasons[:3]) + more
        forced = [o for o in strategy.overrides if o.stage in stages]
        if forced and reasons:
            detail += f" — passage forcé : « {forced[-1].reason} »"
        checks.append(StepCheck(step=number, label=label, ok=not reasons, detail=detail))
    return checks
