"""Official territory data ("fiche territoire"): INSEE populations and Observatoire des territoires indicators.

Two public files, read as they are published (never copied into the repository):

- ``donnees_communes.csv`` (INSEE populations légales, via datagouv/decoupage-administratif): one row per
  commune, ``;`` separator; Paris, Marseille and Lyon appear only as municipal arrondissements.
- ``datacom.csv`` + ``meta.xlsx`` (Observatoire des territoires, kit cartographique du Grand Débat): nine
  indicators per commune with 2018-era codes, decimal comma; the workbook is the dictionary (label, source, year).

The two files do not cover the same commune list (mergers since 2018, arrondissements): a card always says which
file lacks the code instead of failing. Every figure carries its source and its year so that answers can cite it.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .errors import ConfigError, DocumentError, EmptyDocumentError, InputError, UnsupportedFormatError

__all__ = [
    "Indicator",
    "TerritoryCard",
    "TerritoryData",
    "format_number",
    "format_value",
    "load_table",
    "parse_decimal",
    "render_card_markdown",
    "NO_YEAR",
]

NO_YEAR = "millésime non précisé dans le fichier"
"""Shown instead of a year when the file does not state it: we never invent a millésime."""

POPULATION_SOURCE = "INSEE, populations légales"
POPULATION_ATTRIBUTION = (
    "Populations : INSEE, populations légales — fichier donnees_communes.csv du dépôt "
    "datagouv/decoupage-administratif (sources/, commit f50febe), Licence Ouverte."
)
INDICATORS_ATTRIBUTION = (
    "Indicateurs : Observatoire des territoires (CGET, aujourd'hui ANCT), kit cartographique du Grand Débat — "
    "datacom.csv et meta.xlsx du dépôt observatoire-territoires/KitsCarto-GdDebat (data/, commit 34264a1), "
    "licence GPL-3.0 ; données INSEE, DREES, ARCEP, ministère de l'Intérieur."
)

# meta.xlsx has no unit column, and its `calc` column cannot be trusted for it (ID_9, a median income in euros,
# carries ID_8's "num_elec*100/denum_elec"), so the units come from each indicator's description, written here.
_UNITS: dict[str, str] = {
    "ID_1": "%",
    "ID_2": "consultations/an/hab.",  # APL (DREES): consultations accessible per inhabitant and per year
    "ID_3": "%",
    "ID_4": "%",
    "ID_5": "min",
    "ID_6": "%",
    "ID_7": "%",
    "ID_8": "%",
    "ID_9": "€ par UC",  # disposable income per consumption unit
}
_DECIMALS: dict[str | None, int] = {"%": 1, "consultations/an/hab.": 1, "min": 0, "€ par UC": 0, "habitants": 0}

# INSEE publishes Paris, Marseille and Lyon by municipal arrondissement only, while the indicators exist for the
# whole commune: the commune card is rebuilt from its arrondissements (as datagouv/decoupage-administratif does).
_PLM: dict[str, tuple[str, frozenset[str]]] = {
    "75056": ("Paris", frozenset(f"751{i:02d}" for i in range(1, 21))),
    "13055": ("Marseille", frozenset(f"132{i:02d}" for i in range(1, 17))),
    "69123": ("Lyon", frozenset(f"6938{i}" for i in range(1, 10))),
}
_ARRONDISSEMENT_PARENT = {arr: parent for parent, (_, arrs) in _PLM.items() for arr in arrs}

_ENCODINGS = ("utf-8-sig", "utf-8", "cp1252")
_SEPARATORS = (";", ",", "\t")
_MISSING = {"", "na", "n/a", "nan", "nd", "n.d.", "nc", "s", "-", "–", "—"}  # "s": secret statistique
_COMMUNE_COLUMNS = ("COM", "Commune", "DEP", "Région", "PMUN", "PTOT")


class Indicator(BaseModel):
    """One figure about a commune, with what is needed to cite it."""

    id: str = Field(description="Identifiant de la colonne dans le fichier (ID_1…)")
    label: str = Field(description="Libellé de l'indicateur (dictionnaire meta.xlsx)")
    value: float | None = Field(description="Valeur ; None si absente, secrète ou commune hors fichier")
    unit: str | None = None
    source: str = Field(description="Producteur de la donnée (Insee-RP, DREES…)")
    year: str | None = Field(description="Millésime de la donnée, None s'il n'est pas indiqué")
    dataset: str = Field(description="Nom du fichier d'où vient la valeur")
    description: str | None = Field(default=None, description="Définition de l'indicateur (meta.xlsx)")
    note: str | None = Field(default=None, description="Pourquoi la valeur manque, le cas échéant")


class TerritoryCard(BaseModel):
    """The "fiche territoire" of one commune: official figures only, each with source and millésime."""

    code: str = Field(description="Code commune INSEE (5 caractères, zéros initiaux conservés)")
    name: str
    departement: str = Field(description="Code du département (22, 2A, 971…)")
    region: str = Field(description="Nom de la région")
    population_municipale: int | None
    population_totale: int | None
    population_source: str
    population_year: str | None
    indicators: list[Indicator] = Field(default_factory=list)
    attribution: list[str] = Field(default_factory=list, description="Lignes de licence et d'attribution")
    notes: list[str] = Field(default_factory=list, description="Limites de la fiche (code absent d'un fichier…)")


# ----------------------------------------------------------------------------------------------- reading files


def parse_decimal(s: str | float | int | None) -> float | None:
    """French or English number → float; missing markers ("", "NA", "s" for statistical secrecy) → None."""
    if s is None:
        return None
    if isinstance(s, (int, float)) and not isinstance(s, bool):
        return None if math.isnan(s) else float(s)
    text = str(s).strip()
    if text.lower() in _MISSING:
        return None
    # French files group thousands with (no-break) spaces: "1 234,5".
    compact = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in compact and "." in compact:
        # The last mark is the decimal one: "1.234,5" (French) or "1,234.5" (English).
        if compact.rfind(",") > compact.rfind("."):
            compact = compact.replace(".", "").replace(",", ".")
        else:
            compact = compact.replace(",", "")
    else:
        compact = compact.replace(",", ".")
    try:
        value = float(compact)
    except ValueError:
        value = math.inf
    if not math.isfinite(value):
        raise InputError(
            f"Valeur numérique illisible : « {text} ».",
            fix="Écrivez un nombre comme « 1 234,5 » ; une case vide, « NA » ou « s » (secret statistique) "
            "est lue comme « non disponible ».",
        )
    return value


def _reject_binary(name: str, raw: bytes) -> None:
    """Refuse files that are not delimited text, naming what they probably are so the fix is obvious."""
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnsupportedFormatError(
            name, "le fichier est encodé en UTF-16, pas en CSV texte lisible.",
            fix="Dans le tableur, enregistrez-le au format « CSV UTF-8 (séparateur ;) ».",
        )
    kinds = {b"PK\x03\x04": "une archive ZIP ou un classeur Excel/LibreOffice (.xlsx, .ods)",
             b"\xd0\xcf\x11\xe0": "un ancien classeur Excel (.xls)", b"%PDF": "un PDF"}
    for magic, kind in kinds.items():
        if head.startswith(magic):
            raise UnsupportedFormatError(
                name, f"ce fichier est {kind}, pas un tableau CSV.",
                fix="Ouvrez-le dans un tableur et enregistrez-le au format CSV (séparateur ;).",
            )
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if b"\x00" in head or controls > len(head) * 0.05:
        raise UnsupportedFormatError(
            name, "le fichier contient des octets binaires : ce n'est pas un tableau CSV.",
            fix="Fournissez un fichier texte CSV (séparateur ; ou ,), par exemple exporté depuis un tableur.",
        )


def _decode(name: str, raw: bytes, encoding: str | None) -> str:
    for candidate in (encoding,) if encoding else _ENCODINGS:
        try:
            return raw.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    tried = encoding or ", ".join(_ENCODINGS)
    raise DocumentError(
        name, f"encodage de caractères non reconnu (essayé : {tried}).",
        fix="Réenregistrez le fichier en « CSV UTF-8 » depuis le tableur.",
    )


def _pick_separator(name: str, header_line: str, key_column: str, sep: str | None) -> tuple[str, list[str], str]:
    """The separator under which the header names the key column, with the header and the key as written."""
    candidates = (sep,) if sep else sorted(_SEPARATORS, key=header_line.count, reverse=True)
    best: list[str] = []
    for candidate in candidates:
        fields = [f.strip() for f in next(csv.reader([header_line], delimiter=candidate))]
        best = fields if len(fields) > len(best) else best
        # Exact name first, then case-insensitive: "codgeo" and "CODGEO" are the same column to a user.
        matches = [f for f in fields if f == key_column] or [f for f in fields if f.lower() == key_column.lower()]
        if matches:
            return candidate, fields, matches[0]
    shown = ", ".join(f"« {f[:40]} »" for f in best[:8]) + (" …" if len(best) > 8 else "")
    raise DocumentError(
        name, f"colonne « {key_column} » introuvable dans la ligne d'en-tête (colonnes lues : {shown}).",
        fix=f"La première ligne doit nommer les colonnes, dont « {key_column} » (code commune INSEE), "
        "séparées par « ; » ou « , ».",
    )


def load_table(
    path: str | Path, key_column: str, *, encoding: str | None = None, sep: str | None = None
) -> dict[str, dict[str, str]]:
    """Read a ``;``/``,``/tab CSV into {key: row}, every value kept as text (codes keep their leading zeros)."""
    path = Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError(f"Fichier de données introuvable : {path}", fix="Vérifiez le chemin configuré.") from e
    except OSError as e:
        raise DocumentError(name, f"lecture impossible ({e.strerror}).", fix="Vérifiez les droits du fichier.") from e
    if not raw.strip():
        raise EmptyDocumentError(name, "le fichier est vide.", fix="Exportez de nouveau le tableau avec son en-tête.")
    _reject_binary(name, raw)
    text = _decode(name, raw, encoding)
    if not text.strip():  # e.g. nothing but a byte-order mark
        raise EmptyDocumentError(name, "le fichier est vide.", fix="Exportez de nouveau le tableau avec son en-tête.")
    header_line = next(line for line in text.splitlines() if line.strip())
    sep, header, key = _pick_separator(name, header_line, key_column, sep)
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise DocumentError(name, f"colonnes en double dans l'en-tête : {', '.join(twice)}.",
                            fix="Donnez un nom unique à chaque colonne.")
    key_index = header.index(key)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    table: dict[str, dict[str, str]] = {}
    first_line: dict[str, int] = {}
    try:
        next(reader)  # header, already parsed
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank lines (often a trailing one) carry nothing
            line = reader.line_num
            if len(row) != len(header):
                raise DocumentError(
                    name, f"ligne {line} : {len(row)} valeurs pour {len(header)} colonnes dans l'en-tête.",
                    fix=f"Chaque ligne doit avoir autant de valeurs que l'en-tête (séparateur « {sep} ») ; "
                    "mettez entre guillemets les valeurs qui contiennent le séparateur (nombres à virgule "
                    "dans un fichier séparé par des virgules).",
                )
            code = row[key_index].strip()
            if not code:
                raise DocumentError(name, f"ligne {line} : code « {key} » vide.", fix="Renseignez le code commune.")
            if code in table:
                raise DocumentError(name, f"code « {code} » en double (lignes {first_line[code]} et {line}).",
                                    fix="Gardez une seule ligne par commune.")
            table[code] = {h: cell.strip() for h, cell in zip(header, row)}
            first_line[code] = line
    except csv.Error as e:
        raise DocumentError(name, f"CSV mal formé ligne {reader.line_num} ({e}).",
                            fix="Vérifiez les guillemets et réexportez le fichier depuis le tableur.") from e
    if not table:
        raise EmptyDocumentError(name, "l'en-tête est présent mais aucune ligne de données.",
                                 fix="Exportez de nouveau le tableau avec ses lignes.")
    return table


def _read_meta(path: Path) -> dict[str, dict[str, str | None]]:
    """meta.xlsx → {indicator id: label, source, year, description}; the workbook is the only source of these."""
    import openpyxl  # only this reader needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError as e:
        raise ConfigError(f"Dictionnaire des indicateurs introuvable : {path}", fix="Vérifiez le chemin.") from e
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as e:
        raise DocumentError(path.name, "ce n'est pas un classeur Excel .xlsx lisible.",
                            fix="Fournissez le dictionnaire meta.xlsx d'origine.") from e
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = [str(h).strip().lower() if h is not None else "" for h in next(rows, ())]
            if not {"id", "lib", "src", "an"} <= set(header):
                continue
            col = {name: header.index(name) for name in header if name}
            meta: dict[str, dict[str, str | None]] = {}
            for row in rows:
                ident = row[col["id"]]
                if ident is None or not str(ident).strip():
                    continue

                def cell(name: str, row: tuple = row) -> str | None:
                    value = row[col[name]] if name in col and col[name] < len(row) else None
                    if value is None or not str(value).strip():
                        return None
                    # Years arrive as numbers (2014 or 2014.0): show them as written, never "2014.0".
                    if isinstance(value, float) and value.is_integer():
                        value = int(value)
                    return " ".join(str(value).split())

                meta[str(ident).strip()] = {"label": cell("lib"), "source": cell("src"), "year": cell("an"),
                                            "description": cell("desc")}
            return meta
    finally:
        workbook.close()
    raise DocumentError(path.name, "aucune feuille avec les colonnes id, lib, src, an.",
                        fix="Fournissez le dictionnaire meta.xlsx d'origine (une ligne par indicateur).")


# ------------------------------------------------------------------------------------------------ the data set


@dataclass(frozen=True)
class _Commune:
    code: str
    name: str
    dep: str
    region: str
    pmun: int | None
    ptot: int | None
    kind: Literal["commune", "arrondissement", "plm"]


def _normalize_name(text: str) -> str:
    """Accent-, case- and punctuation-insensitive form used by search: "Saint-Étienne" → "saint etienne"."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in plain).split()
    # Users type "St Malo" for "Saint-Malo".
    return " ".join({"st": "saint", "ste": "sainte"}.get(w, w) for w in words)


