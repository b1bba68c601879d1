"""What a person meets in JupyterLab, in a real browser: notebook 06's drawing pads and notebook 03's figures.

JupyterLab serves a copy of the notebooks (smoke profile, outputs in a temporary folder) on a free port with a token;
headless Chromium, driven by Playwright, does what a person does: opens a notebook, runs it all from the *Run* menu,
reads the outputs, draws digits on 06's pads by dragging and by clicking, and presses *Compare*. A failing test
saves a screenshot of the page in its ``tmp_path`` and prints where.

Skipped, with the reason, where Playwright or Chromium is missing (a fresh clone): ``requirements-dev.txt`` installs
Playwright and ``.ci/run`` installs Debian's ``chromium``; Playwright's own browser download is not needed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from utils.stages.digits import PAD_SIDE  # the drawing points below are in the pad's own pixels

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no `chromium` on PATH (.ci/run installs it with apt-get)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -r requirements-dev.txt)")
pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (pip install -r requirements.txt)")

SERVER_START_SECONDS = 90
NOTEBOOK_RUN_SECONDS = 300
KERNEL_REPLY_MS = 30_000

# A "7": the top bar, then the diagonal down to the bottom left, as the points a hand moves through.
SEVEN = [(40, 30), (90, 28), (150, 30), (130, 80), (105, 130), (80, 175)]
# A "1" of separate clicks down the middle.
ONE_BY_CLICKS = [(100, 20), (98, 55), (96, 90), (94, 125), (92, 165)]

# The prompts of the code cells: "[ ]:" not run, "[*]:" running or queued, "[12]:" run.
PROMPTS = "() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'), p => p.textContent)"
# Run All has settled: something ran, nothing runs or waits (an error cancels the queued cells), the kernel is idle.
SETTLED = f"""() => {{
    const prompts = ({PROMPTS})();
    return prompts.some(p => /\\[\\d+\\]/.test(p)) && !prompts.some(p => p.includes('*'))
        && document.querySelector('.jp-Notebook-ExecutionIndicator').dataset.status === 'idle';
}}"""
ERROR_OUTPUTS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output'))
    .filter(output => (output.dataset.mimeType === 'application/vnd.jupyter.stderr'
                       && output.textContent.includes('Traceback'))
                      || Array.from(output.querySelectorAll('.jp-RenderedText'))
                             .some(text => /\\b\\w*Error\\b/.test(text.textContent)))
    .map(output => output.textContent.slice(0, 600))"""
DARK_PIXELS = """canvas => {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let dark = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i + 3] > 0 && pixels[i] < 128) dark += 1;
    return dark;
}"""


def free_port() -> int:
    """A TCP port nobody listens on now (the server is told not to try others, so a race fails loudly)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lab_root(folder: Path) -> Path:
    """A repository to serve: the notebooks copied (JupyterLab saves outputs into them), everything else linked."""
    root = folder / "zero-shot-vision-lab"
    (root / "notebooks").mkdir(parents=True)
    for entry in REPO_ROOT.iterdir():
        if not entry.name.startswith(".") and entry.name not in ("notebooks", "outputs"):
            (root / entry.name).symlink_to(entry)
    for notebook in (REPO_ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy2(notebook, root / "notebooks" / notebook.name)
    return root


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> str:
    """JupyterLab serving :func:`lab_root` in the smoke profile; yields the URL prefix of a notebook (with token)."""
    folder = tmp_path_factory.mktemp("jupyterlab")
    root, port, token = lab_root(folder), free_port(), secrets.token_hex(16)
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("JUPYTER", "ZSL_")) and name not in ("MPLBACKEND", "IPYTHONDIR")}
    environment.update(ZSL_PROFILE="smoke", ZSL_DEVICE="cpu", OMP_NUM_THREADS="1", ZSL_OUTPUTS_DIR=str(folder / "outputs"),
                       # The person's own Jupyter and IPython settings stay out of the test, and the test out of them.
                       JUPYTER_CONFIG_DIR=str(folder / "jupyter_config"), JUPYTER_DATA_DIR=str(folder / "jupyter_data"),
                       JUPYTER_RUNTIME_DIR=str(folder / "jupyter_runtime"), IPYTHONDIR=str(folder / "ipython"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={folder / 'lab_settings'}", f"--LabApp.workspaces_dir={folder / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI runners often run as root
    log_path = folder / "jupyterlab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; its log, {log_path}:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/notebooks/{{notebook}}?token={token}&reset"
    finally:
        server.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's, not a Playwright download)."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path):
    """A fresh page of 1400×1000 pixels."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(KERNEL_REPLY_MS)
    yield page
    page.close()


