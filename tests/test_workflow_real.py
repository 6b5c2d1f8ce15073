"""The guided method through the CLI with the REAL embedded model and real E5 embeddings: slow, run in CI on purpose.

A short replay: one answer read by the model (cadrage), a gate passed with a recorded reason, then the diagnostic
drafted from a real PDF and a real action fiche. Every quote the model cites must occur, verbatim, in the page it
names — checked against pypdf's own text of that page, not only against our chunks.

Documents: ``lassembleuse__dinan-pcaet`` (MIT repo): the opinion of the Conseil de développement de Dinan
Agglomération on the PCAET 2021-2026 and its fiche 24 (Plan de Déplacement Communautaire); see
``../shared/corpus/SOURCES.md``. The commune is fictional.
"""

from __future__ import annotations

import json
import time

import jsonschema
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

import assistant.cli as cli
from assistant.config import Settings
from assistant.core import Assistant
from assistant.workflow import ProjectStorage, strategy_schema
from assistant.workflow.items import iter_items
from assistant.workflow.provenance import DocumentSource, HypothesisSource
from assistant.workflow.quotes import quote_occurs

from .conftest import CORPUS

pytestmark = pytest.mark.real_model

PROJECT = "Plouvenec (commune fictive)"
SLUG = "plouvenec-commune-fictive"
PDF = CORPUS / "lassembleuse__dinan-pcaet" / "avis-codev_pcaet_dinan_2022.pdf"
FICHE = CORPUS / "lassembleuse__dinan-pcaet" / "pcaet_fiches_actions" / "fiche24.md"


def test_real_model_fills_the_diagnostic_from_documents_with_verified_citations(tmp_path, monkeypatch, real_models,
                                                                                  output_dir):
    assistant = Assistant(Settings(data_dir=tmp_path / "data", _env_file=None))
    monkeypatch.setattr(cli, "_assistant", lambda: assistant)  # one model load for every command of the test
    runner = CliRunner()

    def run(*args, code: int = 0):
        result = runner.invoke(cli.app, [str(a) for a in args])
        assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
        return result

    run("project", "new", PROJECT, "--type", "commune", "--code", "22999")
    run("ingest", PDF, FICHE, "--project", PROJECT)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"say": "Plouvenec est une commune rurale qui veut attirer de jeunes familles d'ici 2030.",
         "question": "cadrage.caractere"},
        "/forcer test abrégé : les parties prenantes ne sont pas l'objet de ce test",
        "/brouillon",
    ], ensure_ascii=False), encoding="utf-8")
    start = time.perf_counter()
    result = run("workflow", "replay", "--project", PROJECT, "--script", script, "--json")
    elapsed = time.perf_counter() - start
    data = json.loads(result.stdout)
    transcript = "\n\n".join(f"> {t['input']}  ({t['seconds']} s)\n{t['reply']}" for t in data["turns"])
    (output_dir / "workflow_real_transcript.txt").write_text(
        f"{assistant.chat.name} — {elapsed:.0f} s\n\n{data['opening']}\n\n{transcript}\n", encoding="utf-8")
    print(transcript)
    assert data["failed"] == [], transcript

    strategy = ProjectStorage(tmp_path / "data" / "projects").load(SLUG)
    territory = strategy.cadrage.territory
    assert territory.code_insee == "22999"  # the declared code, never one the model made up
    assert territory.settlement == "rural", territory
    assert strategy.current_stage == "diagnostic" and strategy.overrides[0].stage == "cadrage"

    # The draft: at least one item cited from a document; the rest are hypotheses; nothing confirmed silently.
    drafted = [ref.item for ref in iter_items(strategy, "diagnostic")]
    assert drafted, transcript
    cited = [i for i in drafted if isinstance(i.provenance, DocumentSource)]
    assert cited, transcript
    assert all(isinstance(i.provenance, (DocumentSource, HypothesisSource)) for i in drafted)
    assert not any(i.provenance.confirmed for i in drafted)

    # Every citation is verbatim in the page (PDF: pypdf's text of that 1-based page) or section it names.
    pages = [p.extract_text() for p in PdfReader(PDF).pages]
    chunks = assistant.docstore.chunks(PROJECT)
    for item in cited:
        p = item.provenance
        if p.file == PDF.name:
            assert p.page and quote_occurs(p.quote, pages[p.page - 1]), (p.page, p.quote)
        else:
            assert p.file == FICHE.name and p.page is None
            texts = [c.text for c in chunks if c.file == p.file and c.section == p.section]
            assert any(quote_occurs(p.quote, t) for t in texts), (p.section, p.quote)

    # The saved file validates against the exported schema; validating the drafts clears the review reason.
    saved = json.loads((tmp_path / "data" / "projects" / SLUG / "strategy.json").read_text(encoding="utf-8"))
    jsonschema.validate(saved, strategy_schema())
    script.write_text(json.dumps(["/confirmer tout", "/etat"]), encoding="utf-8")
    out = run("workflow", "replay", "--project", PROJECT, "--script", script).stdout
    assert "proposition(s) à valider" not in out.split("Pour terminer l'étape en cours")[-1].split("Leviers")[0]
    print(f"replay réel : {elapsed:.0f} s, {len(cited)} élément(s) cité(s), "
          f"{len(drafted) - len(cited)} hypothèse(s)")
