"""A real headless browser for the web pages' tests: Debian's chromium, driven by Selenium
through Debian's chromedriver (nothing downloads a browser of its own); skipped with the
reason where the machine has neither. Screenshots go to ``test-artefacts/``."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
NO_BROWSER = (
    "no Debian chromium and chromium-driver on this machine (apt-get install chromium chromium-driver)"
)
needs_a_browser = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=NO_BROWSER)

ARTEFACTS = Path(
    os.environ.get("GOMFLOW_TEST_ARTEFACTS", Path(__file__).resolve().parents[2] / "test-artefacts")
)
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
WAIT = 30.0  # seconds: generous, for a busy machine


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


async def in_browser(driver: Any, call: str, *args: Any) -> Any:
    """A Selenium call, off the event loop: the page's requests are served by this loop."""
    return await asyncio.to_thread(getattr(driver, call), *args)


async def until(driver: Any, script: str, what: str) -> Any:
    """Wait for ``script`` (JavaScript returning a value) to return something true."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + WAIT
    while loop.time() < ends:
        found = await in_browser(driver, "execute_script", script)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"the page never showed {what}")


async def screenshot(driver: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / f"{name}.png"
    await in_browser(driver, "save_screenshot", str(shot))
    assert shot.stat().st_size > 10_000, f"{shot} is blank"
    return shot
