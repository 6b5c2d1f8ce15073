"""French for the words typer prints by itself: usage line, --help, type hints, usage errors.

typer 0.29 vendors its own copy of click (``typer._click``) that no longer goes through gettext, so a message
catalogue cannot reach most of these words any more: each is set at the one place typer builds it, which are
typer internals — hence the pin ``typer>=0.29,<0.30`` in pyproject.toml, and tests/test_cli_french.py to notice
a typer that moved them. cli.py stays the only module importing typer (tests/test_architecture.py): it hands
the typer package to ``install`` and ``run``.
"""

from __future__ import annotations

import re
import sys
from types import ModuleType
from typing import Any, NoReturn

USAGE_PREFIX = "Utilisation : "
HELP_OPTION_HELP = "Affiche cette aide et quitte."
SUBCOMMAND_METAVAR = "COMMANDE [ARGUMENTS]..."
ABORTED = "Interrompu."

# typer.core (not its click copy) still translates these through gettext.
_GETTEXT = {
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "Aborted!": ABORTED,
    "(dynamic)": "(dynamique)",
    "default: {default}": "défaut : {default}",
    "required": "requis",
    "env var: {var}": "variable d'environnement : {var}",
    "Commands": "Commandes",
}

# Words of the type hints of the help (<int>, <list[Path]>, <int range>...); choices are shown as they are.
_TYPE_WORDS = {
    "str": "texte", "int": "entier", "float": "nombre", "bool": "oui/non", "path": "chemin", "Path": "chemin",
    "file": "fichier", "dir": "dossier", "list": "liste", "datetime": "date", "range": "intervalle",
}

# pydantic's error types for a value typer cannot convert, in French; {input} is the value as typed.
_VALUE_ERRORS = {
    "int_parsing": "« {input} » n'est pas un nombre entier.",
    "int_type": "« {input} » n'est pas un nombre entier.",
    "int_from_float": "« {input} » n'est pas un nombre entier.",
    "float_parsing": "« {input} » n'est pas un nombre.",
    "float_type": "« {input} » n'est pas un nombre.",
    "bool_parsing": "« {input} » n'est pas une valeur oui/non.",
}

# Usage errors that carry their meaning only in their English message (no attributes to build it from).
_MESSAGES = [
    (re.compile(r"Got unexpected extra argument\(s\) \((.*)\)", re.S), r"Argument(s) en trop : \1"),
    (re.compile(r"Option (.+) requires an argument\."), r"L'option \1 attend une valeur."),
    (re.compile(r"Option (.+) requires (\d+) arguments\."), r"L'option \1 attend \2 valeurs."),
    (re.compile(r"Option (.+) does not take a value\."), r"L'option \1 n'accepte pas de valeur."),
    (re.compile(r"Argument (.+) takes (\d+) values\."), r"L'argument \1 attend \2 valeurs."),
    # typer appends its command suggestions to the (already French) "no such command" message.
    (re.compile(r"(.*)\. Did you mean (.+)\?", re.S), r"\1. Vouliez-vous dire \2 ?"),
]

_installed = False


def install(typer: ModuleType) -> None:
    """Put French into the help and the usage line; ``run`` does the usage errors. Needs typer.rich_utils imported."""
    global _installed
    if _installed:  # wrapping twice would be harmless but pointless (cli.py imported again by a test)
        return
    _installed = True
    core, click = typer.core, typer._click

    core._ = lambda message: _GETTEXT.get(message, message)

    write_usage = click.formatting.HelpFormatter.write_usage

    def french_write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, USAGE_PREFIX if prefix is None else prefix)

    click.formatting.HelpFormatter.write_usage = french_write_usage

    get_help_option = click.core.Command.get_help_option

    def french_get_help_option(self, ctx):
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option

    click.core.Command.get_help_option = french_get_help_option

    # The default subcommand metavar of every group (typer.Typer(subcommand_metavar=...) does not reach sub-apps).
    collect_usage_pieces = core.TyperGroup.collect_usage_pieces

    def french_collect_usage_pieces(self, ctx) -> list[str]:
        pieces = collect_usage_pieces(self, ctx)
        return [SUBCOMMAND_METAVAR if piece == "COMMAND [ARGS]..." else piece for piece in pieces]

    core.TyperGroup.collect_usage_pieces = french_collect_usage_pieces

    display_type = core._TyperParameter.display_type

    def french_display_type(self, ctx) -> str:
        label = display_type(self, ctx)
        if self.type_descriptor.is_choice:  # the choices themselves are words the user types
            return label
        return re.sub(r"[A-Za-z]+", lambda m: _TYPE_WORDS.get(m.group(), m.group()), label)

    core._TyperParameter.display_type = french_display_type

    ru = typer.rich_utils  # these strings were read through gettext when rich_utils was imported: set them
    ru.COMMANDS_PANEL_TITLE, ru.ERRORS_PANEL_TITLE, ru.ABORTED_TEXT = "Commandes", "Erreur", ABORTED
    ru.DEFAULT_STRING, ru.REQUIRED_LONG_STRING = "[défaut : {}]", "[requis]"
    ru.ENVVAR_STRING, ru.DEPRECATED_STRING = "[variable d'environnement : {}]", "(obsolète) "
    ru.RICH_HELP = "Aide : [blue]'{command_path} {help_option}'[/]"
    ru.OptionHighlighter.highlights.append(r"(?P<usage>Utilisation : )")  # keeps the usage prefix coloured


