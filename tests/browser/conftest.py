"""The whole system from the Procfile (as `make run` starts it) and one headless Chromium (Debian's
package, driven through /usr/bin/chromedriver) for the browser tests of the web UI."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from tests.e2e.conftest import api, system  # noqa: F401 - the one system of the test session
from tests.support.infra import ROOT

SCREENSHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    if not pathlib.Path(driver_path).exists() or not pathlib.Path(binary).exists():
        pytest.fail("Chromium is missing: `make browser` (apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--window-size=1400,900", "--lang=ru"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


@pytest.fixture()
def browser(chrome, system):  # noqa: F811 - the imported fixture
    """The shared browser, signed out, in Russian, on the system's gateway."""
    from tests.browser.ui import Browser

    b = Browser(chrome, system.gateway_url())
    if not chrome.current_url.startswith(b.base):
        b.open("/login")
    chrome.execute_script("sessionStorage.clear(); localStorage.clear();")
    chrome.execute_cdp_cmd("Network.clearBrowserCookies", {})  # the session cookie (scoped to /api/v1/auth)
    yield b
    if chrome.current_url.startswith(b.base):
        chrome.execute_script("sessionStorage.clear(); localStorage.clear();")
        chrome.execute_cdp_cmd("Network.clearBrowserCookies", {})
    # no script error and nothing the Content-Security-Policy blocked (4xx answers the UI shows are fine)
    problems = [e["message"] for e in chrome.get_log("browser")
                if "Content Security Policy" in e["message"] or "Uncaught" in e["message"]]
    assert not problems, problems
