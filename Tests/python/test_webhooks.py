"""Webhook deliveries checked with the Standard Webhooks reference library (`standardwebhooks`),
as a receiver written against the specification would check them (api.md "Webhooks")."""
import json
import queue
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import admin
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

WAIT_SECONDS = 60


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) in a thread that queues every POST it gets and
    answers with the scripted statuses in order, then 200."""

    def __init__(self, statuses=()):
        self.requests = queue.Queue()
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.put({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def next(self, seconds=WAIT_SECONDS):
        """The next request received within `seconds`, or a test failure."""
        try:
            return self.requests.get(timeout=seconds)
        except queue.Empty:
            pytest.fail(f"no webhook arrived within {seconds} s")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def submit(base_url, key, body):
    request = urllib.request.Request(base_url + "/v1/video", data=json.dumps(body).encode(), method="POST")
    request.add_header("Authorization", "Bearer " + key)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def poll(base_url, key, request_id):
    request = urllib.request.Request(f"{base_url}/v1/video/{request_id}")
    request.add_header("Authorization", "Bearer " + key)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("prompt, status", [("a red fox in snow", "completed"), ("[sandbox:error] boom", "error")])
def test_the_final_state_arrives_signed_with_the_accounts_secret(base_url, account, prompt, status):
    with Receiver() as receiver:
        job = submit(base_url, account.key, {"prompt": prompt, "model": "kling-v2.5-turbo-pro", "webhook_url": receiver.url})
        received = receiver.next()
        payload = Webhook(account.webhook_secret).verify(received["body"], received["headers"])
        assert received["path"] == "/hook"
        assert received["headers"]["Content-Type"] == "application/json"
        assert received["headers"]["webhook-id"].startswith("msg_")
        assert payload["request_id"] == job["request_id"]
        assert payload["status"] == status
        if status == "completed":
            assert payload["video_url"] == poll(base_url, account.key, job["request_id"])["video_url"]
        else:
            assert payload["error"]["code"] == "provider_error"
        # Another account's secret does not verify it.
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").verify(received["body"], received["headers"])


def test_a_retry_after_a_500_carries_the_same_webhook_id(base_url, account):
    with Receiver(statuses=[500]) as receiver:
        job = submit(base_url, account.key, {"prompt": "retry me", "model": "kling-v2.5-turbo-pro", "webhook_url": receiver.url})
        first = receiver.next()
        second = receiver.next()
        for received in (first, second):
            assert Webhook(account.webhook_secret).verify(received["body"], received["headers"])["request_id"] == job["request_id"]
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
        assert first["body"] == second["body"]


def test_attempts_are_listed_by_the_admin_api(base_url, account):
    with Receiver() as receiver:
        job = submit(base_url, account.key, {"prompt": "listed", "model": "kling-v2.5-turbo-pro", "webhook_url": receiver.url})
        receiver.next()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            deliveries = admin("GET", f"/admin/jobs/{job['request_id']}/webhooks")["data"]
            if deliveries and deliveries[0]["status"] == "delivered":
                break
            assert time.monotonic() < deadline, f"not delivered: {deliveries}"
            time.sleep(0.1)
        assert [attempt["status_code"] for attempt in deliveries[0]["attempts"]] == [200]
        assert deliveries[0]["attempts"][0]["error"] is None


def test_a_private_webhook_url_is_refused_at_submit(base_url, account):
    with pytest.raises(urllib.error.HTTPError) as refused:
        submit(base_url, account.key, {"prompt": "x", "model": "kling-v2.5-turbo-pro", "webhook_url": "https://10.0.0.1/hook"})
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"] == "invalid_webhook_url"
