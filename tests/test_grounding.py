"""Citation and number checks on answers (pure functions)."""

from assistant.grounding import (mark_unsupported, numbers_in, quote_in_passage, unsupported_numbers,
                                 verify_citations)
from assistant.schemas import Chunk, Passage


def _passage(text, file="rapport.pdf", page=3):
    chunk = Chunk(id=file + str(page), project="p", file=file, doc_type="pdf", page=page, start=0, end=len(text),
                  text=text, content_hash="h", ingested_at="2026-01-01T00:00:00")
    return Passage(chunk=chunk, score=1.0)


PASSAGES = [
    _passage("Le conseil de développement souligne l’intérêt du plan vélo. Il regrette l'absence de budget."),
    _passage("La population municipale atteint 14 406 habitants en 2021, soit 12,5 % de plus.", "insee.pdf", 7),
]


def test_supported_citation_is_kept_with_a_verbatim_quote():
    text, citations, flags = verify_citations("Le plan vélo est jugé intéressant par le conseil [1].", PASSAGES)
    assert [c.file for c in citations] == ["rapport.pdf"] and citations[0].page == 3
    assert quote_in_passage(citations[0].quote, PASSAGES[0].chunk.text)
    assert "[1]" in text and not flags


def test_unsupported_or_unknown_citations_are_dropped_and_flagged():
    text, citations, flags = verify_citations(
        "Le festival de jazz attire des milliers de visiteurs [2]. Les élus approuvent [7].", PASSAGES)
    assert citations == []
    assert "[2]" not in text and "[7]" not in text
    assert any("ne soutient pas" in f for f in flags) and any("[7]" in f for f in flags)


def test_citations_are_renumbered_in_order_of_use():
    text, citations, _ = verify_citations("La population atteint 14 406 habitants [2]. Le plan vélo intéresse "
                                          "le conseil de développement [1].", PASSAGES)
    assert [(c.n, c.file) for c in citations] == [(1, "insee.pdf"), (2, "rapport.pdf")]
    assert text.index("[1]") < text.index("[2]")


def test_french_number_formats_are_normalised():
    values = [v for _, v in numbers_in("1 234,5 habitants, 12 %, 3,2 M€, 14\u00a0406 et l'action [3]")]
    assert values == ["1234.5", "12", "3.2", "14406"]


def test_unsupported_numbers_are_found_and_marked():
    sources = [PASSAGES[1].chunk.text]
    answer = "La commune compte 14 406 habitants, en hausse de 12,5 %, et 300 entreprises."
    bad = unsupported_numbers(answer, sources)
    assert bad == ["300"]
    assert "300 (chiffre non vérifié)" in mark_unsupported(answer, bad)
    assert unsupported_numbers("Depuis 2030 ?", [], question="Et en 2030 ?") == []


def test_sentence_without_marker_is_attributed_only_when_strongly_supported():
    text, citations, _ = verify_citations(
        "La population municipale atteint 14 406 habitants en 2021. Le territoire est très dynamique.", PASSAGES)
    assert [(c.n, c.file, c.page) for c in citations] == [(1, "insee.pdf", 7)]
    assert text.startswith("La population municipale atteint 14 406 habitants en 2021 [1].")
    assert "dynamique." in text and "dynamique [" not in text


def test_list_enumerators_are_not_figures_and_lists_survive():
    answer = "Les objectifs sont :\n1. Plan vélo soutenu par le conseil [1].\n2. Population de 14 406 habitants [2]."
    text, citations, _ = verify_citations(answer, PASSAGES)
    assert text.splitlines()[1].startswith("1. ") and len(text.splitlines()) == 3
    assert unsupported_numbers(text, [p.chunk.text for p in PASSAGES]) == []


def test_key_terms_are_acronyms_years_and_short_quoted_names():
    from assistant.grounding import key_terms, term_pattern

    assert key_terms("Quelles sont les priorités du SRDEII de la Région Bretagne pour la période 2022-2028 ?") == [
        "SRDEII", "2022", "2028"]
    assert key_terms("Qui a conçu la marque « Dinan-Cap Fréhel » ?") == ["Dinan-Cap Fréhel"]
    # Not named things: sentence-initial words, Roman numerals, amounts, long quoted titles.
    assert key_terms("Quel est le titre II du guide « Éviter, réduire et compenser l'imperméabilisation "
                     "nouvelle des sols » ? Il coûte 2 500 €.") == []
    assert term_pattern("Dinan-Cap Fréhel") == "%Dinan%Cap%Fréhel%"
    # What is counted must be named somewhere (singular or plural); « combien de fois » names nothing.
    assert key_terms("Combien de campings compte le territoire ?") == ["camping"]
    assert key_terms("Combien d'emplois touristiques en 2024 ?") == ["2024", "emploi"]
    assert key_terms("Combien de fois le comité se réunit-il ?") == []
    from assistant.grounding import term_regex

    station = term_regex("Station verte")
    assert station.search("labellisée station  verte en 2019") and station.search("Station-Verte")
    assert not station.search("une station GNV au cœur de la trame verte") and term_regex("SRDEII") is None
    from assistant.grounding import expansion_regex

    srdeii = expansion_regex("SRDEII")
    assert srdeii.search("Le Schéma régional de développement économique, d'innovation et d'internationalisation")
    assert not srdeii.search("le schéma régional des mobilités")
    assert expansion_regex("PCAET").search("plan climat-air-énergie territorial") and expansion_regex("A2") is None


