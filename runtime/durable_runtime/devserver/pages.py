"""The dev server's web UI: server-rendered HTML, no build step, nothing fetched from elsewhere (works offline).

Two pages: the executions of every function served (with a start form), and one execution (its operation tree
with attempts, errors, due times and callback buttons, the history as a timeline, input and result, and the
actions stop, pause, resume and redrive). Pages of running executions refresh themselves every two seconds
unless you are typing in a form.
"""

from __future__ import annotations

import datetime
import html
import json
from typing import Any
from urllib.parse import quote

from ..cli.table import HistoryTable, header, span

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2733;background:#f6f7f9}
header{background:#232f3e;color:#fff;padding:10px 20px}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px 20px;max-width:1200px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eef1f4;font-weight:600}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{background:#fff;border:1px solid #e3e6ea;padding:10px;overflow:auto}
.status{font-weight:600;padding:1px 6px;border-radius:4px;font-size:12px}
.SUCCEEDED{background:#d9f2e0;color:#135b2a}.FAILED,.TIMED_OUT{background:#fbe0e0;color:#8a1c1c}
.RUNNING,.STARTED,.PENDING,.READY{background:#dde9fb;color:#1b4d91}.STOPPED,.CANCELLED{background:#eee;color:#444}
.PAUSED,.PAUSING{background:#fff1cc;color:#7a5500}
ul.tree{list-style:none;padding-left:18px;margin:4px 0}ul.tree li{margin:4px 0}
.op{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:6px 10px;display:inline-block}
.muted{color:#667}.error{color:#8a1c1c}form.inline{display:inline}button{cursor:pointer;margin-right:4px}
textarea{width:100%;font:12px ui-monospace,monospace}section{margin:18px 0}
"""

_REFRESH = """<script>
setTimeout(function check(){var a=document.activeElement;
if(a&&(a.tagName==='TEXTAREA'||a.tagName==='INPUT')){setTimeout(check,2000);return}location.reload()},2000);
</script>"""

_OPEN = ("RUNNING", "PAUSING", "PAUSED")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _when(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return ""


def execution_href(arn: str) -> str:
    """The page of one execution."""
    return "/executions/" + quote(arn, safe="")


def _page(title: str, body: str, refresh: bool) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)} · Durable Kit</title>"
        f"<style>{_STYLE}</style></head><body><header><a href='/'>Durable Kit · local dev server</a></header>"
        f"<main>{body}</main>{_REFRESH if refresh else ''}</body></html>"
    )


def _status(status: str) -> str:
    return f"<span class='status {_e(status)}'>{_e(status)}</span>"


def executions_page(functions: list[str], executions: list[dict[str, Any]], now: datetime.datetime) -> str:
    """Every execution of the served functions, newest first, and a form to start one."""
    rows = []
    for execution in executions:
        started = execution.get("StartTimestamp")
        ended = execution.get("EndTimestamp") or now
        duration = span((ended - started).total_seconds()) if isinstance(started, datetime.datetime) else ""
        rows.append(
            f"<tr><td>{_e(execution['FunctionArn'].split(':')[6])}</td>"
            f"<td><a href='{execution_href(execution['DurableExecutionArn'])}'>"
            f"{_e(execution['DurableExecutionName'])}</a></td><td>{_status(execution['Status'])}</td>"
            f"<td>{_when(started)}</td><td>{duration}</td></tr>"
        )
    options = "".join(f"<option>{_e(name)}</option>" for name in functions)
    body = (
        "<h1>Executions</h1><table><tr><th>Function</th><th>Name</th><th>Status</th><th>Started</th>"
        f"<th>Duration</th></tr>{''.join(rows) or '<tr><td colspan=5 class=muted>None yet.</td></tr>'}</table>"
        "<section><h2>Start an execution</h2><form method='post' action='/ui/start'>"
        f"<p><label>Function <select name='function'>{options}</select></label> "
        "<label>Name <input name='name' placeholder='(generated)'></label></p>"
        "<p><label>Input (JSON)<br><textarea name='input' rows='6'>{}</textarea></label></p>"
        "<button type='submit'>Start</button></form></section>"
    )
    return _page("Executions", body, refresh=any(e["Status"] in _OPEN for e in executions))


def execution_page(execution: dict[str, Any], operations: list[dict[str, Any]], events: list[dict[str, Any]]) -> str:
    """One execution: actions, operation tree, timeline (history), input and result."""
    arn = execution["DurableExecutionArn"]
    status = execution["Status"]
    callback_ids = {
        event.get("Id"): (event.get("CallbackStartedDetails") or {}).get("CallbackId")
        for event in events
        if event["EventType"] == "CallbackStarted"
    }
    body = (
        f"<h1>{_e(execution['DurableExecutionName'])} {_status(status)}</h1>"
        f"<p class='muted'><code>{_e(arn)}</code><br>started {_when(execution.get('StartTimestamp'))}"
        f"{' · ended ' + _when(execution.get('EndTimestamp')) if execution.get('EndTimestamp') else ''}</p>"
        f"{_actions(arn, status)}"
        f"<section><h2>Operations</h2>{_tree(operations, None, callback_ids, arn) or '<p class=muted>None.</p>'}"
        f"</section><section><h2>Timeline</h2><pre>{_e(_timeline(events))}</pre></section>"
        f"<section><h2>Input</h2><pre>{_e(_pretty(execution.get('InputPayload')))}</pre></section>"
        f"{_outcome(execution)}"
    )
    return _page(execution["DurableExecutionName"], body, refresh=status in _OPEN)


def _actions(arn: str, status: str) -> str:
    allowed = {
        "RUNNING": ("stop", "pause"),
        "PAUSING": ("stop", "resume"),
        "PAUSED": ("stop", "resume"),
        "FAILED": ("redrive",),
        "TIMED_OUT": ("redrive",),
    }.get(status, ())
    target = quote(arn, safe="")
    buttons = "".join(
        f"<form class='inline' method='post' action='/ui/executions/{target}/{action}'>"
        f"<button type='submit' name='action' value='{action}'>{action.capitalize()}</button></form>"
        for action in allowed
    )
    return f"<p>{buttons}</p>" if buttons else ""


def _tree(operations: list[dict[str, Any]], parent: str | None, callbacks: dict[Any, Any], arn: str) -> str:
    children = [op for op in operations if op.get("ParentId") == parent]
    if not children:
        return ""
    items = "".join(
        f"<li>{_operation(op, callbacks.get(op['Id']), arn)}{_tree(operations, op['Id'], callbacks, arn)}</li>"
        for op in children
    )
    return f"<ul class='tree'>{items}</ul>"


def _operation(op: dict[str, Any], callback_id: str | None, arn: str) -> str:
    kind = op.get("SubType") or op["Type"]
    details = (
        op.get("StepDetails") or op.get("WaitDetails") or op.get("CallbackDetails") or op.get("ContextDetails") or {}
    )
    notes = []
    if "Attempt" in details:
        notes.append(f"attempt {details['Attempt']}")
    if details.get("NextAttemptTimestamp"):
        notes.append(f"next attempt {_when(details['NextAttemptTimestamp'])}")
    if details.get("ScheduledEndTimestamp"):
        notes.append(f"due {_when(details['ScheduledEndTimestamp'])}")
    error = details.get("Error")
    text = (
        f"<span class='op'><b>{_e(op.get('Name') or '(unnamed)')}</b> <span class='muted'>{_e(kind)}</span> "
        f"{_status(op['Status'])} <span class='muted'>{_e(' · '.join(notes))}</span>"
    )
    if error:
        text += f"<br><span class='error'>{_e(error.get('ErrorType'))}: {_e(error.get('ErrorMessage'))}</span>"
    if op["Type"] == "CALLBACK" and op["Status"] == "STARTED" and callback_id:
        text += _callback_form(callback_id, arn)
    return text + "</span>"


def _callback_form(callback_id: str, arn: str) -> str:
    target = quote(callback_id, safe="")
    back = _e(execution_href(arn))
    return (
        f"<form method='post' action='/ui/callbacks/{target}' class='callback'>"
        f"<input type='hidden' name='back' value='{back}'>"
        "<textarea name='payload' rows='2' placeholder='result or error message'></textarea>"
        "<button type='submit' name='action' value='succeed' class='succeed'>Succeed</button>"
        "<button type='submit' name='action' value='fail' class='fail'>Fail</button></form>"
    )


def _timeline(events: list[dict[str, Any]]) -> str:
    table = HistoryTable()
    return "\n".join([header(), *table.new_lines(events)])


def _pretty(payload: str | None) -> str:
    if payload is None:
        return ""
    try:
        return json.dumps(json.loads(payload), indent=2)
    except (TypeError, ValueError):
        return payload


def _outcome(execution: dict[str, Any]) -> str:
    if "Result" in execution:
        return f"<section><h2>Result</h2><pre>{_e(_pretty(execution['Result']))}</pre></section>"
    if "Error" in execution:
        error = execution["Error"]
        return (
            "<section><h2>Error</h2><pre class='error'>"
            f"{_e(error.get('ErrorType'))}: {_e(error.get('ErrorMessage'))}</pre></section>"
        )
    return ""
