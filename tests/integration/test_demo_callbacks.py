"""The demo's callbacks into the engine: orders above the approval threshold wait for a manager
who decides through one-time links in the demo's mailbox (approve, deny, or no decision before
the timer rejects the order), and the shipping label comes from an external service through the
HTTP custom activity (acknowledged at once, answered later, refused, or down until an incident).
The approval is also clicked in headless Chromium, with the customer's page seeing the outcome live."""
import time

import pytest
import requests

from conftest import Hub, chromium
from test_engine import Process, demo_binary, engine_call, purchase

JSON = {"Accept": "application/json"}


def start_demo(*extra):
    hub = Hub(["--dev-engine", "--loops", "2"])
    demo = Process([demo_binary(), "--hub", f"http://127.0.0.1:{hub.port}", "--port", "0", "--wait-ms", "5000", "--flakiness", "0", *extra],
                   r"open (http://127\.0\.0\.1:\d+)/")
    return hub, demo


@pytest.fixture(scope="module")
def demo_stack():
    hub, demo = start_demo()
    yield hub, demo
    demo.stop()
    assert hub.stop() == 0


def mail_for(demo, order_id, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for mail in requests.get(demo.url + "/mailbox.json", timeout=5).json():
            if mail["orderId"] == order_id:
                return mail
        time.sleep(0.2)
    raise AssertionError(f"no email for {order_id}")


def big_order(demo, **simulate):
    r = purchase(demo, {"item": "laptop", "quantity": 30, "simulate": simulate}, wait=0)
    assert r.status_code == 202, r.text
    return r.json()


def final(demo, order, wait_ms=20000):
    r = requests.get(demo.url + f"/purchase/{order['key']}?wait={wait_ms}", timeout=wait_ms / 1000 + 10)
    assert r.status_code in (200, 422), (r.status_code, r.text)
    return r.status_code, r.json()


def test_an_approved_big_order_ships_with_a_label_from_the_callback_service(demo_stack):
    _, demo = demo_stack
    order = big_order(demo)
    mail = mail_for(demo, order["orderId"])
    assert set(mail["links"]) == {"approve", "deny"} and "750" in mail["body"]
    assert requests.get(mail["links"]["approve"], timeout=5).status_code == 200      # looking does nothing
    assert requests.post(mail["links"]["approve"], headers=JSON, timeout=10).json()["state"] == "used"
    status, body = final(demo, order)
    assert status == 200 and body["outcome"]["data"]["decision"] == "approved"
    assert body["outcome"]["data"]["trackingNumber"].startswith("TRK") and body["outcome"]["data"]["carrier"] == "demo-post"


def test_a_denied_order_fails_with_the_managers_reason(demo_stack):
    _, demo = demo_stack
    order = big_order(demo)
    mail = mail_for(demo, order["orderId"])
    assert requests.post(mail["links"]["deny"], headers=JSON, timeout=10).status_code == 200
    assert requests.post(mail["links"]["approve"], headers=JSON, timeout=10).status_code == 409
    status, body = final(demo, order)
    assert status == 422 and body["outcome"]["data"]["reason"] == "rejected by the manager"


def test_small_orders_need_no_approval_and_a_refused_label_fails_the_order(demo_stack):
    _, demo = demo_stack
    ok = purchase(demo, {"item": "pen", "quantity": 2, "simulate": {"reliable": True}}, wait=15000)
    assert ok.status_code == 200 and ok.json()["outcome"]["data"]["trackingNumber"].startswith("TRK")
    refused = purchase(demo, {"item": "anvil", "quantity": 1, "simulate": {"labelRefused": True, "reliable": True}}, wait=15000)
    assert refused.status_code == 422 and refused.json()["outcome"]["data"]["errorCode"] == "LABEL_REFUSED"


def test_a_label_service_that_stays_down_becomes_an_incident_saying_why(demo_stack):
    hub, demo = demo_stack
    r = purchase(demo, {"item": "crate", "quantity": 1, "simulate": {"labelServiceDown": True, "reliable": True}}, wait=0)
    instance = r.json()["processInstanceKey"]
    deadline = time.time() + 30
    while True:
        items = engine_call(hub.http(""), "POST", "/v2/incidents/search", {"filter": {"processInstanceKey": instance}}).json()["items"]
        if items:
            break
        assert time.time() < deadline, "no incident"
        time.sleep(0.5)
    assert "503" in items[0]["errorMessage"] and "label printer is busy" in items[0]["errorMessage"]


def test_nobody_deciding_in_time_rejects_the_order():
    hub, demo = start_demo("--approval-timeout", "PT2S")
    try:
        order = big_order(demo)
        mail = mail_for(demo, order["orderId"])
        status, body = final(demo, order)
        assert status == 422 and body["outcome"]["data"]["reason"] == "no manager decision within PT2S"
        assert requests.get(mail["links"]["approve"], timeout=5).status_code == 410, "the links expired with the approval"
    finally:
        demo.stop()
        assert hub.stop() == 0


def test_the_manager_approves_from_the_mailbox_in_a_real_browser_and_the_customer_sees_it_live(demo_stack, tmp_path):
    _, demo = demo_stack
    driver = chromium(window_size="1200,900")
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import Select, WebDriverWait

    # The page re-renders rows as outcomes arrive: an element found a moment ago may be replaced.
    # While the page navigates after a submit, Chromium may report the old document's element as
    # stale or, as CI once saw, as "Node with given id does not belong to the document" (a plain
    # WebDriverException): both mean "look again". A real failure still ends in a timeout.
    wait = WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException, WebDriverException])
    try:
        driver.get(demo.url + "/")
        shop = driver.current_window_handle
        Select(driver.find_element(By.ID, "scenario")).select_by_value("approval")
        driver.find_element(By.ID, "place").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#orders tr") and "awaiting the manager" in d.find_element(By.CSS_SELECTOR, "#orders tr").text)
        order_id = driver.find_element(By.CSS_SELECTOR, "#orders tr td").text

        driver.switch_to.new_window("tab")
        mail_for(demo, order_id)
        driver.get(demo.url + "/mailbox")
        mail = driver.find_element(By.CSS_SELECTOR, f'article[data-order="{order_id}"]')
        driver.get(mail.find_element(By.CSS_SELECTOR, "a.approve").get_attribute("href"))
        assert "Approve order " + order_id in driver.title
        driver.save_screenshot(str(tmp_path / "confirmation.png"))
        driver.find_element(By.CSS_SELECTOR, "form button").click()
        wait.until(lambda d: "was recorded" in d.find_element(By.TAG_NAME, "main").text)

        driver.switch_to.window(shop)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#orders tr").get_attribute("data-status") == "completed")
        row = driver.find_element(By.CSS_SELECTOR, "#orders tr")
        assert "shipped" in row.text and "approved" in row.text and "TRK" in row.text
        driver.save_screenshot(str(tmp_path / "shipped.png"))
    finally:
        driver.quit()
