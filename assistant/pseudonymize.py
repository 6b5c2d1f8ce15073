"""Pseudonymisation of interview notes before anything else reads them (the model, the strategy, the exports).

Deliberately simple rules that a person can predict and check, applied in this order:

1. e-mail addresses → « [courriel] » ;
2. French phone numbers (0X XX XX XX XX, +33…, with spaces, dots or dashes) → « [téléphone] » ;
3. a civility or title followed by a capitalised name (« M. Durand », « Mme Le Gall », « Monsieur Jean
   Martin », « Dr Morvan ») → « [personne N] » ;
4. two capitalised words in a row (« Jean Martin », « Marie LE GOFF ») that are not at the start of a sentence
   and where neither word is a place, institution, month or common capitalised word → « [personne N] ».

Replacement is consistent within a document: the same surname always gets the same number, and once a name is
known every later occurrence is replaced, including at the start of a sentence or the surname alone. The rules
miss first names used alone and names at the very start of a sentence seen nowhere else: the notes stay to be
reread by a person before they are shared.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["PseudonymizedText", "pseudonymize"]

_UPPER = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
_LOWER = "a-zàâäçéèêëîïôöùûüÿæœß"
# A name word: "Martin", "Jean-Pierre", "LE", "GOFF", "O'Neil", "D'Arcy".
_WORD = rf"[{_UPPER}](?:[{_LOWER}]+|[{_UPPER}]+)?(?:['’-][{_UPPER}]?[{_LOWER}{_UPPER}]+)*"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+33\s?\(?0?\)?\s?|0033\s?|0)[1-9](?:[\s.\-]?\d{2}){4}(?!\d)")
_TITLES = (r"M\.|MM\.|Mme|Mmes|Mlle|Mlles|Monsieur|Messieurs|Madame|Mesdames|Mademoiselle|Dr\.?|Docteur|"
           r"Pr\.?|Professeur|Me|Maître")
_TITLED = re.compile(rf"\b(?:{_TITLES})\s+((?:{_WORD})(?:\s+(?:{_WORD}))?)(?![{_LOWER}{_UPPER}])")
_PARTICLES = r"(?:Le|La|Du|De|Des|Van|Von|Da|Di|Mac|Mc)"  # Breton and other surnames: "Le Gall", "Van Damme"
_PARTICLE = _PARTICLES + r"\s+"
_PAIR = re.compile(rf"(?<![{_LOWER}{_UPPER}'’-])({_WORD})\s+((?:{_PARTICLE})?{_WORD})(?![{_LOWER}{_UPPER}])")

# Capitalised words that are not people: places, institutions, calendar, roles and sentence openers.
_NOT_NAMES = {
    # institutions and organisations
    "agglomération", "agglo", "communauté", "commune", "communes", "conseil", "département", "départemental",
    "départementale", "région", "régional", "régionale", "mairie", "ville", "office", "tourisme", "chambre",
    "cci", "cma", "association", "associations", "club", "maison", "université", "école", "lycée", "collège",
    "centre", "service", "services", "direction", "agence", "syndicat", "fédération", "union", "comité", "pôle",
    "parc", "réseau", "groupe", "société", "entreprise", "sas", "sarl", "sa", "epci", "insee", "ademe", "anct",
    "état", "république", "préfecture", "ministère", "gare", "port", "aéroport", "hôpital", "musée", "théâtre",
    "cinéma", "festival", "marché", "salon", "fondation", "banque", "caisse", "crédit", "poste", "france",
    "travail", "emploi", "pcaet", "scot", "plu", "plui", "sraddet", "codev", "développement", "président",
    "présidente", "maire", "adjoint", "adjointe", "vice-président", "vice-présidente", "directeur", "directrice",
    "élu", "élue", "élus", "agent", "chargé", "chargée", "mission", "projet",
    # geography
    "saint", "sainte", "st", "ste", "bretagne", "normandie", "occitanie", "provence", "alpes", "côte", "côtes",
    "armor", "armorique", "rance", "vallée", "val", "mont", "cap", "baie", "pays", "rue", "avenue", "boulevard",
    "place", "quai", "chemin", "route", "allée", "impasse", "zone", "zac", "za", "zi", "quartier", "bourg",
    "centre-ville", "europe", "paris", "rennes", "nantes", "dinan", "saint-malo", "lyon", "marseille", "lille",
    "bordeaux", "toulouse", "nord", "sud", "est", "ouest", "loire", "seine", "rhône", "garonne", "atlantique",
    "manche", "méditerranée", "france", "grand", "grande", "haut", "haute", "bas", "basse", "nouvelle",
    # calendar
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
    "décembre", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "noël", "pâques",
    # sentence openers and other capitalised words
    "le", "la", "les", "un", "une", "des", "du", "de", "et", "ou", "en", "au", "aux", "pour", "par", "sur",
    "dans", "avec", "sans", "il", "elle", "ils", "elles", "on", "nous", "vous", "je", "ce", "cette", "ces",
    "mais", "donc", "car", "puis", "alors", "ensuite", "enfin", "aussi", "selon", "pas", "très", "plus",
    "oui", "non", "merci", "bonjour", "question", "réponse", "remarque", "note", "notes", "entretien",
    "compte", "rendu", "date", "lieu", "objet", "personne", "participants", "thème", "synthèse",
}


@dataclass
class PseudonymizedText:
    text: str
    people: int = 0
    emails: int = 0
    phones: int = 0
    replaced: dict[str, str] = field(default_factory=dict, repr=False)
    """Name → placeholder, kept in memory only: never saved, never shown (it would undo the pseudonymisation)."""

    def summary(self) -> str:
        return (f"{self.people} personne(s), {self.emails} courriel(s) et {self.phones} numéro(s) de téléphone "
                "remplacés")


def _fold(word: str) -> str:
    return unicodedata.normalize("NFC", word).casefold()


def _is_place_or_word(word: str, extra: set[str]) -> bool:
    folded = _fold(word)
    parts = re.split(r"['’-]", folded)
    return folded in _NOT_NAMES or folded in extra or any(p in _NOT_NAMES for p in parts if len(p) > 2) \
        or len(word) < 2


def _at_sentence_start(text: str, start: int) -> bool:
    """At the start of the text, of a line (after an optional bullet) or after « . ! ? … »."""
    before = text[:start]
    line = before.rsplit("\n", 1)[-1]
    if not line.strip(" \t-•*–>"):
        return True
    return before.rstrip()[-1] in ".!?…"


def pseudonymize(text: str, *, not_names: Iterable[str] = ()) -> PseudonymizedText:
    """Replace e-mails, phone numbers and people's names; ``not_names`` adds local places and organisations."""
    extra = {_fold(w) for name in not_names for w in re.split(r"[\s'’-]+", name) if w}
    result = PseudonymizedText(text="")
    text, result.emails = _EMAIL.subn("[courriel]", text)
    text, result.phones = _PHONE.subn("[téléphone]", text)
    surnames: dict[str, str] = {}  # folded surname → placeholder

    def placeholder(full: str) -> str:
        words = full.split()
        particle = len(words) >= 2 and re.fullmatch(_PARTICLES, words[-2]) is not None
        surname = _fold(" ".join(words[-2:]) if particle else words[-1])
        if surname not in surnames:
            surnames[surname] = f"[personne {len(surnames) + 1}]"
        result.replaced[full] = surnames[surname]
        return surnames[surname]

    def titled(match: re.Match) -> str:
        words = match.group(1).split()
        # "Mme Martin Dinan": keep a trailing place; "M. Le Président": a role, not a name.
        while words and _is_place_or_word(words[-1], extra) and len(words) > 1:
            words.pop()
        if not words or all(_is_place_or_word(w, extra) for w in words):
            return match.group(0)
        name = " ".join(words)
        tail = match.group(1)[len(name):]
        return placeholder(name) + tail

    text = _TITLED.sub(titled, text)

    def pair(match: re.Match) -> str:
        first, last = match.group(1), match.group(2)
        if _at_sentence_start(text, match.start()):
            return match.group(0)
        if _is_place_or_word(first, extra) or _is_place_or_word(last.split()[-1], extra):
            return match.group(0)
        return placeholder(f"{first} {last}")

    text = _PAIR.sub(pair, text)
    # Consistency: a name found once is replaced everywhere, surname alone included.
    for name in sorted(result.replaced, key=len, reverse=True):
        text = re.sub(rf"(?<![{_LOWER}{_UPPER}]){re.escape(name)}(?![{_LOWER}{_UPPER}])", result.replaced[name], text)
    for surname, token in surnames.items():
        if _is_place_or_word(surname, extra):
            continue
        # Case-insensitive for "LE GOFF" / "Le Goff", but only where the word is capitalised.
        text = re.sub(rf"(?<![{_LOWER}{_UPPER}\[])(?=[{_UPPER}]){re.escape(surname)}(?![{_LOWER}{_UPPER}])", token,
                      text, flags=re.IGNORECASE)
    # A capitalised word right before a replaced name is its first name: "Yann [personne 1]" → "[personne 1]".
    text = re.sub(rf"(?<![{_LOWER}{_UPPER}'’-])({_WORD})\s+(\[personne \d+\])",
                  lambda m: m.group(0) if _is_place_or_word(m.group(1), extra) else m.group(2), text)
    # Number people in order of first appearance in the text, whatever rule found them.
    order: dict[str, str] = {}
    for token in re.findall(r"\[personne \d+\]", text):
        order.setdefault(token, f"[personne {len(order) + 1}]")
    text = re.sub(r"\[personne \d+\]", lambda m: order[m.group(0)], text)
    result.replaced = {name: order.get(token, token) for name, token in result.replaced.items()}
    result.text = text
    result.people = len(surnames)
    return result
