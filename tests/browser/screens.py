"""Screenshots the browser tests take for the README and for review, at a wide and a phone width.

`shoot` always saves (the README's main pages are shot on every run, so a page that breaks fails
there); it writes into docs/screenshots/ only with SCREENSHOTS=update, so an ordinary run leaves the
tree clean. `shoot_both`, which the behaviour tests call at the moment worth showing, saves only with
SCREENSHOTS=update: two full-page pictures per step would double those tests' time on every run.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.browser.pages import Page

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATING = os.environ.get("SCREENSHOTS") == "update"
SCREENSHOTS = DOCS if UPDATING else Path(tempfile.mkdtemp(prefix="screenshots-"))
WIDE, NARROW = 1280, 390


def shoot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the whole page (or only what is in view) as it is now, as docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.mouse.move(0, 0)  # no hover effect in the picture
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    assert path.stat().st_size > 0, name
    return path


def shoot_both(page: Page, name: str, *, in_view: str | None = None) -> None:
    """Save the page at 1280 px (<name>.png) and at 390 px (<name>-390.png), then go back to the width it had.

    With `in_view` (a selector), only the screen is shot, scrolled as a person would see it with that element."""
    if not UPDATING:
        return
    size = page.viewport_size or {"width": WIDE, "height": 900}
    for width, height, shot in ((WIDE, size["height"], name), (NARROW, 844, f"{name}-390")):
        page.set_viewport_size({"width": width, "height": height})
        if in_view:
            # as a link to it (#row-7) would place it, with its scroll margin above
            page.locator(in_view).evaluate("element => element.scrollIntoView()")
        shoot(page, shot, full_page=in_view is None)
    page.set_viewport_size(size)
