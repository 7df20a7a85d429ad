// Renders a self-contained HTML report in headless Chromium and checks it.
//
//   node check_report.mjs REPORT.html OUTDIR
//
// Starts Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) headless with a
// fresh profile in a temporary directory and talks to it over the DevTools
// protocol (a WebSocket, through the `ws` package in tests/interop/node_modules:
// Node.js 20 has no WebSocket global without a flag). It opens the report as
// file:///..., waits for the load event and a short settle, then writes
// OUTDIR/report.png (full page, 1280 CSS px wide) and OUTDIR/report.pdf (A4).
//
// Fails (exit 1, reasons on stderr) on:
//   - any request other than the report's own file (data: URIs are allowed
//     but listed in the summary); requests that are not the file are also
//     blocked before they leave the browser;
//   - console.error / console.assert, an uncaught exception, or a browser log
//     entry of level error (e.g. "Failed to load resource");
//   - a navigation error, or the whole check taking longer than 60 s.
// Warnings are listed in the summary but do not fail the check.
//
// Prints a JSON summary on stdout either way:
//   {url, title, requests, data_urls, errors, warnings, page_width, page_height,
//    screenshot_bytes, pdf_bytes}
// Chromium is always killed and its profile removed, on errors and timeouts too.

import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const TIMEOUT_MS = 60_000;
const SETTLE_MS = 500;
const WIDTH = 1280;
const HEIGHT = 800;
// Exactly these flags, plus the debugging port and the fresh profile.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function loadWebSocket() {
  const require = createRequire(new URL("../interop/package.json", import.meta.url));
  try {
    return require("ws");
  } catch (error) {
    if (typeof globalThis.WebSocket === "function") return globalThis.WebSocket;
    throw new Error(
      `no WebSocket client: ${error.message}; run \`bash .ci/run\` (or: cd tests/interop && npm ci)`,
    );
  }
}

const [reportArg, outArg] = process.argv.slice(2);
if (!reportArg || !outArg) {
  console.error("usage: node check_report.mjs REPORT.html OUTDIR");
  process.exit(2);
}
const reportPath = path.resolve(reportArg);
const outDir = path.resolve(outArg);
const reportUrl = pathToFileURL(reportPath).href;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const summary = {
  url: reportUrl,
  title: null,
  requests: [],
  data_urls: [],
  errors: [],
  warnings: [],
  // The rendered page in CSS px at 1280 px wide: a width over 1280 means
  // something overflows horizontally (informational, not a failure).
  page_width: 0,
  page_height: 0,
  screenshot_bytes: 0,
  pdf_bytes: 0,
};
// Reasons the check fails; `errors` in the summary are the page's own errors.
const failures = [];

let chromium = null;
let chromiumExited = null;
let chromiumStderr = "";
let profile = null;
let socket = null;
let cleanedUp = false;

/** Kills Chromium (its whole process group) and removes the profile; idempotent. */
async function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  try {
    socket?.close();
  } catch {}
  if (chromium && chromium.exitCode === null && chromium.signalCode === null) {
    try {
      process.kill(-chromium.pid, "SIGKILL");
    } catch {
      try {
        chromium.kill("SIGKILL");
      } catch {}
    }
    // The profile is only safe to remove once Chromium stopped writing to it.
    await Promise.race([chromiumExited, sleep(5_000)]);
  }
  if (profile) {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.rmSync(profile, { recursive: true, force: true });
        break;
      } catch {
        await sleep(200);
      }
    }
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Strips the fragment: file:///r.html#x is the same file. */
function withoutFragment(url) {
  const hash = url.indexOf("#");
  return hash < 0 ? url : url.slice(0, hash);
}

/** Starts Chromium and resolves with its browser-level DevTools WebSocket URL. */
function launch() {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), "i4gauge-chromium-"));
  const args = [...FLAGS, "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"];
  chromium = spawn(chromiumPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    // Its own process group, so cleanup() kills the renderers and zygotes too.
    detached: true,
  });
  chromiumExited = new Promise((resolve) => chromium.once("exit", resolve));
  return new Promise((resolve, reject) => {
    chromium.once("error", (error) =>
      reject(
        new Error(
          `cannot start ${chromiumPath}: ${error.message}; install Debian's chromium ` +
            "(bash .ci/run does: apt-get install chromium) or set CHROMIUM",
        ),
      ),
    );
    chromium.once("exit", (code, signal) =>
      reject(
        new Error(
          `${chromiumPath} exited (${signal ?? code}) before it was ready:\n${chromiumStderr}`,
        ),
      ),
    );
    chromium.stderr.setEncoding("utf8");
    chromium.stderr.on("data", (chunk) => {
      chromiumStderr += chunk;
      if (chromiumStderr.length > 64_000) chromiumStderr = chromiumStderr.slice(-64_000);
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(chromiumStderr);
      if (match) resolve(match[1]);
    });
  });
}

