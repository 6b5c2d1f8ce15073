"""Project storage and artifacts: atomic saves, history, revert, corrupt files, schemas, item edits, going back."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from assistant.errors import InputError, WorkflowError
from assistant.workflow import STAGES, ProjectStorage, export_schemas, stage_schema, strategy_schema
from assistant.workflow.artifacts import Action, Das, Figure, Kpi, Strategy, SwotItem, Territory
from assistant.workflow.items import confirm_item, find_item, link
from assistant.workflow.provenance import DocumentSource, HypothesisSource, OfficialDataSource, UserSource
from assistant.workflow.storage import slugify


@pytest.fixture
def storage(tmp_path):
    return ProjectStorage(tmp_path / "projects", keep=5)


def populated(storage: ProjectStorage) -> Strategy:
    """A project with items in every stage, figures of every provenance kind, and an action↔KPI link."""
    s = storage.create("Dinan")
    s.cadrage.territory = Territory(name="Dinan", type="commune", code_insee="22050", provenance=UserSource())
    quote = "La commune compte 14 000 habitants en 2021."
    s.diagnostic.strengths.append(SwotItem(text="Patrimoine médiéval", axis="qualite_vie", provenance=DocumentSource(
        file="diag.pdf", page=4, quote="cité médiévale remarquablement conservée")))
    s.das.domains.append(Das(name="Tourisme", provenance=UserSource(),
                             budget=Figure(value=80000, unit="€", year=2025, provenance=HypothesisSource())))
    s.plan_action.actions.append(Action(title="Salon", start="2025-03", end="2025-04", provenance=UserSource()))
    s.tableau_de_bord.kpis.append(Kpi(
        name="Population", provenance=UserSource(),
        baseline=Figure(value=14000, year=2021, provenance=DocumentSource(file="insee.pdf", page=1, quote=quote)),
        target=Figure(value=15000, year=2030, provenance=OfficialDataSource(dataset="INSEE, projections",
                                                                            year=2024))))
    link(s, s.plan_action.actions[0].id, s.tableau_de_bord.kpis[0].id)
    return storage.save(s)


# --- schemas ----------------------------------------------------------------------------------------------


def test_exported_schemas_validate_the_saved_file_and_reject_bad_data(storage, tmp_path):
    populated(storage)
    written = export_schemas(tmp_path / "schemas")
    assert sorted(p.name for p in written) == sorted([f"{s}.schema.json" for s in STAGES] + ["strategy.schema.json"])
    data = json.loads((storage.project_dir("dinan") / "strategy.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, json.loads((tmp_path / "schemas" / "strategy.schema.json").read_text()))
    for stage in STAGES:
        schema = json.loads((tmp_path / "schemas" / f"{stage}.schema.json").read_text(encoding="utf-8"))
        assert schema == stage_schema(stage) | {}
        jsonschema.validate(data[stage], schema)
    # The schema is not a rubber stamp: a document provenance without its quote is refused.
    broken = json.loads(json.dumps(data))
    del broken["diagnostic"]["strengths"][0]["provenance"]["quote"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, strategy_schema())
    broken = json.loads(json.dumps(data))
    broken["das"]["domains"][0]["budget"]["provenance"] = {"kind": "inventee", "confirmed": True}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken["das"], stage_schema("das"))


def test_item_ids_are_stable_and_figures_need_a_provenance():
    item = SwotItem(text="Gare", provenance=UserSource())
    assert item.id.startswith("sw-") and SwotItem.model_validate(item.model_dump()).id == item.id
    with pytest.raises(ValueError):
        Figure(value=12)  # type: ignore[call-arg]  — no provenance, no figure
    with pytest.raises(ValueError, match="millésime"):
        Figure(value=12, provenance=OfficialDataSource(dataset="INSEE"))
    with pytest.raises(ValueError, match="année"):
        Kpi(name="x", provenance=UserSource(), target=Figure(value=3, provenance=UserSource()))
    with pytest.raises(ValueError, match="précède"):
        Action(title="x", start="2025-05", end="2025-01", provenance=UserSource())


# --- saving, history, revert ----------------------------------------------------------------------------


def test_atomic_save_history_and_revert(storage):
    s = populated(storage)
    folder = storage.project_dir("dinan")
    for i in range(6):
        s.diagnostic.weaknesses.append(SwotItem(text=f"faiblesse {i}", provenance=UserSource()))
        storage.save(s)
    assert s.version == 8
    kept = storage.versions("dinan")
    assert [v.version for v in kept] == [4, 5, 6, 7, 8]  # keep=5
    assert not list(folder.glob(".*.tmp")) and not list((folder / "history").glob(".*.tmp"))

    reverted = storage.revert("dinan", 5)
    assert reverted.version == 9 and len(reverted.diagnostic.weaknesses) == 3
    assert len(storage.load("dinan").diagnostic.weaknesses) == 3
    assert storage.load_version("dinan", 8).diagnostic.weaknesses[-1].text == "faiblesse 5"  # history intact
    with pytest.raises(WorkflowError, match="n'est pas conservée"):
        storage.revert("dinan", 1)


def test_interrupted_write_leaves_the_previous_file_intact(storage, monkeypatch):
    s = populated(storage)
    path = storage.project_dir("dinan") / "strategy.json"
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disque plein")

    monkeypatch.setattr(os, "replace", crash)
    s.diagnostic.weaknesses.append(SwotItem(text="x", provenance=UserSource()))
    with pytest.raises(OSError):
        storage.save(s)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".strategy.json.*"))


def test_concurrent_edit_is_refused(storage):
    populated(storage)
    first, second = storage.load("dinan"), storage.load("dinan")
    storage.save(first)
    with pytest.raises(WorkflowError, match="modifié ailleurs"):
        storage.save(second)


def test_invalid_strategy_is_never_written(storage):
    s = populated(storage)
    s.plan_action.actions[0].end = "2020-01"  # edited in place: before its start, bypassing validators
    with pytest.raises(WorkflowError, match="rien n'a été enregistré"):
        storage.save(s)
    assert storage.load("dinan").plan_action.actions[0].end == "2025-04"


def test_corrupt_file_is_set_aside_and_last_valid_version_restored(storage):
    s = populated(storage)
    s.diagnostic.weaknesses.append(SwotItem(text="dernière", provenance=UserSource()))
    storage.save(s)
    path = storage.project_dir("dinan") / "strategy.json"
    path.write_text('{"slug": "dinan", "version": ', encoding="utf-8")  # truncated by a crash or an editor

    with pytest.raises(WorkflowError) as err:
        storage.load("dinan")
    message = str(err.value)
    assert "illisible" in message and "version 3" in message and "restaurée" in message and "rouvrez" in message
    corrupt = path.with_name("strategy.json.corrupt")
    assert corrupt.read_text(encoding="utf-8") == '{"slug": "dinan", "version": '  # nothing lost
    restored = storage.load("dinan")
    assert restored.diagnostic.weaknesses[-1].text == "dernière"
    storage.save(restored)  # numbering continues after the kept versions
    assert storage.versions("dinan")[-1].version == 4


def test_corrupt_file_without_history_explains_the_fix(storage):
    populated(storage)
    folder = storage.project_dir("dinan")
    for f in (folder / "history").iterdir():
        f.unlink()
    (folder / "strategy.json").write_text("pas du json", encoding="utf-8")
    with pytest.raises(WorkflowError, match="aucune version valide") as err:
        storage.load("dinan")
    assert err.value.fix and "à la main" in err.value.fix
    assert (folder / "strategy.json.corrupt").exists() and not (folder / "strategy.json").exists()


def test_project_names_and_listing(storage):
    assert slugify("Saint-Malo Agglomération") == "saint-malo-agglomeration"
    storage.create("Saint-Malo Agglomération")
    with pytest.raises(WorkflowError, match="existe déjà"):
        storage.create("Saint-Malo agglomération")
    with pytest.raises(InputError):
        storage.load("../etc")
    with pytest.raises(WorkflowError, match="n'existe pas"):
        storage.load("inconnu")
    assert [p.slug for p in storage.list_projects()] == ["saint-malo-agglomeration"]


# --- editing items, going back --------------------------------------------------------------------------


def test_edit_item_and_user_figures(storage):
    s = populated(storage)
    das_id = s.das.domains[0].id
    s = storage.update_item("dinan", "das", das_id, {"mission": "Faire venir des visiteurs", "budget": 95000})
    das = s.das.domains[0]
    assert das.id == das_id and das.mission == "Faire venir des visiteurs"
    assert das.budget.value == 95000 and das.budget.provenance.kind == "utilisateur"  # typed by a person
    assert das.budget.unit == "€" and das.budget.year == 2025  # kept from the previous figure
    with pytest.raises(WorkflowError, match="champs modifiables"):
        storage.update_item("dinan", "das", das_id, {"id": "autre"})
    with pytest.raises(WorkflowError, match="Modification refusée"):
        storage.update_item("dinan", "plan_action", s.plan_action.actions[0].id, {"start": "mars"})
    with pytest.raises(WorkflowError, match="Aucun élément"):
        storage.update_item("dinan", "das", "das-000000", {"mission": "x"})


def test_delete_item_removes_its_links(storage):
    s = populated(storage)
    kpi_id, action_id = s.tableau_de_bord.kpis[0].id, s.plan_action.actions[0].id
    assert s.plan_action.actions[0].kpi_ids == [kpi_id]
    s = storage.delete_item("dinan", "tableau_de_bord", kpi_id)
    assert s.tableau_de_bord.kpis == [] and s.plan_action.actions[0].kpi_ids == []
    with pytest.raises(WorkflowError):
        find_item(s, kpi_id)
    assert find_item(s, action_id).stage == "plan_action"


def test_confirming_an_item_confirms_its_figures(storage):
    s = populated(storage)
    das = s.das.domains[0]
    assert not das.budget.provenance.confirmed
    confirm_item(s, das.id)
    assert das.budget.provenance.confirmed and das.budget.provenance.confirmed_at
    assert "hypothèse validée" in das.budget.label()


def test_go_back_to_an_earlier_stage(storage):
    s = populated(storage)
    s.current_stage = "positionnement"
    storage.save(s)
    s = storage.go_back("dinan", "diagnostic")
    assert s.current_stage == "diagnostic" and s.das.domains  # later work is kept
    with pytest.raises(WorkflowError, match="n'est pas une étape antérieure"):
        storage.go_back("dinan", "plan_action")
    with pytest.raises(WorkflowError, match="Étape inconnue"):
        storage.go_back("dinan", "swot")
