"""Interview kit for consultants: one guide per stakeholder type, from the method and from what the diagnostic lacks.

A guide has five parts: presentation and consent, perception of the territory, the expectations the method
lists for that stakeholder type (``knowledge/01_parties_prenantes.md`` and, for élus and agents, the ambition
and the internal DAS criteria), questions that fill the diagnostic's gaps (the workflow agenda says which axes,
SWOT elements, targets or competitors are missing), and a test of the promise when one exists. Every question
drawn from the method cites its file and section.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from .config import PROJECT_ROOT
from .errors import InputError
from .exports.blocks import BulletList, Document, Heading, Inline, Note, PageBreak, Paragraph, Run
from .workflow.agenda import agenda
from .workflow.artifacts import AXIS_LABELS, Strategy
from .workflow.provenance import STAKEHOLDER_LABELS

__all__ = ["DEFAULT_TYPES", "GuideQuestion", "GuideSection", "InterviewGuide", "build_guide", "build_kit",
           "interview_types", "kit_document"]

DEFAULT_TYPES = ("entreprises", "associations", "habitants", "etudiants", "touristes", "investisseurs", "elus",
                 "agents")
DEFAULT_KNOWLEDGE = PROJECT_ROOT / "knowledge"
_PP = "01_parties_prenantes.md"
_CHECKLIST = "Comment vérifier que ce levier est appliqué"
_EXPECTATIONS = {
    "entreprises": [(_PP, "Attentes typiques des entreprises et des investisseurs", "Entreprises déjà implantées")],
    "investisseurs": [(_PP, "Attentes typiques des entreprises et des investisseurs",
                       "Entreprises en recherche d'implantation et investisseurs")],
    "ess": [(_PP, "Attentes typiques des acteurs de l'ESS et des associations", "Attentes typiques des acteurs de l'ESS")],
    "associations": [(_PP, "Attentes typiques des acteurs de l'ESS et des associations",
                      "Attentes typiques des associations")],
    "ecoles": [(_PP, "Attentes typiques de l'enseignement et des étudiants", "Écoles et établissements scolaires")],
    "universites": [(_PP, "Attentes typiques de l'enseignement et des étudiants",
                     "Universités et établissements d'enseignement supérieur")],
    "etudiants": [(_PP, "Attentes typiques de l'enseignement et des étudiants", "Étudiants")],
    "clubs_sportifs": [(_PP, "Attentes typiques du sport, des événements et des touristes",
                        "Clubs et établissements sportifs")],
    "touristes": [(_PP, "Attentes typiques du sport, des événements et des touristes", "Touristes")],
    "habitants": [(_PP, "Attentes typiques des habitants et des nouveaux habitants", "Habitants actuels"),
                  (_PP, "Attentes typiques des habitants et des nouveaux habitants", "Nouveaux habitants")],
    "elus": [(_PP, "Formuler l'ambition du projet d'attractivité", None),
             ("00_demarche.md", "Levier 3 : préparer et planifier la stratégie", _CHECKLIST)],
    "agents": [("03_das.md", "Critères internes d'identification des DAS", "Questions à se poser"),
               ("00_demarche.md", "Levier 4 : mobiliser tous les acteurs pour agir ensemble", _CHECKLIST)],
}
_OPENERS = {
    "entreprises": "Pouvez-vous présenter votre entreprise, son activité et ses liens avec {t} (implantation, "
                   "clients, salariés) ?",
    "investisseurs": "Quels critères regardez-vous pour investir sur un territoire, et comment avez-vous connu {t} ?",
    "associations": "Pouvez-vous présenter votre association, ses activités et ses publics à {t} ?",
    "ess": "Pouvez-vous présenter votre structure, son projet et son ancrage à {t} ?",
    "habitants": "Depuis combien de temps vivez-vous à {t}, et qu'est-ce qui vous y a amené ou retenu ?",
    "etudiants": "Qu'étudiez-vous, et pourquoi avoir choisi {t} (ou pourquoi y rester après vos études) ?",
    "touristes": "Comment avez-vous choisi de venir à {t}, et qu'y faites-vous pendant votre séjour ?",
    "elus": "Quelle est, selon vous, l'ambition de la collectivité pour l'attractivité de {t} ?",
    "agents": "Quel est votre service, et quelles de ses activités touchent à l'attractivité de {t} ?",
    "ecoles": "Pouvez-vous présenter votre établissement, ses effectifs et leur évolution ?",
    "universites": "Quelles formations proposez-vous à {t}, et d'où viennent vos étudiants ?",
    "clubs_sportifs": "Pouvez-vous présenter votre club, ses équipements et les événements qu'il organise ?",
}
_AXIS_QUESTIONS = {
    "transport": "Comment vient-on à {t} et comment s'y déplace-t-on ? Qu'est-ce qui facilite ou freine l'accès "
                 "(route, train, transports en commun, vélo, couverture numérique) ?",
    "fiscalite": "La fiscalité locale et les aides (implantation, installation, projets) comptent-elles dans vos "
                 "choix ? Comment les jugez-vous par rapport aux territoires voisins ?",
    "main_oeuvre": "Trouve-t-on à {t} les compétences et les formations nécessaires ? Quels métiers ou profils "
                   "sont difficiles à recruter ou à retenir ?",
    "qualite_vie": "Qu'est-ce qui fait la qualité de vie à {t} (logement, santé, écoles, culture, sport, commerces, "
                   "environnement), et qu'est-ce qui manque ?",
    "atouts_economiques": "Quels sont les atouts économiques de {t} (filières, entreprises phares, foncier, "
                          "savoir-faire, réseaux), et ses points faibles ?",
}
_AXIS_SECTIONS = {"transport": "Axe 1 du diagnostic : les infrastructures de transport et l'accessibilité",
                  "fiscalite": "Axe 2 du diagnostic : la fiscalité et les aides à l'implantation",
                  "main_oeuvre": "Axe 3 du diagnostic : la qualification de la main-d'œuvre",
                  "qualite_vie": "Axe 4 du diagnostic : la qualité de vie",
                  "atouts_economiques": "Axe 5 du diagnostic : les atouts économiques"}
_ALL_AXES = tuple(AXIS_LABELS)
# Which axes a stakeholder can speak about first-hand (a missing axis not listed here is left to other guides).
_AXES_FOR = {
    "touristes": ("transport", "qualite_vie"), "habitants": ("transport", "qualite_vie", "main_oeuvre"),
    "etudiants": ("transport", "qualite_vie", "main_oeuvre"), "associations": ("qualite_vie", "atouts_economiques"),
    "ess": ("main_oeuvre", "atouts_economiques", "qualite_vie"), "clubs_sportifs": ("qualite_vie", "transport"),
    "ecoles": ("main_oeuvre", "qualite_vie", "transport"), "universites": ("main_oeuvre", "qualite_vie", "transport"),
}


class GuideQuestion(BaseModel):
    text: str
    hint: str = Field("", description="Conseil à l'enquêteur (non lu à la personne interrogée)")
    source: str = Field("", description="Fichier et section de la méthode dont vient la question")


class GuideSection(BaseModel):
    title: str
    purpose: str = ""
    questions: list[GuideQuestion] = Field(default_factory=list)


class InterviewGuide(BaseModel):
    stakeholder_type: str
    label: str
    territory: str
    sections: list[GuideSection]


# --------------------------------------------------------------------------------------------- the method


@lru_cache(maxsize=4)
def _sections(knowledge_dir: Path) -> dict[tuple[str, str], str]:
    found = {}
    for path in sorted(Path(knowledge_dir).glob("*.md")):
        for block in re.split(r"^## ", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
            title, _, body = block.partition("\n")
            found[(path.name, title.strip())] = body
    return found


def _clean(text: str) -> str:
    text = re.sub(r"\*\*|`", "", text).strip()
    return re.sub(r"\s*[;,.]$", "", text).strip()


def method_items(knowledge_dir: Path, file: str, section: str, label: str | None) -> list[str]:
    """The bullet points (or sentences) of a method section, under a bold label when one is given."""
    body = _sections(Path(knowledge_dir)).get((file, section))
    if body is None:
        return []
    lines = body.splitlines()
    if label is None:
        return [_clean(re.sub(r"^(?:[-*]|\d+\.)\s+", "", ln)) for ln in lines if re.match(r"^(?:[-*]|\d+\.)\s+", ln)]
    start = next((i for i, ln in enumerate(lines) if ln.startswith(f"**{label}")), None)
    if start is None:
        return []
    head = lines[start]
    rest = re.sub(rf"^\*\*{re.escape(label)}[^*]*\*\*\s*", "", head).strip()
    if rest:  # a paragraph: "**Étudiants.** Ils recherchent …" → one item per sentence
        return [_clean(s) for s in re.split(r"(?<=[.!?])\s+", rest) if len(s) > 20]
    items = []
    for ln in lines[start + 1:]:
        if re.match(r"^[-*]\s+", ln):
            items.append(_clean(ln[2:]))
        elif ln.strip() and items:
            break
    return items


# ----------------------------------------------------------------------------------------------- the guides


def _territory(strategy: Strategy) -> str:
    t = strategy.cadrage.territory
    return t.name if t and t.name else strategy.title


def interview_types(strategy: Strategy, requested: str | None = None) -> list[str]:
    """The default eight types plus every type in the project's cadrage; or only ``requested``."""
    if requested:
        if requested not in STAKEHOLDER_LABELS:
            raise InputError(f"Type de partie prenante inconnu : « {requested} »",
                             fix="types possibles : " + ", ".join(STAKEHOLDER_LABELS))
        return [requested]
    types = list(DEFAULT_TYPES)
    types += [p.type for p in strategy.cadrage.stakeholders if p.type not in types]
    return types


