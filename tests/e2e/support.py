"""What every browser journey does on every page: axe-core, the 360-px layout, the language,
visible keyboard focus; and the words of the pages in Thai or English, from LCA's own catalogue."""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
from axe_playwright_python.sync_playwright import Axe
from babel.support import Translations
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from lca.ops.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, PEOPLE

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
#: axe impacts that fail a journey; "moderate" and "minor" ones are counted and reported
BLOCKING = ("serious", "critical")
NAMES = {email: {"th": th, "en": en} for email, th, en, *_ in PEOPLE}
_CATALOGUE = Translations.load(str(ROOT / "lca/translations"), ["th"])


class Words:
    """The text LCA shows for an English message id, in the journey's language."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, msgid: str, **values) -> str:
        text = _CATALOGUE.gettext(msgid) if self.language == "th" else msgid
        return text % values if values else text

    def plural(self, singular: str, plural: str, count: int, **values) -> str:
        """A message with a number in it ("1 hour", "2 hours"), as ngettext picks it."""
        if self.language == "th":
            text = _CATALOGUE.ngettext(singular, plural, count)
        else:
            text = singular if count == 1 else plural
        return text % values if values else text

    def pick(self, thai: str, english: str) -> str:
        """Data (not messages) that the page shows in one language or the other."""
        return thai if self.language == "th" else english

    def name(self, email: str) -> str:
        """A demo person's name as the pages show it."""
        return NAMES[email][self.language]


@dataclass
class AxeLedger:
    """What axe-core saw over the whole run, for the summary at the end."""

    views: list[tuple[str, str, int]] = field(default_factory=list)
    below_threshold: Counter = field(default_factory=Counter)

    def distinct_pages(self) -> set[tuple[str, str]]:
        return {(path, language) for path, language, _width in self.views}


LEDGER = AxeLedger()
AXE = Axe()

# Axe runs through Playwright's evaluate (the DevTools protocol), which the page's
# Content-Security-Policy does not apply to, so the journeys keep LCA's CSP on: no bypass_csp.
AXE_OPTIONS = {"resultTypes": ["violations"]}

OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1)
    .filter((el) => !el.closest(".visually-hidden, .skip-link, [hidden]"))
    .slice(0, 5)
    .map((el) => el.outerHTML.slice(0, 120));
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide};
}"""

# On a phone a data table is a stack of cards: every cell with something in it names its
# column (data-label), or the table sits in a scroll region that is focusable and labelled.
UNREADABLE_TABLES_JS = """() => {
  const problems = [];
  for (const table of document.querySelectorAll("main table")) {
    const region = table.closest("[role=region][tabindex='0'][aria-label]");
    const scrolls = region && region.scrollWidth > region.clientWidth;
    if (scrolls) continue;
    if (table.getBoundingClientRect().width > document.documentElement.clientWidth) {
      problems.push("wider than the screen: " + table.outerHTML.slice(0, 80));
    }
    const head = table.tHead;
    const headHidden = head && head.getBoundingClientRect().height <= 1;
    if (!headHidden) continue;
    for (const cell of table.querySelectorAll("tbody td, tbody th[scope=row]")) {
      if (cell.dataset.label || cell.getAttribute("colspan")) continue;
      // a cell of links or buttons (the row's actions) says what it does by itself
      const bare = [...cell.childNodes].some((node) =>
        node.nodeType === Node.TEXT_NODE ? node.textContent.replace(/[·|,]/g, "").trim()
          : node.nodeType === Node.ELEMENT_NODE && !node.matches("a, button, form, input, label"));
      if (bare) problems.push("cell without data-label: " + cell.outerHTML.slice(0, 100));
    }
  }
  return problems;
}"""

DUPLICATE_IDS_JS = """() => {
  const seen = new Set(), twice = new Set();
  for (const el of document.querySelectorAll("[id]:not(input[type=hidden])")) {
    (seen.has(el.id) ? twice : seen).add(el.id);
  }
  return [...twice];
}"""

FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, what: "nothing focused"};
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  const shadow = style.boxShadow && style.boxShadow !== "none";
  const box = el.getBoundingClientRect();
  const onScreen = box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
    && box.top < innerHeight && box.left < innerWidth;
  return {ok: (outline || shadow) && onScreen, outline: style.outlineStyle + " " +
    style.outlineWidth, shadow: style.boxShadow, onScreen,
    what: el.outerHTML.slice(0, 120)};
}"""