def _normalize_code(code: str) -> str:
    return "".join(str(code).split()).upper()


def _departement_of(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


class TerritoryData:
    """Official figures by commune code; files are read on first use (well under a second) and kept in memory."""

    def __init__(
        self,
        communes_csv: Path,
        indicators_csv: Path | None = None,
        indicators_meta: Path | None = None,
        *,
        population_year: str | None = None,
        population_source: str = POPULATION_SOURCE,
        attribution: list[str] | None = None,
        indicators_key: str = "CODGEO",
    ) -> None:
        self.communes_csv = Path(communes_csv)
        self.indicators_csv = Path(indicators_csv) if indicators_csv else None
        self.indicators_meta = Path(indicators_meta) if indicators_meta else None
        # The populations file does not state its millésime: None unless the deployment knows it.
        self.population_year = population_year
        self.population_source = f"{population_source} ({self.communes_csv.name})"
        self.indicators_key = indicators_key
        if attribution is None:
            attribution = [POPULATION_ATTRIBUTION] + ([INDICATORS_ATTRIBUTION] if self.indicators_csv else [])
        self.attribution = attribution
        self.load_seconds: dict[str, float] = {}
        self._lock = threading.RLock()  # the UI may ask for two cards at once: load each file once
        self._communes: dict[str, _Commune] | None = None
        self._dep_region: dict[str, str] = {}
        self._indicators: dict[str, dict[str, str]] | None = None
        self._meta: dict[str, dict[str, str | None]] | None = None
        self._names: list[tuple[str, _Commune]] | None = None
        self._cards: dict[str, TerritoryCard] = {}

    @classmethod
    def from_corpus(cls, corpus_dir: Path, **kwargs) -> TerritoryData:
        """The standard layout of ``shared/corpus`` (see SOURCES.md)."""
        corpus_dir = Path(corpus_dir)
        kit = corpus_dir / "observatoire-territoires__KitsCarto-GdDebat"
        return cls(corpus_dir / "datagouv__decoupage-administratif" / "donnees_communes.csv",
                   kit / "datacom.csv", kit / "meta.xlsx", **kwargs)

    # -- lazy loading

    def _load_communes(self) -> dict[str, _Commune]:
        with self._lock:
            if self._communes is None:
                start = time.perf_counter()
                self._communes = self._read_communes()
                self.load_seconds[self.communes_csv.name] = time.perf_counter() - start
            return self._communes

    def _read_communes(self) -> dict[str, _Commune]:
        name = self.communes_csv.name
        table = load_table(self.communes_csv, "COM")
        missing = [c for c in _COMMUNE_COLUMNS if c not in next(iter(table.values()))]
        if missing:
            raise DocumentError(name, f"colonnes manquantes : {', '.join(missing)}.",
                                fix="Utilisez le fichier donnees_communes.csv des populations légales de l'INSEE.")

        def integer(row: dict[str, str], column: str) -> int | None:
            try:
                return int(row[column])  # the common case, 3x faster than the general parser
            except ValueError:
                pass
            try:
                value = parse_decimal(row[column])
            except InputError as e:
                raise DocumentError(name, f"{column} illisible pour la commune {row['COM']} : « {row[column]} ».",
                                    fix="Réexportez le fichier d'origine de l'INSEE.") from e
            return None if value is None else int(value)

        communes: dict[str, _Commune] = {}
        for code, row in table.items():
            kind = "arrondissement" if code in _ARRONDISSEMENT_PARENT else "commune"
            communes[code] = _Commune(code, row["Commune"], row["DEP"], row["Région"],
                                      integer(row, "PMUN"), integer(row, "PTOT"), kind)
            self._dep_region.setdefault(row["DEP"], row["Région"])
        for parent, (city, arrondissements) in _PLM.items():
            parts = [communes[a] for a in sorted(arrondissements) if a in communes]
            if parent in communes or not parts:
                continue
            pmun = None if any(p.pmun is None for p in parts) else sum(p.pmun for p in parts)
            # No population totale: people counted apart in one arrondissement may live in another one,
            # so summing the arrondissements would count them twice.
            communes[parent] = _Commune(parent, city, parts[0].dep, parts[0].region, pmun, None, "plm")
        return communes

    def _load_indicators(self) -> dict[str, dict[str, str]]:
        with self._lock:
            if self._indicators is None:
                if self.indicators_csv is None:
                    self._indicators, self._meta = {}, {}
                else:
                    start = time.perf_counter()
                    table = load_table(self.indicators_csv, self.indicators_key)
                    self.load_seconds[self.indicators_csv.name] = time.perf_counter() - start
                    # Both or neither: a broken dictionary must fail again on the next call, not half-load.
                    self._meta = _read_meta(self.indicators_meta) if self.indicators_meta else {}
                    self._indicators = table
            return self._indicators

    def _indicator_columns(self) -> list[str]:
        table = self._load_indicators()
        if not table:
            return []
        columns = [c for c in next(iter(table.values())) if c.lower() != self.indicators_key.lower()]
        assert self._meta is not None
        # Dictionary order first (ID_1…ID_9), then any column the dictionary does not describe.
        return [c for c in self._meta if c in columns] + [c for c in columns if c not in self._meta]

    # -- public API

    def card(self, code: str) -> TerritoryCard:
        """The fiche territoire of one commune (INSEE code, e.g. "22050" for Dinan)."""
        code = _normalize_code(code)
        if code not in self._cards:
            self._cards[code] = self._build_card(code)
        return self._cards[code].model_copy(deep=True)  # callers may edit their copy, never the cache

    def _build_card(self, code: str) -> TerritoryCard:
        communes = self._load_communes()
        indicators_table = self._load_indicators()
        commune = communes.get(code)
        if commune is None and code not in indicators_table:
            self._raise_unknown(code)
        notes: list[str] = []
        if commune is None:
            dep = _departement_of(code)
            commune = _Commune(code, "nom non disponible", dep, self._dep_region.get(dep, ""), None, None, "commune")
            notes.append(f"Code {code} absent de {self.communes_csv.name} (populations légales) mais présent dans "
                         f"{self.indicators_csv.name} (codes de 2018) : commune probablement fusionnée ou "
                         "renumérotée depuis ; vérifiez son code actuel.")
        if commune.kind == "plm":
            notes.append(f"Population municipale de {commune.name} = somme de ses arrondissements municipaux ; "
                         "population totale non calculée (les personnes comptées à part seraient comptées "
                         "deux fois).")
        return TerritoryCard(
            code=code, name=commune.name, departement=commune.dep, region=commune.region,
            population_municipale=commune.pmun, population_totale=commune.ptot,
            population_source=self.population_source, population_year=self.population_year,
            indicators=self._indicators_for(commune, notes), attribution=list(self.attribution), notes=notes,
        )

    def _indicators_for(self, commune: _Commune, notes: list[str]) -> list[Indicator]:
        columns = self._indicator_columns()
        if not columns:
            return []
        assert self.indicators_csv is not None and self._meta is not None
        dataset = self.indicators_csv.name
        row = self._load_indicators().get(commune.code)
        missing_note = None
        if row is None:
            parent = _ARRONDISSEMENT_PARENT.get(commune.code)
            if parent:
                missing_note = f"indicateurs publiés pour la commune entière ({_PLM[parent][0]}, code {parent})"
            else:
                missing_note = (f"code {commune.code} absent de {dataset} (codes communaux de 2018) : commune "
                                "créée ou modifiée depuis")
            notes.append(f"Indicateurs non disponibles : {missing_note}.")
        if not self._meta:
            notes.append(f"Dictionnaire des indicateurs non fourni : libellés, sources et millésimes de {dataset} "
                         "inconnus.")
        indicators = []
        for column in columns:
            meta = self._meta.get(column, {})
            value, note = None, missing_note
            if row is not None:
                try:
                    value = parse_decimal(row[column])
                except InputError as e:
                    raise DocumentError(dataset, f"valeur illisible « {row[column]} » (colonne {column}, commune "
                                        f"{commune.code}).", fix="Réexportez le fichier d'origine.") from e
                if value is None:
                    note = "valeur absente du fichier (donnée manquante ou secret statistique)"
            indicators.append(Indicator(
                id=column, label=meta.get("label") or column, value=value, unit=_UNITS.get(column),
                source=meta.get("source") or dataset, year=meta.get("year"), dataset=dataset,
                description=meta.get("description"), note=note,
            ))
        return indicators

    def _raise_unknown(self, code: str) -> None:
        hint = ""
        if len(code) == 4 and code.isdigit() and "0" + code in self._load_communes():
            # A spreadsheet turned "01001" into the number 1001.
            hint = f" Vouliez-vous dire 0{code} ({self._load_communes()['0' + code].name}) ?"
        raise InputError(
            f"Code commune « {code} » inconnu dans {self.communes_csv.name}.{hint}",
            fix="Vérifiez le code INSEE à 5 caractères (ce n'est pas le code postal), par exemple 22050 pour "
            "Dinan, ou cherchez la commune par son nom.",
        )

    def search(self, name: str, limit: int = 10) -> list[tuple[str, str, str]]:
        """(code, name, département) of the communes whose name matches, best first; accents and case ignored."""
        query = _normalize_name(name)
        if not query:
            raise InputError("Nom de commune vide.", fix="Tapez au moins une lettre du nom, par exemple « Dinan ».")
        with self._lock:
            if self._names is None:
                self._names = [(_normalize_name(c.name), c) for c in self._load_communes().values()]
        hits = []
        for normalized, commune in self._names:
            if normalized == query:
                rank = 0
            elif normalized.startswith(query):
                rank = 1
            elif f" {query}" in f" {normalized}":
                rank = 2  # a whole word inside the name: "Thoiré-sur-Dinan" for "dinan"
            elif query in normalized:
                rank = 3
            else:
                continue
            # Among equally good matches the larger commune is the likelier intent.
            hits.append((rank, -(commune.pmun or 0), commune.name, commune))
        hits.sort(key=lambda h: h[:3])
        return [(c.code, c.name, c.dep) for *_, c in hits[:limit]]

    def comparables(
        self,
        code: str,
        *,
        scope: Literal["departement", "region"] = "departement",
        band: float = 0.3,
        limit: int = 8,
        codes: list[str] | None = None,
    ) -> list[TerritoryCard]:
        """Communes of similar size (population ±band) in the same département or région, closest first;
        or the cards of the user's own list when ``codes`` is given."""
        target = self.card(code)
        if codes is not None:
            wanted = list(dict.fromkeys(_normalize_code(c) for c in codes))
            return [self.card(c) for c in wanted if c != target.code]
        if scope not in ("departement", "region"):
            raise InputError(f"Périmètre « {scope} » inconnu.", fix="Choisissez « departement » ou « region ».")
        if not band > 0:
            raise InputError(f"Écart de population « {band} » invalide.",
                             fix="Donnez une fraction positive, par exemple 0,3 pour ±30 %.")
        population = target.population_municipale
        if not population:
            raise InputError(f"Population de {target.code} inconnue : impossible de trouver des communes de même "
                             "taille.",
                             fix="Donnez vous-même la liste des codes des communes à comparer.")
        low, high = population * (1 - band), population * (1 + band)
        same_area = (lambda c: c.dep == target.departement) if scope == "departement" else (
            lambda c: c.region == target.region)
        candidates = [
            c for c in self._load_communes().values()
            # Arrondissements are parts of a commune, not peers of one.
            if c.kind != "arrondissement" and c.code != target.code and c.pmun and low <= c.pmun <= high
            and same_area(c)
        ]
        candidates.sort(key=lambda c: (abs(math.log(c.pmun / population)), c.code))
        return [self.card(c.code) for c in candidates[:limit]]

    def comparison_table(self, codes: list[str]) -> list[dict]:
        """One row per figure: Indicateur, Unité, Source, Millésime, then one column "Nom (code)" per commune
        holding the raw value (None when unavailable)."""
        cards = [self.card(c) for c in dict.fromkeys(_normalize_code(c) for c in codes)]
        if not cards:
            raise InputError("Aucune commune à comparer.", fix="Donnez au moins un code commune INSEE.")
        columns = [f"{card.name} ({card.code})" for card in cards]
        first = cards[0]
        population_year = first.population_year or NO_YEAR
        rows = [
            {"Indicateur": "Population municipale", "Unité": "habitants", "Source": first.population_source,
             "Millésime": population_year,
             **{col: card.population_municipale for col, card in zip(columns, cards)}},
            {"Indicateur": "Population totale", "Unité": "habitants", "Source": first.population_source,
             "Millésime": population_year,
             **{col: card.population_totale for col, card in zip(columns, cards)}},
        ]
        values = [{ind.id: ind.value for ind in card.indicators} for card in cards]
        for indicator in first.indicators:
            rows.append({"Indicateur": indicator.label, "Unité": indicator.unit, "Source": indicator.source,
                         "Millésime": indicator.year or NO_YEAR,
                         **{col: v.get(indicator.id) for col, v in zip(columns, values)}})
        return rows


# ---------------------------------------------------------------------------------------------------- display


def format_number(value: float, decimals: int = 0) -> str:
    """French typography: "14 764", "12,3"."""
    text = f"{value:,.{decimals}f}".replace(",", " ").replace(".", ",")
    return text[1:] if text.startswith("-") and not text.strip("-0, ") else text  # no "-0,0"


def format_value(value: float | int | None, unit: str | None) -> str:
    """A value with its unit, French style: "17,7 %", "7 min", "20 479 € par UC", "non disponible"."""
    if value is None:
        return "non disponible"
    decimals = _DECIMALS.get(unit, 0 if float(value).is_integer() else 1)
    number = format_number(value, decimals)
    return f"{number} {unit}" if unit else number


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_card_markdown(card: TerritoryCard) -> str:
    """The card as French Markdown: a table where every figure sits next to its source and millésime."""
    lines = [
        f"### {card.name} ({card.code})",
        "",
        f"Département : {card.departement or 'non renseigné'} · Région : {card.region or 'non renseignée'}",
        "",
        "| Donnée | Valeur | Source | Millésime |",
        "|---|---|---|---|",
    ]
    population_year = card.population_year or NO_YEAR
    for label, value in (("Population municipale", card.population_municipale),
                         ("Population totale", card.population_totale)):
        lines.append(f"| {label} | {format_value(value, 'habitants')} | {_cell(card.population_source)} "
                     f"| {population_year} |")
    for ind in card.indicators:
        lines.append(f"| {_cell(ind.label)} | {format_value(ind.value, ind.unit)} "
                     f"| {_cell(ind.source)} ({_cell(ind.dataset)}) | {ind.year or NO_YEAR} |")
    # Per-indicator reasons, once each, unless a card-level note already says it.
    reasons = dict.fromkeys(ind.note for ind in card.indicators if ind.value is None and ind.note)
    remarks = card.notes + [f"Valeurs « non disponible » : {r}." for r in reasons
                            if not any(r in note for note in card.notes)]
    if remarks:
        lines += ["", "Remarques :"] + [f"- {r}" for r in remarks]
    if card.attribution:
        lines += ["", "Sources :"] + [f"- {a}" for a in card.attribution]
    return "\n".join(lines) + "\n"
