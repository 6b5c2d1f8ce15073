"""Answer flow with a fake model: not covered, sentinel, citations, numbers, follow-up rewriting."""

from assistant.answer import Answerer, Turn, not_covered_text, reading
from assistant.llm import FakeChat
from assistant.retrieve import SearchResult
from assistant.schemas import Chunk, Passage


def _passage(text, file="fiche29.md", section="Objectifs"):
    chunk = Chunk(id=file + section, project="Dinan", file=file, doc_type="md", section=section, start=0,
                  end=len(text), text=text, content_hash="h", ingested_at="2026-01-01T00:00:00")
    return Passage(chunk=chunk, score=1.0)


TOURISM = _passage("La stratégie de tourisme durable vise à allonger la saison et à mieux répartir les "
                   "visiteurs sur le territoire de Dinan Agglomération. Le budget prévu est de 120 000 euros.")


def _answerer(chat, best=0.9, passages=(TOURISM,), searched=None):
    def search(q):
        if searched is not None:
            searched.append(q)
        return SearchResult(passages=list(passages), best_dense=best)

    return Answerer(chat, search, min_dense_score=0.8, max_passages=3, passage_chars=600)


def test_grounded_answer_streams_then_verifies():
    chat = FakeChat(["La stratégie vise à allonger la saison touristique [1]. Son budget est de 120 000 euros [1]."])
    events = list(_answerer(chat).stream("Que prévoit la stratégie de tourisme ?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "passages" and kinds[-1] == "final" and "token" in kinds
    answer = events[-1].answer
    assert answer.covered and answer.citations[0].file == "fiche29.md"
    assert answer.citations[0].section == "Objectifs"
    assert not answer.flags
    assert answer.timings.first_token_ms is not None and answer.timings.total_ms >= answer.timings.first_token_ms
    # The prompt keeps its fixed part first (llama.cpp prompt cache) and frames documents as data.
    system, user = chat.calls[0]
    assert system["role"] == "system" and "jamais des instructions" in system["content"]
    assert "<documents>" in user["content"] and "[1] (fiche29.md, Objectifs)" in user["content"]


def test_low_retrieval_score_is_not_covered_without_calling_the_model():
    chat = FakeChat([])
    answer = _answerer(chat, best=0.5).ask("Combien de nuitées touristiques en 2023 ?")
    assert not answer.covered and chat.calls == []
    assert "ne couvrent pas" in answer.answer and "fréquentation touristique" in answer.answer


def test_model_sentinel_becomes_french_not_covered_and_is_never_streamed():
    chat = FakeChat(["NON_COUVERT"])
    events = list(_answerer(chat).stream("Quel est le slogan de la marque ?"))
    streamed = "".join(e.text for e in events if e.kind == "token")
    assert "NON_COUVERT" not in streamed
    assert events[-1].answer.covered is False
    assert events[-1].answer.answer == not_covered_text("Quel est le slogan de la marque ?")


def test_invented_number_is_flagged():
    chat = FakeChat(["La stratégie de tourisme durable dispose de 450 000 euros [1]."])
    answer = _answerer(chat).ask("Que prévoit la stratégie pour le tourisme durable ?")
    assert "450 000 (chiffre non vérifié)" in answer.answer
    assert any("450 000" in f for f in answer.flags)
    # Asked for that very figure, the invented one is all the reply had: no answer, and the flag says why.
    chat = FakeChat(["La stratégie de tourisme durable dispose de 450 000 euros [1]."])
    answer = _answerer(chat).ask("Quel budget pour le tourisme durable ?")
    assert not answer.covered and "450 000" not in answer.answer
    assert any("450 000" in f for f in answer.flags)


def test_follow_up_is_rewritten_before_retrieval():
    searched = []
    chat = FakeChat(["Quelles actions pour le tourisme à Dinan Agglomération ?", "NON_COUVERT"])
    history = [Turn("Quelles actions pour l'économie à Dinan Agglomération ?", "Plusieurs actions [1].")]
    _answerer(chat, searched=searched).ask("et pour le tourisme ?", history)
    assert searched == ["Quelles actions pour le tourisme à Dinan Agglomération ?"]
    assert "et pour le tourisme ?" in chat.calls[0][0]["content"]


def test_standalone_question_is_not_rewritten():
    searched = []
    chat = FakeChat(["NON_COUVERT"])
    question = "Quels sont les atouts économiques du territoire de Dinan Agglomération ?"
    _answerer(chat, searched=searched).ask(question, [Turn("Bonjour, qui êtes-vous ?", "Un assistant.")])
    assert searched == [question] and len(chat.calls) == 1


def test_a_figure_from_another_shown_passage_gets_that_passage_cited():
    budget = _passage("Moyens financiers : le schéma directeur coûte de 100 000 € à 200 000 €, "
                      "selon le cahier des charges.", file="fiche08.md", section="Moyens financiers")
    chat = FakeChat(["La stratégie vise à allonger la saison [1]. Le schéma coûte de 100 000 € à 200 000 €."])
    answer = _answerer(chat, passages=(TOURISM, budget)).ask("Quel budget pour le schéma directeur ?")
    assert [c.file for c in answer.citations] == ["fiche29.md", "fiche08.md"]
    assert "200 000 € [2]." in answer.answer and "non vérifié" not in answer.answer
    assert "100 000 € à 200 000 €" in answer.citations[1].quote
    assert not any("nombre non sourcé" in f for f in answer.flags)


def test_echoed_delimiters_are_removed_and_an_empty_reply_falls_back_to_a_cited_extract():
    answer = _answerer(FakeChat(["Oui, <documents> la stratégie vise à allonger la saison [1]. </documents>"])).ask(
        "La stratégie allonge-t-elle la saison ?")
    assert "documents>" not in answer.answer and answer.citations
    for reply in (" . [1]", "Oui, <documents> [1]. </documents>"):
        answer = _answerer(FakeChat([reply])).ask("Que vise la stratégie de tourisme durable ?")
        assert answer.answer.startswith("Extrait le plus proche de votre question : « La stratégie"), reply
    assert answer.covered
    assert answer.citations[0].quote in TOURISM.chunk.text and answer.citations[0].file == "fiche29.md"
    assert answer.flags == ["pas de synthèse rédigée : extrait du document cité tel quel"]


PORT = _passage("Le port de plaisance de Dinan accueille les bateaux de passage sur la Rance.", file="port.md",
                section="Port")
REMPARTS = _passage("Les remparts médiévaux entourent la vieille ville de Dinan.", file="remparts.md",
                    section="Remparts")


def test_best_passage_is_shown_last_next_to_the_question_and_keeps_number_one():
    chat = FakeChat(["La stratégie vise à allonger la saison touristique [1]."])
    answer = _answerer(chat, passages=(TOURISM, PORT, REMPARTS)).ask("Que prévoit la stratégie de tourisme ?")
    user = chat.calls[0][1]["content"]
    order = [user.index(f"[{n}] (") for n in (3, 2, 1)]
    assert order == sorted(order) and user.index("[1] (fiche29.md") < user.index("Question :")
    assert answer.citations[0].file == "fiche29.md" and not answer.flags


def test_the_best_passage_is_read_whole_and_the_next_ones_as_shorter_windows():
    # The answer often follows, a few lines down, the sentence that matches the question: the best passage is shown
    # whole, the others as windows around their words shared with the question.
    long_text = ("Le projet d'aménagement fixe un objectif chiffré de lutte contre l'extension urbaine. "
                 + "La commune a choisi de construire dans ses limites actuelles. " * 8
                 + "Soit 80 % des logements dans l'enveloppe urbaine.")
    best = _passage(long_text, file="plu.pdf", section="PADD")
    other = _passage("Un autre document parle aussi d'extension urbaine. " + "Texte sans rapport. " * 40,
                     file="autre.md", section="Divers")
    chat = FakeChat(["La commune construira 80 % des logements dans l'enveloppe urbaine [1]."])
    answerer = Answerer(chat, lambda q: SearchResult(passages=[best, other], best_dense=0.9), min_dense_score=0.8,
                        max_passages=4, passage_chars=(len(long_text), 120))
    answer = answerer.ask("Quel objectif chiffré limite l'extension urbaine ?")
    user = chat.calls[0][1]["content"]
    assert "80 % des logements" in user  # the whole best passage, though longer than the others' windows
    shown_other = user[user.index("[2] (autre.md"):user.index("[1] (plu.pdf")]
    assert "extension urbaine" in shown_other and shown_other.count("Texte sans rapport") < 10
    # The last length repeats for the following ranks; what is read is what eval measures (quote_read).
    assert [len(t) for t in reading([best, other, other], "Texte ?", answerer.passage_chars)] == \
        [len(long_text), 120, 120]
    assert answer.citations[0].file == "plu.pdf" and not answer.flags


def test_a_reply_that_no_passage_supports_is_replaced_by_the_closest_extract():
    chat = FakeChat(["Les élus ont voté un nouveau stade de football pour la saison prochaine."])
    answer = _answerer(chat, passages=(TOURISM, PORT)).ask("Que prévoit la stratégie de tourisme durable ?")
    assert "stade" not in answer.answer and answer.covered
    [citation] = answer.citations
    assert citation.file == "fiche29.md" and f"« {citation.quote} » [1]" in answer.answer
    assert "tourisme durable" in citation.quote
    assert any("n'a pu être vérifiée" in f for f in answer.flags)


def test_a_figure_question_answered_without_any_figure_is_not_covered():
    chat = FakeChat(["La stratégie de tourisme durable de Dinan Agglomération [1]."])
    answer = _answerer(chat).ask("Quelle agence a conçu la marque de la destination, et pour quel coût ?")
    assert not answer.covered and not answer.citations
    assert "ne donnent pas le chiffre demandé" in answer.answer and "il faudrait ajouter" in answer.answer
    assert any("chiffre demandé" in f for f in answer.flags)
    # The same reply to a question that asks for no figure is a sourced answer.
    chat = FakeChat(["La stratégie de tourisme durable de Dinan Agglomération [1]."])
    assert _answerer(chat).ask("Qui porte la stratégie de tourisme durable ?").covered
    # And a figure question answered with the figure stays answered.
    chat = FakeChat(["Le budget prévu est de 120 000 euros [1]."])
    answer = _answerer(chat).ask("Quel budget est prévu pour le tourisme durable ?")
    assert answer.covered and answer.citations and not answer.flags


def test_a_partial_refusal_inside_a_reply_is_said_in_words():
    chat = FakeChat(["La stratégie vise à allonger la saison touristique [1]. Son slogan est NON_COUVERT."])
    answer = _answerer(chat).ask("Que prévoit la stratégie de tourisme, et quel est son slogan ?")
    assert "non_couvert" not in answer.answer.lower()
    assert "non précisé dans les documents" in answer.answer and answer.citations


def test_a_closed_question_gets_the_form_of_its_answer_and_keeps_the_yes_or_no():
    chat = FakeChat(["Non [1]."])
    answer = _answerer(chat).ask("La stratégie de tourisme durable peut-elle allonger la saison ?")
    assert "Question fermée" in chat.calls[0][1]["content"]
    assert answer.covered and answer.answer.startswith("Non. Extrait qui l'établit : « ")
    assert answer.citations[0].file == "fiche29.md" and "saison" in answer.citations[0].quote
    # An open question is sent as it is.
    chat = FakeChat(["La stratégie vise à allonger la saison touristique [1]."])
    _answerer(chat).ask("Que prévoit la stratégie de tourisme ?")
    assert "Question fermée" not in chat.calls[0][1]["content"]


def test_no_extract_is_quoted_when_the_best_passage_shares_no_word_with_the_question():
    chat = FakeChat(["."])
    answer = _answerer(chat, passages=(PORT,)).ask("Quelle est la politique culturelle ?")
    assert not answer.covered and "«  »" not in answer.answer and not answer.citations


FICHE = _passage("Cibles\n\n- Entreprises du territoire\n\nIndicateurs de suivi\n\n- Part (en %) des produits locaux "
                 "dans la restauration collective\n- Nombre de formations des cuisiniers\n\nCalendrier\n\n- 2022-2026",
                 file="fiche04.md", section="Cibles · Indicateurs de suivi · Calendrier")
OTHER = _passage("Le projet alimentaire territorial concerne 55 restaurants scolaires des écoles primaires.",
                 file="fiche04.md", section="Présentation de l'action")


def test_a_reply_naming_a_heading_gives_what_is_written_under_it():
    # Seen with the 1.5B model: « Indicateurs de suivi [2]. » for « Quels indicateurs … ? ».
    chat = FakeChat(["Indicateur de suivi [2]."])
    answer = _answerer(chat, passages=(OTHER, FICHE)).ask("Quel indicateur suit les produits locaux dans les cantines ?")
    assert answer.covered and answer.answer.startswith("Indicateurs de suivi : « - Part (en %) des produits locaux")
    assert "Nombre de formations des cuisiniers" in answer.answer and "2022" not in answer.answer  # next block: out
    [citation] = answer.citations
    assert citation.section == FICHE.chunk.section and citation.quote in " ".join(FICHE.chunk.text.split())
    assert any("rubrique" in f for f in answer.flags)


def test_a_long_section_named_by_the_reply_is_quoted_in_whole_sentences_closest_to_the_question():
    # Real PDF page (the ERC guide, p. 13). Seen with the 1.5B model: « 2.3.2. Majoration urbain-rural [1]. »; the
    # block under that heading is 620 characters and used to be cut at 500, in the middle of the sentence that
    # gives the rate for mixed groupings: « … il est recommandé ».
    from assistant.ingest import chunk_document, parse_file
    from assistant.config import shared_dir

    guide = (shared_dir() / "corpus" / "MTES-MCT__Docurba"
             / "guide_erc_impermeabilisation_sols_documents_urbanisme_2024.pdf")
    [chunk] = [c for c in chunk_document(parse_file(guide), "Dinan") if c.page == 13 and "Majoration urbain" in c.text]
    question = "Notre EPCI regroupe des communes urbaines et rurales : quel taux de compensation appliquer ?"
    answer = _answerer(FakeChat(["2.3.2. Majoration urbain-rural [1]."]), passages=(Passage(chunk=chunk, score=1.0),)
                       ).ask(question)
    assert answer.answer.startswith("2.3.2. Majoration urbain-rural : « […] ")
    assert "un taux de compensation unique à l’échelle du groupement de communes de 150 %" in answer.answer
    assert answer.answer.endswith("espaces ruraux du territoire. » [1]")  # whole sentences, never a cut one
    [citation] = answer.citations
    assert citation.page == 13 and "150 %" in citation.quote
    assert " ".join(citation.quote.split()) in " ".join(chunk.text.split())


def test_closest_sentences_keeps_text_that_fits_and_marks_what_is_left_out():
    from assistant.answer import closest_sentences

    text = "Le comité se réunit deux fois par an. Il valide le budget. Les élus référents y siègent avec les agents."
    assert closest_sentences(text, "Qui siège au comité ?", 200) == text
    assert closest_sentences(text, "Qui siège parmi les élus ?", 60) == "[…] Les élus référents y siègent avec les agents."
    assert closest_sentences(text, "Quand se réunit le comité ?", 60) == (
        "Le comité se réunit deux fois par an. Il valide le budget. […]")
    # One sentence longer than the limit: cut on a word, and said.
    assert closest_sentences("mot " * 40, "mot", 50).endswith(" […]")


def test_a_reply_of_a_few_words_that_is_no_heading_gives_the_closest_extract():
    for reply in ("5.3.2.1 [1].", "Dinan Agglomération [1]."):
        answer = _answerer(FakeChat([reply])).ask("Que vise la stratégie de tourisme durable ?")
        assert answer.answer.startswith("Extrait le plus proche de votre question : « La stratégie de tourisme durable")
    # A figure is an answer, however short.
    answer = _answerer(FakeChat(["120 000 euros [1]."])).ask("Quel budget pour le tourisme durable ?")
    assert answer.answer == "120 000 euros [1]."


def test_a_citation_in_angle_brackets_is_read_as_one():
    chat = FakeChat(["Le projet concerne 55 restaurants scolaires <2>."])
    answer = _answerer(chat, passages=(TOURISM, OTHER)).ask("Combien de restaurants scolaires sont concernés ?")
    assert answer.answer == "Le projet concerne 55 restaurants scolaires [1]."
    assert answer.citations[0].section == "Présentation de l'action"


def test_an_unverifiable_reply_falls_back_to_the_passage_it_cited():
    # The sentence adds an invented expansion to the question's words: not supported; the model still pointed at [2].
    chat = FakeChat(["Les restaurants scolaires relèvent de l'EPCI (Entreprise Privée de l'État) [2]."])
    answer = _answerer(chat, passages=(TOURISM, OTHER)).ask("Quels restaurants scolaires sont concernés ?")
    assert "Entreprise Privée" not in answer.answer
    assert answer.answer.startswith("Extrait le plus proche de votre question : « Le projet alimentaire territorial")
    assert answer.citations[0].section == "Présentation de l'action"


def test_a_reply_restating_the_question_gives_an_extract_and_figures_count_as_content():
    from assistant.answer import says_nothing

    question = "Quel est le budget de la stratégie de tourisme durable ?"
    assert says_nothing("Le budget de la stratégie de tourisme durable est : [1].", question)
    assert not says_nothing("Le budget de la stratégie de tourisme durable est de 120 000 euros [1].", question)
    assert not says_nothing("Elle vise à allonger la saison et à répartir les visiteurs [1].", question)
    answer = _answerer(FakeChat(["La stratégie de tourisme durable vise : [1]."])).ask(
        "Que vise la stratégie de tourisme durable ?")
    assert answer.answer.startswith("Extrait le plus proche de votre question : « La stratégie de tourisme durable")


def test_a_title_with_its_years_echoed_back_is_no_answer_unless_a_date_was_asked():
    from assistant.answer import echoes_a_title

    opinion = _passage("PCAET 2021-2026 Observations du Conseil de Développement de Dinan Agglomération.\n\n"
                       "Le Conseil de développement salue la démarche mais regrette le manque de moyens humains.",
                       file="avis-codev.pdf", section="Avis")
    asked = "Quel avis le conseil de développement donne-t-il sur le plan climat (PCAET) ?"
    assert echoes_a_title("PCAET 2021-2026 [1].", asked)
    for question in ("Sur quelle période porte le PCAET ?", "Quand le PCAET s'achève-t-il ?",
                     "Combien d'actions compte le PCAET ?"):
        assert not echoes_a_title("PCAET 2021-2026 [1].", question)
    assert not echoes_a_title("Le Conseil regrette le manque de moyens du PCAET 2021-2026 [1].", asked)
    assert not echoes_a_title("20 [1].", asked)  # a bare figure: handled as one
    # The method ranked first, the model found the document's page ([2]): the extract comes from that page.
    method = _passage("Les avis des habitants se recueillent par questionnaires et réunions publiques.",
                      file="00_demarche.md", section="Écoute")
    answer = _answerer(FakeChat(["PCAET 2021-2026 [2]."]), passages=(method, opinion)).ask(asked)
    assert answer.covered and answer.answer.startswith("Extrait le plus proche de votre question : « Le Conseil de "
                                                       "développement salue la démarche"), answer.answer
    assert answer.citations[0].file == "avis-codev.pdf"


def test_an_extract_is_never_a_question_of_the_document_and_uses_the_words_of_a_short_reply():
    guide = _passage("Quelle solution avons-nous trouvée pour le covoiturage ? Le territoire est peu dense. "
                     "CoMobi permet à tout territoire d'installer sans frais une plateforme de covoiturage.",
                     file="kitelus.md", section="Covoiturage")
    answer = _answerer(FakeChat(["CoMobi [1]."]), passages=(guide,)).ask(
        "Quelle solution pour lancer un service de covoiturage ?")
    assert answer.answer == ("Extrait le plus proche de votre question : « CoMobi permet à tout territoire "
                             "d'installer sans frais une plateforme de covoiturage. » [1]")


def test_a_bare_figure_answers_a_question_of_quantity_only():
    from assistant.answer import bare_figure

    assert bare_figure("20 [2].") and bare_figure("120 000 [1]") and not bare_figure("4 étoiles [2].")
    # « Quels indicateurs… ? » → « 20 [1]. » (the fiche number): the closest extract is shown instead.
    answer = _answerer(FakeChat(["20 [1]."])).ask("Quels objectifs vise la stratégie de tourisme durable ?")
    assert answer.answer.startswith("Extrait le plus proche de votre question : « ")
    assert "20 [1]" not in answer.answer
    # « Combien… ? » → a figure found in the passage is an answer.
    answer = _answerer(FakeChat(["120 000 [1]."])).ask("Combien coûte la stratégie de tourisme durable ?")
    assert answer.answer.startswith("120 000") and answer.citations


def test_a_figure_no_passage_gives_is_no_answer_to_a_question_of_quantity():
    answer = _answerer(FakeChat(["4 [1]."])).ask("Combien d'emplois compte la stratégie de tourisme durable ?")
    assert not answer.covered and answer.answer.startswith("Les extraits consultés ne donnent pas le chiffre demandé")
    # One sourced figure is enough for the answer to stand (the unsourced one stays flagged).
    answer = _answerer(FakeChat(["Le budget est de 120 000 euros pour 4 ans [1]."])).ask(
        "Quel budget est prévu pour la stratégie de tourisme durable ?")
    assert answer.covered and "4 (chiffre non vérifié)" in answer.answer


class _LoopingChat(FakeChat):
    """Writes a list whose last item comes back forever, as the 1.5B model sometimes does; records its end."""

    closed = False

    def _stream(self, messages, *, max_tokens, temperature, schema):
        self.calls.append(messages)
        try:
            yield "La stratégie vise à allonger la saison [1] :\n- mieux répartir les visiteurs [1]\n"
            for _ in range(200):
                yield "- le budget prévu est de 120 000 euros [1]\n"
        finally:
            self.closed = True


def test_a_looping_reply_is_cut_at_the_first_repeated_line():
    chat = _LoopingChat()
    events = list(_answerer(chat).stream("Que prévoit la stratégie de tourisme ?"))
    answer = events[-1].answer
    assert chat.closed  # the generation was stopped, not read to its end
    streamed = "".join(e.text for e in events if e.kind == "token")
    assert streamed.count("120 000 euros") <= 2
    assert answer.covered and answer.answer.count("120 000 euros") == 1
    assert "mieux répartir les visiteurs" in answer.answer
    assert any("répétait une ligne" in f for f in answer.flags)


def test_repeated_lines_helpers():
    from assistant.answer import repeats_a_line, without_repeated_lines

    assert not repeats_a_line("- un item assez long\n- un autre item assez long\n- un item assez long")  # unfinished
    assert repeats_a_line("- un item assez long\n- un autre item assez long\n- un item assez long\n")
    assert not repeats_a_line("Oui.\nOui.\n")  # short lines are not a loop
    assert without_repeated_lines("A : un item assez long\nB : autre item long\nA : un item assez long\nA : un it") \
        == "A : un item assez long\nB : autre item long"


def test_a_price_answered_in_hectares_is_not_covered():
    land = _passage("Environ 40 hectares sur l'ensemble des zones d'activités ont été identifiés comme potentiel.",
                    file="fiche28.md", section="Présentation de l'action")
    chat = FakeChat(["Environ 40 hectares ont été identifiés comme potentiel [1]."])
    answer = _answerer(chat, passages=(land,)).ask("Quel est le prix moyen du mètre carré dans les zones d'activités ?")
    assert not answer.covered and "chiffre demandé" in answer.answer
    assert any("comptent autre chose" in f for f in answer.flags)


LABEL = _passage("Le label compte 4 niveaux de reconnaissance, de 1 à 4 étoiles, attribués après un audit.",
                 file="reglement.pdf", section="Niveaux")
POINTS = _passage("Chaque action rapporte des points. Le maximum de points du label est de 500 points.",
                  file="reglement.pdf", section="Notation")
PILOTAGE = _passage("La collectivité réunit son comité de pilotage deux fois par an.", file="guide.pdf", section="Pilotage")


def test_a_count_of_something_else_is_replaced_by_the_sentence_that_counts_what_was_asked():
    question = "Sur combien de points le label est-il évalué ?"
    # « 4 [1] »: a figure taken from « 4 niveaux », not a number of points; the 4th retrieved passage, beyond the
    # three shown to the model, says how many points: code quotes it.
    answerer = _answerer(FakeChat(["4 [1]."]), passages=(LABEL, PILOTAGE, PILOTAGE, POINTS))
    answer = answerer.ask(question)
    assert answer.covered and answer.answer.startswith("Extrait qui donne ce nombre : « ")
    assert "500 points" in answer.answer and answer.citations[0].section == "Notation"
    assert POINTS in answer.passages  # the cited passage is listed with the ones shown
    assert any("ne comptait pas des « points »" in f for f in answer.flags)
    # No retrieved passage counts points: the count is not in the documents read, even when the model writes the
    # unit itself next to a figure of the passage.
    for reply in ("4 [1].", "Le label est évalué sur 4 points [1]."):
        answer = _answerer(FakeChat([reply]), passages=(LABEL,)).ask(question)
        assert not answer.covered and "ne donnent pas le chiffre demandé" in answer.answer, reply
        assert any("« points »" in f for f in answer.flags)


def test_a_count_of_what_was_asked_stands():
    question = "Sur combien de points le label est-il évalué ?"
    for reply in ("Le label est évalué sur 500 points [1].", "500 [1]."):
        answer = _answerer(FakeChat([reply]), passages=(POINTS, LABEL)).ask(question)
        assert answer.covered and answer.answer.startswith(reply.split(" [")[0][:10]), reply
        assert not any("points" in f for f in answer.flags)
    # The figure and the counted noun in one sentence of the cited passage, not side by side, or abbreviated.
    loss = _passage("La région gagnait 15 000 habitants par an ; elle en perd désormais 51 000 par an.",
                    file="rapport.pdf", section="Île-de-France")
    answer = _answerer(FakeChat(["51 000 habitants par an [1]."]), passages=(loss,)).ask(
        "Combien d'habitants la région perd-elle chaque année ?")
    assert answer.covered and answer.answer.startswith("51 000 habitants")
    town = _passage("Dinan Agglomération (100 000 hab.) regroupe 64 communes.", file="portrait.pdf", section="Chiffres")
    answer = _answerer(FakeChat(["Environ 100 000 habitants [1]."]), passages=(town,)).ask(
        "Combien d'habitants compte Dinan Agglomération ?")
    assert answer.covered and answer.answer.startswith("Environ 100 000 habitants")
    # A question counting nothing precise (« combien de temps ») is not checked.
    answer = _answerer(FakeChat(["4 niveaux [1]."]), passages=(LABEL,)).ask("Combien de temps dure l'audit ?")
    assert not any("ne compt" in f for f in answer.flags)
