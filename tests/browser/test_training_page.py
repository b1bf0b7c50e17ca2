"""The training page in headless Chromium, driven by Selenium: the person's phone and the staff
group side by side, every byte through the real bot over the emulator's Bot API.

Needs Debian's ``chromium`` and ``chromium-driver``; ``./scripts/test.sh`` installs them where
missing. Screenshots of both panes are saved in ``build/test-artifacts/browser/``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from bot.config import Settings
from bot.sandbox_run import SandboxSession, sandbox_session
from tests.conftest import FAST_SENDING

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT = 30.0


class BackgroundSandbox:
    """The sandbox with its training page, on its own event loop in a thread, while Selenium
    (which blocks) drives the browser from the test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.session: SandboxSession | None = None
        self.failure: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the test
            self.failure = exc
            self.ready.set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        settings = replace(Settings(), sending=FAST_SENDING)
        async with sandbox_session(settings, web=True) as session:
            self.session = session
            self.ready.set()
            await self._stop.wait()

    def __enter__(self) -> SandboxSession:
        self.thread.start()
        self.ready.wait(120)
        if self.session is None:
            raise RuntimeError(f"the sandbox did not start: {self.failure!r}")
        return self.session

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(60)


@pytest.fixture
def session() -> Iterator[SandboxSession]:
    with BackgroundSandbox() as running:
        yield running


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "Chromium and ChromeDriver are missing: ./scripts/test.sh installs Debian's "
        "chromium and chromium-driver"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="clgbt-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def until(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(condition, message=what)
    except TimeoutException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "failure.png"))
        raise


# The page redraws a pane whenever the sandbox changes, so elements are found and used in one
# script each time (never kept across a redraw).
def pane_texts(driver: WebDriver, pane: str) -> list[str]:
    texts: list[str] = driver.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} .msg`)].map(m => m.innerText)",
        pane,
    )
    return texts


def has_text(pane: str, fragment: str) -> Callable[[WebDriver], bool]:
    return lambda driver: any(fragment in text for text in pane_texts(driver, pane))


CLICK_BUTTON = """
const [pane, label] = arguments;
const buttons = [...document.querySelectorAll(`#${pane} button.kb`)]
  .filter((b) => b.textContent === label);
if (!buttons.length) return false;
buttons[buttons.length - 1].click();
return true;
"""

CLICK_TOPIC = """
const rows = [...document.querySelectorAll('#topics .topic')]
  .filter((t) => t.textContent.includes(arguments[0]));
if (!rows.length) return false;
rows[0].click();
return true;
"""


def press(driver: WebDriver, pane: str, label: str) -> None:
    """Press the newest inline button with this label, as soon as it is shown."""
    until(
        driver,
        lambda d: d.execute_script(CLICK_BUTTON, pane, label),
        f"a button {label!r} in {pane}",
    )


def write(driver: WebDriver, who: str, text: str) -> None:
    field = driver.find_element(By.ID, f"{who}-input")
    field.send_keys(text)
    driver.find_element(By.ID, f"{who}-send").click()


def screenshot(driver: WebDriver, element_id: str, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    driver.find_element(By.ID, element_id).screenshot(str(path))
    assert path.stat().st_size > 1000
    return path


def test_a_trainee_counsels_on_the_page_and_runs_a_scenario(
    session: SandboxSession, browser: WebDriver
) -> None:
    driver = browser
    driver.get(session.page_url)
    until(
        driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "ready"
    )
    khmer_font = driver.execute_script(
        "return getComputedStyle(document.documentElement).getPropertyValue('--khmer')"
    )
    assert "Noto Sans Khmer" in khmer_font and "Khmer OS" in khmer_font

    # The person: /start, a language, the privacy notice, an article.
    write(driver, "person", "/start")
    press(driver, "person-messages", "English")
    press(driver, "person-messages", "Continue")
    press(driver, "person-messages", "Know your rights")
    press(driver, "person-messages", "Police and local authorities")
    until(
        driver,
        lambda d: any(len(t) > 300 for t in pane_texts(d, "person-messages")),
        "the article",
    )
    write(driver, "person", "/menu")
    press(driver, "person-messages", "Talk to a counsellor")
    press(driver, "person-messages", "Yes, please")
    until(driver, has_text("person-messages", "Your case code is"), "the case code")

    # The staff group: the new topic, claimed and answered as Dara.
    until(driver, lambda d: d.execute_script(CLICK_TOPIC, "·"), "the case topic")
    press(driver, "staff-messages", "Claim")
    until(driver, has_text("staff-messages", "Dara has claimed this case"), "the claim")
    until(driver, has_text("person-messages", "Counsellor Dara is here"), "the person told")
    write(driver, "staff", "Hello, I am Dara. What would you like to ask?")
    until(
        driver,
        has_text("person-messages", "Hello, I am Dara. What would you like to ask?"),
        "the reply in the person's phone",
    )
    write(driver, "person", "Can the police keep my ID card?")
    until(driver, has_text("staff-messages", "Can the police keep my ID card?"), "relayed")
    screenshot(driver, "phone", "person-pane.png")
    screenshot(driver, "staff", "staff-pane.png")

    # A scenario, counselled as Visal, run to its checklist.
    Select(driver.find_element(By.ID, "scenario-select")).select_by_value("quick_exit")
    Select(driver.find_element(By.ID, "scenario-lang")).select_by_value("en")
    Select(driver.find_element(By.ID, "as-staff")).select_by_visible_text("Visal (counsellor)")
    driver.find_element(By.ID, "scenario-start").click()
    until(driver, has_text("person-messages", "share this phone with my mother"), "scenario")
    until(driver, has_text("staff-messages", "share this phone with my mother"), "its topic")
    press(driver, "staff-messages", "Claim")
    until(driver, has_text("staff-messages", "Visal has claimed this case"), "claimed")
    write(driver, "staff", "I am here. You can leave at any time with Quick exit.")
    until(driver, has_text("staff-messages", "The person left with Quick exit"), "the exit")
    write(driver, "staff", "/note Left mid-chat; shared phone")
    until(driver, has_text("staff-messages", "Note saved"), "the note")
    write(driver, "staff", "/close client_withdrew")

    def all_passed(d: WebDriver) -> bool:
        passed: list[str] = d.execute_script(
            "return [...document.querySelectorAll('#checklist li.check')]"
            ".map(li => li.dataset.passed)"
        )
        return passed == ["true"] * 5

    until(driver, all_passed, "every checklist item passed")
    checklist = driver.execute_script("return document.getElementById('checklist').innerText")
    assert "Claimed the case within 10 minutes" in checklist and "claimed by Visal" in checklist
    screenshot(driver, "phone", "scenario-person-pane.png")
    screenshot(driver, "staff", "scenario-staff-pane.png")
    screenshot(driver, "scenario", "scenario-checklist.png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "training-page.png"))
