"""What every page carries besides the screens: the theme, the stylesheet and the head script (French, live regions)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

STATIC = Path(__file__).resolve().parent.parent / "ui_static"  # assistant/ui_static, beside this package

# lang="fr" for screen readers, and every element of class "statut" becomes a polite live region, so that
# status changes are announced without moving the focus (gradio renders tabs lazily: observe the DOM).
HEAD = """<script>
document.documentElement.lang = 'fr';
(function () {
  function mark() {
    document.documentElement.lang = 'fr';
    document.querySelectorAll('.statut:not([aria-live])').forEach(function (el) {
      el.setAttribute('role', 'status');
      el.setAttribute('aria-live', 'polite');
    });
  }
  new MutationObserver(mark).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('DOMContentLoaded', mark);
})();
(function () {
  // The territory field: Enter takes what was typed, unless a territory of the list was highlighted with the
  // arrow keys. Left alone, the list's filter highlights its first match as one types, and Enter took it: « Dinan »
  // typed as a new territory opened « Dinan Agglomération ». Leaving the field makes the selector keep the typed
  // text (a listed territory when it is spelt exactly so, otherwise a new one).
  var moved = false;
  function field(e) { return e.target instanceof HTMLInputElement && e.target.closest('#projet'); }
  document.addEventListener('input', function (e) { if (field(e)) moved = false; }, true);
  document.addEventListener('keydown', function (e) {
    if (!field(e)) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') moved = true;
    if (e.key !== 'Enter' || e.isComposing || moved || !e.target.value.trim()) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    e.target.blur();
  }, true);
})();
</script>"""


def theme() -> gr.themes.Base:
    # Dark blue actions on white: contrast ≥ 4.5:1 for text (the default orange is below AA with white text).
    return gr.themes.Default(primary_hue="blue", neutral_hue="slate").set(
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
        button_cancel_background_fill="#b91c1c",
        button_cancel_text_color="white",
        body_text_color_subdued="#374151",
        input_placeholder_color="#4b5563",
    )
