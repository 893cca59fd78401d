"""API keys and the SDK-HMAC-SHA256 request signature, shared by the server and the client.

This is the scheme the official ``huaweicloudsdkcore`` signer uses (its ``Signer`` class),
reproduced rule by rule so that requests signed by the official ModelArts SDK verify here and
requests signed by our client verify on ModelArts' gateway:

    CanonicalRequest = METHOD \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n
                       SignedHeaders \\n HexSHA256(body)
    StringToSign     = "SDK-HMAC-SHA256" \\n X-Sdk-Date \\n HexSHA256(CanonicalRequest)
    Signature        = HexHMAC-SHA256(SK, StringToSign)
    Authorization    = "SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=..."

Pure functions, no I/O: the API layer verifies with them, the client layer signs with them,
and neither imports the other.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
DEFAULT_MAX_SKEW = 15 * 60  # the gateway's window for X-Sdk-Date, in seconds


class AuthError(Exception):
    """A request that does not prove who sent it. The message never holds a secret."""

    def __init__(self, message: str, access_key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.access_key = access_key


def parse_keys(text: str) -> dict[str, str]:
    """``ak1:sk1,ak2:sk2`` (or one pair per line; ``#`` starts a comment) → {ak: sk}.

    A malformed entry raises ValueError naming the entry's position, never its secret.
    """
    keys: dict[str, str] = {}
    entries = [e.strip() for line in text.splitlines()
               for e in line.split("#", 1)[0].split(",")]
    for i, entry in enumerate(e for e in entries if e):
        ak, sep, sk = entry.partition(":")
        ak, sk = ak.strip(), sk.strip()
        if not sep or not ak or not sk:
            raise ValueError(f"API key entry {i + 1} is not ACCESS_KEY:SECRET_KEY")
        keys[ak] = sk
    return keys


def _quote(text: str) -> str:
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """Each path segment URL-encoded (after decoding once), always ending in '/'."""
    uri = "/".join(_quote(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Pairs sorted by (name, value) before encoding, joined with '&'."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs))


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Decodes a query string into pairs the way the signer saw them ('+' stays '+')."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    """The signer's view of the body: the official SDK writes ``UNSIGNED-PAYLOAD`` for
    streamed (non-JSON) uploads and the body's SHA-256 otherwise. Used to *sign* only: the
    verifier hashes what it received (see ``verify_signature``)."""
    if headers.get(CONTENT_HASH_HEADER.lower()) == UNSIGNED_PAYLOAD:
        return UNSIGNED_PAYLOAD
    return hashlib.sha256(body).hexdigest() if body else EMPTY_HASH


def canonical_request(method: str, path: str, query: Iterable[tuple[str, str]],
                      headers: Mapping[str, str], signed_headers: list[str],
                      body_hash: str) -> str:
    """``headers`` maps lower-case names to values as the sender meant them (unicode)."""
    lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    return "\n".join([method.upper(), canonical_uri(path), canonical_query(query), lines,
                      ";".join(signed_headers), body_hash])


def string_to_sign(canonical: str, sdk_date: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def format_date(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime(DATE_FORMAT)


def sign_request(access_key: str, secret_key: str, method: str, url: str,
                 headers: Mapping[str, str] | None = None, body: bytes = b"",
                 when: datetime | None = None) -> dict[str, str]:
    """Headers to send: the given ones plus Host, X-Sdk-Date and Authorization.

    Like the official signer, every given header whose name has no '_' is signed; the
    query string of ``url`` must already be in canonical form (see ``canonical_query``).
    """
    parts = urlsplit(url)
    out = dict(headers or {})
    if not any(k.lower() == "host" for k in out):
        out["Host"] = parts.netloc
    if not any(k.lower() == DATE_HEADER.lower() for k in out):
        out[DATE_HEADER] = format_date(when)
    lower = {k.lower(): str(v).strip() for k, v in out.items()}
    signed = sorted(k for k in lower if "_" not in k and k != "authorization")
    canonical = canonical_request(method, parts.path or "/", query_pairs(parts.query),
                                  lower, signed, payload_hash(body, lower))
    sig = signature(secret_key, string_to_sign(canonical, lower[DATE_HEADER.lower()]))
    out["Authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return out


@dataclass(frozen=True)
class Authorization:
    access_key: str
    signed_headers: list[str]
    signature: str


def parse_authorization(value: str) -> Authorization:
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise AuthError(f"Authorization: scheme must be {ALGORITHM}")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if sep:
            fields[name.strip()] = val.strip()
    access, signed, sig = (fields.get(k) for k in ("Access", "SignedHeaders", "Signature"))
    if not access or not signed or not sig:
        raise AuthError("Authorization: needs Access, SignedHeaders and Signature")
    return Authorization(access, [h.lower() for h in signed.split(";") if h], sig)


def check_envelope(secret_of: Callable[[str], str | None], method: str,
                   headers: Mapping[str, str], now: datetime | None = None,
                   max_skew: float = DEFAULT_MAX_SKEW) -> tuple[Authorization, str]:
    """Everything about a signed request that can be judged before its body is read:
    scheme, a known access key, a fresh signed date, a signed ``Host``, and a signed
    ``X-Sdk-Content-Sha256`` when one is sent. Returns the parsed header and the secret.

    Done first so that a stranger's request is refused without the server reading (and
    buffering) a byte of its body.
    """
    value = headers.get("authorization")
    if not value:
        raise AuthError("request is not signed: send Authorization: SDK-HMAC-SHA256 ... "
                        "or X-Auth-Token (this server has API keys configured)")
    auth = parse_authorization(value)
    secret = secret_of(auth.access_key)
    if secret is None:
        raise AuthError("unknown or revoked access key", auth.access_key)
    date_name = DATE_HEADER.lower()
    if date_name not in auth.signed_headers or not headers.get(date_name):
        raise AuthError(f"{DATE_HEADER} must be sent and signed", auth.access_key)
    try:
        sent = datetime.strptime(headers[date_name].strip(), DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise AuthError(f"{DATE_HEADER} must look like 20240101T000000Z",
                        auth.access_key) from None
    skew = abs(((now or datetime.now(UTC)) - sent).total_seconds())
    if skew > max_skew:
        raise AuthError(f"{DATE_HEADER} is {int(skew)} s away from the server's clock "
                        f"(at most {int(max_skew)} s)", auth.access_key)
    if "host" not in auth.signed_headers:
        raise AuthError("Host must be a signed header (SignedHeaders lacks 'host')",
                        auth.access_key)
    content = CONTENT_HASH_HEADER.lower()
    if content in headers and content not in auth.signed_headers:
        raise AuthError(f"{CONTENT_HASH_HEADER} was sent but not signed", auth.access_key)
    missing = [h for h in auth.signed_headers if h not in headers]
    if missing:
        raise AuthError(f"signed header {missing[0]!r} was not sent", auth.access_key)
    return auth, secret


def verify_signature(auth: Authorization, secret: str, method: str, path: str,
                     raw_query: str, headers: Mapping[str, str], body_hash: str | None,
                     allow_unsigned_payload: bool = False) -> None:
    """Checks the signature over the request as received. ``body_hash`` is the SHA-256
    of the bytes the server read (None when the body is streamed and not yet read, which
    only an ``UNSIGNED-PAYLOAD`` upload may do). A declared ``X-Sdk-Content-Sha256`` must
    equal that hash: a client cannot vouch for a body the server did not see."""
    declared = headers.get(CONTENT_HASH_HEADER.lower())
    if declared is not None and declared.strip() == UNSIGNED_PAYLOAD:
        if not allow_unsigned_payload:
            raise AuthError(f"{CONTENT_HASH_HEADER}: {UNSIGNED_PAYLOAD} is accepted only for "
                            "streamed object uploads, never for JSON bodies", auth.access_key)
        payload = UNSIGNED_PAYLOAD
    else:
        if body_hash is None:
            raise AuthError("this request's body must be signed", auth.access_key)
        if declared is not None and declared.strip().lower() != body_hash:
            raise AuthError(f"{CONTENT_HASH_HEADER} does not match the body received",
                            auth.access_key)
        payload = body_hash
    canonical = canonical_request(method, path, query_pairs(raw_query), headers,
                                  auth.signed_headers, payload)
    date = headers[DATE_HEADER.lower()].strip()
    expected = signature(secret, string_to_sign(canonical, date))
    if not hmac.compare_digest(expected, auth.signature):
        raise AuthError("signature does not match", auth.access_key)


def verify_request(keys: Mapping[str, str], method: str, path: str, raw_query: str,
                   headers: Mapping[str, str], body: bytes, now: datetime | None = None,
                   max_skew: float = DEFAULT_MAX_SKEW,
                   allow_unsigned_payload: bool = False) -> str:
    """Checks a whole signed request (envelope, then signature); returns its access key or
    raises AuthError. ``headers`` maps lower-case names to (unicode) values."""
    auth, secret = check_envelope(keys.get, method, headers, now, max_skew)
    verify_signature(auth, secret, method, path, raw_query, headers,
                     hashlib.sha256(body).hexdigest(), allow_unsigned_payload)
    return auth.access_key
