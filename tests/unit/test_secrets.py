"""``Secret``, ``redact_url`` and ``scrub``: what keeps a secret out of every text."""

from __future__ import annotations

import pickle

import pytest

from otel_alerting.secrets import REDACTED, Secret, redact_url, scrub

TOKEN = "xoxb-1234/abcd efgh"


# --- Secret ----------------------------------------------------------------------------


def test_only_reveal_gives_the_value_back() -> None:
    secret = Secret(TOKEN)
    assert secret.reveal() == TOKEN
    assert repr(secret) == "Secret('[secure]')"
    assert str(secret) == REDACTED == "[secure]"
    assert f"{secret}" == REDACTED
    assert f"{secret:>30}" == REDACTED  # a format spec does not reach the value
    assert format(secret, "s") == REDACTED
    assert "%s %r" % (secret, secret) == "[secure] Secret('[secure]')"  # noqa: UP031


def test_truth_is_whether_a_value_is_set() -> None:
    assert Secret("x")
    assert not Secret("")


def test_equality_compares_values_and_only_with_secrets() -> None:
    assert Secret(TOKEN) == Secret(TOKEN)
    assert Secret(TOKEN) != Secret("another token")
    assert Secret(TOKEN) != TOKEN  # never equal to the plain text it holds
    assert TOKEN != Secret(TOKEN)  # noqa: SIM300 (the reflected comparison)


def test_hash_follows_equality_without_being_the_plain_text_hash() -> None:
    assert hash(Secret(TOKEN)) == hash(Secret(TOKEN))
    assert hash(Secret(TOKEN)) != hash(Secret("another token"))
    assert hash(Secret(TOKEN)) != hash(TOKEN)
    assert len({Secret(TOKEN), Secret(TOKEN), Secret("another token")}) == 2


def test_a_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match=r"^a Secret cannot be pickled$"):
        pickle.dumps(Secret(TOKEN))


# --- redact_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/[secure]"),
        ("https://example.com", "https://example.com"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com/?token=abc", "https://example.com/[secure]"),
        ("https://example.com?token=abc", "https://example.com/[secure]"),
        ("https://user:pass@example.com:8443/hook", "https://example.com:8443/[secure]"),
        ("http://[::1]:9093/api/v2/alerts", "http://[::1]:9093/[secure]"),
        ("http://127.0.0.1:9093", "http://127.0.0.1:9093"),
        ("https://example.com#frag", "https://example.com"),
        ("example.com/hook", REDACTED),  # no scheme
        ("https:///hook", REDACTED),  # no host
        ("", REDACTED),
        ("http://example.com:99999/", REDACTED),  # the port does not parse
        ("http://[::1/", REDACTED),  # the host does not parse
    ],
)
def test_redact_url_keeps_scheme_host_and_port_only(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(Secret(url)) == shown


# --- scrub -----------------------------------------------------------------------------


def test_scrub_replaces_every_occurrence_of_each_secret() -> None:
    text = f"first {TOKEN}, again {TOKEN}, and pw hunter22"
    assert scrub(text, [Secret(TOKEN), "hunter22"]) == "first [secure], again [secure], and pw [secure]"


@pytest.mark.parametrize(
    "form",
    [
        "xoxb-1234%2Fabcd%20efgh",  # percent-encoded, as in a query value or a path segment
        "xoxb-1234%2Fabcd+efgh",  # form-encoded (spaces as +), as httpx and urlencode write query strings
    ],
)
def test_scrub_replaces_the_url_encoded_forms_too(form: str) -> None:
    assert scrub(f"GET https://x.example/hook?k={form}&x=1 failed", [Secret(TOKEN)]) == (
        "GET https://x.example/hook?k=[secure]&x=1 failed"
    )


def test_scrub_skips_missing_and_short_secrets() -> None:
    # a secret of fewer than 4 characters would scrub half of any text: left alone
    assert scrub("abc abcd", [None, "", "abc"]) == "abc abcd"
    assert scrub("abc abcd", ["abcd"]) == "abc [secure]"
    assert scrub("abc abcd", [Secret("abc"), None, Secret("abcd")]) == "abc [secure]"


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("url?token=abc123&x=1", "url?token=[secure]&x=1"),
        ("Authorization=Bearer xyz", "Authorization=[secure] xyz"),
        ("password=p4ss word", "password=[secure] word"),
        (
            "api_key=k1 api-key=k2 apikey=k3 API_KEY=k4",
            "api_key=[secure] api-key=[secure] apikey=[secure] API_KEY=[secure]",
        ),
        ("tokens are fine, token: not a pair", "tokens are fine, token: not a pair"),
    ],
)
def test_scrub_hides_the_values_of_credential_pairs_it_was_not_told_about(text: str, scrubbed: str) -> None:
    assert scrub(text, []) == scrubbed
