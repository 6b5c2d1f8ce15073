"""The words typer prints by itself (usage line, --help, type hints, usage errors) come out in French.

Through the real entry point (``python -m assistant``), since that is where the usage errors are translated; help
and usage errors never load a model, so each run takes well under a second. assistant/cli_french.py relies on
typer internals: these tests are what notices a typer that moved them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO

ENGLISH = ["Usage:", "Show this message", "Missing", "No such", "Invalid value", "Try '", "for help", "Did you mean",
           "Possible options", "Error", "Got unexpected", "requires", "Commands", "COMMAND [", "[ARGS]", "<str>",
           "<int>", "<bool>", "<path>", "[default", "[required]"]


def _run(tmp_path, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") and k != "FORCE_COLOR"}
    # Wide enough that rich never wraps a message across two lines of its panel.
    env.update(ASSISTANT_DATA_DIR=str(tmp_path / "data"), COLUMNS="200", NO_COLOR="1", PYTHONPATH=str(REPO),
               **env_extra)
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)


def _no_english(text: str) -> None:
    found = [word for word in ENGLISH if word in text]
    assert not found, (found, text)


@pytest.mark.parametrize("args, expected", [
    (["--help"], ["Utilisation : python -m assistant [OPTIONS] COMMANDE [ARGUMENTS]...", "Commandes",
                  "Pose une question"]),
    (["ask", "--help"], ["Utilisation : python -m assistant ask [OPTIONS] {question}", "<texte>", "<oui/non>",
                         "[requis]"]),
    (["search", "--help"], ["Utilisation : python -m assistant search", "<entier>", "[défaut : 5]"]),
])
def test_help_is_french(tmp_path, args, expected):
    done = _run(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Affiche cette aide et quitte." in out
    for text in expected:
        assert text in out, (text, out)
    _no_english(out + done.stderr)


@pytest.mark.parametrize("args, expected", [
    (["ask"], "Argument manquant : 'question'."),
    (["ask", "Quelle cible ?"], "Option manquante : '--project' / '-p'."),
    (["search", "x", "--k", "abc"], "Option inconnue : --k"),
    (["search", "x", "-p", "corpus", "--jsn"], "Option inconnue : --jsn (vouliez-vous dire --json ?)"),
    (["search", "x", "-p", "corpus", "-k", "abc"], "Valeur invalide pour '-k' : « abc » n'est pas un nombre entier."),
    (["search", "x", "y", "-p", "corpus"], "Argument(s) en trop : y"),
    (["nosuchcommand"], "Commande inconnue : 'nosuchcommand'."),
    (["serch", "x"], "Commande inconnue : 'serch'. Vouliez-vous dire 'search', 'serve' ?"),
])
def test_usage_errors_are_french_and_exit_2(tmp_path, args, expected):
    done = _run(tmp_path, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    err = done.stderr
    assert expected in err, err
    assert "Erreur" in err and "Utilisation : python -m assistant" in err, err
    assert "Aide : 'python -m assistant" in err and "--help'" in err, err
    _no_english(done.stdout + err)
    assert not (tmp_path / "data").exists()  # a usage error stops before anything is opened


def test_no_arguments_prints_the_help_and_exits_2(tmp_path):
    done = _run(tmp_path)
    assert done.returncode == 2
    assert "Utilisation : python -m assistant" in done.stdout and "Commandes" in done.stdout
    _no_english(done.stdout + done.stderr)


def test_plain_output_without_rich_is_french_too(tmp_path):
    """TYPER_USE_RICH=0 takes typer's plain path, which prints its errors differently."""
    done = _run(tmp_path, "ask", TYPER_USE_RICH="0")
    assert done.returncode == 2
    assert "Utilisation : python -m assistant ask [OPTIONS] {question}" in done.stderr
    assert "Aide : 'python -m assistant ask --help'" in done.stderr
    assert "Erreur : Argument manquant : 'question'." in done.stderr
    _no_english(done.stdout + done.stderr)