@contextlib.contextmanager
def screenshot_on_failure(page, tmp_path: Path, name: str):
    """Save ``<tmp_path>/<name>-failure.png`` (the whole page) and print its path if the block raises."""
    try:
        yield
    except BaseException:
        path = tmp_path / f"{name}-failure.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=path, full_page=True)
            print(f"screenshot of the failure: {path}")
        raise


def open_and_run_all(page, lab: str, notebook: str) -> float:
    """Open ``notebook``, wait for its kernel, choose *Run ▸ Run All Cells* and wait for every cell; returns seconds."""
    page.goto(lab.format(notebook=notebook))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=SERVER_START_SECONDS * 1000)
    page.wait_for_selector('.jp-StatusBar-TextItem:has-text("| Idle")', timeout=SERVER_START_SECONDS * 1000)
    started = time.monotonic()
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
    page.wait_for_function(SETTLED, timeout=NOTEBOOK_RUN_SECONDS * 1000, polling=500)
    news = page.get_by_role("button", name="No", exact=True)  # JupyterLab's "official Jupyter news?" toast
    if news.count():
        news.first.click()
    return time.monotonic() - started


def assert_every_cell_ran_without_error(page) -> None:
    errors = page.evaluate(ERROR_OUTPUTS)
    assert not errors, "error outputs:\n" + "\n---\n".join(errors)
    prompts = page.evaluate(PROMPTS)
    assert all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in prompts), f"cells left unrun: {prompts}"


def page_point(pad, x: float, y: float) -> tuple[float, float]:
    """The page coordinates of the point ``(x, y)`` of a pad's own pixels."""
    box = pad.bounding_box()
    return box["x"] + x * box["width"] / PAD_SIDE, box["y"] + y * box["height"] / PAD_SIDE