/** A DevTools protocol connection: send(method, params, sessionId), on(method, fn). */
async function connect(url) {
  const WebSocket = loadWebSocket();
  socket = new WebSocket(url);
  let nextId = 1;
  const pending = new Map();
  const listeners = new Map();
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = (event) => reject(new Error(`DevTools WebSocket: ${event.message ?? "error"}`));
  });
  socket.onerror = null;
  socket.onclose = () => {
    for (const { reject, method } of pending.values()) {
      reject(new Error(`DevTools connection closed during ${method}`));
    }
    pending.clear();
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data));
    if (message.id !== undefined) {
      const call = pending.get(message.id);
      if (!call) return;
      pending.delete(message.id);
      if (message.error) {
        call.reject(new Error(`${call.method}: ${message.error.message} (${message.error.code})`));
      } else {
        call.resolve(message.result);
      }
    } else {
      for (const listener of listeners.get(message.method) ?? []) {
        try {
          listener(message.params, message.sessionId);
        } catch (error) {
          failures.push(`checker error in ${message.method}: ${error.stack}`);
        }
      }
    }
  };
  return {
    send(method, params = {}, sessionId = undefined) {
      const id = nextId++;
      const message = { id, method, params };
      if (sessionId) message.sessionId = sessionId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, method });
        socket.send(JSON.stringify(message));
      });
    },
    on(method, listener) {
      if (!listeners.has(method)) listeners.set(method, []);
      listeners.get(method).push(listener);
    },
  };
}

function describeConsole(params) {
  const text = params.args
    .map((arg) => (arg.value !== undefined ? String(arg.value) : (arg.description ?? arg.type)))
    .join(" ");
  const frame = params.stackTrace?.callFrames?.[0];
  const where = frame ? ` (${frame.url}:${frame.lineNumber + 1})` : "";
  return `console.${params.type}: ${text}${where}`;
}

