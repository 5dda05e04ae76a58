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

from ivrflow.calls.interpreter import Step
from ivrflow.language.model import DEFAULT_REPEAT_MAX, PROMPT_CHANCES


def hear(params: Mapping[str, str], keys: Iterable[str | None]) -> list[Step]:
    """The transcript of a v1 call; `None` in `keys` is a prompt the caller lets time out.
    When the keys run out, the caller presses nothing more."""
    return list(play(params, keys))


def play(params: Mapping[str, str], keys: Iterable[str | None]) -> Iterator[Step]:
    """The steps of a v1 call one at a time; a key is taken only once its question is asked."""
    presses: Iterator[str | None] = iter(keys)

    def press() -> tuple[str | None, Step]:
        key = next(presses, None)
        return key, ({"press": key} if key is not None else {"no_input": True})

    if "prompt_message" in params:
        for _ in range(PROMPT_CHANCES):
            yield {"say": params["prompt_message"]}
            key, pressed = press()
            yield pressed
            if key == params["prompt_digit"]:
                break
        else:
            yield {"hangup": True}
            return

    repeats = 0
    while True:
        yield {"say": params["message"]}
        if "select_digits" not in params and "repeat_digit" not in params:
            break
        key, pressed = press()
        yield pressed
        if key is not None and key in params.get("select_digits", ""):
            yield {"say": params[f"tts_message_{key}"]}
            break
        if key is None or key != params.get("repeat_digit") or repeats == DEFAULT_REPEAT_MAX:
            break
        repeats += 1
        if "tts_repeat" in params:
            yield {"say": params["tts_repeat"]}
    yield {"hangup": True}
