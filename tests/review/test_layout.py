"""review.html fits a 1,400 px window: no horizontal scroll in headless Chromium, long ARNs and policies wrap,
the architecture view scales down to the page. Each test keeps its screenshot in its tmp directory."""

from __future__ import annotations

import html
import json
import re

import pytest

from drgen.review import build_review
from drgen.scenario import PRESETS

from .test_browser import chromium_run
from .test_diagram import PNG_SIGNATURE

WIDTH, HEIGHT = 1400, 900
# Appended to a copy of the page: writes what the layout measured into the DOM, which --dump-dom prints.
MEASURE = """<script>
window.addEventListener("load", () => {
  const page = document.documentElement;
  const figure = document.querySelector("figure");
  const svg = figure ? figure.querySelector("svg") : null;
  const wide = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > page.clientWidth + 0.5)
    .map((e) => e.tagName + " " + (e.textContent || "").trim().slice(0, 60));
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({
    scrollWidth: page.scrollWidth, clientWidth: page.clientWidth, innerWidth: window.innerWidth,
    figure: figure ? figure.clientWidth : 0, figureScroll: figure ? figure.scrollWidth : 0,
    svg: svg ? svg.getBoundingClientRect().width : 0, svgNatural: svg ? svg.width.baseVal.value : 0,
    wide: wide.slice(0, 10),
  });
  document.body.appendChild(out);
});
</script>"""


def measure(chromium: str, page, work) -> dict:
    probe = work / "measure.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "\n</body>"), encoding="utf-8")
    dom, console = chromium_run(chromium, probe, work, f"--window-size={WIDTH},{HEIGHT}", "--dump-dom")
    assert console == []
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.DOTALL)
    assert found, dom[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_review_html_has_no_horizontal_scroll_at_1400_px(name, chromium, bundle_root, tmp_path):
    page = tmp_path / "review.html"
    page.write_bytes(build_review(bundle_root / name, [], [], None)["review.html"])
    screenshot = tmp_path / f"{name}-review-{WIDTH}x{HEIGHT}.png"
    _, console = chromium_run(chromium, page, tmp_path, f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={screenshot}")
    assert console == []
    assert screenshot.read_bytes().startswith(PNG_SIGNATURE)
    print(f"\n{name}: screenshot {screenshot}")
    measured = measure(chromium, page, tmp_path)
    print(f"{name}: {measured}")
    assert measured["innerWidth"] == WIDTH
    # clientWidth is the window less the vertical scroll bar; a wider document would scroll sideways
    assert measured["scrollWidth"] <= measured["clientWidth"] <= WIDTH, measured["wide"]
    assert measured["wide"] == []
    # the architecture view scales to the page instead of scrolling inside its figure
    assert 0 < measured["svg"] <= measured["figure"] and measured["figureScroll"] <= measured["figure"]
    assert measured["svg"] == pytest.approx(min(measured["svgNatural"], measured["figure"]), abs=2)
