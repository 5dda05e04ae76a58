"""The Telesign adapter: every fact of Telesign's wire, and the only code that speaks it.

    facts   the facts as constants: hosts and paths, headers, event, action and parameter names,
            status strings and codes, v1 form fields, limits, languages and voices (imports
            nothing of ivrflow, so any layer may use it)
    auth    Basic and TSA HMAC-SHA256, signing and checking (with Telesign's code for each refusal);
            callback signatures; Credentials
    auth_codes  Telesign's codes for refused authentication, both families, in words for people
    client  the REST requests over httpx: send_v1, v1_status, send_dial, with retries
    v1      V1Report: Telesign's status reports of a v1 call
    v2      webhook events in (and into the engine's events), the engine's actions out

The rest of the engine speaks its own words (Speak, Transfer, SpeakDone, ...). Where Telesign
corrects something, this package is the one to change. Nothing here is imported by this file,
so `import ivrflow.telesign.facts` loads no HTTP client.

What is unconfirmed, or contradicts itself, in what Telesign publishes, and what the engine does
about each (the reference pages read were cut off after their first part, so the per-action
tables of "Voice - Actions" and the later sections of "Voice - Events" could not be read):

1. `dial` after anything but `incoming_call`. Telesign's Voice Actions page says `dial` may only
   answer `incoming_call` (anything else: `unsupported_call_state`), and its Voice Events page
   lists `speak`, `play`, `play_multiple`, `hangup`, `send_dtmf` (no `dial`) as the answers to
   `dial_completed`. Telesign's own voice_server_demo answers `speak_completed` with `dial` (its
   inbound IVR example, aws_elasticbeanstalk_example/app/main.py, `inbound_ivr_flow`) and
   `dial_completed` with `dial` (its survey example, same file). The engine does what the demo
   does: a flow's `dial` node is answered with `dial` after whatever event reaches it (after a
   menu, `speak_completed`). The test carrier (ivrflow/tools/carrier.py) flags only what the
   Events page's table forbids (facts.ALLOWED_ANSWERS, for `incoming_call` and `dial_completed`).
2. An action's envelope. Telesign's documented examples (the play-multiple how-to page, and
   sample_code's python/rest/voice/make_outbound_call) send only `method` and `params`; the demo
   adds `"jsonrpc": "2.0"` (and `"id"` in its REST `dial`). The engine sends `method` and
   `params` only.
3. `speak`'s parameters: `tts.message`, `tts.language` and `collect_digits.max` come from the
   demo (both examples); the official table was not readable. The engine sends exactly these,
   `collect_digits.max` 1 when it wants a key.
4. No wait for a key: no source documents a timeout, inter-digit wait or terminator for
   `collect_digits`. A menu's `timeout` rides on the engine's Speak action but is not sent, so
   Telesign's own wait applies until the parameter is confirmed.
5. Keys pressed arrive as `data.collected_digits` of `speak_completed` (the demo; absent, null or
   "" is no key). That `play_completed` carries them the same way is presumed; the engine reads
   both alike. Only keys a phone can send (`0`-`9`, `*`, `#`; DTMF's A-D are on no keypad) are
   taken: an event whose `collected_digits` holds anything else (`abc`, a space, NUL, an emoji)
   is refused with a 400 and changes nothing, rather than taken as a wrong key, because Telesign
   sends keys and nothing else, so such an event is not Telesign's (and a transcript then only
   ever shows keys pressed). The same holds for a v1 report's `voice.user_input`.
6. `dial_completed`'s `data.status`: only `answered` is evidenced (the demo's
   aws_lambda_example/app.py); `no-answer`, `busy` and the like are not. The engine takes
   `answered` as answered and any other status as not; the fake carrier sends `no-answer`.
7. The answer when there is nothing to do: the engine answers `{}` (a connected transfer, an
   unknown event, `call_completed`). The demo ignores the answer to `call_completed` and so does
   Telesign by its docs; what `{}` does mid-call is unconfirmed. The demo's two examples even
   disagree on the shape (aws_lambda_example wraps actions in a list, `[{}]` for call_completed;
   the other answers one bare object); the engine answers one bare object, as documented.
8. Redelivery: Telesign documents retries (4 attempts, 5 s each) for SMS callbacks only
   (Transaction Callback Service page); for voice events nothing. The engine assumes a
   redelivered event is byte-identical to the first delivery, so the SHA-256 of its body finds it.
9. `external_id`: the Voice Events page says an event carries it "if you put one in the
   originating action". The engine assumes every event of a call placed with a `dial` carrying
   `external_id` carries it, and finds such a call by it, so a call whose 202 answer was lost
   still runs.
10. Signed events: the Authenticate callbacks page says Telesign signs what it posts to a
    callback service (base64 HMAC-SHA256 of the raw body with the API key) and sends both
    `Authorization: TSA <customer id>:<signature>` and `X-TS-Authorization: <signature>`; the
    Transaction Callback Service page lists voice events among its uses, and the webhooks page
    calls authentication "not required". Not seen on a live voice event; the demo checks nothing.
    The engine checks the signature, in either header, whenever it has the API key; where
    `Authorization` names a customer id it must be the account's (the SDK's check ignores it),
    so an event naming another account, `evil` or no one is a 401 like a wrong signature.
11. v1 callbacks: the Transaction Callback Service page says the callback's schema "varies by
    product". The engine assumes a voice callback carries `voice.user_input` like the answer to
    GET /v1/voice/{reference_id}, and the `external_id` sent; a report without `voice` leaves the
    key the call has as it was (ivrflow/telesign/v1.py).
12. v1 status codes 105, 108, 129, 500, 501, 599 are documented for Voice Verify (its OpenAPI,
    and the error catalogue), not for /v1/voice; the engine knows them all (facts.V1_STATUS_CODES)
    and takes any code it does not know as "not over", so an unknown code never ends a call.
13. Message length: the v1 Voice API reference (both Swagger files) says 1600 characters; the
    Node SDK's comment says 2000 code points; no limit is documented for v2 `speak`. The engine
    holds every message, v1 or v2, to 1600 (facts.MAX_MESSAGE).
14. Languages: v1 takes one of 26 voice tags (`f-en-US`, ...); v2 `speak` takes the plain tag
    (`en-US`, the demo) and its list is not published ("26 languages and dialects"). The engine
    offers the 26 languages of the v1 list for both (facts.LANGUAGES, facts.voice_tag).
15. `reference_id` is documented as 32 hex digits, but Telesign's own `incoming_call` example
    has a UUID. The engine treats it as an opaque string of 1 to 128 characters.
16. Hosts: the v2 voice product is for full-service (enterprise) accounts, whose host is
    rest-ww.telesign.com; the SDK's default, rest-api.telesign.com, is the self-service host.
    The engine defaults to the SDK's host; TELESIGN_BASE_URL chooses.
17. The date window of a `TSA` request: Telesign refuses a Date or x-ts-date "not within the
    tolerable range" (errors 10004, -30010) without saying what the range is. The engine's own
    API, which authenticates like Telesign's, allows 15 minutes either way (facts.DATE_TOLERANCE).
"""