def drag(page, pad, points) -> None:
    """Press at the first point, move through the others in small steps, release at the last."""
    pad.scroll_into_view_if_needed()
    page.mouse.move(*page_point(pad, *points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*page_point(pad, *point), steps=4)
    page.mouse.up()


def click_dots(page, pad, points) -> None:
    pad.scroll_into_view_if_needed()
    for point in points:
        page.mouse.click(*page_point(pad, *point))


def wait_for_ink(page, canvas, at_least: int) -> None:
    """Wait until the browser's canvas shows ``at_least`` dark pixels: the kernel drew what the pointer did."""
    page.wait_for_function(f"([canvas, n]) => ({DARK_PIXELS})(canvas) >= n", arg=[canvas.element_handle(), at_least],
                           timeout=KERNEL_REPLY_MS)


def dark_pixels(canvas) -> int:
    return canvas.evaluate(DARK_PIXELS)


def compare(page, widget, expected: str) -> str:
    """Press *Compare* and return the new verdict once it has changed and contains ``expected``."""
    verdict = widget.locator(".zsl-digit-verdict")
    before = verdict.inner_text()
    widget.get_by_role("button", name="Compare").click()
    page.wait_for_function("([element, before, text]) => element.innerText !== before && element.innerText.includes(text)",
                           arg=[verdict.element_handle(), before, expected], timeout=KERNEL_REPLY_MS)
    return verdict.inner_text()


def test_notebook_06_runs_and_its_pads_draw_digits_by_drag_and_by_click(lab, page, tmp_path):
    with screenshot_on_failure(page, tmp_path, "06"):
        seconds = open_and_run_all(page, lab, "06_siamese_one_shot.ipynb")
        print(f"06 ran in {seconds:.0f} s")
        assert_every_cell_ran_without_error(page)
        outputs = page.locator(".jp-OutputArea-output")
        assert not outputs.filter(has_text=re.compile(r"Loading widget|Error displaying widget|VBox\(")).count()
        widget = outputs.filter(has=page.locator("canvas.zsl-digit-pad"))
        assert widget.count() == 1
        pads, previews = widget.locator("canvas.zsl-digit-pad"), widget.locator("canvas.zsl-digit-preview")
        assert pads.count() == 2 and previews.count() == 2
        assert dark_pixels(pads.first) == 0  # a white page, ready for black ink

        for index in range(2):  # the same 7 on both pads, dragged
            drag(page, pads.nth(index), SEVEN)
            wait_for_ink(page, pads.nth(index), 3_000)
            wait_for_ink(page, previews.nth(index), 1)  # the 8×8 input shown on release
        widget.screenshot(path=tmp_path / "06-pads-dragged.png")
        dragged = compare(page, widget, "distance")
        print(f"two dragged 7s: {dragged}")
        assert "same digit" in dragged  # one drawing twice: distance 0

        for clear in widget.get_by_role("button", name="clear").all():
            clear.click()
        page.wait_for_function("canvases => canvases.every(canvas => (" + DARK_PIXELS + ")(canvas) === 0)",
                               arg=pads.element_handles(), timeout=KERNEL_REPLY_MS)
        assert "need some ink" in compare(page, widget, "ink")

        for index in range(2):  # the same 1 on both pads, clicked dot by dot
            click_dots(page, pads.nth(index), ONE_BY_CLICKS)
            wait_for_ink(page, pads.nth(index), len(ONE_BY_CLICKS) * 300)  # a dot of 24 px across: ~450 pixels
        widget.screenshot(path=tmp_path / "06-pads-clicked.png")
        clicked = compare(page, widget, "distance")
        print(f"two clicked 1s: {clicked}")
        assert "same digit" in clicked

        for clear in widget.get_by_role("button", name="clear").all():
            clear.click()
        drag(page, pads.nth(0), SEVEN)
        click_dots(page, pads.nth(1), ONE_BY_CLICKS)
        wait_for_ink(page, pads.nth(0), 3_000)
        wait_for_ink(page, pads.nth(1), len(ONE_BY_CLICKS) * 300)
        print(f"a dragged 7 and a clicked 1: {compare(page, widget, 'distance')}")

        widget.locator("select").first.select_option("7")  # a real 7 from the examples menu, against the clicked 1
        widget.get_by_role("button", name="load").first.click()
        page.wait_for_function("verdict => !verdict.innerText.includes('distance')",
                               arg=widget.locator(".zsl-digit-verdict").element_handle(), timeout=KERNEL_REPLY_MS)
        print(f"a real 7 and a clicked 1: {compare(page, widget, 'distance')}")


def test_notebook_03_shows_its_figures(lab, page, tmp_path):
    with screenshot_on_failure(page, tmp_path, "03"):
        seconds = open_and_run_all(page, lab, "03_error_analysis.ipynb")
        print(f"03 ran in {seconds:.0f} s")
        assert_every_cell_ran_without_error(page)
        figures = page.locator('.jp-OutputArea-output[data-mime-type="image/png"] img')
        assert figures.count() >= 3
        sizes = figures.evaluate_all("images => images.map(image => [image.naturalWidth, image.naturalHeight])")
        assert all(width > 100 and height > 100 for width, height in sizes), sizes
