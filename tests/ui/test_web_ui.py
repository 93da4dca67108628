"""The dev server's web UI in a real headless Chromium: start a fraud review from the form, approve it with the
callback button, and see it succeed. Screenshots of both pages go to DURABLE_UI_SCREENSHOTS (the README's come
from `make screenshots`).

`make test-ui` installs Debian's Chromium when missing and requires it; a plain pytest run skips these without it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from durable_runtime.devserver import DevServer, load_handler

from .browser import Browser, chromium_path

CHROMIUM = chromium_path()
if CHROMIUM is None:
    if os.environ.get("DURABLE_UI_REQUIRED"):
        raise RuntimeError("the UI tests need Chromium: make test-ui installs Debian's chromium package")
    pytest.skip("Chromium is not installed (make test-ui installs it)", allow_module_level=True)


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    functions = {
        "order-workflow": load_handler("examples.order_workflow:handler"),
        "fraud-review": load_handler("examples.fraud_review:handler"),
    }
    with DevServer(functions, port=0, virtual_time=True) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    opened = Browser(CHROMIUM)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    wanted = os.environ.get("DURABLE_UI_SCREENSHOTS")
    folder = Path(wanted) if wanted else Path(tempfile.mkdtemp(prefix="durable-ui-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _set(field: str, value: str) -> str:
    return f"(() => {{ const e = document.querySelector({field!r}); e.value = {value!r}; return true; }})()"


def test_a_fraud_review_is_started_and_approved_through_the_ui(
    server: DevServer, browser: Browser, screenshots: Path
) -> None:
    browser.open(server.url + "/")
    browser.evaluate(_set("select[name=function]", "fraud-review"))
    browser.evaluate(_set("input[name=name]", "review-ui-1"))
    browser.evaluate(_set("textarea[name=input]", '{"order_id": "ui-1", "amount_cents": 129900}'))
    browser.evaluate("document.querySelector('form[action=\"/ui/start\"] button').click()")
    # The form's answer is the execution's page; the reviewer's callback form appears once it is waiting.
    browser.wait_for("location.pathname.startsWith('/executions/')")
    browser.wait_for("document.querySelector('form.callback textarea')")
    browser.screenshot(screenshots / "execution-waiting.png")
    browser.evaluate(_set("form.callback textarea", '{"decision": "approve", "note": "called the customer"}'))
    browser.evaluate("document.querySelector('form.callback button.succeed').click()")
    browser.wait_for(
        "document.querySelector('h1 .status') && document.querySelector('h1 .status').innerText === 'SUCCEEDED'"
    )
    page = browser.text()
    browser.screenshot(screenshots / "execution.png")
    browser.open(server.url + "/")
    browser.wait_for("document.body.innerText.includes('review-ui-1')")
    listing = browser.text()
    browser.screenshot(screenshots / "executions.png")

    assert "FULFILLED" in page and "CallbackSucceeded" not in page  # the timeline speaks in statuses
    assert "fraud_review" in page and "SUCCEEDED" in page
    assert "review-ui-1" in listing and "fraud-review" in listing
    for name in ("execution-waiting.png", "execution.png", "executions.png"):
        assert (screenshots / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pause_and_resume_buttons(server: DevServer, browser: Browser) -> None:
    arn = server.runner.client.start_execution(
        "fraud-review", '{"order_id": "ui-2", "amount_cents": 5}', "review-ui-2"
    )["DurableExecutionArn"]
    server.runner.drive()
    from durable_runtime.devserver.pages import execution_href

    browser.open(server.url + execution_href(arn))
    browser.wait_for("document.querySelector('button[value=pause]')")
    browser.evaluate("document.querySelector('button[value=pause]').click()")
    browser.wait_for("document.querySelector('h1 .status').innerText === 'PAUSED'")
    browser.evaluate("document.querySelector('button[value=resume]').click()")
    browser.wait_for("document.querySelector('h1 .status').innerText === 'RUNNING'")
    browser.evaluate("document.querySelector('button[value=stop]').click()")
    browser.wait_for("document.querySelector('h1 .status').innerText === 'STOPPED'")
