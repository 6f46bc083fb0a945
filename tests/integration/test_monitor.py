"""The dev engine's monitoring page in headless Chromium: a running demo order drawn from its
BPMN diagram with the path taken and the waiting element highlighted, live; an incident listed
with its message and resolved with the page's Retry button; and the hub dashboard linking the page.
Screenshots go to pytest's tmp_path (kept by pytest for the last runs)."""
import requests
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import chromium
from test_demo_callbacks import big_order, mail_for, start_demo
from test_engine import engine_call

FAILING = (b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           b'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"><bpmn:process id="monitor-fails" name="Fails once" isExecutable="true">'
           b'<bpmn:startEvent id="s"/><bpmn:serviceTask id="Flaky" name="Flaky step"><bpmn:extensionElements>'
           b'<zeebe:taskDefinition type="monitor-flaky" retries="1"/></bpmn:extensionElements></bpmn:serviceTask><bpmn:endEvent id="e"/>'
           b'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Flaky"/><bpmn:sequenceFlow id="f2" sourceRef="Flaky" targetRef="e"/>'
           b'</bpmn:process></bpmn:definitions>')


def peak(text):
    """The plot's "(peak N)" as a number (0 when absent)."""
    import re
    m = re.search(r"peak ([\d,]+)", text)
    return int(m.group(1).replace(",", "")) if m else 0


def classes(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector).get_attribute("class").split()


def settled(driver, read):
    """`read(driver)` retried while the page redraws under it (it re-renders each second)."""
    return WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: (read(d),))[0]


def click_retry(driver):
    driver.find_element(By.CSS_SELECTOR, "#incidents tr button.retry").click()
    return True