def screenshots_dir(tmp_path: Path) -> Path:
    """docs/screenshots when LCA_SCREENSHOTS says so (make screenshots), else the test's tmp."""
    wanted = os.environ.get("LCA_SCREENSHOTS")
    return (ROOT / wanted) if wanted else tmp_path


class Journey:
    """One journey in one language: its browser contexts, and the checks on every page."""

    def __init__(
        self, browser: Browser, server, language: str, shots: Path, tool: Callable[[str], str]
    ) -> None:
        self.tool = tool  #: the path of a program the journey reads PDFs with
        self.browser = browser
        self.server = server
        self.language = language
        self.t = Words(language)
        self.shots = shots
        self.contexts: list[BrowserContext] = []
        #: page → the URL of every document it loaded, in order; and how many were checked
        self.loads: dict[Page, list[str]] = {}
        self.checked: dict[Page, set[int]] = {}

    def context(self, device: str = "phone", **options) -> BrowserContext:
        viewport = PHONE if device == "phone" else DESKTOP
        phone = {"is_mobile": True, "has_touch": True} if device == "phone" else {}
        context = self.browser.new_context(
            base_url=self.server.url, viewport=viewport, **phone, **options
        )
        context.set_default_timeout(10_000)
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def page(self, device: str = "phone", **options) -> Page:
        return self.context(device, **options).new_page()

    def _watch(self, page: Page) -> None:
        self.loads[page] = []
        self.checked[page] = set()
        page.on("load", lambda loaded: self.loads[loaded].append(loaded.url))

    def check(self, page: Page, language: str | None = None) -> None:
        """The page in the journey's language (or ``language``), with no serious or critical
        axe violation, no sideways scrolling at 360 px and tables a phone can read."""
        page.wait_for_load_state("load")
        path = urlsplit(page.url).path
        language = language or self.language
        expect(page.locator("html")).to_have_attribute("lang", language)
        results = AXE.run(page, options=AXE_OPTIONS).response
        blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
        for violation in results["violations"]:
            if violation["impact"] not in BLOCKING:
                LEDGER.below_threshold[f"{violation['id']} ({violation['impact']})"] += 1
        assert blocking == [], f"axe on {path} ({language}):\n" + describe(blocking)
        # axe no longer reports a repeated id, but a label pointing at one names the wrong field
        # (hidden inputs, such as every form's csrf_token, are not shown to anyone)
        assert page.evaluate(DUPLICATE_IDS_JS) == [], f"ids used twice on {path}"
        viewport = page.viewport_size
        if viewport["width"] != PHONE["width"]:
            page.set_viewport_size(PHONE)
        try:
            overflow = page.evaluate(OVERFLOW_JS)
            assert overflow["scroll"] <= overflow["client"], f"{path} scrolls sideways: {overflow}"
            unreadable = page.evaluate(UNREADABLE_TABLES_JS)
            assert unreadable == [], f"{path}: tables a phone cannot read: {unreadable}"
        finally:
            if viewport["width"] != PHONE["width"]:
                page.set_viewport_size(viewport)
        LEDGER.views.append((page_kind(path), language, viewport["width"]))
        self.checked[page].add(len(self.loads[page]))

    def confirm(self, page: Page, says: str | None = None) -> None:
        """Answer the dialog a destructive button opens (lca/static/js/confirm.js): check it and
        what it says, then go ahead."""
        asked = page.get_by_role("dialog", name=self.t("Are you sure?"))
        expect(asked).to_be_visible()
        if says is not None:
            expect(asked).to_contain_text(says)
        self.check(page)
        asked.locator("[data-confirm-yes]").click()
        expect(asked).to_have_count(0)

    def screenshot(self, page: Page, name: str) -> Path:
        """The screen as it is; on a phone, the page scrolled through to twice its height."""
        phone = page.viewport_size["width"] <= PHONE["width"]
        path = self.shots / f"{name}-{self.language}-{'phone' if phone else 'desktop'}.png"
        png = page.screenshot(animations="disabled", caret="hide", full_page=phone)
        self.save_png(png, path, max_height=2 * PHONE["height"] if phone else None)
        return path

    def sign_in(self, page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
        """Through the sign-in form, in the journey's language; lands on the person's home."""
        page.goto(f"/login?lang={self.language}")
        self.check(page)
        page.get_by_label(self.t("E-mail address")).fill(email)
        page.get_by_label(self.t("Password"), exact=True).fill(password)
        page.get_by_role("button", name=self.t("Sign in")).click()
        expect(page.get_by_role("heading", level=1)).not_to_have_text(self.t("Sign in"))
        self.check(page)
        self.pass_second_step(page)  # staff, then anyone at a first sign-in: the notice
        self.read_privacy_notice(page)

    def pass_second_step(self, page: Page, secret: str = DEMO_TOTP_SECRET) -> None:
        """Staff's second step, when the page asks for it: the authenticator app's code,
        computed from the demo's published key as a phone would (the next one if this 30-second
        step's code was used already by an earlier sign-in)."""
        if urlsplit(page.url).path != "/login/second-step":
            return
        self.check(page)
        for steps_ahead in (0, 1):
            totp = pyotp.TOTP(secret)
            code = totp.at(int(time.time()) + steps_ahead * totp.interval)
            page.get_by_label(self.t("Code from the authenticator app")).fill(code)
            page.get_by_role("button", name=self.t("Continue")).click()
            page.wait_for_load_state()
            if urlsplit(page.url).path != "/login/second-step":
                break
        expect(page).not_to_have_url(re.compile(r"/login/second-step"))
        self.check(page)

    def read_privacy_notice(self, page: Page, keyboard: bool = False) -> None:
        """At a person's first sign-in LCA shows its privacy notice once: check it and say it
        was read (by keyboard: Tab to the button, Enter), which leads on to the page asked for."""
        read = page.get_by_role("button", name=self.t("I have read this notice"))
        if urlsplit(page.url).path != "/privacy" or read.count() == 0:
            return
        expect(page.get_by_role("heading", level=1)).to_have_text(self.t("Privacy notice"))
        self.check(page)
        if keyboard:
            self.tab_to(page, read)
            page.keyboard.press("Enter")
        else:
            read.click()
        expect(page).not_to_have_url(re.compile(r"/privacy(\?|$)"))
        self.check(page)  # the page it leads on to

    @staticmethod
    def save_png(png: bytes, path: Path, max_height: int | None = None) -> None:
        """A small PNG: 256 colours are plenty for pages of text and flat colour."""
        image = Image.open(io.BytesIO(png)).convert("RGB")
        if max_height and image.height > max_height:
            image = image.crop((0, 0, image.width, max_height))
        small = image.quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        small.save(path, optimize=True)

    def pdf_page_png(self, pdf: bytes, tmp_path: Path, width: int = 900) -> bytes:
        """The first page of a PDF rendered as a PNG ``width`` pixels wide (pdftoppm)."""
        source = tmp_path / "render.pdf"
        source.write_bytes(pdf)
        target = tmp_path / "render"
        subprocess.run(
            [
                self.tool("pdftoppm"),
                "-png",
                "-singlefile",
                "-f",
                "1",
                "-l",
                "1",
                "-scale-to-x",
                str(width),
                "-scale-to-y",
                "-1",
                str(source),
                str(target),
            ],
            check=True,
            capture_output=True,
        )
        return (tmp_path / "render.png").read_bytes()

    @staticmethod
    def assert_focus_visible(page: Page) -> None:
        state = page.evaluate(FOCUS_JS)
        assert state["ok"], f"focus not visible: {state}"

    @staticmethod
    def tab_to(page: Page, target, limit: int = 60, key: str = "Tab") -> None:
        """Press Tab until ``target`` has the focus, checking at every stop that focus shows."""
        for _ in range(limit):
            page.keyboard.press(key)
            Journey.assert_focus_visible(page)
            if target.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"{target} not reached in {limit} presses of {key}")

    def finish(self, audit: bool = True) -> None:
        """Close the browsers; with ``audit``, every document any page loaded was checked."""
        unchecked = [
            url
            for page, urls in self.loads.items()
            for number, url in enumerate(urls, start=1)
            if number not in self.checked[page]
        ]
        for context in self.contexts:
            context.close()
        if audit:
            assert unchecked == [], f"pages loaded but never checked: {unchecked}"


def page_kind(path: str) -> str:
    """/hours/12 and /hours/13 are one page: ids, codes and tokens left out."""
    return re.sub(r"/(?=[^/]*\d)[^/]+|/[^/]{20,}", "/…", path)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['html'][:160]}")
            lines.append(f"      {node['failureSummary'][:300]!r}")
    return "\n".join(lines)
