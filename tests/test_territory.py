"""Fiche territoire: real INSEE and Observatoire des territoires files from ../shared/corpus, plus broken CSVs."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import openpyxl
import pytest

from assistant.config import shared_dir

from assistant.errors import ConfigError, DocumentError, EmptyDocumentError, InputError
from assistant.territory import (
    NO_YEAR,
    TerritoryData,
    format_value,
    load_table,
    parse_decimal,
    render_card_markdown,
)

CORPUS = shared_dir() / "corpus"
COMMUNES_CSV = CORPUS / "datagouv__decoupage-administratif" / "donnees_communes.csv"
KIT = CORPUS / "observatoire-territoires__KitsCarto-GdDebat"
DATACOM_CSV = KIT / "datacom.csv"
META_XLSX = KIT / "meta.xlsx"


def csv_row(path: Path, column: str, code: str) -> dict[str, str]:
    """Read one row with the csv module only, independently of the code under test."""
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            if row[column] == code:
                return row
    raise AssertionError(f"{code} not in {path.name}")


def meta_rows() -> dict[str, dict]:
    sheet = openpyxl.load_workbook(META_XLSX, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    return {r[0]: dict(zip(header, r)) for r in rows[1:] if r[0]}


@pytest.fixture(scope="module")
def data() -> TerritoryData:
    return TerritoryData(COMMUNES_CSV, DATACOM_CSV, META_XLSX)


# --------------------------------------------------------------------------------------------- real data


def test_dinan_population_is_exactly_the_csv_row(data):
    row = csv_row(COMMUNES_CSV, "COM", "22050")
    card = data.card("22050")
    assert card.name == row["Commune"] == "Dinan"
    assert card.departement == row["DEP"] == "22"
    assert card.region == row["Région"] == "Bretagne"
    assert card.population_municipale == int(row["PMUN"])
    assert card.population_totale == int(row["PTOT"])
    assert card.population_source.startswith("INSEE")
    # The file does not state its millésime: none is invented.
    assert card.population_year is None
    assert card.notes == []


def test_dinan_indicators_come_from_meta_xlsx_and_datacom(data):
    meta = meta_rows()
    row = csv_row(DATACOM_CSV, "CODGEO", "22050")
    card = data.card("22050")
    assert [i.id for i in card.indicators] == [f"ID_{n}" for n in range(1, 10)]
    for ind in card.indicators:
        assert ind.label == meta[ind.id]["lib"].strip()
        assert ind.source == meta[ind.id]["src"]
        assert ind.year == str(meta[ind.id]["an"])
        assert ind.dataset == "datacom.csv"
        assert ind.value == pytest.approx(float(row[ind.id].replace(",", ".")))
    by_id = {i.id: i for i in card.indicators}
    assert (by_id["ID_1"].source, by_id["ID_1"].year) == ("Insee-RP", "2014")
    assert (by_id["ID_9"].source, by_id["ID_9"].year, by_id["ID_9"].unit) == ("Insee-Filosofi", "2015", "€ par UC")
    assert by_id["ID_7"].unit == "%"


def test_leading_zero_and_corsican_codes(data):
    row = csv_row(COMMUNES_CSV, "COM", "01001")
    card = data.card("01001")
    assert (card.code, card.name, card.departement) == ("01001", row["Commune"], "01")
    assert card.population_municipale == int(row["PMUN"])
    assert card.indicators[0].value is not None
    ajaccio = data.card(" 2a004 ")  # typed loosely: case and spaces do not matter
    assert (ajaccio.code, ajaccio.name, ajaccio.departement) == ("2A004", "Ajaccio", "2A")


def test_unknown_code_is_a_french_input_error(data):
    with pytest.raises(InputError) as err:
        data.card("99999")
    message = str(err.value)
    assert "« 99999 » inconnu" in message
    assert "code INSEE à 5 caractères" in message and "22050 pour Dinan" in message


def test_code_whose_leading_zero_was_lost_gets_a_suggestion(data):
    with pytest.raises(InputError, match="Vouliez-vous dire 01001"):
        data.card("1001")


def test_code_missing_from_one_file_is_said_not_fatal(data):
    # 12218 (Conques-en-Rouergue) is newer than the 2018 codes of datacom.csv.
    new = data.card("12218")
    assert new.population_municipale == int(csv_row(COMMUNES_CSV, "COM", "12218")["PMUN"])
    assert len(new.indicators) == 9 and all(i.value is None and i.note for i in new.indicators)
    assert any("absent de datacom.csv" in n for n in new.notes)
    # 01039 only exists in datacom.csv (merged since): indicators but no population.
    old = data.card("01039")
    assert old.population_municipale is None and old.region == "Auvergne-Rhône-Alpes"
    assert old.indicators[0].value == pytest.approx(29.4733015214759)
    assert any("absent de donnees_communes.csv" in n for n in old.notes)


def test_paris_is_rebuilt_from_its_arrondissements(data):
    with COMMUNES_CSV.open(encoding="utf-8", newline="") as f:
        arrondissements = [r for r in csv.DictReader(f, delimiter=";") if r["COM"].startswith("751")]
    assert len(arrondissements) == 20
    paris = data.card("75056")
    assert paris.name == "Paris"
    assert paris.population_municipale == sum(int(r["PMUN"]) for r in arrondissements)
    assert paris.population_totale is None  # summing would double-count people counted apart
    assert paris.indicators[0].value is not None
    arrondissement = data.card("75115")
    assert all(i.value is None for i in arrondissement.indicators)
    assert any("75056" in n for n in arrondissement.notes)


def test_search_ignores_accents_and_case(data):
    assert data.search("dinan")[0] == ("22050", "Dinan", "22")
    assert data.search("PERONNE")[0] == ("80620", "Péronne", "80")  # the larger Péronne first
    assert data.search("st malo", limit=1) == [("35288", "Saint-Malo", "35")]
    assert len(data.search("saint", limit=5)) == 5
    assert data.search("zzzzqqq") == []
    with pytest.raises(InputError):
        data.search("  ")


def test_comparables_share_the_departement_and_the_population_band(data):
    dinan = data.card("22050")
    found = data.comparables("22050")
    assert found and len(found) <= 8
    low, high = dinan.population_municipale * 0.7, dinan.population_municipale * 1.3
    for card in found:
        assert card.departement == "22" and card.code != "22050"
        assert low <= card.population_municipale <= high
    gaps = [abs(math.log(c.population_municipale / dinan.population_municipale)) for c in found]
    assert gaps == sorted(gaps)  # closest size first
    regional = data.comparables("22050", scope="region", band=0.1, limit=3)
    assert len(regional) == 3 and all(c.region == "Bretagne" for c in regional)


def test_arrondissements_are_not_comparables_of_a_commune(data):
    # Aubagne (13005) is the size of several Marseille arrondissements: parts of a city are not peers.
    found = data.comparables("13005", limit=20)
    assert found and not [c.code for c in found if c.code.startswith("132")]


def test_comparables_from_the_users_list_and_bad_arguments(data):
    assert [c.code for c in data.comparables("22050", codes=["35288", "22050", "01001"])] == ["35288", "01001"]
    with pytest.raises(InputError):
        data.comparables("22050", scope="canton")
    with pytest.raises(InputError):
        data.comparables("22050", band=0)
    with pytest.raises(InputError):
        data.comparables("01039")  # no population to compare with


def test_comparison_table_has_one_column_per_commune(data):
    codes = ["22050", "01001", "2A004"]
    rows = data.comparison_table(codes)
    fixed = ["Indicateur", "Unité", "Source", "Millésime"]
    assert len(rows) == 2 + 9
    for row in rows:
        assert list(row)[:4] == fixed
        assert list(row)[4:] == ["Dinan (22050)", "L'Abergement-Clémenciat (01001)", "Ajaccio (2A004)"]
    assert rows[0]["Indicateur"] == "Population municipale"
    assert rows[0]["Dinan (22050)"] == data.card("22050").population_municipale
    assert rows[0]["Millésime"] == NO_YEAR
    vacancy = next(r for r in rows if r["Indicateur"] == "Logements vacants")
    assert (vacancy["Source"], vacancy["Millésime"]) == ("Insee-RP", "2015")
    assert vacancy["Ajaccio (2A004)"] == next(i.value for i in data.card("2A004").indicators if i.id == "ID_7")


def test_markdown_card_cites_every_figure_in_french(data):
    row = csv_row(COMMUNES_CSV, "COM", "22050")
    commute = float(csv_row(DATACOM_CSV, "CODGEO", "22050")["ID_1"].replace(",", "."))
    text = render_card_markdown(data.card("22050"))
    assert f"{int(row['PMUN']):,} habitants".replace(",", " ") in text
    assert f"| {commute:.1f} % |".replace(".", ",") in text
    assert "| Insee-RP (datacom.csv) | 2014 |" in text
    assert NO_YEAR in text
    assert "Licence Ouverte" in text and "GPL-3.0" in text
    assert text.count("\n| ") == 1 + 2 + 9  # header + two populations + nine indicators


def test_population_year_is_a_setting_not_a_guess():
    data = TerritoryData(COMMUNES_CSV, population_year="2099")
    card = data.card("22050")
    assert card.population_year == "2099" and card.indicators == []
    assert "| 2099 |" in render_card_markdown(card)
    assert len(card.attribution) == 1


def test_files_are_read_lazily(tmp_path):
    data = TerritoryData(tmp_path / "absent.csv")
    with pytest.raises(ConfigError, match="absent.csv"):
        data.card("22050")


# ------------------------------------------------------------------------------------------- broken files


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_cp1252_file_with_accents_and_decimal_comma(tmp_path):
    text = "COM;Commune;Taux\r\n01001;L'Abergement-Clémenciat;12,5\r\n2A004;Ajaccio;1 234,5\r\n"
    path = write(tmp_path, "export_excel.csv", text.encode("cp1252"))
    table = load_table(path, "COM")
    assert list(table) == ["01001", "2A004"]
    assert table["01001"]["Commune"] == "L'Abergement-Clémenciat"
    assert [parse_decimal(r["Taux"]) for r in table.values()] == [12.5, 1234.5]


def test_comma_separated_file_is_sniffed_and_keeps_leading_zeros(tmp_path):
    path = write(tmp_path, "communes.csv", b'\xef\xbb\xbfcodgeo,nom\n"01001","A"\n01002,B\n\n')
    assert load_table(path, "CODGEO") == {"01001": {"codgeo": "01001", "nom": "A"},
                                          "01002": {"codgeo": "01002", "nom": "B"}}


def test_territory_data_reads_other_files_of_the_same_shape(tmp_path):
    communes = write(tmp_path, "communes.csv", "REG;Région;DEP;COM;Commune;PMUN;PTOT\r\n"
                     "53;Bretagne;22;22050;Dinan;1 000;1 100\r\n".encode("cp1252"))
    indicators = write(tmp_path, "indic.csv", b'"CODGEO";"ID_1";"ID_X"\n"22050";12,3;NA\n')
    card = TerritoryData(communes, indicators, META_XLSX).card("22050")
    assert (card.region, card.population_municipale, card.population_totale) == ("Bretagne", 1000, 1100)
    assert [(i.id, i.value) for i in card.indicators] == [("ID_1", 12.3), ("ID_X", None)]
    assert card.indicators[0].label == "Temps de transport pour aller au travail"
    assert card.indicators[1].label == "ID_X" and card.indicators[1].source == "indic.csv"
    assert "secret statistique" in card.indicators[1].note


@pytest.mark.parametrize(
    ("name", "content", "error", "words"),
    [
        ("pipes.csv", b"COM|Commune\n01001|A\n", DocumentError, "colonne « COM » introuvable"),
        ("sans_cle.csv", b"CODE;NOM\n01001;A\n", DocumentError, "colonne « COM » introuvable"),
        ("vide.csv", b"", EmptyDocumentError, "vide"),
        ("blancs.csv", b"\xef\xbb\xbf \r\n\r\n", EmptyDocumentError, "vide"),
        ("entete.csv", b"COM;Commune\r\n", EmptyDocumentError, "aucune ligne"),
        ("binaire.csv", bytes(range(256)) * 4, DocumentError, "octets binaires"),
        ("classeur.csv", b"PK\x03\x04" + b"\x00" * 64, DocumentError, "classeur Excel"),
        ("utf16.csv", "COM;Commune\n".encode("utf-16"), DocumentError, "UTF-16"),
        ("inegal.csv", b"COM;Commune;PMUN\n01001;A;1\n01002;B\n", DocumentError, "ligne 3 : 2 valeurs"),
        ("doublon.csv", b"COM;Commune\n01001;A\n01001;B\n", DocumentError, "en double (lignes 2 et 3)"),
        ("code_vide.csv", b"COM;Commune\n;A\n", DocumentError, "vide"),
    ],
)
def test_malformed_csv_is_a_document_error_naming_the_file(tmp_path, name, content, error, words):
    path = write(tmp_path, name, content)
    with pytest.raises(error) as err:
        load_table(path, "COM")
    assert err.value.file_name == name
    assert f"« {name} »" in str(err.value) and words in str(err.value)
    assert err.value.fix  # every error says how to fix it


def test_unreadable_value_and_bad_dictionary_name_their_file(tmp_path):
    indicators = write(tmp_path, "indic.csv", b"CODGEO;ID_1\n22050;douze\n")
    with pytest.raises(DocumentError, match="indic.csv.*douze"):
        TerritoryData(COMMUNES_CSV, indicators).card("22050")
    fake_meta = write(tmp_path, "meta.xlsx", b"id;lib\n")
    with pytest.raises(DocumentError, match="meta.xlsx"):
        TerritoryData(COMMUNES_CSV, DATACOM_CSV, fake_meta).card("22050")
    with pytest.raises(DocumentError, match="donnees.csv.*PMUN"):
        TerritoryData(write(tmp_path, "donnees.csv", b"COM;Commune\n22050;Dinan\n")).card("22050")


# -------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,5", 1234.5),
        ("1\u00a0234,5", 1234.5),
        ("1\u202f234", 1234.0),
        ("12,3", 12.3),
        ("-0,5", -0.5),
        ("12.3", 12.3),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        (" 7 ", 7.0),
        (7, 7.0),
        ("", None),
        ("  ", None),
        ("NA", None),
        ("s", None),
        ("nd", None),
        (None, None),
    ],
)
def test_parse_decimal(text, expected):
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["douze", "1,2,3", "inf", "12 %"])
def test_parse_decimal_rejects_text_in_french(text):
    with pytest.raises(InputError, match="illisible"):
        parse_decimal(text)


def test_format_value_is_french():
    assert format_value(14406, "habitants") == "14 406 habitants"
    assert format_value(12.34, "%") == "12,3 %"
    assert format_value(20479.0, "€ par UC") == "20 479 € par UC"
    assert format_value(-0.01, "%") == "0,0 %"
    assert format_value(None, "%") == "non disponible"
