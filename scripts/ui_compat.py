"""Agent Chat UI against Waypost, in a real browser: ``make ui-compat``.

1. Installs Agent Chat UI from npm: ``create-agent-chat-app@0.1.6`` scaffolds its Next.js
   template (nothing of it is committed: it lands in ``.ui-compat/``, gitignored); the web app
   is used standalone, its Google font is replaced by the same font from npm (the build would
   fetch it from fonts.googleapis.com), then ``next build``. Kept between runs (``--rebuild``).
2. Starts ``waypost serve`` on the embedded default (SQLite, in-process workers) with the demo
   store and the ``retail_support`` workflow. Its model is ``openai:scripted-retail`` at a
   loopback OpenAI-compatible server that answers the two judgement steps (intake, plan) for
   the demo's sample case: Waypost's real provider path over HTTP, deterministic answers.
3. Starts ``next start`` and drives headless Chromium (the system's, through Playwright): sends
   the customer's message, waits for the approval rendered with its buttons, approves it and
   waits for the reply. It then checks on the server that the approval was decided once, by
   the UI's resume, and that the order was cancelled.
4. Writes the result (versions, timings, every request the browser made to Waypost) into
   ``docs/ui-compat.md`` and screenshots into ``docs/img/agent-chat-ui-*.png``.

Downloads a few hundred MB from npm on the first run (not part of ``make test``). Needs node,
npm, ``/usr/bin/chromium`` and the ``playwright`` package (no browser download).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the loopback model server lives with the test fakes

from tests.fakes import ScriptedOpenAIServer  # noqa: E402

SCAFFOLD = "create-agent-chat-app@0.1.6"
FONT = "@fontsource-variable/inter@5.3.0"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
# dependencies of the template the web app never imports (its monorepo's agent tooling)
UNUSED = [
    "dependencies.@langchain/langgraph-api",
    "dependencies.@langchain/langgraph-cli",
    "dependencies.esbuild",
    "dependencies.esbuild-plugin-tailwindcss",
    "devDependencies.turbo",
]
RESULT_START = "<!-- ui-compat:result:start -->"
RESULT_END = "<!-- ui-compat:result:end -->"
APPROVE = re.compile(r"^(Accept|Approve)$")
TIMING_LABELS = {
    "scaffold_s": "scaffold (npx)",
    "npm_install_s": "npm install",
    "next_build_s": "next build",
    "to_approval_s": "page opened -> approval shown",
    "to_reply_s": "Accept clicked -> reply shown",
}
WORKFLOW = "retail_support"


def log(message: str) -> None:
    print(f"[ui-compat] {message}", flush=True)


def run(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """A command that must succeed within ``timeout`` seconds; its output is returned."""
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the process exited:\n{log_path.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} not up in {timeout:.0f} s:\n{log_path.read_text()[-4000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)


@contextlib.contextmanager
def process(cmd: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> Iterator[Any]:
    """A child process, always stopped (terminated, then killed) when the block ends."""
    with log_path.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


# -- 1. Agent Chat UI from npm ----------------------------------------------------------------
def patch_font(layout: Path) -> None:
    """``next/font/google`` (fetched at build time) -> ``next/font/local`` over the same
    Inter shipped by ``@fontsource-variable/inter`` (OFL-1.1)."""
    text = layout.read_text()
    if "next/font/local" in text:
        return
    google = re.compile(r'import \{ Inter \} from "next/font/google";')
    call = re.compile(r"const inter = Inter\(\{.*?\}\);", re.DOTALL)
    if not google.search(text) or not call.search(text):
        raise SystemExit(f"{layout}: the font import changed; update patch_font")
    text = google.sub('import localFont from "next/font/local";', text)
    text = call.sub(
        "const inter = localFont({\n"
        '  src: "../../node_modules/@fontsource-variable/inter/files/'
        'inter-latin-wght-normal.woff2",\n'
        '  display: "swap",\n'
        "});",
        text,
    )
    layout.write_text(text)


def install_ui(workdir: Path, rebuild: bool, timings: dict[str, float]) -> Path:
    web = workdir / "web"
    npm = shutil.which("npm")
    npx = shutil.which("npx")
    assert npm and npx
    env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}
    if rebuild and web.exists():
        shutil.rmtree(web)
    if not (web / "package.json").exists():
        t0 = time.monotonic()
        scaffold = workdir / "scaffold"
        shutil.rmtree(scaffold, ignore_errors=True)
        scaffold.mkdir(parents=True)
        log(f"scaffolding with npx {SCAFFOLD}")
        run(
            [
                npx,
                "-y",
                SCAFFOLD,
                "-Y",
                "--project-name",
                "chat-app",
                "--package-manager",
                "npm",
                "--install-deps",
                "false",
                "--framework",
                "nextjs",
                "--include-agent",
                "none",
            ],
            scaffold,
            300,
            env,
        )
        shutil.copytree(scaffold / "chat-app" / "apps" / "web", web)
        (web / "turbo.json").unlink(missing_ok=True)
        run([npm, "pkg", "set", "scripts.build=next build"], web, 60)
        run([npm, "pkg", "delete", "scripts.build:internal", *UNUSED], web, 60)
        # what the scaffold's workspace root pins for every app
        run([npm, "pkg", "set", "overrides.@langchain/core=^0.3.42"], web, 60)
        timings["scaffold_s"] = time.monotonic() - t0
    if not (web / "node_modules" / "next").is_dir():
        t0 = time.monotonic()
        log("npm install (a few hundred MB on the first run)")
        run([npm, "install", "--no-audit", "--no-fund", FONT], web, 900, env)
        timings["npm_install_s"] = time.monotonic() - t0
    patch_font(web / "src" / "app" / "layout.tsx")
    if not (web / ".next" / "BUILD_ID").exists():
        t0 = time.monotonic()
        log("next build")
        run([npm, "run", "build"], web, 900, env)
        timings["next_build_s"] = time.monotonic() - t0
    return web


def package_version(web: Path, name: str) -> str:
    found = web / "node_modules" / name / "package.json"
    return str(json.loads(found.read_text())["version"]) if found.exists() else "?"


# -- 2. Waypost with the demo store and a deterministic model ---------------------------------
def demo_case(database_url: str) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    """The demo's sample case (first customer with a pending order) and the answers a good
    model gives to the intake and plan steps for it."""
    from sqlalchemy import select
    from waypost.domains.retail.demo import sample_case
    from waypost.domains.retail.tools.store import Order, User
    from waypost.runtime.db import make_engine, make_session_factory
    from waypost.runtime.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(url=database_url))
    try:
        factory = make_session_factory(engine)
        message = sample_case(factory)
        with factory() as session:
            user, order = session.execute(
                select(User, Order)
                .join(Order, Order.user_id == User.user_id)
                .where(Order.status == "pending")
                .order_by(User.user_id, Order.order_id)
                .limit(1)
            ).one()
            first, last, zip_code, order_id = (
                user.first_name,
                user.last_name,
                user.zip,
                order.order_id,
            )
    finally:
        engine.dispose()
    intake = {
        "identity": {"first_name": first, "last_name": last, "zip": zip_code},
        "requests": [{"kind": "cancel_order", "order_id": order_id, "reason": "by mistake"}],
    }
    plan = {
        "actions": [{"kind": "cancel_order", "order_id": order_id, "reason": "ordered by mistake"}]
    }
    return message, intake, plan, order_id


def order_status(database_url: str, order_id: str) -> str:
    from waypost.domains.retail.tools.store import Order
    from waypost.runtime.db import make_engine, make_session_factory
    from waypost.runtime.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(url=database_url))
    try:
        with make_session_factory(engine)() as session:
            order = session.get(Order, order_id)
            return str(order.status) if order is not None else "missing"
    finally:
        engine.dispose()


def retail_model(intake: dict[str, Any], plan: dict[str, Any]) -> Any:
    """Answers a structured-output request with the intake or the plan, by the schema asked."""

    def answer(body: dict[str, Any]) -> Any:
        tools = body.get("tools") or []
        if tools:
            schema = tools[0]["function"].get("parameters", {})
        else:
            schema = ((body.get("response_format") or {}).get("json_schema") or {}).get(
                "schema", {}
            )
        value = plan if "actions" in (schema.get("properties") or {}) else intake
        if tools:
            return [(tools[0]["function"]["name"], value, "call_1")]
        return json.dumps(value)

    return answer


# -- 3. the browser -----------------------------------------------------------------------------
def drive_browser(
    ui_url: str, api_url: str, message: str, shots: Path, prefix: str
) -> dict[str, Any]:
    """Send ``message``, approve the approval the UI renders, wait for the reply."""
    from playwright.sync_api import sync_playwright

    requests: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1300})

            def on_response(response: Any) -> None:
                request = response.request
                if request.url.startswith(api_url) and request.method != "OPTIONS":
                    body = request.post_data
                    requests.append(
                        {
                            "method": request.method,
                            "path": request.url[len(api_url) :],
                            "status": response.status,
                            "body": json.loads(body) if body else None,
                        }
                    )

            page.on("response", on_response)
            t0 = time.monotonic()
            page.goto(f"{ui_url}/?apiUrl={api_url}&assistantId={WORKFLOW}")
            box = page.get_by_placeholder("Type your message...")
            box.wait_for(timeout=30_000)
            box.fill(message)
            page.get_by_role("button", name="Send").click()
            # the npm template labels it Accept (agent-inbox), the GitHub UI Approve (HITL)
            accept = page.get_by_role("button", name=APPROVE, exact=True)
            accept.wait_for(timeout=60_000)
            page.get_by_text(re.compile(r"cancel.?pending.?order", re.I)).first.wait_for(
                timeout=5_000
            )
            timings["to_approval_s"] = time.monotonic() - t0
            page.wait_for_timeout(500)  # let the toast/scroll settle for the picture
            page.mouse.move(550, 500)
            page.mouse.wheel(0, -3000)  # the chat sticks to its bottom: show the message too
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / f"{prefix}-approval.png"))
            t1 = time.monotonic()
            accept.click()
            reply = page.get_by_text(re.compile(r"^Done: cancel order"))
            reply.first.wait_for(timeout=60_000)
            timings["to_reply_s"] = time.monotonic() - t1
            page.wait_for_timeout(500)
            page.screenshot(path=str(shots / f"{prefix}-reply.png"))
            reply_text = reply.first.inner_text()
            version = browser.version
        finally:
            browser.close()
    return {"requests": requests, "timings": timings, "reply": reply_text, "chromium": version}


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


# -- 4. the record --------------------------------------------------------------------------------
def _path_template(path: str) -> str:
    path = path.split("?", 1)[0]
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", path)


def _body_summary(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    shown = {}
    for key, value in body.items():
        if key == "input" and isinstance(value, dict) and value.get("messages"):
            shown[key] = {"messages": ["<human message>"]}
        elif key == "checkpoint" and isinstance(value, dict):
            shown[key] = {k: ("…" if k == "checkpoint_id" else v) for k, v in value.items()}
        else:
            shown[key] = value
    return json.dumps(shown, separators=(", ", ": "), ensure_ascii=False)


def write_result(doc: Path, result: dict[str, Any]) -> None:
    lines = [
        RESULT_START,
        f"Last run: {result['when']} — **{result['outcome']}** "
        f"(`make ui-compat`, {result['total_s']:.0f} s).",
        "",
        "| | |",
        "| --- | --- |",
    ]
    for key, value in result["versions"].items():
        lines.append(f"| {key} | {value} |")
    for key, value in result["timings"].items():
        lines.append(f"| {TIMING_LABELS.get(key, key)} | {value:.1f} s |")
    lines += [
        f"| reply | {result['reply']} |",
        f"| approval | {result['approval']} |",
        f"| order {result['order_id']} | {result['order_status']} |",
        "",
        "Requests the browser made to Waypost, in order (CORS preflights left out):",
        "",
        "| method | path | status | body |",
        "| --- | --- | --- | --- |",
    ]
    for item in result["requests"]:
        body = _body_summary(item["body"]).replace("|", "\\|")
        lines.append(
            f"| {item['method']} | `{_path_template(item['path'])}` | {item['status']} | "
            f"{f'`{body}`' if body else ''} |"
        )
    lines += [
        "",
        "![Agent Chat UI showing the approval](img/agent-chat-ui-approval.png)",
        "",
        "![Agent Chat UI after the approval: the reply](img/agent-chat-ui-reply.png)",
        RESULT_END,
    ]
    text = doc.read_text()
    start, end = text.index(RESULT_START), text.index(RESULT_END) + len(RESULT_END)
    doc.write_text(text[:start] + "\n".join(lines) + text[end:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".ui-compat")
    parser.add_argument("--rebuild", action="store_true", help="scaffold and build afresh")
    parser.add_argument(
        "--web",
        type=Path,
        help="an Agent Chat UI already built (e.g. a checkout of langchain-ai/agent-chat-ui "
        "after `npm install && npm run build`) instead of the npm scaffold",
    )
    parser.add_argument("--no-record", action="store_true", help="do not update docs/")
    parser.add_argument(
        "--shots", type=Path, default=ROOT / "docs" / "img", help="where screenshots go"
    )
    args = parser.parse_args()
    started = time.monotonic()
    for tool in ("node", "npm", "npx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y nodejs npm")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise SystemExit(
            "playwright is missing: .venv/bin/pip install playwright==1.65.2"
        ) from None

    timings: dict[str, float] = {}
    args.workdir.mkdir(parents=True, exist_ok=True)
    web = args.web.resolve() if args.web else install_ui(args.workdir, args.rebuild, timings)
    versions = {
        "Agent Chat UI": f"{SCAFFOLD} (npm)" if args.web is None else str(web),
        "@langchain/langgraph-sdk": package_version(web, "@langchain/langgraph-sdk"),
        "next": package_version(web, "next"),
        "node": run(["node", "--version"], ROOT, 30).strip(),
        "playwright": run([sys.executable, "-m", "playwright", "--version"], ROOT, 60)
        .strip()
        .removeprefix("Version "),
    }
    shots: Path = args.shots
    shots.mkdir(parents=True, exist_ok=True)
    waypost = [sys.executable, "-c", "from waypost.cli import main; main()"]
    with tempfile.TemporaryDirectory(prefix="ui-compat-") as tmp_dir:
        tmp = Path(tmp_dir)
        database_url = f"sqlite:///{tmp / 'waypost.db'}"
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("WAYPOST_", "OPENAI_"))
        }
        base_env.update(WAYPOST_DATABASE__URL=database_url, WAYPOST_LOG_LEVEL="WARNING")
        run([*waypost, "db", "upgrade"], tmp, 120, base_env)
        run([*waypost, "store", "seed"], tmp, 120, base_env)
        message, intake, plan, order_id = demo_case(database_url)
        api_port, ui_port = free_port(), free_port()
        api_url, ui_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
        model = ScriptedOpenAIServer([retail_model(intake, plan)] * 20, model="scripted-retail")
        with model as model_url:
            env = {
                **base_env,
                "WAYPOST_MODELS__DEFAULT": "openai:scripted-retail",
                "WAYPOST_MODELS__OPENAI_BASE_URL": model_url,
                "WAYPOST_MODELS__TIMEOUT_S": "10",
                # the UI's origin may call the API from the browser (CORS is off by default)
                "WAYPOST_API__CORS_ORIGINS": json.dumps([ui_url]),
            }
            ui_env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1"}
            next_bin = str(web / "node_modules" / "next" / "dist" / "bin" / "next")
            with (
                process(
                    [*waypost, "serve", "--port", str(api_port)], tmp, env, tmp / "serve.log"
                ) as api,
                process(
                    ["node", next_bin, "start", "-p", str(ui_port), "-H", "127.0.0.1"],
                    web,
                    ui_env,
                    tmp / "next.log",
                ) as ui,
            ):
                wait_http(f"{api_url}/ok", api, tmp / "serve.log", 60)
                wait_http(f"{ui_url}/", ui, tmp / "next.log", 60)
                log(f"Waypost at {api_url}, Agent Chat UI at {ui_url}; driving Chromium")
                seen = drive_browser(ui_url, api_url, message, shots, "agent-chat-ui")
                approvals = get_json(f"{api_url}/approvals?workflow={WORKFLOW}")
            status = order_status(database_url, order_id)
    (approval,) = approvals
    resumes = [
        r for r in seen["requests"] if r["body"] and (r["body"].get("command") or {}).get("resume")
    ]
    ok = (
        approval["status"] == "approved"
        and approval["resume_run_id"] is not None
        and len(resumes) == 1
        and status == "cancelled"
    )
    timings.update(seen["timings"])
    result = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "outcome": "passed" if ok else "FAILED",
        "total_s": time.monotonic() - started,
        "versions": {**versions, "chromium": seen["chromium"]},
        "timings": timings,
        "reply": seen["reply"].replace("\n", " "),
        "approval": f"{approval['status']} by `{approval['decided_by']}` "
        f"(resume run {approval['resume_run_id']})",
        "order_id": order_id,
        "order_status": status,
        "requests": seen["requests"],
    }
    if args.no_record:
        print(json.dumps(result, indent=1, ensure_ascii=False))
    else:
        write_result(ROOT / "docs" / "ui-compat.md", result)
    log(f"{result['outcome']}: {result['reply']}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
