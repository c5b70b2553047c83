#!/usr/bin/env python3
"""The clerk's desk in a real browser (headless Chromium through Selenium), as a clerk uses it.

Run by Tests/SealgateCLITests/DeskBrowserTests.swift, which owns the gateway and the desk:
    desk-browser-check.py --url OPEN_URL --out DIR --messy FILE[,FILE] --fixed FILE[,FILE] \
        [--fixed-csv A.csv,B.csv] --passphrase P --citizen-id ID
(FILE: a .xlsx workbook or CSV files; --fixed-csv, for the second package, defaults to --fixed)
The script says "STEP gateway-down" (and waits for a line on stdin) when the test should stop
the gateway, "STEP gateway-up" when it should start it again; it ends with "PASS" or fails with a
traceback. Screenshots go to DIR/*.png.
"""

import argparse
import http.client
import os
import re
import sys
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
    ap.add_argument("--out", required=True)
    ap.add_argument("--messy", required=True)
    ap.add_argument("--fixed", required=True)
    ap.add_argument("--fixed-csv")
    ap.add_argument("--passphrase", required=True)
    ap.add_argument("--citizen-id", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    # Every path of the desk is under the launch's secret prefix, /s/<secret>.
    base = a.url.split("/open?")[0]
    port = int(urllib.parse.urlparse(base).port)
    bp = urllib.parse.urlparse(base).path
    assert re.fullmatch(r"/s/[A-Za-z0-9_-]{43}", bp), bp

    opts = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000", "--lang=vi"]:
        opts.add_argument(arg)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)

    def shot(name):
        driver.save_screenshot(os.path.join(a.out, name + ".png"))

    def wait_path(prefix, timeout=45):
        end = time.time() + timeout
        while time.time() < end:
            path = urllib.parse.urlparse(driver.current_url).path
            if path.startswith(bp + prefix):
                return
            time.sleep(0.3)
        raise AssertionError(f"never reached {prefix}: at {driver.current_url}\n{driver.page_source[:2000]}")

    def click(element_id):
        """Clicks a button and waits for the page it leads to (the old one gone)."""
        old = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.ID, element_id).click()
        WebDriverWait(driver, 45).until(gone(old))

    def text(css):
        return driver.find_element(By.CSS_SELECTOR, css).text

    def upload(paths):
        driver.find_element(By.ID, "files").send_keys("\n".join(paths))
        click("upload")
        wait_path("/findings")

    def seal(passphrase):
        box = driver.find_element(By.ID, "passphrase")
        assert box.get_attribute("type") == "password" and box.get_attribute("autocomplete") == "off"
        box.send_keys(passphrase)
        click("seal")

    def cookie_header():
        return "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())

    def raw(method, path, headers, body=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    try:
        # The opening link: exchanged for the session cookie, then a URL without the key.
        driver.get(a.url)
        wait_path("/")
        assert "key=" not in driver.current_url, driver.current_url
        cookie = driver.get_cookies()
        assert any(
            c["name"] == "sealgate_desk" and c.get("httpOnly") and c.get("sameSite") == "Strict" and c.get("path") == bp + "/" for c in cookie
        ), cookie
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
        shot("01-home")

        # A clerk's messy file: the findings shown, with counts and a CSV for Excel.
        upload(a.messy.split(","))
        errors = int(text("#error-count"))
        assert errors > 0, "the messy file shows no errors"
        rows = driver.find_elements(By.CSS_SELECTOR, "#findings tbody tr")
        assert len(rows) >= errors, (len(rows), errors)
        assert "Số CCCD" in driver.page_source or "citizen_id" in driver.page_source
        if a.messy.endswith(".xlsx"):
            # A workbook's findings name its sheet ("Đảng viên") and the Excel row.
            assert "Đảng viên" in text("#findings"), text("#findings")
        shot("02-findings")
        status, headers, body = raw("GET", bp + "/findings.csv", {"Host": f"127.0.0.1:{port}", "Cookie": cookie_header()})
        assert status == 200 and body.startswith(b"\xef\xbb\xbf"), (status, body[:20])
        assert "text/csv" in headers["content-type"] and "attachment" in headers["content-disposition"]
        assert "Cách sửa" in body.decode("utf-8")

        # English by the switch, remembered on the next page; then back to Vietnamese.
        click("lang-switch")
        wait_path("/findings")
        assert "What the check found" in text("h1"), text("h1")
        driver.get(base + "/history")
        assert "Packages and receipts" in text("h1")
        shot("03-english")
        click("lang-switch")
        wait_path("/history")
        assert "Lịch sử" in text("h1")
        driver.get(base + "/findings")

        # The fixed file: no errors; a wrong passphrase first (a clear message, nothing lost).
        upload(a.fixed.split(","))
        assert text("#error-count") == "0", text("#counts")
        seal("not the passphrase")
        wait_path("/findings")
        problem = text(".problem")
        assert "Mật khẩu không mở được khóa bí mật" in problem, problem
        assert a.passphrase not in driver.page_source and "not the passphrase" not in driver.page_source
        assert text("#error-count") == "0"
        shot("04-wrong-passphrase")

        # Sealed and submitted; the receipt page says what was checked.
        seal(a.passphrase)
        wait_path("/package/")
        outcome = text("#outcome")
        assert "đã nhận gói" in outcome, outcome
        checks = text("#checks")
        assert "Chữ ký của cổng tiếp nhận trên biên nhận này đã được kiểm tra và hợp lệ" in checks, checks
        assert "đã được kiểm tra là có trong sổ nhật ký công khai" in checks, checks
        receipt = text("#receipt")
        for word in ["HCM-U001", "Số thứ tự gói", "Mã gói", "Tổ chức đảng", "Đảng viên"]:
            assert word in receipt, (word, receipt)
        shot("05-receipt")
        driver.set_window_size(390, 900)
        shot("06-receipt-390px")
        driver.get(base + "/findings")
        shot("07-findings-390px")
        driver.set_window_size(1280, 1000)

        driver.get(base + "/history")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 1
        shot("08-history")

        # The gateway down: sealed, kept, a clear message; back up: "send again" works.
        print("STEP gateway-down", flush=True)
        sys.stdin.readline()
        driver.get(base + "/")
        upload((a.fixed_csv or a.fixed).split(","))
        seal(a.passphrase)
        wait_path("/package/")
        kept = text("#kept")
        assert "đã được niêm phong và lưu lại" in kept, kept
        assert "Chưa gửi được" in text(".problem")
        shot("09-gateway-down")
        print("STEP gateway-up", flush=True)
        sys.stdin.readline()
        click("send-again")
        wait_path("/package/")
        end = time.time() + 60
        while not driver.find_elements(By.ID, "outcome") and time.time() < end:
            time.sleep(0.3)
        assert "đã nhận gói" in text("#outcome"), driver.page_source[:2000]
        shot("10-sent-again")

        # A correction a member reported: typed in the form, checked, sealed and sent the same way.
        driver.get(base + "/correction")
        driver.find_element(By.ID, "citizen_id").send_keys(a.citizen_id)
        driver.find_element(By.CSS_SELECTOR, "#field option[value='phone']").click()
        driver.find_element(By.ID, "new_value").send_keys("0912345678")
        driver.find_element(By.ID, "reason").send_keys("Đảng viên báo đổi số điện thoại")
        driver.find_element(By.ID, "reported_at").send_keys("2026-03-01T08:00:00Z")
        click("correction-add")
        wait_path("/correction")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#draft tbody tr")) == 1
        shot("11-correction")
        click("correction-check")
        wait_path("/findings")
        assert text("#error-count") == "0", driver.find_element(By.TAG_NAME, "main").text
        seal(a.passphrase)
        wait_path("/package/")
        assert "đã nhận gói" in text("#outcome"), driver.find_element(By.TAG_NAME, "main").text
        shot("12-correction-receipt")

        # Refused over plain HTTP: another origin's POST, a wrong Host, no cookie, no CSRF token.
        host = f"127.0.0.1:{port}"
        form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header()}
        csrf = driver.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
        body = urllib.parse.urlencode({"csrf": csrf, "lang": "en", "back": "/"})
        s, h, b = raw("POST", bp + "/lang", dict(form, Host=host, Origin="http://evil.example"), body)
        assert s == 403 and b'"code":"forbidden"' in b, (s, b)
        assert "default-src 'none'" in h["content-security-policy"]
        s, h, b = raw("POST", bp + "/lang", dict(form, Host=host, **{"Sec-Fetch-Site": "cross-site"}), body)
        assert s == 403, (s, b)
        s, h, b = raw("POST", bp + "/lang", dict(form, Host=host, Origin="null"), body)
        assert s == 403, ("Origin: null without fetch metadata", s, b)
        s, h, b = raw("GET", bp + "/history", {"Host": f"evil.example:{port}", "Cookie": cookie_header()})
        assert s == 403 and b'"code":"forbidden"' in b and b"HCM-U001" not in b, (s, b)
        s, h, b = raw("GET", bp + "/history", {"Host": host})
        assert s == 403 and b"HCM-U001" not in b, (s, b)
        s, h, b = raw("POST", bp + "/lang", dict(form, Host=host), urllib.parse.urlencode({"csrf": "x" * 43, "lang": "en"}))
        assert s == 403, (s, b)
        s, h, b = raw("GET", urllib.parse.urlparse(a.url).path + "?" + urllib.parse.urlparse(a.url).query, {"Host": host})
        assert s == 403, ("the opening link works twice", s)
        # The right cookie without the path secret (the old paths, another secret): refused.
        other = "/s/" + "A" * 43
        for path in ["/", "/findings.csv", "/history", "/open", other + "/findings.csv", bp[:-1] + "/findings.csv", "/static/desk.css"]:
            s, h, b = raw("GET", path, {"Host": host, "Cookie": cookie_header()})
            assert s == 403 and b'"code":"forbidden"' in b and b"HCM-U001" not in b, (path, s, b[:200])
        s, h, b = raw("POST", "/lang", dict(form, Host=host), body)
        assert s == 403, ("a form without the path secret", s, b)
        # The language switch's way back stays on the desk (a tab is dropped by a browser: /\t/x is //x).
        evil = urllib.parse.urlencode({"csrf": csrf, "lang": "vi", "back": "/\t/evil.example"})
        s, h, b = raw("POST", bp + "/lang", dict(form, Host=host), evil)
        assert s == 303 and h["location"] == bp + "/", (s, h.get("location"))
        s, h, b = raw("POST", bp + "/lang", dict(form, Host=host), body)
        assert s == 303 and h["location"] == bp + "/", (s, b)
        print("PASS", flush=True)
    except Exception:
        shot("failure")
        with open(os.path.join(a.out, "failure.html"), "w") as f:
            f.write(driver.page_source)
        raise
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
