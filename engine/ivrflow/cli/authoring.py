"""The commands for writing flows: `simulate` a call, write the `journeys`, run the flows'
`test`s, draw a `graph`."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ivrflow.calls.transcripts import Step
from ivrflow.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    call_language,
    call_variables,
    check_paths,
    language_argument,
    load_flow,
    print_flow_error,
    var_argument,
)
from ivrflow.cli.when import at_argument, call_time
from ivrflow.errors import FlowError, UsageError
from ivrflow.language.lint import flow_files
from ivrflow.language.loader import display_path
from ivrflow.telesign.auth import Credentials
from ivrflow.tools import flowtests, simulate, starter
from ivrflow.tools.answers import answerer, parse_http
from ivrflow.tools.graph import FORMATS
from ivrflow.tools.journeys import journeys_path, render, walk_all

if TYPE_CHECKING:
    from ivrflow.cli.common import Commands


def new_parser(commands: Commands) -> None:
    new = commands.add_parser(
        "new",
        help="start a new flow from a commented example",
        description=(
            "Write NAME.yaml, a small menu flow with comments that explain each key (and the editor modeline that points at the flow schema), "
            "with NAME.tests.yaml (two test cases) and NAME.journeys.yaml beside it. It lints and tests clean; change it from there. "
            "NAME may include folders, like flows/refill-line; the last part is the flow's id. Nothing is overwritten: exit 2 if a file exists."
        ),
    )
    new.add_argument("name", metavar="NAME", help="the new flow's file without .yaml, like flows/refill-line")
    new.set_defaults(run=_new)


def simulate_parser(commands: Commands) -> None:
    simulate_cmd = commands.add_parser(
        "simulate",
        help="hear a flow without placing a phone call",
        description=(
            "Play a flow as a caller would hear it. In a terminal it says each message and asks for a key (Enter alone: no key), until the call ends. "
            "--keys plays a script instead: keys pressed in turn (0-9, * and #), _ for letting a question time out (9_1: press 9, stay silent once, press 1); "
            "a collect_digits question takes its whole entry from the script, up to its end key or its longest entry, or up to a _ that ends a shorter one (11234567_1: press 1, enter 1234567, wait, press 1). "
            "Sensitive values show as •••. In a flow of several languages each thing said shows its language, like `says (es-MX): ...`. "
            "When the keys run out the caller presses nothing more. Exit 0: played; 1: the flow has errors or does not fit v1 (--mode v1), the server misbehaved or does not serve the flow's number, "
            "or the call never ended (stopped after 10,000 steps); 2: the command could not run (such as a --var or a --language the flow does not have); 141: the output was closed early (`| head`)."
        ),
    )
    simulate_cmd.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    simulate_cmd.add_argument(
        "--keys", metavar="KEYS", help="the keys to press, like 9_1 or 11234567#1 (default: ask in the terminal)"
    )
    simulate_cmd.add_argument(
        "--json",
        action="store_true",
        help="print the transcript as one JSON list of steps: say, press, no_input, dial, hangup (in a flow of several languages a say step has its `language`)",
    )
    simulate_cmd.add_argument(
        "--mode",
        choices=["live", "v1"],
        default="live",
        help="live: the interpreter, as `ivrflow serve` runs it (default); v1: the compiled Telesign v1 fields, as Telesign plays them",
    )
    var_argument(simulate_cmd)
    at_argument(simulate_cmd)
    language_argument(simulate_cmd, "start the call")
    simulate_cmd.add_argument(
        "--http",
        action="append",
        default=[],
        metavar="NODE=ANSWER",
        help="what the web service of http node NODE answers: a JSON file, a status like 503, timeout or refused (repeat it for several nodes; "
        "default: the node's example, else each saved value as [name])",
    )
    simulate_cmd.add_argument(
        "--server",
        metavar="URL",
        help="drive a running `ivrflow serve` at URL over HTTP instead, with an incoming call to the flow's first number, its events shaped (and, with TELESIGN_API_KEY set, signed) as Telesign's",
    )
    simulate_cmd.set_defaults(run=_simulate)


def journeys_parser(commands: Commands) -> None:
    journeys = commands.add_parser(
        "journeys",
        help="write every path a caller can take, beside the flow",
        description=(
            "Walk every path through each flow (every choice; a wrong key, no key and the repeat key up to the flow's limits; every way the call ends) "
            "and write them with what the caller hears to FLOW.journeys.yaml beside FLOW.yaml; a flow in several languages is walked starting in each, each path listed once with the language it starts in. The same flow always gives the same file, so a diff in review shows what callers will hear differently. "
            "--check writes nothing and exits 1 when a file is missing or out of date."
        ),
    )
    journeys.add_argument("paths", nargs="+", type=Path, metavar="FLOW", help="flow files, or folders of them")
    journeys.add_argument(
        "--check", action="store_true", help="only say which journeys files are missing or out of date"
    )
    journeys.set_defaults(run=_journeys)


def test_parser(commands: Commands) -> None:
    test = commands.add_parser(
        "test",
        help="test flows: journeys files, hand-written cases, live against v1",
        description=(
            "For each flow: its FLOW.journeys.yaml must be what the flow does now (the difference is shown); the cases in FLOW.tests.yaml must pass; "
            "and a flow that compiles to v1 must sound the same live and on v1 on every journey. Exit 0: all pass; 1: a test failed; 2: the command could not run."
        ),
    )
    test.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("flows")],
        metavar="PATH",
        help="flow files, or folders of them (default: flows)",
    )
    test.add_argument(
        "--format",
        choices=["text", "github", "json"],
        default=None,
        help="output format (default: github when GITHUB_ACTIONS=true, else text)",
    )
    test.add_argument(
        "--coverage", action="store_true", help="also report the nodes and menu choices no journey or test case reaches"
    )
    test.set_defaults(run=_test)


def graph_parser(commands: Commands) -> None:
    graph = commands.add_parser(
        "graph",
        help="draw a flow as a diagram",
        description="Print a flow as a Mermaid diagram (paste it into a ```mermaid block in GitHub Markdown) or as Graphviz dot (`| dot -Tsvg > flow.svg`). "
        "A flow in several languages is drawn with the texts of one (its first, or --language), named in the title; each select_language key is drawn with the language it chooses.",
    )
    graph.add_argument("flow", type=Path, metavar="FLOW", help="a flow file")
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid", help="mermaid (default) or dot")
    language_argument(graph, "label the nodes with their texts")
    graph.set_defaults(run=_graph)


def _new(args: argparse.Namespace) -> int:
    path = starter.target(args.name)
    problem = starter.problem_with(path)
    if problem:
        raise UsageError(f"ivrflow new: {problem}")
    for written in starter.write(path):
        print(f"wrote {display_path(written)}")
    print(f"next: ivrflow simulate {display_path(path)}")
    return EXIT_OK


def _simulate(args: argparse.Namespace) -> int:
    flow = load_flow(args.command, args.flow)
    given = call_variables(args.command, args.var, flow)
    language = call_language(args.command, args.language, flow)
    try:
        keys: Iterable[str | None] = simulate.parse_keys(args.keys) if args.keys is not None else _asked(args.json)
    except ValueError as problem:
        raise UsageError(f"ivrflow simulate: --keys: {problem}") from None
    if args.server:
        if given or args.language or args.mode != "live" or args.http or args.at:
            raise UsageError(
                "ivrflow simulate: with --server the server runs the flow as it serves it, on its own clock: --var, --at, --language, --http and --mode v1 do not apply"
            )
        credentials = Credentials.from_env()
        steps: Iterable[Step] = simulate.over_http(
            flow,
            args.server,
            keys,
            customer_id=credentials.customer_id if credentials else "",
            api_key=credentials.api_key if credentials else None,
        )
    elif args.mode == "v1":
        played = simulate.v1(flow, keys, given, call_time(args.command, args.at, flow), language)
        if isinstance(played, list):
            raise FlowError(
                flow.path,
                played,
                note=f"{flow.path}: does not fit one Telesign v1 request; simulate it with --mode live",
            )
        steps = played
    else:
        answer = answerer(flow, parse_http(args.http), Path.cwd())
        steps = simulate.live(flow, keys, given, answer, call_time(args.command, args.at, flow), language)
    if args.json:
        print(json.dumps(list(steps), ensure_ascii=False))
        return EXIT_OK
    if args.keys is None and not args.server:
        print(
            f"Calling {flow.id} ({language or flow.language}). Press a key and Enter when asked; Enter alone presses nothing.",
            flush=True,
        )
    for each in steps:
        print(_step_words(each), flush=True)
    return EXIT_OK


def _asked(quiet: bool) -> Iterator[str | None]:
    """Keys typed at the terminal, one line per question (a number asked for is typed whole);
    Enter alone (or the input's end) is no key."""
    while True:
        try:
            typed = input("" if quiet else "  your key> ").strip()
        except EOFError:
            typed = ""
        if typed and all(key in "0123456789*#" for key in typed):
            yield typed
        elif not typed:
            yield None
        else:
            print("  (keys: 0-9, * or #; Enter alone for none)", flush=True)
            yield from _asked(quiet)
            return


def _step_words(each: Step) -> str:
    if "say" in each:
        return f"says ({each['language']}): {each['say']}" if "language" in each else f"says: {each['say']}"
    if "press" in each:
        return f"  pressed {each['press']}"
    if "no_input" in each:
        return "  (no key)"
    if "dial" in each:
        return f"puts the call through to {each['dial']}"
    if "lookup" in each:
        return f"  (lookup {each['lookup']})"
    return "hangs up"


def _journeys(args: argparse.Namespace) -> int:
    check_paths(args)
    code = EXIT_OK
    for path in flow_files(args.paths):
        try:
            flow = load_flow(args.command, path)
        except FlowError as error:  # say so, and go on with the other flows
            print_flow_error(error)
            code = EXIT_PROBLEMS
            continue
        walked = walk_all(flow)
        text, target = render(flow, walked), journeys_path(path)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != text:
                print(
                    f"{display_path(target)}: {'missing' if current is None else 'out of date'}: run `ivrflow journeys {display_path(path)}`"
                )
                code = EXIT_PROBLEMS
            continue
        if current != text:
            target.write_text(text, encoding="utf-8")
        more = f", stopped at {len(walked.journeys)}" if walked.truncated else ""
        print(
            f"{display_path(target)}: {len(walked.journeys)} journeys{more}{'' if current != text else ' (unchanged)'}"
        )
    return code


def _test(args: argparse.Namespace) -> int:
    check_paths(args)
    results = flowtests.run(args.paths)
    name = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    print(flowtests.RENDERERS[name](results, coverage=args.coverage), end="")
    return EXIT_PROBLEMS if any(result.failures for result in results) else EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    flow = load_flow(args.command, args.flow)
    print(FORMATS[args.format](flow.speaking(call_language(args.command, args.language, flow))), end="")
    return EXIT_OK
