"""The real FreqUI 3.1.1, as a trader uses it: Debian's chromium, driven by Selenium through
chromium-driver, logs in to each bot through nginx (a path per bot), opens the trade view
with an open futures position and finds what a futures trader needs on screen: side,
leverage, liquidation price, funding fees, profit. Screenshots: artifacts/frequi/.
Debian 12 instance only (the two instances serve the same files)."""

import os
import re

import pytest
from conftest import REPO, api_password, forced_position
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

INSTANCE = f"{os.environ.get('MOLECULE_INSTANCE', 'molecule')}-bookworm"
testinfra_hosts = [f"ansible://{INSTANCE}"]

SHOTS = REPO / "artifacts" / "frequi"
# bot: (API port, pair, side) of the position the test opens through the bot's API.
POSITIONS = {"rossc": (8101, "BNB/USDT:USDT", "long"), "airisk": (8102, "ADA/USDT:USDT", "short")}
NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"


@pytest.fixture
def position(host, request):
    """An open dry-run futures position on the bot, closed again afterwards."""
    bot = request.param
    port, pair, side = POSITIONS[bot]
    with forced_position(host, port, bot, pair, side) as trade:
        yield bot, trade


def shown_value(text: str, label: str) -> str:
    """The text FreqUI shows after a label of the trade detail (its ValuePair)."""
    found = re.search(rf"{re.escape(label)}\s*\n?\s*([^\n]+)", text)
    assert found, f"{label!r} is not on screen:\n{text[:3000]}"
    return found.group(1).strip()


@pytest.mark.parametrize("position", list(POSITIONS), indirect=True)
def test_futures_position_in_frequi(host, address, browser, position):
    bot, trade = position
    wait = WebDriverWait(browser, 60, ignored_exceptions=[StaleElementReferenceException])
    site = f"https://{address}"
    browser.get(f"{site}/login")
    # FreqUI 3.1.1's form: inputs after their labels (only the URL field has a fixed id).
    fields = {
        "Bot Name": bot,
        "API Url": f"{site}/{bot}",
        "Username": "trader",
        "Password": api_password(host, bot),
    }
    for label, value in fields.items():
        field = wait.until(
            lambda d, label=label: d.find_element(
                By.XPATH, f"//label[normalize-space()='{label}']/following::input[1]"
            )
        )
        field.clear()
        field.send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda d: not d.current_url.rstrip("/").endswith("/login"))

    browser.get(f"{site}/trade")
    pair = trade["pair"]

    def trade_row(d: WebDriver) -> tuple[WebElement, str] | None:
        """The open trade's row and its text, read together: FreqUI redraws the table on
        every refresh, so an element found before may be gone (stale) when read."""
        for r in d.find_elements(By.CSS_SELECTOR, "tbody tr"):
            text = r.text  # "<id> | <Side> <pair> ...": closed trades of the pair show too
            if pair in text and text.startswith(f"{trade['trade_id']} | "):
                return r, text
        return None

    _, row_text = wait.until(trade_row)
    # The open trades table: the side and the leverage beside the stake, and the profit.
    side = "short" if trade["is_short"] else "long"
    assert f"{trade['trade_id']} | {side.capitalize()}" in row_text
    assert f"({trade['leverage']:g}x)" in row_text
    assert re.search(rf"{NUMBER}%", row_text), row_text

    def click_trade_row(d: WebDriver) -> bool:
        """Clicked, or not yet: the row redrawn (stale) or covered (a toast) meanwhile."""
        found = trade_row(d)
        if found is None:
            return False
        try:
            found[0].click()
        except (StaleElementReferenceException, ElementClickInterceptedException):
            return False
        return True

    wait.until(click_trade_row)
    wait.until(lambda d: "Liquidation Price" in d.find_element(By.TAG_NAME, "body").text)
    page = browser.find_element(By.TAG_NAME, "body").text
    text = page[page.index("Trade Id") :]  # the trade detail, below the tables
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{bot}-open-trades.png"))
    futures = browser.find_element(By.XPATH, "//h5[normalize-space()='Futures/Margin']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", futures)
    browser.save_screenshot(str(SHOTS / f"{bot}-trade-detail.png"))

    assert shown_value(text, "Direction") == f"{side} - {trade['leverage']:g}x"
    liquidation = float(re.match(NUMBER, shown_value(text, "Liquidation Price")).group(0))
    assert liquidation == pytest.approx(trade["liquidation_price"], rel=1e-6)
    # A long is liquidated below its entry, a short above.
    assert (liquidation < trade["open_rate"]) != trade["is_short"]
    funding = float(re.match(NUMBER, shown_value(text, "Funding fees")).group(0))
    assert funding == pytest.approx(trade["funding_fees"] or 0.0, abs=1e-6)
    assert shown_value(text, "Pair") == pair
    # Entry fees make a fresh position's profit non-zero, so FreqUI shows it.
    assert re.search(rf"{NUMBER}%", shown_value(text, "Current Profit"))
