"""Fiche territoire and territoires concurrents through the real CLI, on the real INSEE / Observatoire files."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from assistant import cli
from assistant.config import Settings
from assistant.core import Assistant
from assistant.llm import FakeChat
from assistant.territory import TerritoryData, parse_decimal
from assistant.territory_facts import INDICATOR_AXES, add_card_to_diagnostic, card_evidence
from assistant.workflow.provenance import OfficialDataSource
from assistant.workflow.storage import ProjectStorage

from .dinan_project import CODE, CORPUS, corpus_data

COMMUNES_CSV = CORPUS / "datagouv__decoupage-administratif" / "donnees_communes.csv"
DATACOM_CSV = CORPUS / "observatoire-territoires__KitsCarto-GdDebat" / "datacom.csv"


def csv_row(path, column: str, code: str) -> dict[str, str]:
    """One row read with the csv module alone, independently of the code under test."""
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            if row[column] == code:
                return row
    raise AssertionError(f"{code} not in {path.name}")


@pytest.fixture
def run(monkeypatch, tmp_path):
    data_dir = tmp_path / "data"
    monkeypatch.setattr(cli, "_assistant", lambda: Assistant(Settings(data_dir=data_dir, _env_file=None),
                                                             chat=FakeChat([])))
    runner = CliRunner()

    def invoke(*args, code: int = 0):
        result = runner.invoke(cli.app, [str(a) for a in args])
        assert result.exit_code == code, (args, result.stdout, result.stderr, result.exception)
        return result

    invoke.storage = ProjectStorage(data_dir / "projects")
    return invoke


def test_fiche_shows_the_csv_population_and_every_indicator_with_source_and_year(run):
    row = csv_row(COMMUNES_CSV, "COM", CODE)
    out = run("territoire", CODE).stdout
    pmun = f"{int(row['PMUN']):,}".replace(",", " ")
    assert f"| Population municipale | {pmun} habitants |" in out
    assert "Dinan (22050)" in out and "Licence Ouverte" in out and "GPL-3.0" in out

    card = json.loads(run("territoire", CODE, "--json").stdout)
    assert card["population_municipale"] == int(row["PMUN"]) and card["population_totale"] == int(row["PTOT"])
    datacom = csv_row(DATACOM_CSV, "CODGEO", CODE)
    assert [i["id"] for i in card["indicators"]] == [f"ID_{n}" for n in range(1, 10)]
    for ind in card["indicators"]:
        assert ind["value"] == pytest.approx(parse_decimal(datacom[ind["id"]]))
        assert ind["source"] and ind["year"] and ind["year"].isdigit() and ind["dataset"] == "datacom.csv"
        assert f"| {ind['source']} (datacom.csv) | {ind['year']} |" in out


def test_malformed_or_missing_files_give_a_clear_french_message(run, tmp_path):
    bad = tmp_path / "communes.csv"
    bad.write_text("x;y\n1;2\n", encoding="utf-8")
    err = run("territoire", CODE, "--communes", bad, code=1).stderr
    assert "Erreur : « communes.csv » : colonne « COM » introuvable" in err
    not_xlsx = tmp_path / "meta.xlsx"
    not_xlsx.write_text("ceci n'est pas un classeur", encoding="utf-8")
    err = run("territoire", CODE, "--meta", not_xlsx, code=1).stderr
    assert "n'est pas un classeur Excel .xlsx lisible" in err
    err = run("territoire", CODE, "--indicateurs", tmp_path / "absent.csv", code=1).stderr
    assert "Fichier de données introuvable" in err
    assert "code INSEE à 5 caractères" in run("territoire", "99999", code=1).stderr
    assert "--project" in run("territoire", CODE, "--ajouter-au-diagnostic", code=1).stderr


def test_figures_enter_the_diagnostic_as_official_data_once(run):
    out = run("territoire", CODE, "--project", "Dinan", "--ajouter-au-diagnostic").stdout
    assert "Bilan : 12" in out  # the territory of the project, 2 populations and 9 indicators
    strategy = run.storage.load("dinan")
    assert strategy.cadrage.territory.code_insee == CODE
    evidence = strategy.diagnostic.evidence
    assert len(evidence) == 11
    for e in evidence:
        assert isinstance(e.provenance, OfficialDataSource) and e.provenance.code == CODE and e.provenance.confirmed
        if e.figure:  # a figure needs its millésime: the indicators have one, the populations file has none
            assert e.figure.year and e.figure.provenance.year == e.figure.year
    population = next(e for e in evidence if e.statement.startswith("Population municipale"))
    assert population.figure is None and "14 764 habitants (millésime non précisé" in population.statement
    broadband = next(e for e in evidence if e.statement.startswith("Accès à internet"))
    assert broadband.axis == "transport" and broadband.figure.year == 2017 and broadband.figure.unit == "%"
    assert {e.axis for e in evidence} == {"transport", "qualite_vie", "main_oeuvre", "atouts_economiques"}
    again = run("territoire", CODE, "--project", "Dinan", "--ajouter-au-diagnostic").stdout
    assert "Bilan : 0 chiffre(s) ajouté(s), 11 déjà présent(s)" in again
    assert len(run.storage.load("dinan").diagnostic.evidence) == 11


def test_known_population_year_becomes_a_figure(tmp_path):
    data = TerritoryData.from_corpus(CORPUS, population_year="2021")
    items = card_evidence(data.card(CODE))
    population = next(e for e in items if e.statement.startswith("Population municipale"))
    assert population.figure.value == 14764 and population.figure.year == 2021
    assert set(INDICATOR_AXES) >= {"ID_1", "ID_9"}
    storage = ProjectStorage(tmp_path)
    result = add_card_to_diagnostic(storage, "dinan", data.card(CODE), title="Dinan")
    assert result.version == 2 and len(result.added) == 12  # created, then saved once


def test_competitors_table_chart_and_kept_choice(run, tmp_path):
    data = json.loads(run("concurrents", CODE, "--json", "--codes", "22187,22093").stdout)
    assert data["communes"] == ["22187", "22093"] and data["graphique"] is None
    first = data["tableau"][0]
    assert first["Indicateur"] == "Population municipale"
    assert first["Dinan (22050)"] == 14764 and first["Plérin (22187)"] == int(csv_row(COMMUNES_CSV, "COM",
                                                                                        "22187")["PMUN"])
    assert all(row["Source"] and row["Millésime"] for row in data["tableau"])

    chart = tmp_path / "concurrents.png"
    out = run("concurrents", CODE, "--portee", "departement", "--graphique", chart, "--garder", "22187",
              "--project", "Dinan").stdout
    assert "| Indicateur | Dinan (22050) | Plérin (22187) |" in out
    assert "| Accès à internet en Très Haut Débit | 25,1 % |" in out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(chart) as image:
        assert image.width == 1200 and image.height > 600  # ten panels, two columns
    competitors = run.storage.load("dinan").diagnostic.competitors
    assert [c.name for c in competitors] == ["Plérin (22187)"]
    assert competitors[0].provenance.kind == "donnee_officielle" and competitors[0].provenance.code == "22187"
    assert "14 425 habitants contre 14 764 habitants" in competitors[0].reason
    again = run("concurrents", CODE, "--codes", "22187", "--graphique", chart, "--garder", "22187",
                "--project", "Dinan").stdout
    assert "déjà là   Plérin (22187)" in again
    assert "--project" in run("concurrents", CODE, "--json", "--garder", "22187", code=1).stderr


def test_comparables_default_to_similar_communes_of_the_departement():
    data = corpus_data()
    cards = data.comparables(CODE, scope="departement", limit=5)
    assert cards and all(c.departement == "22" for c in cards)
