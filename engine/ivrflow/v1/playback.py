"""What a caller hears on a Telesign v1 call: a model of v1's documented behaviour (pure).

Given the compiled form fields and the keys a caller presses, `hear` returns the transcript in
order. The behaviour is the one flow-language.md fixes, as far as Telesign documents it:
- `prompt_message`: two chances to press `prompt_digit` (a wrong key or silence uses one);
  otherwise the call ends;
- `message`, then one chance at `select_digits`: a listed digit plays its `tts_message_<digit>`
  and the call ends; no key or another key ends the call;
- `repeat_digit`: plays `tts_repeat` (if any) and `message` again, at most 3 times; a 4th press
  ends the call;
- no `select_digits`: the call ends after `message`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from ivrflow.calls.transcripts import Step, said
from ivrflow.telesign.facts import V1_PROMPT_CHANCES, V1_REPEAT_MAX, V1Field, tts_message


def hear(params: Mapping[str, str], keys: Iterable[str | None], language: str | None = None) -> list[Step]:
    """The transcript of a v1 call; `None` in `keys` is a prompt the caller lets time out.
    When the keys run out, the caller presses nothing more."""
    return list(play(params, keys, language))


def play(params: Mapping[str, str], keys: Iterable[str | None], language: str | None = None) -> Iterator[Step]:
    """The steps of a v1 call one at a time; a key is taken only once its question is asked. A v1
    call has one voice: `language`, when given, is shown on every say step, as the live transcript
    of a flow in several languages shows it (calls/transcripts.py `shown_language`)."""
    presses: Iterator[str | None] = iter(keys)

    def press() -> tuple[str | None, Step]:
        key = next(presses, None)
        return key, ({"press": key} if key is not None else {"no_input": True})

    if V1Field.PROMPT_MESSAGE in params:
        for _ in range(V1_PROMPT_CHANCES):
            yield said(params[V1Field.PROMPT_MESSAGE], language)
            key, pressed = press()
            yield pressed
            if key == params[V1Field.PROMPT_DIGIT]:
                break
        else:
            yield {"hangup": True}
            return

    repeats = 0
    while True:
        yield said(params[V1Field.MESSAGE], language)
        if V1Field.SELECT_DIGITS not in params and V1Field.REPEAT_DIGIT not in params:
            break
        key, pressed = press()
        yield pressed
        if key is not None and key in params.get(V1Field.SELECT_DIGITS, ""):
            yield said(params[tts_message(key)], language)
            break
        if key is None or key != params.get(V1Field.REPEAT_DIGIT) or repeats == V1_REPEAT_MAX:
            break
        repeats += 1
        if V1Field.TTS_REPEAT in params:
            yield said(params[V1Field.TTS_REPEAT], language)
    yield {"hangup": True}
