"""Open the rendered reports in headless Chromium: every figure loads, no error output shows.

A small script is added to a copy of each page; after the load event it writes into the page
title how many images failed to decode (naturalWidth == 0), how many error outputs and code
inputs are visible, and `--dump-dom` returns the page with that title. Screenshots of every
page are written to $SRO_SCREENSHOT_DIR when set (for a human to look at).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sro_analysis.notebooks import NOTEBOOKS
from sro_analysis.reports import render_reports

pytestmark = pytest.mark.browser

CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = Array.from(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  var noAlt = imgs.filter(function (i) { return !(i.getAttribute("alt") || "").trim(); }).length;
  var errors = document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output.jp-mod-error').length;
  var code = document.querySelectorAll(".jp-InputPrompt, .jp-CodeMirrorEditor").length;
  document.title = "CHECK images=" + imgs.length + " broken=" + broken + " noalt=" + noAlt +
                   " errors=" + errors + " code=" + code;
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must have headless chromium (apt-get install chromium)")
    pytest.skip("no chromium on this machine (apt-get install chromium)")


def _flags(profile: Path) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={profile}"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from sro_analysis import synthetic
    from sro_analysis.clean import clean

    root = tmp_path_factory.mktemp("browser")
    synthetic.write_release(root / "raw", n_incidents=1000, seed=7)
    dataset = clean("synthetic", root / "raw", progress=False).save(root / "dataset")
    return render_reports(dataset, root / "site", title="Synthetic demo district", progress=False)


@pytest.mark.parametrize("stem", [n.stem for n in NOTEBOOKS])
def test_page_loads_with_every_figure_and_no_error(stem, site, tmp_path):
    browser = _chromium()
    page = site.index.parent / f"{stem}.html"
    probe = page.with_name(f".probe-{stem}.html")  # beside the page: same relative links
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECK + "</body>"), encoding="utf-8")
    try:
        dom = subprocess.run([browser, *_flags(tmp_path / "profile"), "--virtual-time-budget=10000", "--dump-dom",
                              probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    finally:
        probe.unlink()
    title = re.search(r"<title>(CHECK[^<]*)</title>", dom)
    assert title, f"the check script did not run in {stem}: {dom[:300]!r}"
    counts = dict(pair.split("=") for pair in title.group(1).split()[1:])
    assert int(counts["images"]) >= 1, counts
    assert counts["broken"] == "0" and counts["noalt"] == "0", counts
    assert counts["errors"] == "0" and counts["code"] == "0", counts

    shots = os.environ.get("SRO_SCREENSHOT_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        subprocess.run([browser, *_flags(tmp_path / "profile-shot"), "--window-size=1280,2000",
                        f"--screenshot={Path(shots) / (stem + '.png')}", page.as_uri()],
                       capture_output=True, timeout=120, check=True)


def test_index_opens(site, tmp_path):
    dom = subprocess.run([_chromium(), *_flags(tmp_path / "profile"), "--dump-dom", site.index.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    links = re.findall(r'<a href="([^"]+)"', dom)
    assert links[:len(NOTEBOOKS)] == [f"{n.stem}.html" for n in NOTEBOOKS]