async function check() {
  const browserUrl = await launch();
  const cdp = await connect(browserUrl);

  // Every request any session of the page makes: the main document, its
  // workers and out-of-process frames (auto-attached below).
  const seenRequests = new Set();
  const noteRequest = (url) => {
    if (url.startsWith("data:")) {
      const short = url.length > 80 ? `${url.slice(0, 80)}...` : url;
      if (!summary.data_urls.includes(short)) summary.data_urls.push(short);
      return;
    }
    if (seenRequests.has(url)) return;
    seenRequests.add(url);
    summary.requests.push(url);
    if (withoutFragment(url) !== reportUrl) failures.push(`request other than the report: ${url}`);
  };
  cdp.on("Network.requestWillBeSent", ({ request }) => noteRequest(request.url));
  // Everything but the report itself is blocked before it leaves the browser.
  cdp.on("Fetch.requestPaused", ({ requestId, request }, sessionId) => {
    noteRequest(request.url);
    const allowed = request.url.startsWith("data:") || withoutFragment(request.url) === reportUrl;
    const reply = allowed
      ? cdp.send("Fetch.continueRequest", { requestId }, sessionId)
      : cdp.send("Fetch.failRequest", { requestId, errorReason: "BlockedByClient" }, sessionId);
    reply.catch(() => {});
  });
  cdp.on("Runtime.consoleAPICalled", (params) => {
    const text = describeConsole(params);
    if (params.type === "error" || params.type === "assert") {
      summary.errors.push(text);
      failures.push(text);
    } else if (params.type === "warning") {
      summary.warnings.push(text);
    }
  });
  cdp.on("Runtime.exceptionThrown", ({ exceptionDetails: details }) => {
    const text = `uncaught exception: ${details.exception?.description ?? details.text} (${
      details.url ?? "?"
    }:${details.lineNumber + 1})`;
    summary.errors.push(text);
    failures.push(text);
  });
  cdp.on("Log.entryAdded", ({ entry }) => {
    const text = `log ${entry.source} ${entry.level}: ${entry.text}${entry.url ? ` (${entry.url})` : ""}`;
    if (entry.level === "error") {
      summary.errors.push(text);
      failures.push(text);
    } else if (entry.level === "warning") {
      summary.warnings.push(text);
    }
  });
  cdp.on("Inspector.targetCrashed", () => failures.push("the page crashed"));

  const enable = async (sessionId) => {
    await Promise.all([
      cdp.send("Network.enable", {}, sessionId),
      cdp.send("Runtime.enable", {}, sessionId),
      cdp.send("Log.enable", {}, sessionId),
      cdp.send("Fetch.enable", { patterns: [{ urlPattern: "*" }] }, sessionId),
    ]);
  };
  // Frames in other processes and workers: watch them too before they run.
  cdp.on("Target.attachedToTarget", ({ sessionId, targetInfo }, parentSession) => {
    // The page itself is attached from the browser session, and set up below.
    if (!parentSession) return;
    (async () => {
      await cdp.send("Target.setAutoAttach", {
        autoAttach: true,
        waitForDebuggerOnStart: true,
        flatten: true,
      }, sessionId).catch(() => {});
      await enable(sessionId).catch(() => {});
      await cdp.send("Runtime.runIfWaitingForDebugger", {}, sessionId).catch(() => {});
    })().catch((error) => failures.push(`cannot watch ${targetInfo.type} ${targetInfo.url}: ${error.message}`));
  });

  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  await enable(sessionId);
  await cdp.send("Page.enable", {}, sessionId);
  await cdp.send(
    "Target.setAutoAttach",
    { autoAttach: true, waitForDebuggerOnStart: true, flatten: true },
    sessionId,
  );
  await cdp.send(
    "Emulation.setDeviceMetricsOverride",
    { width: WIDTH, height: HEIGHT, deviceScaleFactor: 1, mobile: false },
    sessionId,
  );
  await cdp.send("Emulation.setScrollbarsHidden", { hidden: true }, sessionId);

  const loaded = new Promise((resolve) =>
    cdp.on("Page.loadEventFired", (_params, from) => from === sessionId && resolve()),
  );
  const navigation = await cdp.send("Page.navigate", { url: reportUrl }, sessionId);
  if (navigation.errorText) {
    failures.push(`cannot open ${reportUrl}: ${navigation.errorText}`);
    return;
  }
  await loaded;
  await sleep(SETTLE_MS);

  const { result } = await cdp.send(
    "Runtime.evaluate",
    { expression: "document.title", returnByValue: true },
    sessionId,
  );
  summary.title = result.value ?? null;

  fs.mkdirSync(outDir, { recursive: true });
  // The whole page, not just the viewport: its full height, 1280 px wide.
  const { cssContentSize } = await cdp.send("Page.getLayoutMetrics", {}, sessionId);
  summary.page_width = Math.ceil(cssContentSize.width);
  summary.page_height = Math.ceil(cssContentSize.height);
  const clip = {
    x: 0,
    y: 0,
    width: Math.max(WIDTH, Math.ceil(cssContentSize.width)),
    height: Math.max(1, Math.ceil(cssContentSize.height)),
    scale: 1,
  };
  const screenshot = await cdp.send(
    "Page.captureScreenshot",
    { format: "png", captureBeyondViewport: true, clip },
    sessionId,
  );
  const png = Buffer.from(screenshot.data, "base64");
  fs.writeFileSync(path.join(outDir, "report.png"), png);
  summary.screenshot_bytes = png.length;

  const printed = await cdp.send(
    "Page.printToPDF",
    { paperWidth: 8.27, paperHeight: 11.69, printBackground: true, preferCSSPageSize: true },
    sessionId,
  );
  const pdf = Buffer.from(printed.data, "base64");
  fs.writeFileSync(path.join(outDir, "report.pdf"), pdf);
  summary.pdf_bytes = pdf.length;

  // Anything the screenshot or printing triggered counts too.
  await sleep(100);
}

async function main() {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the check did not finish within ${TIMEOUT_MS / 1000} s`)),
      TIMEOUT_MS,
    );
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, async () => {
      await cleanup();
      process.exit(1);
    });
  }
  try {
    await Promise.race([check(), timeout]);
  } catch (error) {
    failures.push(error.message);
    if (chromiumStderr && !/DevTools listening/.test(chromiumStderr)) {
      failures.push(`chromium stderr:\n${chromiumStderr}`);
    }
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
  console.log(JSON.stringify(summary, null, 2));
  if (failures.length > 0) {
    console.error(`${reportPath}: ${failures.length} problem(s):`);
    for (const failure of failures) console.error(`  - ${failure}`);
    process.exit(1);
  }
}

await main();
