"""PNG charts for deliverables: small multiples of horizontal bars, drawn with Pillow.

matplotlib is not a dependency of the project; Pillow already is (through gradio), and small multiples are
all the deliverables need: one panel per indicator, because indicators have different units and a shared axis
would crush the small values. Each panel has its own scale, starting at zero, and writes every value in French.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

__all__ = ["Bar", "Panel", "draw_panels", "charts_available"]

_FONT_FILES = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf")
_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
              "/usr/share/fonts/dejavu", "/Library/Fonts", "C:/Windows/Fonts")
_PALETTE = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#843c0c", "#375623")
_WIDTH = 1200
_PANEL_HEIGHT_PER_BAR = 34
_MARGIN = 24


@dataclass
class Bar:
    label: str
    value: float | None
    text: str = ""  # the value as shown (unit, French decimals); defaults to the raw number
    colour: str = ""  # fixed colour (e.g. baseline vs target); by default one colour per label


@dataclass
class Panel:
    title: str
    bars: list[Bar] = field(default_factory=list)
    note: str = ""


def charts_available() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def _font(size: int, bold: bool = False):
    from PIL import ImageFont

    names = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf") if bold else _FONT_FILES
    for folder in _FONT_DIRS:
        for name in names:
            path = Path(folder) / name
            if path.is_file():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)  # Pillow's own font: Latin-1 accents are covered


def _fit(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def draw_panels(path: Path, title: str, panels: list[Panel], *, footer: str = "") -> Path:
    """Write a PNG with one panel per indicator; bars without a value are labelled « non disponible »."""
    try:
        from PIL import Image, ImageDraw
    except ImportError as e:  # pragma: no cover - Pillow ships with gradio
        raise ConfigError("Pillow n'est pas installé : graphique impossible",
                          fix="relancez « bash scripts/setup.sh »") from e
    panels = [p for p in panels if p.bars]
    if not panels:
        raise ConfigError("Aucune valeur à représenter", fix="ajoutez des valeurs chiffrées avant le graphique")
    title_font, panel_font, text_font, small = _font(26, True), _font(19, True), _font(17), _font(14)
    columns = 2 if len(panels) > 3 else 1
    col_width = (_WIDTH - _MARGIN * (columns + 1)) // columns
    heights = [40 + _PANEL_HEIGHT_PER_BAR * len(p.bars) + (22 if p.note else 0) + 16 for p in panels]
    rows = [heights[i:i + columns] for i in range(0, len(heights), columns)]
    height = 70 + sum(max(r) for r in rows) + (40 if footer else 10)
    image = Image.new("RGB", (_WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((_MARGIN, 18), _fit(draw, title, title_font, _WIDTH - 2 * _MARGIN), fill="#222222", font=title_font)
    labels = sorted({b.label for p in panels for b in p.bars}, key=[b.label for p in panels for b in p.bars].index)
    colours = {label: _PALETTE[i % len(_PALETTE)] for i, label in enumerate(labels)}
    y = 70
    for r, row in enumerate(rows):
        for c in range(len(row)):
            panel = panels[r * columns + c]
            x = _MARGIN + c * (col_width + _MARGIN)
            _draw_panel(draw, panel, x, y, col_width, colours, panel_font, text_font, small)
        y += max(row)
    if footer:
        draw.text((_MARGIN, height - 30), _fit(draw, footer, small, _WIDTH - 2 * _MARGIN), fill="#555555",
                  font=small)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path


def _draw_panel(draw, panel: Panel, x: int, y: int, width: int, colours: dict[str, str],
                panel_font, text_font, small) -> None:
    draw.text((x, y), _fit(draw, panel.title, panel_font, width), fill="#222222", font=panel_font)
    label_width = min(260, width // 3)
    value_width = 210
    bar_span = max(40, width - label_width - value_width - 12)
    top = max((b.value for b in panel.bars if b.value is not None), default=0.0)
    # Negative values are rare here (an evolution); they are drawn from zero like the others, as magnitudes.
    scale = bar_span / max(abs(top), max((abs(b.value) for b in panel.bars if b.value is not None), default=0), 1e-9)
    by = y + 34
    for bar in panel.bars:
        draw.text((x, by + 4), _fit(draw, bar.label, text_font, label_width - 8), fill="#333333", font=text_font)
        bx = x + label_width
        if bar.value is None:
            draw.text((bx, by + 4), "non disponible", fill="#888888", font=small)
        else:
            length = max(2, int(abs(bar.value) * scale))
            draw.rectangle([bx, by + 4, bx + length, by + _PANEL_HEIGHT_PER_BAR - 8], fill=bar.colour or colours[bar.label])
            shown = bar.text or f"{bar.value:g}"
            draw.text((bx + length + 6, by + 5), shown, fill="#222222", font=small)
        by += _PANEL_HEIGHT_PER_BAR
    if panel.note:
        draw.text((x, by + 2), _fit(draw, panel.note, small, width), fill="#666666", font=small)