def build_guide(strategy: Strategy, stakeholder_type: str, *,
                knowledge_dir: Path = DEFAULT_KNOWLEDGE) -> InterviewGuide:
    t = _territory(strategy)
    label = STAKEHOLDER_LABELS[stakeholder_type]
    sections = [
        GuideSection(title="Présentation et consentement", purpose=(
            "Présentez la démarche d'attractivité de " + t + ", la durée (45 minutes environ) et l'usage des notes : "
            "elles seront pseudonymisées (noms, courriels et téléphones retirés) avant toute analyse."),
            questions=[GuideQuestion(text=_OPENERS.get(stakeholder_type, "Pouvez-vous vous présenter, ainsi que "
                                                       "votre lien avec {t} ?").format(t=t))]),
        GuideSection(title="Perception du territoire", questions=[
            GuideQuestion(text=f"Quels mots vous viennent spontanément pour décrire {t} ?"),
            GuideQuestion(text=f"Qu'est-ce qui distingue {t} des territoires voisins, en bien comme en moins bien ?"),
        ]),
    ]
    expectations = []
    for file, section, sub in _EXPECTATIONS.get(stakeholder_type, []):
        for item in method_items(knowledge_dir, file, section, sub):
            if "?" in item:  # already a question: "Quels publics ? Habitants actuels…"
                text = item
            elif sub == _CHECKLIST:  # a check of the method: ask where the territory stands
                text = f"Est-ce déjà le cas pour {t} : {item} ?"
            else:  # a typical expectation: ask whether it matters and how the territory does
                text = f"« {item} » : est-ce important pour vous, et comment le jugez-vous à {t} ?"
            expectations.append(GuideQuestion(text=text, source=f"{file} — {section}"))
    if expectations:
        sections.append(GuideSection(title=f"Attentes des {label}", purpose=(
            "Thèmes tirés de la méthode : ce sont des attentes typiques, à vérifier et à nuancer sur le terrain."),
            questions=expectations))
    sections.append(_diagnostic_section(strategy, stakeholder_type, t, knowledge_dir))
    promise = _promise_section(strategy, knowledge_dir)
    if promise:
        sections.append(promise)
    sections.append(GuideSection(title="Engagement et suite", questions=[
        GuideQuestion(text=f"Seriez-vous prêt(e) à contribuer à l'attractivité de {t} (témoignage, réseau "
                           "d'ambassadeurs, action co-portée) ?",
                      source="00_demarche.md — Levier 4 : mobiliser tous les acteurs pour agir ensemble"),
        GuideQuestion(text="Qui d'autre devrions-nous rencontrer ?"),
    ]))
    return InterviewGuide(stakeholder_type=stakeholder_type, label=label, territory=t, sections=sections)


