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
   check-telesign: with --transfer-to, a menu's speak_completed is answered with `dial`; held when
   Telesign then posts dial_completed.
2. An action's envelope. Telesign's documented examples (the play-multiple how-to page, and
   sample_code's python/rest/voice/make_outbound_call) send only `method` and `params`; the demo
   adds `"jsonrpc": "2.0"` (and `"id"` in its REST `dial`). The engine sends `method` and
   `params` only.
   check-telesign: held when Telesign carries out the engine's speak actions (speak_completed
   follows).
3. `speak`'s parameters: `tts.message`, `tts.language` and `collect_digits.max` come from the
   demo (both examples); the official table was not readable. The engine sends exactly these,
   `collect_digits.max` 1 when it wants a key.
   check-telesign: held when a speak with these parameters is carried out and reports the key asked
   for.
4. No wait for a key: no source documents a timeout, inter-digit wait or terminator for
   `collect_digits`. A menu's `timeout` rides on the engine's Speak action but is not sent, so
   Telesign's own wait applies until the parameter is confirmed.
   check-telesign: the silence step measures Telesign's own wait (seconds from the question to its
   speak_completed).
5. Keys pressed arrive as `data.collected_digits` of `speak_completed` (the demo; absent, null or
   "" is no key). That `play_completed` carries them the same way is presumed; the engine reads
   both alike. Only keys a phone can send (`0`-`9`, `*`, `#`; DTMF's A-D are on no keypad) are
   taken: an event whose `collected_digits` holds anything else (`abc`, a space, NUL, an emoji)
   is refused with a 400 and changes nothing, rather than taken as a wrong key, because Telesign
   sends keys and nothing else, so such an event is not Telesign's (and a transcript then only
   ever shows keys pressed). The same holds for a v1 report's `voice.user_input`.
   check-telesign: held when the key-press step reports `1` and the silence step nothing.
6. `dial_completed`'s `data.status`: only `answered` is evidenced (the demo's
   aws_lambda_example/app.py); `no-answer`, `busy` and the like are not. The engine takes
   `answered` as answered and any other status as not; the fake carrier sends `no-answer`.
   check-telesign: the test call's own dial_completed, answered by the operator, shows the status.
7. The answer when there is nothing to do: the engine answers `{}` (a connected transfer, an
   unknown event, `call_completed`). The demo ignores the answer to `call_completed` and so does
   Telesign by its docs; what `{}` does mid-call is unconfirmed. The demo's two examples even
   disagree on the shape (aws_lambda_example wraps actions in a list, `[{}]` for call_completed;
   the other answers one bare object); the engine answers one bare object, as documented.
   check-telesign: with --transfer-to, `{}` answers the connected transfer; held when the call goes
   on (call_leg_completed).
8. Redelivery: Telesign documents retries (4 attempts, 5 s each) for SMS callbacks only
   (Transaction Callback Service page); for voice events nothing. The engine assumes a
   redelivered event is byte-identical to the first delivery, so the SHA-256 of its body finds it.
   check-telesign: posts that repeat the one before byte for byte are flagged with the gap; Telesign
   redelivers only after a failed answer, so usually not seen.
9. `external_id`: the Voice Events page says an event carries it "if you put one in the
   originating action". The engine assumes every event of a call placed with a `dial` carrying
   `external_id` carries it, and finds such a call by it, so a call whose 202 answer was lost
   still runs.
   check-telesign: held when every recorded event carries the test call's external_id.
10. Signed events: the Authenticate callbacks page says Telesign signs what it posts to a
    callback service (base64 HMAC-SHA256 of the raw body with the API key) and sends both
    `Authorization: TSA <customer id>:<signature>` and `X-TS-Authorization: <signature>`; the
    Transaction Callback Service page lists voice events among its uses, and the webhooks page
    calls authentication "not required". Not seen on a live voice event; the demo checks nothing.
    So whether an account signs voice events is its setting, not a fact: `ivrflow serve
    --webhook-auth signature` (the default with credentials) checks the signature, in either
    header, and where `Authorization` names a customer id it must be the account's (the SDK's
    check ignores it), so an event naming another account, `evil` or no one is a 401 like a wrong
    signature; `--webhook-auth secret` takes events only at /webhook/<secret> instead
    (ivrflow/server/webhook_auth.py).
    check-telesign: says for every event which of the two headers came and whether the signature
    holds for TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY.
11. v1 callbacks: the Transaction Callback Service page says the callback's schema "varies by
    product". The engine assumes a voice callback carries `voice.user_input` like the answer to
    GET /v1/voice/{reference_id}, and the `external_id` sent; a report without `voice` leaves the
    key the call has as it was (ivrflow/telesign/v1.py).
    check-telesign cannot (its call is v2); `ivrflow send --callback-url` and GET /calls/{id} show a
    v1 call's reports.
12. v1 status codes 105, 108, 129, 500, 501, 599 are documented for Voice Verify (its OpenAPI,
    and the error catalogue), not for /v1/voice; the engine knows them all (facts.V1_STATUS_CODES)
    and takes any code it does not know as "not over", so an unknown code never ends a call.
    check-telesign cannot (v2 call).
13. Message length: the v1 Voice API reference (both Swagger files) says 1600 characters; the
    Node SDK's comment says 2000 code points; no limit is documented for v2 `speak`. The engine
    holds every message, v1 or v2, to 1600 (facts.MAX_MESSAGE).
    check-telesign cannot (its messages are short).
