"""The flow studio: a web page to write, see and try a flow, and (inside `ivrflow serve`) to watch calls.

Everything it shows comes from the engine's own parts, so that a new node type or key shows in
the studio without changing it: diagnostics from the one loader, the diagram from
`ivrflow.tools.graph`, the phone from the interpreter's `step()`, journeys and test results from
`ivrflow.tools.journeys` and `ivrflow.tools.flowtests`, the v1 panel from the v1 planner. The page
itself (static/) only draws what the server answers; no rule is checked in JavaScript.

  views    what one flow's text shows: diagnostics, diagram, v1 fit, journeys, tests
  phone    a call driven one step at a time, its state carried by the page
  guard    who may ask: loopback host names, same-origin writes, the session's token
  app      the Starlette app: `ivrflow studio DIR` (authoring) and the read-only pages `ivrflow serve` mounts
"""
