"""Text normalisation on the pitfalls of the real corpus (shared/corpus/SOURCES.md), plus minimal synthetic cases."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from assistant.config import shared_dir

from assistant.textclean import (
    build_lexicon,
    clean_page_texts,
    clean_text,
    collapse_whitespace,
    fix_hyphenation,
    fix_inline_spacing,
    normalize_unicode,
    repair_ligature_markers,
    restore_dropped_ti,
    strip_pictographs,
    strip_running_lines,
)

CORPUS = shared_dir() / "corpus"
CAE = CORPUS / "incubateur-ademe__territoires-en-transitions" / "CAE_Reglement_label.pdf"
TETE = CORPUS / "incubateur-ademe__territoires-en-transitions" / "TETE_Referentiel_Climat_Air_Energie_2024.pdf"


@functools.lru_cache(maxsize=None)
def _parsed(path: Path):
    from assistant.ingest import parse_file

    return parse_file(path)


def _all_text(path: Path) -> str:
    return "\n".join(page.text for page in _parsed(path).pages)


# ------------------------------------------------------------------------------------------------ unicode


def test_nfkc_folds_ligatures():
    assert normalize_unicode("déﬁnition eﬀective ﬂux aﬃrmer") == "définition effective flux affirmer"


def test_french_typography_is_kept():
    text = "« Œuvre » de l’EPCI : 12 € … m² n° 1er cœur"
    assert normalize_unicode(text) == text


def test_odd_spaces_become_plain_spaces_and_invisible_characters_go():
    assert normalize_unicode("10\u00a0000\u202f€ ré\u00adgion\u200b") == "10 000 € région"
    assert normalize_unicode("Saint\u2011Malo") == "Saint-Malo"
    assert normalize_unicode("ligne\r\nsuivante\rfin") == "ligne\nsuivante\nfin"


def test_decomposed_accents_are_composed():
    assert normalize_unicode("e\u0301te\u0301") == "été"


def test_pictographs_removed_but_not_letters_or_arrows():
    text = "👉 https://api.gouv.fr ✉ Contactez-nous ! ☎ être rappelé 📩 → Éléonore œuvre ❶"
    out = collapse_whitespace(strip_pictographs(text))
    assert out == "https://api.gouv.fr Contactez-nous ! être rappelé → Éléonore œuvre ❶"


# ----------------------------------------------------------------------------------------------- ligatures


def test_control_character_markers_become_ti():
    raw = "Les collec\x1fvités et la Commission na\x1fonale ; le calcul \x1fent compte ; labellisa\x08on"
    assert repair_ligature_markers(raw) == (
        "Les collectivités et la Commission nationale ; le calcul tient compte ; labellisation"
    )


def test_at_sign_is_tt_only_in_broken_documents_and_never_in_emails():
    raw = "la collectivité a@eint ce@e étape (territoireengage@ademe.fr) h@ps://site.fr"
    assert repair_ligature_markers(raw, broken_ligatures=True) == (
        "la collectivité atteint cette étape (territoireengage@ademe.fr) https://site.fr"
    )
    assert repair_ligature_markers(raw, broken_ligatures=False) == raw


def _broken_lexicon():
    # The document's own well-formed words, as CAE_Reglement_label.pdf gives them once its markers are repaired.
    text = ("Les collectivités candidates. La Commission nationale. Les actions réalisées. Les points effectifs "
            "et potentiels. Juge et partie. En particulier la politique. " * 3)
    return build_lexicon([text], raw_texts=[text.replace("ti", "\x1f")])


def test_dropped_ti_restored_from_the_documents_own_words():
    lexicon = _broken_lexicon()
    assert lexicon.broken_ligatures
    out = restore_dropped_ti("Les collecvités et la Commission naonale : une acon en parculier.", lexicon)
    assert out == "Les collectivités et la Commission nationale : une action en particulier."


def test_dropped_ti_split_by_a_space_is_joined():
    # dev-011: the gold quote keeps pypdf's "eﬀec fs" / "poten els" (the marker became a space).
    lexicon = _broken_lexicon()
    quote = "Obtenir un nombre de points eﬀec fs supérieur à 50 % de ses points poten els après audit"
    assert clean_text(quote, lexicon) == (
        "Obtenir un nombre de points effectifs supérieur à 50 % de ses points potentiels après audit"
    )


def test_suffix_rule_repairs_unknown_words_conservatively():
    lexicon = _broken_lexicon()
    assert restore_dropped_ti("la sensibilisaon et l'interacvité", lexicon) == (
        "la sensibilisation et l'interactivité"
    )


@pytest.mark.parametrize("word", ["région", "avion", "pension", "réflexion", "chaque", "grave", "chef", "par",
                                  "parti", "nation", "flacon", "balcon", "paon", "question", "raison", "union"])
def test_valid_words_are_never_altered(word):
    lexicon = _broken_lexicon()
    assert restore_dropped_ti(f"le mot {word} reste", lexicon) == f"le mot {word} reste"


def test_no_ti_repair_in_a_healthy_document():
    text = "Les collectivités territoriales et la stratégie nationale d'action. " * 20
    lexicon = build_lexicon([text])
    assert not lexicon.broken_ligatures
    assert restore_dropped_ti("naonal acon", lexicon) == "naonal acon"


# --------------------------------------------------------------------------------------------- hyphenation


def test_end_of_line_hyphenation_is_joined():
    assert fix_hyphenation("le dévelop-\npement durable") == "le développement durable"
    assert fix_hyphenation("contribuent aussi large-\nment. En fait") == "contribuent aussi largement. En fait"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("à Saint-\nMalo", "à Saint-Malo"),
        ("il peut-\nêtre", "il peut-être"),
        ("c'est-à-\ndire", "c'est-à-dire"),
        ("les régions Hauts-\nde-France", "les régions Hauts-de-France"),
        ("la démarche d'éco-\nconception", "la démarche d'éco-conception"),
        ("la filière bois-\nénergie", "la filière bois-énergie"),
        ("www.demarches-\nsimplifiees.fr", "www.demarches-simplifiees.fr"),
    ],
)
def test_real_hyphens_are_kept_at_a_line_break(raw, expected):
    assert fix_hyphenation(raw) == expected


def test_compound_seen_elsewhere_in_the_document_keeps_its_hyphen():
    text = "La stratégie climat-air-énergie est votée. Le plan climat-air-\nénergie est suivi."
    expected = "La stratégie climat-air-énergie est votée. Le plan climat-air-énergie est suivi."
    assert fix_hyphenation(text) == expected


def test_hyphens_inside_a_line_are_untouched():
    text = "Saint-Malo, peut-être, 2021-2026 et la séquence éviter - réduire"
    assert fix_hyphenation(text) == text


# ------------------------------------------------------------------------------------- running lines, spaces


def test_running_header_and_page_numbers_stripped_body_kept():
    body = "Paragraphe propre à la page {}.\nRappel commun à toutes les pages.\nDeuxième paragraphe {}."
    pages = [f"{n}\nProgramme Territoire Engagé – Septembre 2024\n" + body.format(n, n * 7) for n in range(1, 6)]
    out = strip_running_lines(pages)
    assert out[2] == body.format(3, 21)


def test_repeated_body_line_in_the_middle_of_pages_is_kept():
    pages = [f"Titre {n}\nQuel problème avons-nous cherché à résoudre ?\nA\nB\nC\nD\nE\nF" for n in range(4)]
    out = strip_running_lines(pages)
    assert all("Quel problème" in page for page in out)


def test_margin_geometry_limits_candidates():
    pages = ["Entête\nQuestion répétée ?\ncorps 1", "Entête\nQuestion répétée ?\ncorps 2",
             "Entête\nQuestion répétée ?\ncorps 3"]
    out = strip_running_lines(pages, margins=[{"entête"}] * 3)
    assert out == ["Question répétée ?\ncorps 1", "Question répétée ?\ncorps 2", "Question répétée ?\ncorps 3"]


def test_collapse_whitespace():
    assert collapse_whitespace("  a \t b  \n\n\n\n c  ") == "a b\n\nc"


def test_inline_spacing_fix_keeps_french_spaces():
    out = fix_inline_spacing("les cadres , des étudiants ( 9 ) : « voir »")
    assert out == "les cadres, des étudiants (9) : « voir »"


def test_page_pipeline_on_synthetic_pages():
    raw = [f"Rapport annuel\nLes collec\x1fvités du terri-\ntoire agissent ({n * 7} actions).\n{n}"
           for n in range(1, 5)]
    pages, lexicon = clean_page_texts(raw)
    assert lexicon.broken_ligatures
    assert pages[0] == "Les collectivités du territoire agissent (7 actions)."


# -------------------------------------------------------------------------------------------- real corpus


def test_cae_reglement_broken_ligatures_repaired():
    text = _all_text(CAE)
    assert "collectivités" in text and "national" in text
    assert "collecvités" not in text and "naonal" not in text
    assert "\x1f" not in text and "\t" not in text
    assert "Article 1." in text and "juge et partie" in text and "atteint les seuils" in text
    assert "territoireengage@ademe.fr" in text  # the real e-mail address survives the "@" = "tt" repair


def test_tete_running_header_removed_body_kept():
    doc = _parsed(TETE)
    assert not any("Programme Territoire Engagé Transition Ecologique" in p.text for p in doc.pages)
    assert not any(re.match(r"^\d+$", line) for p in doc.pages for line in p.text.split("\n"))
    page22 = doc.pages[21].text
    assert "La collectivité élabore une stratégie touristique durable" in page22
    assert "Climat-Air-Energie" in doc.pages[0].text  # body text that repeats a header word stays