14. Languages: v1 takes one of 26 voice tags (`f-en-US`, ...); v2 `speak` takes the plain tag
    (`en-US`, the demo) and its list is not published ("26 languages and dialects"). The engine
    offers the 26 languages of the v1 list for both (facts.LANGUAGES, facts.voice_tag).
    check-telesign cannot (it speaks en-US only).
15. `reference_id` is documented as 32 hex digits, but Telesign's own `incoming_call` example
    has a UUID. The engine treats it as an opaque string of 1 to 128 characters.
    check-telesign: reports the shape of the reference ids seen.
16. Hosts: the v2 voice product is for full-service (enterprise) accounts, whose host is
    rest-ww.telesign.com; the SDK's default, rest-api.telesign.com, is the self-service host.
    The engine defaults to the SDK's host; TELESIGN_BASE_URL chooses.
    check-telesign: held when TELESIGN_BASE_URL accepts the test call's dial.
17. The date window of a `TSA` request: Telesign refuses a Date or x-ts-date "not within the
    tolerable range" (errors 10004, -30010) without saying what the range is. The engine's own
    API, which authenticates like Telesign's, allows 15 minutes either way (facts.DATE_TOLERANCE).
    check-telesign cannot: Telesign's window is not observable from a call.
18. Several keys in one go: the engine asks with `collect_digits.max` 1, and nothing documents what
    Telesign does with the keys beyond the first (dropped, or heard by the next question). The
    engine takes the first key of `collected_digits`.
    check-telesign: its several-keys step shows what the question and the next one received.
19. `call_completed` comes once for every call, whoever hangs up, with `data.status` `hangup` (the
    only value evidenced, the demo's), and nothing follows it.
    check-telesign: held when the test call ends with one call_completed and no post after it.
20. v1 status codes as text: the v1 Voice reference documents `status.code` (of the answer and of
    the callback) as a string, while the codes themselves are numbers (100, 103, ...) and the
    engine first read them as JSON numbers. It reads both spellings wherever a code is read
    (schemas/v1-status.schema.json, v1.status_code). check-telesign cannot (v2 call).
21. A request that fails may still have acted: Telesign documents no idempotency key for POST
    /v1/voice or a `dial`. The engine sends a POST again only after Telesign's rate-limit refusal
    (429 `rate_limit_exceeded`, v1 error 10019) or when no connection was made; after a 5xx, a
    timeout or a connection lost mid-request the call may have been placed (client.py).
    check-telesign cannot (it would take a failing Telesign).
22. Several keys (a `collect_digits` node): only `collect_digits.max` is known; nothing says
    whether Telesign ends a collection at `#` or `*`, whether it reports that key in
    `collected_digits`, or how long it waits before reporting fewer keys than `max`. The engine
    sends no end key; it asks for the node's longest entry plus one key when the node has an
    `end_key` (so that a full entry and its end key fit in one collection), and reads what comes
    back either way: with or without a trailing end key (anything after it dropped), and fewer
    keys than `max` as a shorter entry, which the node's length and `valid` then judge. The test
    carrier ends an entry at its end key and reports it with the key.
    check-telesign cannot yet (its check flow asks for single keys).
23. `*` and `#` as menu keys: the demo collects only digits, but DTMF has both and
    `collected_digits` is a string; the engine takes either as one key of a menu on a live call.
    check-telesign cannot yet (its check flow asks for digits).
24. The end of a transfer's far leg: no page that could be read documents `call_leg_completed` or
    its `data`; Telesign's voice_server_demo (aws_elasticbeanstalk_example/app/main.py) names it
    and answers it twice: its outbound survey example (`outbound_call_survey_flow`) with a `speak`
    asking "How would you rate your service today? Select a digit between 1 and 5" once the agent
    it dialled hangs up, and its three-leg call-center example (`inbound_call_transfer_flow`) with
    a `dial` to the manager when the leg that ended is the second tier's, which it tells by the
    event's `to` (read at the top level, where other events carry `data.to`). The engine takes
    `call_leg_completed` as the far end hanging up and goes on to the dial's `next` (a survey,
    another dial), or hangs up without one, unless its `data.to` names the caller's leg (below);
    answering it with `dial` is item 1's question again. The test carrier posts it with `data.to`,
    the number dialled.
    check-telesign: with --transfer-to, the second phone is hung up first; held when the engine's
    `speak` answering call_leg_completed is followed by speak_completed (its `data.to` is shown).
25. A caller who hangs up while put through: nothing says whether Telesign then posts
    `call_leg_completed` for the caller's leg (and keeps the far end on the line), or only
    `call_completed` (item 19). The engine takes either: `call_completed` during a transfer ends
    the call as `transferred`; a `call_leg_completed` whose `data.to` is the caller's (or called)
    number and not the dialled one is the caller leaving, so the engine hangs up the far end
    rather than play the dial's `next` to it (ivrflow/calls/transfer.py). The test carrier (a `c`
    in a key script) posts `call_completed` alone.
    check-telesign: seen only when the first phone hangs up first while put through; it shows the
    posts that came after the transfer connected.
26. A key pressed during a `speak` that collects none: `speak` takes one `tts.language`, so a
    `select_language` ("For English, press 1. Para español, oprima 2.") is one `speak` per
    language, and only the last collects a key. Nothing says whether a key pressed while an
    earlier one plays is kept for the next `speak` that collects, or lost. The engine does not
    collect during the earlier lines (collecting would make the caller wait Telesign's own timeout
    for a key between two lines, item 4); a caller who presses early may have to press again
    after the last line. The test carrier asks for the key after the last line only.
    check-telesign cannot yet (its check flow has one language).
"""
