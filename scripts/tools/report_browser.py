"""Open a Snakemake HTML report in headless Chromium, as a reviewer would, and show its items.

Snakemake's report is a single-page app: its figures and tables are base64 data that only the
page's JavaScript turns into a view, so grepping the HTML proves little. This drives Debian's
Chromium (package `chromium`) through Playwright: open a category, press an item's eye
button, then read the shown <img> or the <iframe> of an HTML table. Used by
tests/workflow/test_report_in_browser.py and, as a command, to make the README's screenshot:

    python scripts/tools/report_browser.py reports/runs/miniature/report.html \
        --category Bench --item per_position_acceptance.png --out reports/runs/miniature/screenshot.png
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

# The flags this machine family's Chromium needs to start headless as root, with no network
# (without the background-networking flags it keeps trying to reach Google's hosts).
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
VIEWPORT = {"width": 1400, "height": 900}


class ReportViewError(RuntimeError):
    """The report did not show what was asked for."""


def chromium_executable() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise ReportViewError(
            "Chromium not found: install Debian's package (`apt-get install -y chromium`, part of"
            " the README's test command)"
        )
    return path


@contextmanager
def open_report(report: Path) -> Iterator[tuple[object, list[str]]]:
    """(page, JavaScript errors seen so far) for `report`, in a fresh headless Chromium."""
    if not report.is_file():
        raise ReportViewError(f"no report at {report}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            load_start_page(page, report.resolve().as_uri())
            yield page, errors
        finally:
            browser.close()


def load_start_page(page, uri: str) -> None:
    """Load the report at `uri` and wait until its JavaScript has drawn the side menu."""
    page.goto(uri)
    page.get_by_text("Workflow", exact=True).first.wait_for(timeout=30_000)


def show_item(page, category: str, item: str) -> None:
    """From the report's start page, open `category` in the side menu and press the eye button
    of the file named `item`."""
    load_start_page(page, page.url.split("#")[0])
    try:
        page.get_by_text(category, exact=True).first.click(timeout=10_000)
        row = page.locator("tr").filter(has_text=item).first
        row.locator("a[iconname=eye]").click(timeout=10_000)
    except PlaywrightTimeout as exc:  # say what was missing
        raise ReportViewError(f"the report has no item {item!r} under {category!r}") from exc


def shown_image_size(page, item: str) -> tuple[int, int]:
    """Pixel size of the figure `item` as the browser decoded it ((0, 0) if it failed)."""
    img = page.locator(f"img[src*='filename={item}']").first
    try:
        img.wait_for(timeout=10_000)
    except PlaywrightTimeout as exc:
        raise ReportViewError(f"figure {item!r} is not shown") from exc
    return tuple(img.evaluate("e => [e.naturalWidth, e.naturalHeight]"))


def shown_html_text(page, item: str) -> tuple[str, list[list[str]]]:
    """(text, table rows as cell texts) of the HTML item `item` shown in the report's frame."""
    frame = page.frame_locator(f"iframe[src*='filename={item}']").first
    try:
        frame.locator("body").wait_for(timeout=10_000)
    except PlaywrightTimeout as exc:
        raise ReportViewError(f"HTML item {item!r} is not shown") from exc
    rows = frame.locator("tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))"
    )
    return frame.locator("body").inner_text(), rows


def screenshot(report: Path, category: str, item: str, out: Path) -> Path:
    """A PNG of the report showing `item` (written to a temp path, then moved)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial.png")
    with open_report(report) as (page, errors):
        show_item(page, category, item)
        page.wait_for_timeout(500)
        page.screenshot(path=str(partial))
        if errors:
            partial.unlink()
            raise ReportViewError(f"JavaScript errors in the report: {errors}")
    partial.replace(out)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", type=Path)
    p.add_argument("--category", required=True)
    p.add_argument("--item", required=True, help="file name of the figure or table to show")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    try:
        print(screenshot(args.report, args.category, args.item, args.out))
    except ReportViewError as exc:
        raise SystemExit(f"report_browser: {exc}") from None


if __name__ == "__main__":
    main()
