"""Property-based tests for the parsers of outside input on the network side.

Retry-After, WWW-Authenticate, the OCI registry URL grammar, redaction and
the terminal sanitizer each take text a server or a user controls. The
properties: they never raise anything but their documented error, and what
they promise (no secret in any encoding, no control character) holds for
any input. Bounded (about 200 examples each, no deadline) so the suite stays
fast.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import re
import unicodedata
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bpkit.errors import UsageError
from bpkit.net.auth import parse_challenge, parse_challenges
from bpkit.net.http import read_retry_after
from bpkit.oci.reference import parse_registry
from bpkit.text import UNPRINTABLE, outside, printable, redact

PROPS = settings(max_examples=200, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])

_TOKEN_CHARS = "!#$%&'*+.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-"
tokens = st.text(alphabet=_TOKEN_CHARS, min_size=1, max_size=12)


def _no_controls(text: str) -> bool:
    return not any(ord(c) in UNPRINTABLE and c != "\t" for c in text)


# --------------------------------------------------------------------------- Retry-After


@PROPS
@given(st.text(max_size=200))
def test_retry_after_never_raises_and_notes_are_one_clean_line(value: str) -> None:
    seconds, note = read_retry_after(value, now=1_700_000_000.0)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
    if note is not None:
        assert seconds is None
        assert "\n" not in note and _no_controls(note)


@PROPS
@given(st.integers(min_value=0, max_value=10**10 - 1), st.sampled_from(["", " ", "\t"]))
def test_retry_after_seconds_are_read_exactly(n: int, pad: str) -> None:
    assert read_retry_after(f"{pad}{n}{pad}") == (float(n), None)


@PROPS
@given(st.integers(min_value=11, max_value=6000))
def test_retry_after_with_too_many_digits_is_absent(digits: int) -> None:
    seconds, note = read_retry_after("7" * digits)
    assert seconds is None and note is not None and str(digits) in note


# --------------------------------------------------------------------------- WWW-Authenticate


@PROPS
@given(st.text(max_size=300))
def test_challenge_parser_never_raises(header: str) -> None:
    for challenge in parse_challenges(header):
        assert challenge.scheme == challenge.scheme.lower()
        assert all(k == k.lower() for k in challenge.params)
    parse_challenge(header)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


param_values = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30)


@PROPS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Bearer", "Basic", "Digest", "X-Other"]),
            st.dictionaries(tokens.map(str.lower), param_values, min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([",", ", ", " , "]),
)
def test_well_formed_challenges_round_trip(
    challenges: list[tuple[str, dict[str, str]]], sep: str
) -> None:
    header = sep.join(
        f"{scheme} " + sep.join(f"{k}={_quoted(v)}" for k, v in params.items())
        for scheme, params in challenges
    )
    parsed = parse_challenges(header)
    assert [(c.scheme, c.params) for c in parsed] == [
        (scheme.lower(), params) for scheme, params in challenges
    ]
    first = parse_challenge(header)
    assert first is not None
    wanted = [s.lower() for s, _ in challenges if s in ("Bearer", "Basic")]
    assert first.scheme == (wanted[0] if wanted else challenges[0][0].lower())


# --------------------------------------------------------------------------- registry URLs


@PROPS
@given(st.text(max_size=120))
def test_parse_registry_raises_only_usage_errors(url: str) -> None:
    try:
        ref = parse_registry(url)
    except UsageError as exc:
        assert "\n" not in str(exc) or "\n" in url
        return
    assert ref.host and ref.namespace
    assert ref.url == f"oci://{ref.host}/{ref.namespace}"


@PROPS
@given(st.text(alphabet="abc:@/.-_[]0123456789oci", max_size=60))
def test_parse_registry_on_url_like_text(url: str) -> None:
    with contextlib.suppress(UsageError):
        parse_registry(url)


components = st.from_regex(r"[a-z0-9]{1,5}(?:[._-][a-z0-9]{1,5}){0,2}", fullmatch=True)


@PROPS
@given(st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9](?:\.[a-z]{2,5}){0,2}", fullmatch=True),
       st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
       st.lists(components, min_size=1, max_size=3))
def test_valid_registry_urls_parse(host: str, port: int | None, parts: list[str]) -> None:
    where = host if port is None else f"{host}:{port}"
    ref = parse_registry(f"oci://{where}/{'/'.join(parts)}")
    assert (ref.host, ref.namespace) == (where, "/".join(parts))


# --------------------------------------------------------------------------- redaction

secrets_st = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1,
                     max_size=40)
around = st.text(max_size=40)


def _b64_forms(secret: str) -> list[str]:
    raw = secret.encode()
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    return [std, std.rstrip("="), url, url.rstrip("=")]


def _lower_escapes(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def _encodings(secret: str) -> list[str]:
    """How a server or a user may echo a secret: as is, base64, percent-encoded, mixed."""
    b64 = _b64_forms(secret)
    pct = quote(secret, safe="")
    forms = [secret, *b64, pct, _lower_escapes(pct), quote_plus(secret),
             *(quote(b, safe="") for b in b64)]
    return [f for f in forms if f]


@PROPS
@given(secrets_st, around, around)
def test_a_known_secret_never_survives_in_any_encoding(
    secret: str, before: str, after: str
) -> None:
    for shape in _encodings(secret):
        out = redact(before + shape + after, (secret,))
        assert shape not in out, (shape, out)


@PROPS
@given(secrets_st.filter(lambda s: not any(c.isspace() for c in s)), around, around,
       st.data(), st.sampled_from(["\n", "\r\n", "\n  ", "\r\n\t", "\\n"]))
def test_a_secret_folded_over_lines_never_survives(
    secret: str, before: str, after: str, data: st.DataObject, fold: str
) -> None:
    for shape in [secret, *_b64_forms(secret)[:2]]:
        assume(len(shape) >= 2)
        cut = data.draw(st.integers(min_value=1, max_value=len(shape) - 1))
        folded = shape[:cut] + fold + shape[cut:]
        out = redact(before + folded + after, (secret,))
        assert folded not in out and shape not in out, (folded, out)


@PROPS
@given(st.text(alphabet=st.characters(whitelist_categories=["Ll", "Lu", "Lo", "Nd"]),
               min_size=1, max_size=20), around, around)
def test_a_secret_in_json_unicode_escapes_never_survives(secret: str, before: str,
                                                         after: str) -> None:
    escaped = json.dumps(secret)[1:-1]
    out = redact(before + escaped + after, (secret,))
    assert escaped not in out


userinfo = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Zs", "Zl", "Zp"],
                                          blacklist_characters="@'\"<>"),
                   min_size=1, max_size=20)
hosts = st.from_regex(r"[a-z][a-z0-9]{0,8}(?:\.[a-z]{2,4}){1,2}(?::[0-9]{2,5})?", fullmatch=True)


@PROPS
@given(st.sampled_from(["https://", "oci://", "http://", "//", ""]), tokens, userinfo, hosts,
       st.sampled_from(["", "/x", "/charts/index.yaml", "?a=1"]),
       st.sampled_from(["repo ", "repo '", "", "url=", "("]))
def test_userinfo_in_any_url_form_is_masked(scheme: str, user: str, password: str, host: str,
                                            path: str, lead: str) -> None:
    assume(":" not in user and "/" not in user)
    assume(f"{user}:{password}" not in f"{lead}{scheme}{host}{path}")
    text = f"{lead}{scheme}{user}:{password}@{host}{path} is bad"
    out = redact(text)
    assert f"{user}:{password}" not in out
    assert f"@{host}{path} is bad" in out


def test_a_quote_that_is_the_user_still_masks_the_password() -> None:
    """Found by the property above: `'` as the user name read as an opening quote."""
    assert redact("repo ':0@a.aa is bad") == "repo '***@a.aa is bad"


# --------------------------------------------------------------------------- the sanitizer


@PROPS
@given(st.text(max_size=200))
def test_printable_and_outside_leave_no_control_or_separator(text: str) -> None:
    for shown in (printable(text), outside(text, limit=None)):
        assert _no_controls(shown)
        assert not any(unicodedata.category(c) in ("Zl", "Zp", "Cs") for c in shown)
    assert "\n" not in outside(text) and "\r" not in outside(text)
    assert len(outside(text, limit=50)) <= 50
