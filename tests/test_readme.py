"""The README stays true: its two commands, its configuration table and its command examples."""

import re
import subprocess
import sys

from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import settings_rows

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_two_commands_and_ci_runs_the_test_one():
    first = README.split("## Démarrage")[1].split("\n## ")[0]
    commands = re.findall(r"```bash\n(.+?)\n```", first)
    assert commands == ["bash scripts/run.sh", "bash scripts/test.sh"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == "bash scripts/test.sh"
    assert "python -m assistant serve" in (REPO / "scripts" / "run.sh").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    missing = [env for env, _, _ in settings_rows() if f"`{env}`" not in README]
    assert not missing, missing


def test_every_command_shown_exists():
    shown = set(re.findall(r"python -m assistant ([a-z]+)", README))
    assert {"ingest", "ask", "search", "serve", "doctor"} <= shown
    runner = CliRunner()
    for command in sorted(shown):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_help_lists_the_commands_in_french():
    out = subprocess.run([sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True,
                         timeout=120, cwd=REPO).stdout
    assert "Commandes" in out and "Pose une question" in out and "Indexe des documents" in out