def _diagnostic_section(strategy: Strategy, stakeholder_type: str, t: str, knowledge_dir: Path) -> GuideSection:
    view = agenda(strategy, "diagnostic")
    relevant = _AXES_FOR.get(stakeholder_type, _ALL_AXES)
    questions = []
    for q in view.questions:
        if q.extractor == "axe" and q.subject_id in relevant:
            section = _AXIS_SECTIONS[q.subject_id]
            documents = _documents_hint(knowledge_dir, section)
            questions.append(GuideQuestion(text=_AXIS_QUESTIONS[q.subject_id].format(t=t), hint=documents,
                                           source=f"02_diagnostic.md — {section}"))
        elif q.extractor == "cibles":
            questions.append(GuideQuestion(text=f"Quels publics {t} devrait-il chercher à attirer ou à retenir "
                                                "en priorité, et pourquoi ?"))
        elif q.extractor == "concurrents":
            questions.append(GuideQuestion(text=f"À quels autres territoires comparez-vous {t} ? Sur quoi sont-ils "
                                                "plus ou moins attractifs ?"))
        elif q.extractor in ("swot", "environnement"):
            questions.append(GuideQuestion(text=f"Quelles sont, selon vous, les principales forces et faiblesses "
                                                f"de {t}, et quelles évolutions extérieures peuvent l'aider ou le "
                                                "menacer ?"))
    d = strategy.diagnostic
    for item in (d.weaknesses[:1] + d.strengths[:1]):
        questions.append(GuideQuestion(text=f"Le diagnostic relève : « {item.text} ». Partagez-vous ce constat ? "
                                            "Avez-vous un exemple ?"))
    questions = list({q.text: q for q in questions}.values())  # two gaps may call for the same question
    purpose = ("Questions choisies d'après ce qui manque encore au diagnostic : " + "; ".join(view.missing)
               if view.missing else "Le diagnostic est complet : faites confirmer ou nuancer ses constats.")
    return GuideSection(title="Compléter le diagnostic", purpose=purpose, questions=questions)


