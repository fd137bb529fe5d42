"""The operator console in a real browser (Debian's chromium, driven by Playwright), against the
real binary on 127.0.0.1: sign-in, accounts and keys, a job's page with its video, a forged
cross-site form, sign-out, and no script errors. Screenshots of the main pages are written to
$VIDEOGATE_SCREENSHOTS (default .build/screenshots)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("VIDEOGATE_BINARY", os.path.join(ROOT, ".build/debug/videogate"))
ADMIN = "browser-admin-token"
SHOTS = os.environ.get("VIDEOGATE_SCREENSHOTS", os.path.join(ROOT, ".build/screenshots"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server():
    data = tempfile.mkdtemp(prefix="videogate-browser-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOGATE_")}
    env.update({
        "VIDEOGATE_DATA_DIR": data, "VIDEOGATE_ADMIN_TOKEN": ADMIN, "VIDEOGATE_SANDBOX_SHORT_SIDE": "240",
        "VIDEOGATE_SANDBOX_DELAY_MS": "200", "VIDEOGATE_POLL_INTERVAL_SECONDS": "0", "VIDEOGATE_LOG_LEVEL": "warning",
    })
    log = open(os.path.join(data, "server.log"), "w+")
    process = subprocess.Popen([BINARY, "serve", "--host", "127.0.0.1", "--port", "0"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        port = key = None
        while time.time() < deadline and (port is None or key is None):
            log.seek(0)
            text = log.read()
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
            port = port or (match and match.group(1))
            found = re.search(r"Test key \(shown once\): (\S+)", text)
            key = key or (found and found.group(1))
            assert process.poll() is None, text
            time.sleep(0.1)
        assert port and key, "the server did not start"
        yield {"base": f"http://127.0.0.1:{port}", "port": port, "key": key}
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield instance
        instance.close()


@pytest.fixture()
def page(browser):
    """A fresh browser context, failing the test on any script error, console error, or asset
    that does not load. Pages answered with an error status on purpose (a refused sign-in is 401)
    and API calls the script handles itself (the playground's refused key) are not problems."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = []

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console {message.type}: {message.text}")

    def on_response(response):
        if response.status >= 400 and response.request.resource_type not in ("document", "fetch"):
            problems.append(f"{response.status} {response.request.resource_type} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page
    context.close()
    assert problems == [], problems


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def sign_in(page, server, token=ADMIN):
    page.goto(server["base"] + "/console")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def api(server, method, path, body=None, key=None):
    request = urllib.request.Request(server["base"] + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", f"Bearer {key or server['key']}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_wrong_token_is_refused(page, server):
    sign_in(page, server, token="not-the-admin-token")
    expect(page.get_by_role("alert")).to_have_text("That is not the admin token.")
    shot(page, "console-sign-in")
    page.goto(server["base"] + "/console/accounts")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))


def test_accounts_and_a_key_shown_once_with_names_as_text(page, server):
    sign_in(page, server)
    expect(page.get_by_role("heading", name="Accounts", exact=True)).to_be_visible()
    name = '<script>alert("owned")</script> Acme'
    page.get_by_label("Name").fill(name)
    page.get_by_label("Plan").select_option("pro")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_have_text("Account created.")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    account_url = page.url
    page.get_by_label("Amount (negative removes, never below what is held)").fill("25000")
    page.get_by_role("button", name="Add credits").click()
    expect(page.get_by_role("status")).to_have_text("Credits added.")
    page.get_by_label("Name", exact=True).fill("ci runner")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#secret").input_value()
    assert secret.startswith("vg_test_"), secret
    shot(page, "console-account")
    # The key works, and its secret is on no later page.
    assert api(server, "GET", "/v1/account", key=secret)["success"] is True
    page.goto(account_url)
    assert secret not in page.content()
    expect(page.get_by_role("cell", name="ci runner")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Revoke ")).first.click()
    expect(page.get_by_role("status")).to_have_text("Key revoked.")
    page.goto(server["base"] + "/console/accounts")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    shot(page, "console-accounts")


def test_a_jobs_page_plays_its_video(page, server):
    job = api(server, "POST", "/v1/video", {"prompt": "a red fox in snow <b>bold</b>", "model": "kling-v2.5-turbo-pro", "aspect_ratio": "16:9"})
    job_id = job["request_id"]
    deadline = time.time() + 90
    while time.time() < deadline and job["status"] not in ("completed", "error"):
        time.sleep(0.5)
        job = api(server, "GET", f"/v1/video/{job_id}")
    assert job["status"] == "completed", job
    sign_in(page, server)
    page.get_by_role("link", name="Jobs").click()
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Filter").click()
    shot(page, "console-jobs")
    page.get_by_role("link", name=job_id).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(job_id)
    expect(page.locator(".prompt")).to_have_text("a red fox in snow <b>bold</b>")
    page.wait_for_function("document.querySelector('video#result').readyState >= 1", timeout=30000)
    duration = page.evaluate("document.querySelector('video#result').duration")
    assert 4.5 <= duration <= 5.5, duration
    expect(page.get_by_role("cell", name="capture")).to_be_visible()
    shot(page, "console-job")
    page.get_by_role("link", name="Usage").click()
    page.get_by_label("Environment").select_option("test")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("svg rect.bar[height]:not([height=\"0\"])").first).to_be_visible()
    shot(page, "console-usage")
    page.get_by_role("link", name="Providers").click()
    expect(page.get_by_role("heading", name="Provider credentials")).to_be_visible()
    shot(page, "console-providers")


class EvilSite(BaseHTTPRequestHandler):
    """A page on another site that posts a form to the console as soon as it loads."""
    target = ""

    def do_GET(self):
        body = f"""<!doctype html><title>evil</title>
<form id="f" method="post" action="{self.target}/console/accounts"><input name="name" value="forged-by-evil"></form>
<script>document.getElementById('f').submit()</script>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_forged_cross_site_form_changes_nothing(browser, server):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server)
    expect(page.get_by_role("heading", name="Accounts", exact=True)).to_be_visible()
    EvilSite.target = server["base"]
    # "localhost" is another site than "127.0.0.1" for the browser.
    evil = HTTPServer(("127.0.0.1", 0), EvilSite)
    thread = threading.Thread(target=evil.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://localhost:{evil.server_address[1]}/")
        page.wait_for_load_state("networkidle")
        assert "/console/accounts/acct_" not in page.url
    finally:
        evil.shutdown()
    page.goto(server["base"] + "/console/accounts")
    expect(page.get_by_role("heading", name="Accounts", exact=True)).to_be_visible()
    assert "forged-by-evil" not in page.content()
    context.close()


def test_sign_out_ends_the_session(page, server):
    sign_in(page, server)
    expect(page.get_by_role("heading", name="Accounts", exact=True)).to_be_visible()
    cookies = page.context.cookies()
    session = [c for c in cookies if c["name"] == "vg_console"]
    assert session and session[0]["httpOnly"] and session[0]["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    # The old cookie, put back, no longer signs anyone in.
    page.context.add_cookies(session)
    page.goto(server["base"] + "/console/accounts")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))


def test_the_console_is_usable_on_a_phone_and_by_keyboard(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, server)
    expect(page.get_by_role("heading", name="Accounts", exact=True)).to_be_visible()
    # Nothing wider than the screen but the scrollable tables.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, overflow
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    shot(page, "console-phone")
    context.close()


def test_the_playground_from_a_prompt_to_a_playing_video(page, server):
    page.goto(server["base"] + "/playground")
    page.get_by_label("API key", exact=True).fill("vg_test_not-a-real-key")
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#sign-in-error")).to_have_text("That API key is not valid.")
    page.get_by_label("API key", exact=True).fill(server["key"])
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#balances")).to_contain_text("credits:")
    page.get_by_label("Prompt", exact=True).fill("a paper boat on a rainy street <i>")
    page.get_by_label("Model", exact=True).select_option("wan-2.5")
    page.get_by_label("Aspect ratio").select_option("9:16")
    page.get_by_label("Duration in seconds").select_option("5")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#current-status")).to_contain_text(re.compile("Waiting|Rendering|Completed"))
    expect(page.locator("#current-status")).to_contain_text("Completed", timeout=90000)
    page.wait_for_function("document.querySelector('#result-video').readyState >= 1", timeout=30000)
    width, height = page.evaluate("[document.querySelector('#result-video').videoWidth, document.querySelector('#result-video').videoHeight]")
    assert height > width, (width, height)
    href = page.get_by_role("link", name="Download the MP4").get_attribute("href")
    assert href and "/files/" in href
    expect(page.locator("#recent")).to_contain_text("a paper boat on a rainy street <i>")
    shot(page, "playground")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key", exact=True)).to_be_visible()


def test_the_playground_sends_a_start_image(page, server, tmp_path):
    start = tmp_path / "start.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=orange:s=640x360", "-frames:v", "1", str(start)], check=True)
    page.goto(server["base"] + "/playground")
    page.get_by_label("API key", exact=True).fill(server["key"])
    page.get_by_role("button", name="Use this key").click()
    expect(page.locator("#balances")).to_contain_text("credits:")
    page.get_by_label("Model", exact=True).select_option("kling-v2.5-turbo-pro-i2v")
    page.get_by_label("Prompt", exact=True).fill("the orange wall comes alive")
    page.set_input_files("#image", str(start))
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#current-status")).to_contain_text("Completed", timeout=90000)
    page.wait_for_function("document.querySelector('#result-video').readyState >= 1", timeout=30000)
    job = api(server, "GET", "/v1/video/" + page.locator("#current-id").inner_text())
    assert job["mode"] == "image-to-video" and job["status"] == "completed", job