def run(app: Any, typer: ModuleType) -> NoReturn:
    """Run the app as typer would, but print its usage errors in French (same exit codes: 2 for those).

    typer's standalone mode prints the errors itself; without it they reach us with their attributes. The
    commands return None (typer.Exit(code) sets a code), so what the app returns is an exit code or None."""
    exceptions = typer._click.exceptions
    try:
        code = app(standalone_mode=False)
    except exceptions.NoArgsIsHelpError as error:  # rich has printed the help already; plain typer prints it here
        if not typer.core.HAS_RICH:
            error.show()
        sys.exit(error.exit_code)
    except exceptions.UsageError as error:
        _show(typer, french_message(error, exceptions), error.ctx)
        sys.exit(error.exit_code)
    except exceptions.ClickException as error:  # not raised by this CLI's own parameters; shown in the same frame
        _show(typer, error.format_message(), None)
        sys.exit(error.exit_code)
    except typer.Abort:  # Ctrl-D at a prompt
        if typer.core.HAS_RICH:
            typer.rich_utils.rich_abort_error()
        else:
            typer.echo(ABORTED, err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def french_message(error: Any, exceptions: ModuleType) -> str:
    """The French text of a usage error, built from its attributes where typer gives them."""
    if isinstance(error, exceptions.MissingParameter):
        kind = error.param_type or (error.param.param_type_name if error.param is not None else "")
        label = {"argument": "Argument manquant", "option": "Option manquante"}.get(kind, "Paramètre manquant")
        hint = _param_hint(error)
        return f"{label} : {hint}." if hint else f"{label}."
    if isinstance(error, exceptions.BadParameter):
        hint, detail = _param_hint(error), _value_detail(error)
        return f"Valeur invalide pour {hint} : {detail}" if hint else f"Valeur invalide : {detail}"
    if isinstance(error, exceptions.NoSuchOption):
        text = f"Option inconnue : {_printable(error.option_name)}"
        if error.possibilities:
            text += f" (vouliez-vous dire {', '.join(sorted(error.possibilities))} ?)"
        return text
    for pattern, french in _MESSAGES:
        if pattern.fullmatch(error.message):
            return pattern.sub(french, error.message)
    return error.message


def _param_hint(error: Any) -> str | None:
    hint = error.param_hint if error.param_hint is not None else (
        error.param.get_error_hint() if error.param is not None else None)
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(h) for h in hint)
    return hint


def _value_detail(error: Any) -> str:
    """Why the value was refused: pydantic's reason (the exception's cause), in French when we know it."""
    errors = getattr(error.__cause__, "errors", None)
    first = errors()[0] if callable(errors) and errors() else {}
    if first:
        template = _VALUE_ERRORS.get(first.get("type", ""))
        if template:
            return template.format(input=_printable(str(first.get("input", ""))))
    return error.message  # path checks and the like: not reachable with this CLI's parameter types


def _printable(text: str) -> str:
    """What the user typed, with terminal control characters shown escaped (as typer does)."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m[0]):02x}", text)


def _show(typer: ModuleType, message: str, ctx: Any) -> None:
    """Print an error the way typer does (usage line, help hint, "Erreur" panel), with our message."""
    if typer.core.HAS_RICH:
        typer.rich_utils.rich_format_error(typer._click.exceptions.UsageError(message, ctx))
        return
    if ctx is not None:
        typer.echo(ctx.get_usage(), err=True, color=ctx.color)
        if ctx.command.get_help_option(ctx) is not None:
            typer.echo(f"Aide : '{ctx.command_path} {ctx.help_option_names[0]}'", err=True, color=ctx.color)
    typer.echo(f"Erreur : {message}", err=True, color=ctx.color if ctx is not None else None)
