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

from engine.model import DEFAULT_REPEAT_MAX, PROMPT_CHANCES

Step = dict[str, object]  # {"say": text} | {"press": digit} | {"no_input": True} | {"hangup": True}


def hear(params: Mapping[str, str], keys: Iterable[str | None]) -> list[Step]:
    """The transcript of a v1 call; `None` in `keys` is a prompt the caller lets time out.
    When the keys run out, the caller presses nothing more."""
    transcript: list[Step] = []
    presses: Iterator[str | None] = iter(keys)

    def press() -> str | None:
        key = next(presses, None)
        transcript.append({"press": key} if key is not None else {"no_input": True})
        return key

    if "prompt_message" in params:
        for _ in range(PROMPT_CHANCES):
            transcript.append({"say": params["prompt_message"]})
            if press() == params["prompt_digit"]:
                break
        else:
            transcript.append({"hangup": True})
            return transcript

    repeats = 0
    while True:
        transcript.append({"say": params["message"]})
        if "select_digits" not in params and "repeat_digit" not in params:
            break
        key = press()
        if key is not None and key in params.get("select_digits", ""):
            transcript.append({"say": params[f"tts_message_{key}"]})
            break
        if key is None or key != params.get("repeat_digit") or repeats == DEFAULT_REPEAT_MAX:
            break
        repeats += 1
        if "tts_repeat" in params:
            transcript.append({"say": params["tts_repeat"]})
    transcript.append({"hangup": True})
    return transcript
