"""A thin helper over Selenium for the UI tests: open a path, wait for elements, fill forms, screenshots."""

from __future__ import annotations

from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import SCREENSHOTS

WAIT = 15


class Browser:
    def __init__(self, driver: WebDriver, base: str):
        self.driver = driver
        self.base = base

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def path(self) -> str:
        return self.driver.execute_script("return location.pathname + location.search")

    def find(self, css: str, timeout: float = WAIT) -> WebElement:
        """The first visible element matching `css` (waits for it)."""
        def visible(_):
            for el in self.driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    if el.is_displayed():
                        return el
                except StaleElementReferenceException:
                    continue
            return False
        try:
            return WebDriverWait(self.driver, timeout).until(visible)
        except TimeoutException:
            raise AssertionError(f"no visible element {css!r} at {self.path}") from None

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def gone(self, css: str, timeout: float = WAIT) -> None:
        """Wait until no element matching `css` is displayed (a detached one counts as gone)."""
        def shown(el: WebElement) -> bool:
            try:
                return el.is_displayed()
            except StaleElementReferenceException:
                return False
        try:
            WebDriverWait(self.driver, timeout).until(
                lambda d: not any(shown(e) for e in d.find_elements(By.CSS_SELECTOR, css)))
        except TimeoutException:
            raise AssertionError(f"{css!r} still shown at {self.path}") from None

    def text(self, css: str, contains: str, timeout: float = WAIT) -> WebElement:
        """Wait until an element matching `css` shows `contains`; return it."""
        def has(_):
            for el in self.driver.find_elements(By.CSS_SELECTOR, css):
                try:
                    if contains in el.text:
                        return el
                except StaleElementReferenceException:
                    continue
            return False
        try:
            return WebDriverWait(self.driver, timeout).until(has)
        except TimeoutException:
            seen = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]
            raise AssertionError(f"{css!r} never showed {contains!r} at {self.path}; saw {seen}") from None

    def until(self, predicate, timeout: float = WAIT, message: str = "condition"):
        try:
            return WebDriverWait(self.driver, timeout).until(lambda _: predicate())
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {message} at {self.path}") from None

    def fill(self, css: str, value: str) -> WebElement:
        el = self.find(css)
        el.clear()
        el.send_keys(value)
        return el

    def force(self, css: str, value: str) -> WebElement:
        """Set an input's value by script, past its maxLength (what a browser without it would send), as if
        typed (an `input` event)."""
        el = self.find(css)
        self.driver.execute_script("arguments[0].value = arguments[1];"
                                   "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", el, value)
        return el

    def click(self, css: str) -> WebElement:
        el = self.find(css)
        self.until(el.is_enabled, message=f"{css} enabled")
        el.click()
        return el

    def click_text(self, css: str, contains: str) -> WebElement:
        el = self.text(css, contains)
        el.click()
        return el

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))

    def login(self, email: str, password: str) -> None:
        self.open("/login")
        self.fill("#login-form input[name=email]", email)
        self.fill("#login-form input[name=password]", password)
        self.click("#login-submit")
        self.find("#user-menu-button")

    def log_in_as(self, tokens: dict) -> None:
        """Start a session with tokens got from the API (faster than typing when login is not under test), the
        way the UI keeps one: the access token in the tab, the refresh token in the gateway's httpOnly cookie;
        the next open() starts the app with it."""
        if not self.driver.current_url.startswith(self.base):
            self.open("/login")
        self.driver.execute_script("sessionStorage.setItem('crm.tokens', JSON.stringify(arguments[0]));",
                                   {"access_token": tokens["access_token"]})
        self.driver.add_cookie({"name": "crm_refresh", "value": tokens["refresh_token"], "path": "/api/v1/auth",
                                "httpOnly": True, "secure": True, "sameSite": "Strict"})

    def session_cookie(self) -> dict | None:
        """The session's refresh cookie as the browser holds it (DevTools sees httpOnly cookies, scripts don't;
        WebDriver's own get_cookie only sees those of the page's path, and this one is scoped to /api/v1/auth)."""
        found = self.driver.execute_cdp_cmd("Network.getCookies", {"urls": [self.base + "/api/v1/auth/refresh"]})
        return next((c for c in found["cookies"] if c["name"] == "crm_refresh"), None)

    def refresh_cookie(self) -> str | None:
        cookie = self.session_cookie()
        return cookie["value"] if cookie else None
