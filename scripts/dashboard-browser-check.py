#!/usr/bin/env python3
"""The department's dashboard (/ui/) in a real browser (headless Chromium through Selenium).

Run by Tests/SealgateCLITests/DashboardBrowserTests.swift, which owns the gateway:
    dashboard-browser-check.py --url GATEWAY_URL --token ADMIN_TOKEN --out DIR --late UNIT --accepted UNIT
It signs in, reads the campaign counts and compares them with GET /v1/campaign (admin token),
switches language, filters and sorts the units, opens a unit, sees the late unit marked, opens
every page, checks the guard's answers without a session, signs out; screenshots in DIR/*.png
(one at a phone's width, 390 px). Ends with "PASS" or fails with a traceback.
"""

import argparse
import http.client
import json
import os
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait



def gone(old):
    """The page holding `old` was replaced: its element is stale — or, as Chromium sometimes says
    while the next page loads, its node "does not belong to the document"."""

    def check(_driver):
        try:
            old.is_enabled()
            return False
        except Exception:  # StaleElementReferenceException, or that WebDriverException
            return True

    return check

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--late", required=True)
    ap.add_argument("--accepted", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    port = urllib.parse.urlparse(a.url).port

    def raw(method, path, headers=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    # Without a session: every page sends to sign in, every form is 403.
    for page in ["/ui/", "/ui/units/" + a.late, "/ui/datasets", "/ui/keys", "/ui/log"]:
        status, headers, _ = raw("GET", page)
        assert status == 303 and headers["location"] == "/ui/signin", (page, status, headers)
        assert "default-src 'none'" in headers["content-security-policy"], headers
    for form in ["/ui/signout", "/ui/lang"]:
        status, headers, _ = raw("POST", form, {"Content-Type": "application/x-www-form-urlencoded"}, "csrf=x&lang=en")
        assert status == 403 and headers.get("sealgate-error-code") == "forbidden", (form, status)

    status, _, body = raw("GET", "/v1/campaign", {"Authorization": "Bearer " + a.token})
    assert status == 200, status
    api = json.loads(body)["units"]

    opts = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000", "--lang=vi"]:
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)

    def shot(name):
        driver.save_screenshot(os.path.join(a.out, name + ".png"))

    def full_shot(name, width=1280):
        height = driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
        driver.set_window_size(width, min(height + 140, 4000))
        shot(name)
        driver.set_window_size(1280, 1000)

    def click(element_id):
        old = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.ID, element_id).click()
        WebDriverWait(driver, 45).until(gone(old))

    def text(css):
        return driver.find_element(By.CSS_SELECTOR, css).text

    def path():
        return urllib.parse.urlparse(driver.current_url).path

    try:
        driver.get(a.url + "/ui/")
        assert path() == "/ui/signin", driver.current_url
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        shot("01-signin")
        # A wrong token: refused, nothing kept.
        driver.find_element(By.ID, "token").send_keys("sgt_not-a-token")
        click("signin")
        assert "unauthorized" in text(".problem"), text(".problem")
        assert not any(c["name"] == "sealgate_ui" for c in driver.get_cookies())
        driver.find_element(By.ID, "token").send_keys(a.token)
        click("signin")
        assert path() == "/ui/", driver.current_url
        cookies = driver.get_cookies()
        session = [c for c in cookies if c["name"] == "sealgate_ui"]
        assert session and session[0].get("httpOnly") and session[0].get("sameSite") == "Strict", cookies
        assert a.token not in driver.page_source

        # The campaign's counts are GET /v1/campaign's.
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        for key, name in [("registered", "registered"), ("submitted", "submitted"), ("accepted_clean", "accepted_clean"),
                          ("accepted_with_warnings", "accepted_with_warnings"), ("rejected", "rejected"), ("missing", "missing")]:
            shown = int(text("#count-" + key))
            assert shown == api[name], (key, shown, api[name])
        assert int(text("#count-late")) == len(api["late"]), (text("#count-late"), api["late"])
        assert a.late in api["late"], api["late"]
        late_row = driver.find_element(By.CSS_SELECTOR, f'tr[data-unit="{a.late}"]')
        assert "late" in late_row.get_attribute("class"), late_row.get_attribute("class")
        assert "TRỄ" in late_row.text, late_row.text
        full_shot("02-campaign-vi")

        # English by the switch, remembered.
        click("lang-switch")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        assert text("h1") == "Campaign", text("h1")
        assert "LATE" in driver.find_element(By.CSS_SELECTOR, f'tr[data-unit="{a.late}"]').text
        full_shot("03-campaign-en")

        # Filter by name and state, sort by state.
        box = driver.find_element(By.ID, "q")
        box.clear()
        box.send_keys(a.accepted)
        click("apply")
        rows = driver.find_elements(By.CSS_SELECTOR, "#units tbody tr")
        assert [r.get_attribute("data-unit") for r in rows] == [a.accepted], [r.get_attribute("data-unit") for r in rows]
        driver.get(a.url + "/ui/?sort=state")
        states = [r.get_attribute("data-state") for r in driver.find_elements(By.CSS_SELECTOR, "#units tbody tr")]
        assert states and states[0] == "missing" and states[-1].startswith("accepted"), states

        # A unit: its registration, keys, packages, findings by rule; the late unit marked.
        driver.get(a.url + "/ui/units/" + a.accepted)
        assert text("#unit-id") == a.accepted
        assert len(driver.find_elements(By.CSS_SELECTOR, "#packages tbody tr")) >= 1
        full_shot("04-unit")
        driver.get(a.url + "/ui/units/" + a.late)
        assert text("#unit-late") == "LATE", driver.page_source[:2000]

        for page, heading in [("/ui/datasets", "Datasets"), ("/ui/keys", "Keys & trust"), ("/ui/log", "Transparency log")]:
            driver.get(a.url + page)
            assert text("h1") == heading, (page, text("h1"))
            full_shot("05-" + page.rsplit("/", 1)[1])
        assert driver.find_elements(By.ID, "log-verified"), driver.page_source[:3000]
        assert int(text("#log-size")) > 0

        # A phone's width.
        driver.get(a.url + "/ui/")
        driver.set_window_size(390, 844)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        shot("06-campaign-390px")
        assert width <= 400, f"the page is {width}px wide at 390px"
        driver.set_window_size(1280, 1000)

        # Back to Vietnamese, then sign out: the cookie opens nothing afterwards.
        click("lang-switch")
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
        click("sign-out")
        assert path() == "/ui/signin", driver.current_url
        shot("07-signed-out")
        status, headers, _ = raw("GET", "/ui/", {"Cookie": cookie})
        assert status == 303 and headers["location"] == "/ui/signin", status
        driver.get(a.url + "/ui/keys")
        assert path() == "/ui/signin"
    finally:
        driver.quit()
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
