"""The linter's rules about `http` nodes and secrets, in the words of the catalog (catalog.py adds
them to its table; kept here so that the table stays one screenful per subject)."""

from __future__ import annotations

from typing import Literal

# id, severity, group, title, catches, why, fix, example: the fields of catalog.Rule.
Fields = tuple[str, Literal["error", "warning", "info"], Literal["Meaning"], str, str, str, str, str]
HTTP_RULES: list[Fields] = [
    (
        "http-url",
        "error",
        "Meaning",
        "An `http` node's url is not an https address with its host written out",
        "A `url` that starts with `http://`, or whose host is a variable (`https://{{ host }}/...`) or missing.",
        "A lookup carries what the caller typed and your credentials: over plain http anyone on the way reads "
        "them. A host that is a variable could send them anywhere.",
        "Write the whole address with `https://` and the host itself; variables belong in the path or query.",
        'url: "http://api.example.com/refills/{{ rx }}"    # bad\n'
        'url: "https://api.example.com/refills/{{ rx }}"   # good',
    ),
    (
        "http-host",
        "error",
        "Meaning",
        "An `http` node asks a host the server is not allowed to call (with `--allow-host`)",
        "With `ivrflow lint --allow-host HOST` (or IVRFLOW_ALLOW_HOSTS), a `url` whose host is not in that list.",
        "The server calls only the hosts its operator allows; a lookup of any other host goes to `on_error` on "
        "every call.",
        "Use an allowed host, or ask the operator to add this one to `ivrflow serve --allow-host`.",
        "",
    ),
    (
        "secret-place",
        "error",
        "Meaning",
        "A secret is used outside an `http` node's headers",
        "`{{ secret.NAME }}` in a message, a url, a body or a number.",
        "A secret in a url ends up in the web service's logs; in a message it would be read out to the caller.",
        'Send secrets only in `headers`, such as `Authorization: "Bearer {{ secret.TOKEN }}"`.',
        'url: "https://api.example.com/x?key={{ secret.KEY }}"   # bad\n'
        'headers: { X-Api-Key: "{{ secret.KEY }}" }               # good',
    ),
    (
        "credentials-in-flow",
        "error",
        "Meaning",
        "A password, token or API key is written into the flow",
        "A `user:password@` in a url, a header such as `Authorization` or `X-Api-Key` with a value written out "
        "instead of `{{ secret.NAME }}`, or a key or token in a url's query.",
        "Flows live in git and are read by everyone who reviews them; a credential written there is a leaked "
        "credential.",
        "Put the value in the server's environment as `IVRFLOW_SECRET_NAME` and write `{{ secret.NAME }}` in a header.",
        'headers: { Authorization: "Bearer 9f8e7d..." }                  # bad\n'
        'headers: { Authorization: "Bearer {{ secret.PHARMACY_TOKEN }}" }  # good',
    ),
    (
        "http-example",
        "error",
        "Meaning",
        "An `http` node's example answer does not fit its `save` paths",
        "An `example` file that cannot be read or is not JSON, or a `save` path the example answer does not have.",
        "A path the answer lacks sends every call to `on_error`; the example is how this is found before a call "
        "is made.",
        "Correct the path (keys joined by dots, list positions as numbers), or the example answer.",
        "save: { drug: refill.drug }     # bad, when the example says refill.drug_name",
    ),
]