def test_the_monitoring_page_shows_a_running_order_on_its_diagram_and_retries_an_incident(tmp_path):
    hub, demo = start_demo()
    driver = chromium(window_size="1500,1100")
    try:
        order = big_order(demo)
        mail_for(demo, order["orderId"])  # the order now waits for the manager's decision
        found = engine_call(hub.http(""), "POST", "/v2/process-instances/search",
                            {"filter": {"processDefinitionId": "order-fulfilment", "state": "ACTIVE"}}).json()["items"]
        [instance] = [i for i in found if i["processInstanceKey"]]
        key = instance["processInstanceKey"]

        driver.get(hub.http("/"))
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "engine").is_displayed())
        # The dashboard's webhook panel reads the public totals (none registered here).
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "w-endpoints").text == "0")
        driver.find_element(By.ID, "engine").click()
        WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/dev-engine"))
        driver.get(hub.http(f"/dev-engine#instance={key}"))
        wait = WebDriverWait(driver, 15, ignored_exceptions=(StaleElementReferenceException,))
        wait.until(lambda d: "active" in classes(d, '[data-element="WaitForApproval"]'))
        assert "done" in settled(driver, lambda d: classes(d, '[data-element="ChargePayment"]'))
        assert "taken" in settled(driver, lambda d: classes(d, '[data-flow="Flow_toPayment"]'))
        assert "taken" not in settled(driver, lambda d: classes(d, '[data-flow="Flow_expired"]'))
        assert "active" not in settled(driver, lambda d: classes(d, '[data-element="CreateLabel"]'))
        assert settled(driver, lambda d: d.find_element(By.ID, "title").text).endswith("ACTIVE")
        names = settled(driver, lambda d: [td.text for td in d.find_elements(By.CSS_SELECTOR, "#variables tr td:first-child")])
        assert "orderId" in names
        driver.save_screenshot(str(tmp_path / "waiting-for-approval.png"))

        # Live: the manager approves, and the page moves on without a reload.
        mail = mail_for(demo, order["orderId"])
        assert requests.post(mail["links"]["approve"], headers={"Accept": "application/json"}, timeout=10).status_code == 200
        wait.until(lambda d: "done" in classes(d, '[data-element="WaitForApproval"]'))
        wait.until(lambda d: d.find_element(By.ID, "title").text.endswith("COMPLETED"))
        assert "taken" in settled(driver, lambda d: classes(d, '[data-flow="Flow_toDecision"]'))
        driver.save_screenshot(str(tmp_path / "shipped.png"))

        # An incident: listed with its message, resolved by the Retry button (one more retry first).
        r = requests.post(hub.http("/v2/deployments"), files={"resources": ("fails.bpmn", FAILING)}, timeout=10)
        assert r.status_code == 200, r.text
        failing = engine_call(hub.http(""), "POST", "/v2/process-instances", {"processDefinitionId": "monitor-fails"}).json()["processInstanceKey"]
        jobs = engine_call(hub.http(""), "POST", "/v2/jobs/activation", {"type": "monitor-flaky", "timeout": 60000, "maxJobsToActivate": 1}).json()["jobs"]
        engine_call(hub.http(""), "POST", f"/v2/jobs/{jobs[0]['jobKey']}/failure", {"retries": 0, "errorMessage": "the printer is on fire"})
        driver.get(hub.http(f"/dev-engine#instance={failing}"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#incidents tr"))
        row = settled(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#incidents tr").text)
        assert "the printer is on fire" in row and "JOB_NO_RETRIES" in row
        assert settled(driver, lambda d: d.find_element(By.ID, "nodiagram").is_displayed())
        assert "Flaky step" in settled(driver, lambda d: d.find_element(By.ID, "elements").text)
        driver.save_screenshot(str(tmp_path / "incident.png"))
        settled(driver, click_retry)
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#incidents tr"))
        incident = engine_call(hub.http(""), "POST", "/v2/incidents/search", {"filter": {"processInstanceKey": failing}}).json()["items"][0]
        assert incident["state"] == "RESOLVED"
        again = engine_call(hub.http(""), "POST", "/v2/jobs/activation", {"type": "monitor-flaky", "timeout": 60000, "maxJobsToActivate": 1}).json()["jobs"]
        assert len(again) == 1 and again[0]["retries"] == 1, "the job is offered again with the retry the button gave it"
    finally:
        driver.quit()
        demo.stop()
        assert hub.stop() == 0


def test_the_dashboard_plots_rates_explains_tiles_and_inspects_a_key(make_hub, tmp_path):
    hub = make_hub()
    driver = chromium(window_size="1400,1200")
    try:
        driver.get(hub.http("/"))
        wait = WebDriverWait(driver, 15, ignored_exceptions=(StaleElementReferenceException,))
        wait.until(lambda d: d.find_element(By.ID, "v-published").text == "0")
        for i in range(5):
            assert requests.post(hub.http("/v1/outcomes/inspect-1"), json={"status": "progress", "data": {"i": i}}, timeout=5).status_code == 201
        # The rate plot gets a point per second; the published line rises above the baseline.
        wait.until(lambda d: len(d.find_element(By.CSS_SELECTOR, '#plot-rates polyline[data-series="published"]').get_attribute("points").split()) >= 3)
        wait.until(lambda d: peak(d.find_element(By.CSS_SELECTOR, "#plot-rates .now").text) >= 1)
        # The latency plot reads the histogram on /metrics, one point a second.
        wait.until(lambda d: len(d.find_element(By.CSS_SELECTOR, '#plot-latency polyline[data-series="p99"]').get_attribute("points").split()) >= 3)
        assert "p50" in settled(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#plot-latency .now").text)
        released = driver.find_element(By.ID, "v-released").find_element(By.XPATH, "..")
        assert "acked by every subscriber" in released.text, "each tile says what it counts"
        # The key inspector lists the retained outcomes of a key, and says so for an unknown one.
        driver.find_element(By.ID, "key").send_keys("inspect-1")
        driver.find_element(By.CSS_SELECTOR, "#inspector button").click()
        wait.until(lambda d: "5 retained" in d.find_element(By.ID, "inspection").text)
        rows = driver.find_elements(By.CSS_SELECTOR, "#inspection tr")
        assert len(rows) == 6 and rows[1].find_elements(By.TAG_NAME, "td")[0].text == "1"
        driver.save_screenshot(str(tmp_path / "dashboard.png"))
        key = driver.find_element(By.ID, "key")
        key.clear()
        key.send_keys("nothing-here")
        driver.find_element(By.CSS_SELECTOR, "#inspector button").click()
        wait.until(lambda d: "holds nothing" in d.find_element(By.ID, "inspection").text)
    finally:
        driver.quit()
    assert requests.get(hub.http("/v1/keys/bad key"), timeout=5).status_code == 400
