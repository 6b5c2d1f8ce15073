"""The guided strategy workflow of the method: stage artifacts, storage, agenda and gates, the engine.

    cadrage → diagnostic → das → positionnement → plan_action → tableau_de_bord

- ``artifacts``: pydantic models of each stage; every item and figure carries a provenance;
- ``storage``: one folder per project, atomic saves, history, revert, recovery of a corrupt file;
- ``agenda``: what a stage lacks, the next question, the gate, the checks of the 5 steps and 6 levers;
- ``engine``: ``WorkflowEngine`` — questions, answers read by the model, drafts from documents, gates;
- ``conversation``: the method as a line-by-line conversation with slash commands (terminal, replays);
- ``report``: the state of a strategy at a glance, as data and as French text.
"""

from .agenda import Agenda, Gate, Question, agenda, can_advance, check_levers, check_steps, next_question
from .artifacts import (
    STAGE_LABELS, STAGES, Figure, GateOverride, Strategy, export_schemas, stage_schema, strategy_schema,
)
from .conversation import Conversation, Reply, resolve_stage
from .engine import DraftResult, TurnResult, WorkflowEngine
from .extraction import Change
from .items import pending_review, unconfirmed_hypotheses
from .levers import LeverCheck, StepCheck
from .report import StrategyReport, build_report, render_report
from .storage import ProjectStorage, slugify

__all__ = [
    "Agenda", "Change", "Conversation", "DraftResult", "Figure", "Gate", "GateOverride", "LeverCheck",
    "ProjectStorage", "Question", "Reply", "STAGES", "STAGE_LABELS", "StepCheck", "Strategy", "StrategyReport",
    "TurnResult", "WorkflowEngine", "agenda", "build_report", "can_advance", "check_levers", "check_steps",
    "export_schemas", "next_question", "pending_review", "render_report", "resolve_stage", "slugify",
    "stage_schema", "strategy_schema", "unconfirmed_hypotheses",
]