def _documents_hint(knowledge_dir: Path, section: str) -> str:
    body = _sections(Path(knowledge_dir)).get(("02_diagnostic.md", section), "")
    match = re.search(r"\*\*Documents et sources utiles :\*\*\s*(.+)", body)
    return f"Documents à demander : {_clean(match.group(1))}." if match else ""


def _promise_section(strategy: Strategy, knowledge_dir: Path) -> GuideSection | None:
    promises = [p.promise for p in strategy.positionnement.positionings if p.promise]
    if not promises:
        return None
    body = _sections(Path(knowledge_dir)).get(("04_positionnement.md", "Tester une promesse avant de l'adopter"), "")
    match = re.search(r"\*\*Questions à poser lors des tests :\*\*\s*(.+)", body)
    asks = [s.strip() for s in re.findall(r"[^.?!]*\?", match.group(1))] if match else []
    questions = [GuideQuestion(text=f"Voici une formulation envisagée : « {p} ». " + (asks[0] if asks else
                                    "Qu'en pensez-vous ?"), source="04_positionnement.md — Tester une promesse "
                               "avant de l'adopter") for p in promises[:2]]
    questions += [GuideQuestion(text=a, source="04_positionnement.md — Tester une promesse avant de l'adopter")
                  for a in asks[1:]]
    return GuideSection(title="Tester la promesse", purpose="Lisez la formulation telle quelle, sans l'expliquer.",
                        questions=questions)


def build_kit(strategy: Strategy, types: list[str] | None = None, *,
              knowledge_dir: Path = DEFAULT_KNOWLEDGE) -> list[InterviewGuide]:
    return [build_guide(strategy, kind, knowledge_dir=knowledge_dir) for kind in (types or interview_types(strategy))]


def kit_document(strategy: Strategy, guides: list[InterviewGuide]) -> Document:
    """The kit as blocks (Markdown, DOCX or ODT through ``exports.write_document``); method sources as notes."""
    t = _territory(strategy)
    doc = Document(title=f"Kit d'entretien — {t}", subject="Guides d'entretien par partie prenante")
    doc.blocks += [Paragraph([Run(f"Kit d'entretien — {t}")], style="title"),
                   Paragraph([Run(f"{len(guides)} guide(s) : " + ", ".join(g.label for g in guides))],
                             style="subtitle"),
                   Paragraph([Run("Les questions suivent la méthode de l'assistant (références en note) et ce qui "
                                  "manque encore au diagnostic du projet. Après l'entretien, déposez vos notes avec "
                                  "« python -m assistant entretiens notes FICHIER --project … --type … » : elles "
                                  "seront pseudonymisées puis versées au diagnostic comme avis de parties "
                                  "prenantes, à valider.")], style="small")]
    for i, guide in enumerate(guides):
        if i:
            doc.blocks.append(PageBreak())
        doc.blocks.append(Heading(f"Guide d'entretien — {guide.label}", 1))
        number = 0
        for section in guide.sections:
            doc.blocks.append(Heading(section.title, 2))
            if section.purpose:
                doc.blocks.append(Paragraph([Run(section.purpose, italic=True)], style="small"))
            items: list[list[Inline]] = []
            for q in section.questions:
                number += 1
                parts: list[Inline] = [Run(f"Q{number}. ", bold=True), Run(q.text)]
                if q.source:
                    parts.append(Note(f"Méthode : {q.source}"))
                if q.hint:
                    parts += [Run("\n"), Run(q.hint, italic=True)]
                items.append(parts)
            if items:
                doc.blocks.append(BulletList(items))
        doc.blocks.append(Paragraph([Run("Prise de notes : ", bold=True),
                                     Run(f"date, lieu, type de partie prenante ({guide.label}). Ne notez ni "
                                         "coordonnées ni éléments sensibles inutiles à l'analyse.")], style="small"))
    return doc