def test_a_question_naming_what_no_document_mentions_is_not_covered(tmp_path):
    """Real chunk store and Chroma: the check looks at every document of the project and of the method."""
    from assistant.config import Settings
    from assistant.core import Assistant
    from assistant.embeddings import HashingEmbedder
    from assistant.llm import FakeChat

    doc = tmp_path / "tourisme.md"
    doc.write_text("# Tourisme\n\nLa destination « Dinan Cap Fréhel » a accueilli des visiteurs en 2022 ; le PCAET "
                   "prévoit des navettes estivales. L'objectif de zéro artificialisation nette s'applique.\n",
                   encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    settings.retrieval.min_dense_score = 0.0
    chat = FakeChat(lambda messages: "La destination a accueilli des visiteurs en 2022 [1].")
    a = Assistant(settings, chat=chat, embedder=HashingEmbedder())
    a.ingest([doc], "Dinan")
    assert a.absent_terms("Que prévoit le PCAET pour la destination « Dinan-Cap Fréhel » en 2022 ?", "Dinan") == []
    assert a.absent_terms("Que dit le document du ZAN ?", "Dinan") == []  # written out in full, not abbreviated
    # The words of a quoted name must stand side by side: « destination » … « nette » are far apart here.
    assert a.absent_terms("La « destination nette » a-t-elle un label ?", "Dinan") == ["destination nette"]
    assert a.absent_terms("Combien de campings et de navettes ?", "Dinan") == ["camping"]
    assert a.absent_terms("Combien de navettes estivales sont prévues ?", "Dinan") == []
    answer = a.ask("Quelles sont les priorités du SRDEII pour 2022 ?", "Dinan")
    assert not answer.covered and chat.calls == []
    assert "« SRDEII »" in answer.answer and "2022" not in answer.answer.split(":")[0]
    answer = a.ask("Combien de visiteurs la destination a-t-elle accueillis en 2023 ?", "Dinan")
    assert not answer.covered and "« 2023 »" in answer.answer and chat.calls == []
    answer = a.ask("Combien de visiteurs la destination a-t-elle accueillis en 2022 ?", "Dinan")
    assert answer.covered and len(chat.calls) == 1


def test_questions_that_ask_for_a_figure():
    from assistant.grounding import asks_for_figure, holds_figure

    for q in ("Combien de nuitées en 2023 ?", "Quel budget est prévu pour le plan ?", "Et pour quel coût ?",
              "Quelle part de la population déménage ?", "Quel est le montant de l'aide ?",
              "À quelle hauteur la Région finance-t-elle ?", "Quels sont les taux retenus ?"):
        assert asks_for_figure(q), q
    for q in ("Quelle agence a conçu la marque ?", "Quels partenaires sont associés ?",
              "Quelle étape est prioritaire ?", "Quel calendrier est prévu ?"):
        assert not asks_for_figure(q), q
    assert holds_figure("Le budget est de 12 534 200 € [1].") and holds_figure("Environ la moitié des habitants.")
    assert holds_figure("Deux fois par an [2].") and holds_figure("Aucune : la rubrique est vide [1].")
    assert not holds_figure("Dinan Agglomération [1].") and not holds_figure("Une agence de septembre [3].")


def test_closed_questions():
    from assistant.grounding import is_closed_question

    for q in ("Le reclassement d'une zone AU peut-il être compté comme compensation ?",
              "Notre commune est peu dense : existe-t-il un service de covoiturage ?",
              "Est-ce que la commune est éligible ?", "La Région peut-elle financer l'étude ?"):
        assert is_closed_question(q), q
    for q in ("Comment se répartit-il ?", "À partir de quelle taille une collectivité est-elle tenue de publier ?",
              "Quels moyens Dinan Agglomération consacre-t-elle aux entreprises ?", "Qui porte le projet ?",
              "Quelle part de la population déménage ?"):
        assert not is_closed_question(q), q


def test_a_sentence_adding_to_the_question_what_the_passage_does_not_say_is_not_supported():
    from assistant.grounding import adds_unsourced

    passage = "Onze fiches concernent les actions des habitants, pour un budget de 8,6 millions d'euros."
    question = "Comment se répartit le budget entre actions de l'EPCI et actions des habitants ?"
    assert adds_unsourced("Le budget est réparti entre l'EPCI (Entreprise Privée de l'État) et les habitants.",
                          question, passage)
    assert not adds_unsourced("Onze fiches concernent les habitants, pour 8,6 millions d'euros.", question, passage)
    assert not adds_unsourced("Le budget est réparti entre l'EPCI et les habitants.", question, passage)  # nothing new
    assert not adds_unsourced("Une phrase sans rapport mais hors contrôle.", "", passage)  # no question: no check


def test_an_amount_asked_and_only_other_quantities_given():
    from assistant.grounding import counts_something_else

    price = "Quel est le prix moyen du mètre carré de foncier économique dans les zones d'activités ?"
    assert counts_something_else("Environ 40 hectares ont été identifiés comme potentiel [1].", price)
    assert counts_something_else("Soit 28 % du budget [1] et 12 (chiffre non vérifié) communes.", price)
    # An amount, or a figure whose unit is not said, may be the answer; a year only dates it.
    assert not counts_something_else("Le budget est de 120 000 € [1].", price)
    assert not counts_something_else("Budget : 200000 [1]. Calendrier : 2022 [2].", "Quel budget pour le schéma ?")
    assert not counts_something_else("Le mètre carré est cédé en 2022 [1].", price)  # no figure but a year
    # Not a question about money: hectares answer it.
    assert not counts_something_else("Environ 40 hectares [1].", "Quelle surface est disponible ?")


def test_what_a_question_counts_and_which_figures_count_it():
    from assistant.grounding import counted_noun, counting_sentences, figure_counts

    assert counted_noun("Sur combien de points est évalué le label ?") == "points"
    assert counted_noun("Combien d'habitants l'Île-de-France perd-elle ?") == "habitants"
    assert counted_noun("Quel est le nombre de communes rurales ?") == "communes"
    assert counted_noun("Combien de temps dure l'audit ?") is None and counted_noun("Quel budget ?") is None
    assert figure_counts("Le maximum est de 500 points [1].", "points")
    assert figure_counts("Elle perd 51 000 habitants par an.", "habitants")
    assert figure_counts("4 grandes orientations", "orientations") and figure_counts("1 commune", "communes")
    assert figure_counts("Nombre de points : 500", "points")
    assert not figure_counts("Le label compte 4 niveaux.", "points")
    assert not figure_counts("En 2024, des points ont été attribués.", "points")  # a year counts nothing
    assert figure_counts("4 niveaux et 500 points", "points", {"500"})
    assert not figure_counts("4 niveaux et 500 points", "points", {"4"})
    assert counting_sentences("Le label a 4 niveaux. Il vaut 500 points au plus.", "points") == ["Il vaut 500 points au plus."]
    assert figure_counts("Dinan (100 000 hab.)", "habitants")  # an abbreviation names the noun


def test_a_figure_is_related_to_a_noun_by_its_sentence():
    from assistant.grounding import sentence_relates

    text = "Le label a 4 niveaux. Chaque action rapporte des points selon son avancement."
    assert not sentence_relates(text, "points", {"4"})  # the 4 and the points are in different sentences
    assert sentence_relates("Elle gagnait 15 000 habitants ; elle en perd 51 000 par an.", "habitants", {"51000"})


def test_the_closest_extract_is_never_a_title_line():
    # Real PDF (the ECi label rules, p. 1): its title shares « label », « économie », « circulaire » with the question
    # and was quoted as the closest extract; a sentence of the page is quoted instead.
    from assistant.config import shared_dir
    from assistant.grounding import best_quote, is_title_line
    from assistant.ingest import chunk_document, parse_file

    pdf = shared_dir() / "corpus" / "incubateur-ademe__territoires-en-transitions" / "ECi_Reglement_label.pdf"
    first = next(c for c in chunk_document(parse_file(pdf), "p") if c.page == 1)
    assert first.text.startswith("REGLEMENT DU LABEL Economie Circulaire")
    question = "Quelles collectivités peuvent candidater au label Économie circulaire ?"
    quote, share = best_quote(question, first.text, answers_only=True)
    assert share > 0 and not quote.upper().startswith("REGLEMENT") and quote.endswith(".")
    assert "collectivités candidates" in quote and quote_in_passage(quote, first.text)
    # Without answers_only (checking a citation), a title stays a candidate.
    assert best_quote("règlement du label économie circulaire", first.text)[0].startswith("REGLEMENT")
    assert is_title_line("REGLEMENT DU LABEL Economie Circulaire du programme Territoire Engagé Transition Ecologique")
    for sentence in ("Le Conseil de Développement de Dinan Agglomération a fait parvenir",
                     "Indicateurs de suivi", "Les Côtes d'Armor Comptent 4 EPCI."):
        assert not is_title_line(sentence)
