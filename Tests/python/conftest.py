"""Fixtures of the contract tests: the running server (scripts/contract-tests starts it) and
fresh accounts made through the admin API, so that tests do not share quota or credits."""
import json
import os
import urllib.request

import pytest

BASE_URL = os.environ.get("VIDEOGATE_URL", "http://127.0.0.1:8080")
ADMIN_TOKEN = os.environ.get("VIDEOGATE_ADMIN_TOKEN", "")


def admin(method, path, body=None):
    """Calls the admin API and returns the decoded JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE_URL + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + ADMIN_TOKEN)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class TestAccount:
    """An enterprise account with a test key and test credits."""

    def __init__(self, credits=1_000_000, daily_limit=100_000):
        created = admin("POST", "/admin/accounts", {"name": "contract", "plan": "enterprise", "daily_limit": daily_limit})
        self.account = created["account"]
        self.id = self.account["id"]
        self.webhook_secret = self.account.get("webhook_secret")
        self.key = admin("POST", f"/admin/accounts/{self.id}/keys", {"environment": "test"})["key"]
        if credits:
            admin("POST", f"/admin/accounts/{self.id}/credits", {"amount": credits, "environment": "test"})


@pytest.fixture
def base_url():
    return BASE_URL


@pytest.fixture
def account():
    return TestAccount()
