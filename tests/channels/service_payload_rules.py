"""Payload checks written from each service's documentation, used by the test receivers.

Each function returns the list of problems (empty: the payload is valid). They are
strict: a key the documentation does not list is a problem, so a payload that
passes here uses nothing the service would ignore or reject.

* Slack: incoming webhooks ("Sending messages using incoming webhooks"), the Block
  Kit reference (header, section, context, divider; text objects) with its limits as
  python-slack-sdk encodes them, and legacy message attachments (``color``,
  ``fallback``, ``blocks``, ...). ``channel``, ``username``, ``icon_*`` are accepted
  as the legacy webhook overrides.
* Mattermost: developers.mattermost.com "Incoming webhooks" (parameters table) and
  "Message attachments" (attachment options; ``fallback`` is required; no ``blocks``).
* PagerDuty: developer.pagerduty.com "Send an Alert Event" (Events API v2, parameters
  table and limits) and the Events API v2 overview (PD-CEF, response codes, 512 KB).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

__all__ = ["mattermost_problems", "pagerduty_problems", "slack_problems"]

_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")

# --- Slack -------------------------------------------------------------------------

_SLACK_TOP = {"text", "blocks", "attachments", "thread_ts", "mrkdwn", "channel", "username", "icon_emoji", "icon_url"}
_SLACK_ATTACHMENT = {
    "blocks",
    "color",
    "fallback",
    "text",
    "title",
    "title_link",
    "pretext",
    "fields",
    "footer",
    "footer_icon",
    "ts",
    "author_name",
    "author_link",
    "author_icon",
    "image_url",
    "thumb_url",
    "mrkdwn_in",
}
_SLACK_BLOCK_KEYS = {
    "header": {"type", "text", "block_id"},
    "section": {"type", "text", "fields", "accessory", "block_id", "expand"},
    "context": {"type", "elements", "block_id"},
    "divider": {"type", "block_id"},
}


def _text_object(obj: Any, where: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: a text object must be an object"]
    problems = [f"{where}: unknown key {k!r}" for k in obj if k not in {"type", "text", "emoji", "verbatim"}]
    kind = obj.get("type")
    if kind not in ("plain_text", "mrkdwn"):
        problems.append(f"{where}.type: {kind!r} is neither plain_text nor mrkdwn")
    if plain_only and kind != "plain_text":
        problems.append(f"{where}.type: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}.text: a non-empty string is required")
    elif len(text) > limit:
        problems.append(f"{where}.text: {len(text)} characters, at most {limit}")
    if "emoji" in obj and (kind != "plain_text" or not isinstance(obj["emoji"], bool)):
        problems.append(f"{where}.emoji: a boolean, only on plain_text")
    if "verbatim" in obj and (kind != "mrkdwn" or not isinstance(obj["verbatim"], bool)):
        problems.append(f"{where}.verbatim: a boolean, only on mrkdwn")
    return problems


def _blocks(blocks: Any, where: str) -> list[str]:
    if not isinstance(blocks, list) or not blocks:
        return [f"{where}: a non-empty array is required"]
    problems = [f"{where}: {len(blocks)} blocks, at most 50"] if len(blocks) > 50 else []
    for i, block in enumerate(blocks):
        at = f"{where}[{i}]"
        if not isinstance(block, dict):
            problems.append(f"{at}: a block must be an object")
            continue
        kind = block.get("type")
        if kind not in _SLACK_BLOCK_KEYS:
            problems.append(f"{at}.type: {kind!r} is not a block this receiver knows")
            continue
        problems += [f"{at}: unknown key {k!r}" for k in block if k not in _SLACK_BLOCK_KEYS[kind]]
        block_id = block.get("block_id")
        if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
            problems.append(f"{at}.block_id: a string of at most 255 characters")
        if kind == "header":
            problems += _text_object(block.get("text"), f"{at}.text", 150, plain_only=True)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{at}: text or fields is required")
            if "text" in block:
                problems += _text_object(block["text"], f"{at}.text", 3000)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or not 0 < len(fields) <= 10:
                    problems.append(f"{at}.fields: an array of 1 to 10 text objects")
                else:
                    for j, f in enumerate(fields):
                        problems += _text_object(f, f"{at}.fields[{j}]", 2000)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 10:
                problems.append(f"{at}.elements: an array of 1 to 10 elements")
            else:
                for j, e in enumerate(elements):
                    problems += _text_object(e, f"{at}.elements[{j}]", 3000)
    return problems


def slack_problems(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["the payload must be a JSON object"]
    problems = [f"unknown top-level key {k!r}" for k in body if k not in _SLACK_TOP]
    if not any(k in body for k in ("text", "blocks", "attachments")):
        problems.append("one of text, blocks or attachments is required")
    if "blocks" in body and "text" not in body:
        problems.append("text is required with blocks: it is the notification fallback")
    if "text" in body:
        text = body["text"]
        if not isinstance(text, str) or not text:
            problems.append("text: a non-empty string")
        elif len(text) > 40000:
            problems.append("text: over 40,000 characters")
    if "blocks" in body:
        problems += _blocks(body["blocks"], "blocks")
    for key in ("channel", "username", "icon_emoji", "icon_url", "thread_ts"):
        if key in body and (not isinstance(body[key], str) or not body[key]):
            problems.append(f"{key}: a non-empty string")
    if "attachments" in body:
        attachments = body["attachments"]
        if not isinstance(attachments, list):
            return [*problems, "attachments: an array"]
        if len(attachments) > 100:
            problems.append("attachments: more than 100")
        for i, a in enumerate(attachments):
            at = f"attachments[{i}]"
            if not isinstance(a, dict):
                problems.append(f"{at}: an object")
                continue
            problems += [f"{at}: unknown key {k!r}" for k in a if k not in _SLACK_ATTACHMENT]
            color = a.get("color")
            if color is not None and not (
                isinstance(color, str) and (_HEX.match(color) or color in ("good", "warning", "danger"))
            ):
                problems.append(f"{at}.color: {color!r} is not good, warning, danger or a #RRGGBB colour")
            if "fallback" in a and not isinstance(a["fallback"], str):
                problems.append(f"{at}.fallback: a string")
            if "blocks" in a:
                problems += _blocks(a["blocks"], f"{at}.blocks")
            if not any(k in a for k in ("blocks", "text", "fields", "fallback")):
                problems.append(f"{at}: no content")
    return problems


# --- Mattermost --------------------------------------------------------------------

_MM_TOP = {"text", "channel", "username", "icon_url", "icon_emoji", "attachments", "type", "props"}
_MM_ATTACHMENT = {
    "fallback",
    "color",
    "pretext",
    "text",
    "author_name",
    "author_link",
    "author_icon",
    "title",
    "title_link",
    "fields",
    "image_url",
    "thumb_url",
    "footer",
    "footer_icon",
}
_MM_RESERVED_PROPS = {
    "from_webhook",
    "override_username",
    "override_icon_url",
    "override_icon_emoji",
    "webhook_display_name",
    "attachments",
}


def mattermost_problems(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["the payload must be a JSON object"]
    problems = [f"unknown parameter {k!r}" for k in body if k not in _MM_TOP]
    attachments = body.get("attachments")
    if "text" not in body and not attachments:
        problems.append("text is required when attachments is not set")
    if "text" in body:
        text = body["text"]
        if not isinstance(text, str):
            problems.append("text: a string")
        elif len(text) > 16383:
            problems.append("text: over 16,383 characters (Mattermost would split the post)")
    for key in ("channel", "username", "icon_url", "icon_emoji"):
        if key in body and not isinstance(body[key], str):
            problems.append(f"{key}: a string")
    kind = body.get("type")
    if kind and (not isinstance(kind, str) or not kind.startswith("custom_")):
        problems.append("type: must begin with custom_")
    props = body.get("props")
    if props is not None:
        if not isinstance(props, dict):
            problems.append("props: an object")
        else:
            problems += [f"props: {k!r} is reserved" for k in props if k in _MM_RESERVED_PROPS]
    if attachments is not None:
        if not isinstance(attachments, list):
            return [*problems, "attachments: an array"]
        for i, a in enumerate(attachments):
            at = f"attachments[{i}]"
            if not isinstance(a, dict):
                problems.append(f"{at}: an object")
                continue
            problems += [f"{at}: unknown option {k!r}" for k in a if k not in _MM_ATTACHMENT]
            if not isinstance(a.get("fallback"), str) or not a["fallback"]:
                problems.append(f"{at}.fallback: required, a plain-text summary")
            if "color" in a and not (isinstance(a["color"], str) and _HEX.match(a["color"])):
                problems.append(f"{at}.color: a hex colour code")
            for key in ("pretext", "text", "title", "footer", "author_name"):
                if key in a and not isinstance(a[key], str):
                    problems.append(f"{at}.{key}: a string")
            if isinstance(a.get("footer"), str) and len(a["footer"]) > 300:
                problems.append(f"{at}.footer: over 300 characters (Mattermost truncates it)")
            for j, f in enumerate(a.get("fields", [])):
                if not isinstance(f, dict) or set(f) - {"title", "value", "short"}:
                    problems.append(f"{at}.fields[{j}]: an object of title, value, short")
                    continue
                if not isinstance(f.get("title"), str) or not isinstance(f.get("value"), str):
                    problems.append(f"{at}.fields[{j}]: title and value are strings")
                if "short" in f and not isinstance(f["short"], bool):
                    problems.append(f"{at}.fields[{j}].short: a boolean")
    return problems


# --- PagerDuty ---------------------------------------------------------------------

_PD_TOP = {"routing_key", "event_action", "dedup_key", "payload", "images", "links", "client", "client_url"}
_PD_PAYLOAD = {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}
_PD_SEVERITIES = ("critical", "error", "warning", "info")


def _iso8601(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def pagerduty_problems(body: Any, size: int = 0) -> list[str]:
    if size > 512 * 1024:
        return ["payload over 512 KB"]
    if not isinstance(body, dict):
        return ["the event must be a JSON object"]
    problems = [f"unknown parameter {k!r}" for k in body if k not in _PD_TOP]
    key = body.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        problems.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        problems.append(f"event_action: {action!r} is not trigger, acknowledge or resolve")
    dedup = body.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not 0 < len(dedup) <= 255):
        problems.append("dedup_key: a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and dedup is None:
        problems.append(f"dedup_key: required to {action}")
    for key_name in ("client", "client_url"):
        if key_name in body and not isinstance(body[key_name], str):
            problems.append(f"{key_name}: a string")
    payload = body.get("payload")
    if action == "trigger" and payload is None:
        problems.append("payload: required to trigger")
    if payload is not None:
        if not isinstance(payload, dict):
            return [*problems, "payload: an object"]
        problems += [f"payload: unknown property {k!r}" for k in payload if k not in _PD_PAYLOAD]
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary:
            problems.append("payload.summary: required")
        elif len(summary) > 1024:
            problems.append(f"payload.summary: {len(summary)} characters, at most 1024")
        if not isinstance(payload.get("source"), str) or not payload["source"]:
            problems.append("payload.source: required")
        if payload.get("severity") not in _PD_SEVERITIES:
            problems.append(f"payload.severity: {payload.get('severity')!r} is not one of {', '.join(_PD_SEVERITIES)}")
        if "timestamp" in payload and not (isinstance(payload["timestamp"], str) and _iso8601(payload["timestamp"])):
            problems.append("payload.timestamp: an ISO 8601 timestamp")
        for name in ("component", "group", "class"):
            if name in payload and (not isinstance(payload[name], str) or not payload[name]):
                problems.append(f"payload.{name}: a non-empty string")
        if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
            problems.append("payload.custom_details: an object")
    return problems
