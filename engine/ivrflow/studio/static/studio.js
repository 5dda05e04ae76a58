// ivrflow studio: draws what the studio server answers. No flow rule is checked here: every
// diagnostic, diagram, call step and test result comes from the engine through /api/*.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("config").textContent);
  const author = config.mode === "author";
  const $ = (id) => document.getElementById(id);
  const DEBOUNCE_MS = 250;
  const timings = (window.studioTimings = []); // ms from a keystroke to its diagnostics shown (the browser test reads them)

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  async function api(method, path, body, headers) {
    const response = await fetch(path, {
      method,
      headers: Object.assign(body ? { "Content-Type": "application/json" } : {}, headers || {}),
      body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    return { status: response.status, data };
  }

  function show(view) {
    for (const id of ["view-list", "view-flow", "view-calls", "view-call"]) $(id).hidden = id !== view;
  }

  // ---------- the list of flows ----------
  async function listFlows() {
    show("view-list");
    const { data } = await api("GET", "api/flows");
    $("list-folder").textContent = `In ${data.folder}` + (data.read_only ? " (read only)" : "");
    const list = $("flow-list");
    list.replaceChildren();
    for (const flow of data.flows) {
      const note = flow.errors ? el("span", { class: "bad" }, ` (${flow.errors} error${flow.errors === 1 ? "" : "s"})`) : "";
      list.append(el("li", {}, el("a", { href: "#/flow/" + encodeURIComponent(flow.name) }, flow.name), note));
    }
  }

  // ---------- one flow ----------
  const state = { name: "", version: "", lastTyped: 0, seq: 0, shown: 0, callText: "", call: null, entry: "", atChosen: false, callAt: {}, callHttp: {} };
  const source = $("source");

  async function openFlow(name) {
    show("view-flow");
    state.name = name;
    $("flow-title").textContent = name;
    $("save").hidden = !author;
    source.readOnly = !author;
    $("conflict").hidden = true;
    $("outcomes-panel").hidden = !config.operator;
    const { status, data } = await api("GET", "api/flows/" + encodeURIComponent(name));
    if (status !== 200) { $("status").textContent = data.error; return; }
    source.value = data.text;
    state.version = data.version;
    $("status").textContent = author ? "Opened. Changes are checked as you type; Save writes the file." : "Read only.";
    resetCall();
    state.atChosen = false;
    $("call-at").value = "";
    $("journeys").textContent = "";
    $("tests").textContent = "";
    await check();
    if (config.operator) outcomes();
  }

  function gutter(diagnostics) {
    const count = source.value.split("\n").length;
    const worst = {};
    const rank = { error: 0, warning: 1, info: 2 };
    for (const d of diagnostics) {
      if (!(d.line in worst) || rank[d.severity] < rank[worst[d.line]]) worst[d.line] = d.severity;
    }
    const lines = [];
    for (let i = 1; i <= count; i++) {
      const span = el("span", { "data-line": String(i) }, String(i));
      if (worst[i]) { span.className = worst[i]; span.title = worst[i]; }
      lines.push(span);
    }
    $("gutter").replaceChildren(...lines);
    $("gutter").scrollTop = source.scrollTop;
  }

  function goToLine(line, column) {
    const lines = source.value.split("\n");
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, (column || 1) - 1);
    source.focus();
    source.setSelectionRange(offset, offset);
    const lineHeight = parseFloat(getComputedStyle(source).lineHeight) || 19;
    source.scrollTop = Math.max(0, (line - 4) * lineHeight);
  }

  function problem(d) {
    return el("li", { class: d.severity, "data-line": String(d.line), "data-rule": d.rule },
      el("button", { type: "button", class: "where", onclick: () => goToLine(d.line, d.column), "aria-label": `Go to line ${d.line}, column ${d.column}` }, `line ${d.line}:${d.column}`),
      el("span", { class: "sev" }, d.severity), d.message + " ",
      el("a", { href: d.link, target: "_blank", rel: "noopener", title: d.title }, d.rule),
      d.hint ? el("span", { class: "hint" }, "Hint: " + d.hint) : "");
  }

  let timer = 0;
  source.addEventListener("input", () => {
    state.lastTyped = performance.now();
    clearTimeout(timer);
    timer = setTimeout(check, DEBOUNCE_MS);
    gutter([]);
  });
  source.addEventListener("scroll", () => { $("gutter").scrollTop = source.scrollTop; });

  async function check() {
    const seq = ++state.seq;
    const typedAt = state.lastTyped;
    const { status, data } = await api("POST", "api/check", Object.assign({ name: state.name, text: source.value }, timeChosen(false)));
    if (seq !== state.seq || status !== 200) return; // a later keystroke's answer will come
    const list = $("problems");
    list.replaceChildren(...data.diagnostics.map(problem));
    const errors = data.diagnostics.filter((d) => d.severity === "error").length;
    const others = data.diagnostics.length - errors;
    $("problems-summary").textContent = data.diagnostics.length
      ? `${errors} error${errors === 1 ? "" : "s"}, ${others} warning${others === 1 ? "" : "s"} or note${others === 1 ? "" : "s"}`
      : "No problems.";
    gutter(data.diagnostics);
    if (typedAt) timings.push(performance.now() - typedAt);
    state.shown = seq;
    await diagram(data.diagram);
    v1(data.v1);
    phoneOptions(data.phone);
  }

  let diagramCount = 0;
  let lastDiagram = "";
  async function diagram(text) {
    const box = $("diagram");
    if (!text) {
      box.classList.add("stale");
      $("diagram-note").textContent = "The diagram shows the flow as it last read without errors.";
      return;
    }
    box.classList.remove("stale");
    $("diagram-note").textContent = "";
    if (text === lastDiagram) return;
    lastDiagram = text;
    try {
      const { svg } = await window.mermaid.render("diagram-svg-" + ++diagramCount, text);
      box.innerHTML = svg;
      box.dataset.version = String(diagramCount);
    } catch (e) {
      $("diagram-note").textContent = "The diagram could not be drawn: " + e;
    }
  }

  function v1(fit) {
    const box = $("v1");
    box.replaceChildren();
    if (fit.fits === true) {
      box.append(el("p", { class: "v1-yes" }, "Yes: " + fit.why + "."));
      const rows = Object.entries(fit.fields).map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v)));
      box.append(el("details", {}, el("summary", {}, "The v1 request's fields"), el("table", {}, el("tbody", {}, ...rows))));
    } else if (fit.fits === false) {
      box.append(el("p", { class: "v1-no" }, "No: " + fit.why + "."));
      const n = fit.reasons.length;
      if (n) box.append(el("details", {}, el("summary", {}, `Why: ${n} reason${n === 1 ? "" : "s"}`), el("ul", { class: "problems" }, ...fit.reasons.map(problem))));
    } else {
      box.append(el("p", {}, fit.why));
    }
  }

  // ---------- saving ----------
  async function save(version) {
    $("status").textContent = "Saving…";
    const { status, data } = await api("PUT", "api/flows/" + encodeURIComponent(state.name),
      { text: source.value, version }, { "X-Studio-Token": config.token });
    if (status === 200) {
      state.version = data.version;
      $("conflict").hidden = true;
      $("status").textContent = "Saved.";
    } else if (status === 409) {
      $("conflict-text").textContent = data.error;
      $("conflict").dataset.diskVersion = data.disk_version;
      $("conflict").dataset.diskText = data.disk_text;
      $("conflict").hidden = false;
      $("status").textContent = "Not saved: the file changed on disk.";
      $("conflict-reload").focus();
    } else {
      $("status").textContent = "Not saved: " + data.error;
    }
  }
  $("save").addEventListener("click", () => save(state.version));
  $("conflict-reload").addEventListener("click", () => {
    source.value = $("conflict").dataset.diskText;
    state.version = $("conflict").dataset.diskVersion;
    $("conflict").hidden = true;
    $("status").textContent = "Reloaded from disk.";
    check();
  });
  $("conflict-keep").addEventListener("click", () => save($("conflict").dataset.diskVersion));
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s" && author && !$("view-flow").hidden) { e.preventDefault(); save(state.version); }
  });

  // ---------- the phone ----------
  // The time of the call: the author's choice once they make one (sent with every check, so the
  // v1 panel and the schedules' states follow it), else now, as the server last said it. A call
  // takes place at the time shown when it starts. `always`: send the time shown even if not chosen.
  function timeChosen(always) {
    if ($("call-time").hidden) return {};
    const chosen = (always || state.atChosen) && $("call-at").value;
    return Object.assign({ zone: $("call-zone").value }, chosen ? { at: $("call-at").value } : {});
  }

  function timeOptions(time) {
    $("call-time").hidden = !time;
    if (!time) return;
    const zones = $("call-zone");
    if ([...zones.options].map((o) => o.value).join() !== time.zones.join()) {
      zones.replaceChildren(...time.zones.map((z) => el("option", { value: z }, z)));
    }
    zones.value = time.zone;
    if (!state.atChosen) $("call-at").value = time.value;
    $("call-schedules").textContent = time.problem
      ? "Not a time: " + time.problem
      : "Then: " + time.schedules.map((s) => `${s.name} ${s.state}`).join("; ") + ".";
    $("call-schedules").className = time.problem ? "bad" : "";
  }

  function lookupOptions(lookups) {
    const box = $("call-lookups");
    box.hidden = !lookups.length;
    box.replaceChildren(el("legend", {}, "What the web services answer"));
    for (const l of lookups) {
      const id = "http-" + l.node;
      box.append(el("div", {}, el("label", { for: id, title: l.url }, l.node),
        el("select", { id, name: l.node }, ...l.answers.map((a) => el("option", { value: a.value }, a.label)))));
    }
  }

  let lastOptions = "";
  function phoneOptions(options) {
    $("call-start").disabled = !options;
    if (!options) return;
    timeOptions(options.time);
    const rest = Object.assign({}, options, { time: !!options.time });
    if (JSON.stringify(rest) === lastOptions) return; // keep what the author typed and picked
    lastOptions = JSON.stringify(rest);
    lookupOptions(options.lookups);
    const box = $("call-vars");
    box.replaceChildren(el("legend", {}, "Variables of the call"));
    for (const v of options.variables) {
      const id = "var-" + v.name;
      box.append(el("div", {}, el("label", { for: id }, v.name + (v.builtin ? " (number)" : "")),
        el("input", { id, name: v.name, value: v.value, type: v.sensitive ? "password" : "text", autocomplete: "off" })));
    }
    $("call-language").replaceChildren(...options.languages.map((l) => el("option", { value: l }, l)));
    $("call-language").value = options.language;
    // A flow with several languages starts the call in the one chosen; one in a single language is heard in the voice chosen.
    $("call-language-label").textContent = options.several ? "Starts in" : "Language";
    state.several = options.several;
  }

  function resetCall() {
    state.call = null;
    state.entry = "";
    $("transcript").replaceChildren();
    askFor(null);
  }

  function say(steps) {
    const list = $("transcript");
    for (const s of steps) {
      let item;
      if ("say" in s) item = el("li", { class: "say" },
        el("span", { class: "who" }, state.callSeveral && s.language ? `Heard (${s.language}): ` : "Heard: "),
        el("span", s.language ? { lang: s.language } : {}, s.say)); // a screen reader reads each line in its language
      else if ("press" in s) item = el("li", { class: "press" }, "You pressed " + s.press);
      else if ("no_input" in s) item = el("li", { class: "quiet" }, "You stayed silent");
      else if ("dial" in s) item = el("li", { class: "end" }, "The call is put through to " + s.dial);
      else if ("hangup" in s) item = el("li", { class: "end" }, "The call hangs up");
      else if ("lookup" in s) item = el("li", { class: "lookup" }, "The web service: " + s.lookup);
      else item = el("li", {}, JSON.stringify(s));
      list.append(item);
    }
    list.scrollTop = list.scrollHeight;
  }

  function askFor(ask) {
    const live = !!(state.call && !state.call.ended);
    const transfer = !!(ask && ask.kind === "transfer");
    const keys = !!(ask && !transfer);
    for (const b of $("keypad").querySelectorAll("button")) b.disabled = !keys;
    $("silent").disabled = !keys;
    $("hang-up").disabled = !live;
    $("send-entry").hidden = !(keys && ask.most > 1);
    $("answered").hidden = $("not-answered").hidden = !transfer;
    $("entry").textContent = keys && ask.most > 1 ? `Entry: ${state.entry || "(none yet)"}` : "";
    $("phone").dataset.state = !state.call ? "idle" : state.call.ended ? "ended" : transfer ? "transfer" : "asking";
  }

  async function phone(body) {
    const { status, data } = await api("POST", "api/phone",
      Object.assign({ name: state.name, text: state.callText, language: state.language, http: state.callHttp }, state.callAt, body));
    if (status !== 200) { $("transcript").append(el("li", { class: "end" }, data.error)); return; }
    state.call = data;
    state.entry = "";
    say(data.steps);
    if (data.ended) {
      $("transcript").append(el("li", { class: "end" }, `The call ended (${data.outcome || "completed"}).`));
      $("transcript").scrollTop = $("transcript").scrollHeight;
    }
    askFor(data.ask);
  }

  $("call-form").addEventListener("submit", (e) => {
    e.preventDefault();
    resetCall();
    state.callText = source.value;
    const variables = {};
    for (const input of $("call-vars").querySelectorAll("input")) variables[input.name] = input.value;
    state.language = $("call-language").value;
    state.callSeveral = !!state.several;
    state.callAt = timeChosen(true);
    state.callHttp = {};
    for (const select of $("call-lookups").querySelectorAll("select")) state.callHttp[select.name] = select.value;
    const when = state.callAt.at ? ` at ${state.callAt.at.replace("T", " ")} ${state.callAt.zone}` : "";
    const speaks = state.callSeveral ? `the call starts in ${state.language}` : `the flow speaks ${state.language}`;
    $("transcript").append(el("li", { class: "end" }, `Calling${when}; ${speaks}.`));
    phone({ start: { variables } });
    $("keypad").focus();
  });

  function answer(kind, keys) {
    if (!state.call || state.call.ended) return;
    phone({ state: state.call.state, answer: kind, keys: keys || "" });
  }

  function press(key) {
    const ask = state.call && state.call.ask;
    if (!ask || ask.kind === "transfer") return;
    if (ask.most <= 1) return answer("keys", key);
    state.entry += key;
    if ((ask.end_key && key === ask.end_key) || state.entry.length >= ask.most) return answer("keys", state.entry);
    askFor(ask);
  }

  for (const key of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
    $("keypad").append(el("button", { type: "button", "data-key": key, "aria-label": "Key " + key, disabled: "", onclick: () => press(key) }, key));
  }
  $("keypad").addEventListener("keydown", (e) => {
    if (/^[0-9*#]$/.test(e.key)) { e.preventDefault(); press(e.key); }
    else if (e.key === "Enter" && state.entry) { e.preventDefault(); answer("keys", state.entry); }
  });
  $("call-at").addEventListener("input", () => {
    state.atChosen = !!$("call-at").value; // cleared: back to now
    check();
  });
  $("call-zone").addEventListener("change", check);
  $("send-entry").addEventListener("click", () => state.entry && answer("keys", state.entry));
  $("silent").addEventListener("click", () => answer("silent"));
  $("answered").addEventListener("click", () => answer("answered"));
  $("not-answered").addEventListener("click", () => answer("not_answered"));
  $("hang-up").addEventListener("click", () => answer("hang_up"));

  // ---------- journeys and tests ----------
  $("run-tests").addEventListener("click", async () => {
    $("tests").textContent = "Running…";
    const { status, data } = await api("POST", "api/tests", { name: state.name, text: source.value });
    const box = $("tests");
    box.replaceChildren();
    if (status !== 200) { box.textContent = data.error; return; }
    if (!data.tests) { box.textContent = data.why; $("journeys").textContent = ""; return; }
    const t = data.tests;
    box.append(el("p", { class: data.passed ? "tests-ok" : "tests-bad" },
      (data.passed ? "Tests pass: " : "Tests fail: ") + `${t.journeys} journeys, ${t.cases} cases, ${t.failures.length} failure${t.failures.length === 1 ? "" : "s"}.`));
    if (t.failures.length) box.append(el("ul", {}, ...t.failures.map((f) => el("li", {}, el("pre", {}, `${f.file}:${f.line}: ${f.message}`)))));
    const un = t.uncovered;
    if (un.nodes.length || un.choices.length) {
      box.append(el("p", {}, "Not reached by any journey or case: " + [...un.nodes, ...un.choices.map((c) => `${c.menu} key ${c.key}`)].join(", ")));
    }
    $("journeys").textContent = data.journeys;
  });

  // ---------- operators: calls, one call, outcomes, active calls ----------
  function bars(title, rows) {
    const width = 420, barH = 18, gap = 6, left = 150;
    const most = Math.max(1, ...rows.map((r) => r[1]));
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "bars");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", title + ": " + rows.map((r) => `${r[0]} ${r[1]}`).join(", "));
    svg.setAttribute("width", String(width + 40));
    svg.setAttribute("height", String(rows.length * (barH + gap) + 4));
    rows.forEach(([name, count], i) => {
      const y = i * (barH + gap);
      const label = document.createElementNS(ns, "text");
      label.setAttribute("x", "0"); label.setAttribute("y", String(y + 13)); label.textContent = name;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(left)); rect.setAttribute("y", String(y));
      rect.setAttribute("height", String(barH)); rect.setAttribute("width", String(Math.max(1, ((width - left) * count) / most)));
      const value = document.createElementNS(ns, "text");
      value.setAttribute("x", String(left + ((width - left) * count) / most + 4)); value.setAttribute("y", String(y + 13)); value.textContent = String(count);
      svg.append(label, rect, value);
    });
    return el("figure", {}, el("figcaption", {}, title), svg);
  }

  async function outcomes() {
    const box = $("outcomes");
    box.replaceChildren();
    const flowId = (source.value.match(/^flow:\s*["']?([^"'\s#]+)/m) || [])[1];
    if (!flowId) return;
    const { status, data } = await api("GET", "api/ops/flows/" + encodeURIComponent(flowId) + "/outcomes");
    if (status !== 200) { box.textContent = data.ResponseStatus ? data.ResponseStatus.Message : "no outcomes"; return; }
    box.append(el("p", {}, `${data.calls} call${data.calls === 1 ? "" : "s"} (${data.v1_calls} v1, ${data.live_calls} live), ${data.answered} answered.`));
    if (Object.keys(data.statuses).length) box.append(bars("By status", Object.entries(data.statuses)));
    if (data.choices.length) box.append(bars("Choices (v1 calls)", data.choices.map((c) => [`${c.key} → ${c.node}`, c.calls])));
    // Live calls: each menu's keys, each survey's answers, where calls ended (only what was used).
    for (const m of data.menus || []) {
      const rows = [...m.keys.map((k) => [`${k.key} → ${k.node || "(not a choice)"}`, k.times]), ["no key", m.no_input], ["attempts used up", m.used_up]];
      if (rows.some((r) => r[1])) box.append(bars(`${m.type || "node"} ${m.node}`, rows));
    }
    for (const a of data.answers || []) {
      const rows = [...(a.values || []).map((v) => [`answered ${v.value}`, v.times]), ["entered", a.entered], ["no key", a.no_input], ["not valid", a.invalid], ["attempts used up", a.used_up]];
      if (rows.some((r) => r[1])) box.append(bars(`collect_digits ${a.node}${a.sensitive ? " (sensitive)" : ""}`, rows));
    }
    if ((data.endings || []).length) box.append(bars("Endings", data.endings.map((e) => [`${e.node || "?"} (${e.outcome})`, e.calls])));
  }

  async function listCalls() {
    show("view-calls");
    const flows = $("filter-flow");
    if (flows.options.length === 1) {
      const { data } = await api("GET", "api/flows");
      for (const f of data.flows) if (f.flow) flows.append(el("option", { value: f.flow }, f.flow));
      for (const s of config.statuses || []) $("filter-status").append(el("option", { value: s }, s));
    }
    const query = new URLSearchParams();
    if (flows.value) query.set("flow", flows.value);
    if ($("filter-status").value) query.set("status", $("filter-status").value);
    query.set("limit", $("filter-limit").value || "50");
    const { status, data } = await api("GET", "api/ops/calls?" + query);
    const body = $("calls-table").tBodies[0];
    body.replaceChildren();
    if (status !== 200) { body.append(el("tr", {}, el("td", { colspan: "6" }, data.ResponseStatus ? data.ResponseStatus.Message : "error"))); return; }
    for (const c of data.calls) {
      body.append(el("tr", {}, el("td", {}, c.created), el("td", {}, c.flow || ""), el("td", {}, c.status), el("td", {}, c.direction),
        el("td", {}, c.to || ""), el("td", {}, el("a", { href: "#/call/" + encodeURIComponent(c.reference_id) }, c.reference_id))));
    }
    if (!data.calls.length) body.append(el("tr", {}, el("td", { colspan: "6" }, "No calls.")));
  }
  $("calls-filter").addEventListener("submit", (e) => { e.preventDefault(); listCalls(); });

  function stepText(s) {
    if ("say" in s) return (s.language ? `Heard (${s.language}): ` : "Heard: ") + s.say;
    if ("press" in s) return "Pressed " + s.press;
    if ("no_input" in s) return "Stayed silent";
    if ("dial" in s) return "Put through to " + s.dial;
    if ("hangup" in s) return "Hung up";
    return Object.entries(s).filter(([k]) => k !== "at").map(([k, v]) => `${k}: ${v}`).join(", ");
  }

  async function showCall(id) {
    show("view-call");
    const { status, data } = await api("GET", "api/ops/calls/" + encodeURIComponent(id));
    $("call-title").textContent = "Call " + id;
    const facts = $("call-facts");
    const body = $("call-transcript").tBodies[0];
    facts.replaceChildren();
    body.replaceChildren();
    if (status !== 200) { facts.textContent = data.ResponseStatus ? data.ResponseStatus.Message : "error"; return; }
    for (const key of ["flow", "status", "language", "direction", "to", "from", "created", "updated"]) {
      facts.append(el("dt", {}, key), el("dd", {}, String(data[key] ?? "")));
    }
    for (const [k, v] of Object.entries(data.variables || {})) facts.append(el("dt", {}, k), el("dd", {}, v));
    for (const s of data.transcript || []) body.append(el("tr", {}, el("td", {}, s.at || ""), el("td", {}, stepText(s))));
  }

  async function activeCalls() {
    const { status, data } = await api("GET", "api/active");
    if (status === 200) $("active").textContent = `${data.active} active call${data.active === 1 ? "" : "s"}`;
  }

  // ---------- routes ----------
  function route() {
    const hash = decodeURIComponent(location.hash.slice(1) || "/");
    if (hash.startsWith("/flow/")) openFlow(hash.slice(6));
    else if (hash === "/calls" && config.operator) listCalls();
    else if (hash.startsWith("/call/") && config.operator) showCall(hash.slice(6));
    else listFlows();
    $("main").focus({ preventScroll: true });
  }

  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral", flowchart: { htmlLabels: false } });
  $("mode").textContent = author ? `Editing ${config.folder}` : "Read only";
  if (config.operator) {
    $("nav-calls").hidden = false;
    $("active").hidden = false;
    activeCalls();
    setInterval(activeCalls, 5000);
  }
  window.addEventListener("hashchange", route);
  route();
})();
