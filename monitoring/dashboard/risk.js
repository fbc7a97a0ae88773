"use strict";
// The risk dashboard (docs/monitoring.md, "Risk dashboard"): Prometheus's data, read through
// the web edge at /risk/api/v1/ after the login of the bot served at /, drawn with Chart.js.
// No inline script and no third-party origin: the site's Content-Security-Policy forbids both.

const PROMETHEUS = "api/v1/"; // /risk/api/v1/: query and query_range only
const TOKEN = "../api/v1/token/"; // the default bot's login, as FreqUI uses it
const REFRESH_SECONDS = 30;
const POINTS = 240; // samples per series over the chosen range

// PromQL of each figure. Metric names are the risk exporter's (docs/monitoring.md, "Metrics").
const Q = {
  up: "risk_bot_up",
  drawdown: "risk_bot_governor_drawdown_ratio",
  limit: "risk_bot_governor_max_drawdown_ratio",
  halted: "risk_bot_governor_halted",
  equity: "risk_bot_equity_usdt",
  marginUse: "risk_bot_margin_usdt / risk_bot_equity_usdt",
  marginRatio: "risk_bot_margin_ratio",
  funding: "risk_bot_funding_fees_paid_usdt",
  positions: {
    leverage: "risk_position_leverage",
    notional: "risk_position_notional_usdt",
    margin: "risk_position_margin_usdt",
    liquidation: "risk_position_liquidation_price_usdt",
    distance: "risk_position_liquidation_distance_ratio",
    upnl: "risk_position_unrealized_pnl_usdt",
    funding: "risk_position_funding_fees_paid_usdt",
  },
  leverageTrades: "risk_bot_closed_trades_by_leverage",
  leverageProfit: "risk_bot_closed_profit_by_leverage_usdt",
  leverageRatioSum: "risk_bot_closed_profit_ratio_sum_by_leverage",
};

const COLOURS = ["#2f6fdf", "#d9822b", "#2e9e5b", "#9b51e0", "#c23b3b", "#1aa3a3"];
const charts = {};

// ---- login (freqtrade's JWT: access token for 15 min, refreshed with the refresh token)

function base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function logIn(username, password) {
  const answer = await fetch(TOKEN + "login", {
    method: "POST",
    headers: { Authorization: "Basic " + base64(username + ":" + password) },
  });
  if (answer.status === 429) throw new Error("Too many login attempts: wait a minute.");
  if (!answer.ok) throw new Error("Login refused (HTTP " + answer.status + ").");
  const tokens = await answer.json();
  sessionStorage.setItem("risk.access", tokens.access_token);
  sessionStorage.setItem("risk.refresh", tokens.refresh_token);
}

async function refreshToken() {
  const refresh = sessionStorage.getItem("risk.refresh");
  if (!refresh) return false;
  const answer = await fetch(TOKEN + "refresh", {
    method: "POST",
    headers: { Authorization: "Bearer " + refresh },
  });
  if (!answer.ok) return false;
  sessionStorage.setItem("risk.access", (await answer.json()).access_token);
  return true;
}

function logOut() {
  sessionStorage.removeItem("risk.access");
  sessionStorage.removeItem("risk.refresh");
  show("login");
}

class LoggedOut extends Error {}

async function prometheus(path, params) {
  const url = PROMETHEUS + path + "?" + new URLSearchParams(params);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const answer = await fetch(url, {
      headers: { Authorization: "Bearer " + (sessionStorage.getItem("risk.access") || "") },
    });
    if (answer.status === 401) {
      if (attempt === 0 && (await refreshToken())) continue;
      throw new LoggedOut();
    }
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok || body.status !== "success") {
      throw new Error(path + ": HTTP " + answer.status + " " + (body.error || ""));
    }
    return body.data.result;
  }
  throw new LoggedOut();
}

const instant = (query) => prometheus("query", { query });

function range(query, seconds) {
  const end = Date.now() / 1000;
  const step = Math.max(15, Math.ceil(seconds / POINTS));
  return prometheus("query_range", { query, start: end - seconds, end, step });
}

// ---- formatting and tables

function money(value) {
  return Number.isFinite(value) ? value.toFixed(2) : "–";
}

function percent(value) {
  return Number.isFinite(value) ? (100 * value).toFixed(1) + " %" : "–";
}

function price(value) {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : "–";
}

function fillTable(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        const [text, cls] = Array.isArray(cell) ? cell : [cell, ""];
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    }),
  );
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = body.parentElement.querySelectorAll("th").length;
    td.className = "text muted";
    td.textContent = "none";
    tr.append(td);
    body.append(tr);
  }
}

// value of an instant vector by a label key
function byKey(result, key) {
  return new Map(result.map((s) => [key(s.metric), Number(s.value[1])]));
}

const botKey = (m) => m.bot;
const positionKey = (m) => m.bot + "\u0000" + m.pair + "\u0000" + m.side;
const leverageKey = (m) => m.bot + "\u0000" + m.leverage;

// ---- charts (Chart.js 3, linear time axis in UTC: no date adapter needed)

function timeAxis() {
  return {
    type: "linear",
    ticks: {
      maxTicksLimit: 8,
      // Seconds only matter on a span shorter than an hour (a server just set up).
      callback(ms) {
        const span = this.max - this.min;
        const text = new Date(ms).toISOString();
        return span < 3600e3 ? text.slice(11, 19) : text.slice(5, 16).replace("T", " ");
      },
    },
  };
}

function lineChart(id, datasets, valueAxis) {
  const config = {
    type: "line",
    data: { datasets },
    options: {
      animation: false,
      parsing: false,
      normalized: true,
      scales: { x: timeAxis(), y: valueAxis },
      plugins: { legend: { position: "bottom" } },
    },
  };
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(document.getElementById(id), config);
}

function series(result, label, style = {}) {
  return result.map((s, i) => ({
    label: label(s.metric),
    data: s.values.map(([t, v]) => ({ x: t * 1000, y: Number(v) })),
    borderColor: COLOURS[i % COLOURS.length],
    backgroundColor: COLOURS[i % COLOURS.length],
    borderWidth: 2,
    // A short history (a new server) would not show as a line: mark its points.
    pointRadius: s.values.length < 60 ? 3 : 0,
    ...style,
  }));
}

const percentAxis = (extra = {}) => ({
  ticks: { callback: (v) => String(Number((100 * v).toFixed(2))) + " %" },
  ...extra,
});

// ---- the figures

async function drawBots() {
  const [up, dd, limit, halted, equity, use, funding] = await Promise.all(
    [Q.up, Q.drawdown, Q.limit, Q.halted, Q.equity, Q.marginUse, Q.funding].map(instant),
  );
  const maps = [dd, limit, halted, equity, use, funding].map((r) => byKey(r, botKey));
  const [ddOf, limitOf, haltedOf, equityOf, useOf, fundingOf] = maps;
  const rows = up
    .map((s) => s.metric.bot)
    .sort()
    .map((bot) => {
      const running = byKey(up, botKey).get(bot) === 1;
      const over = ddOf.get(bot) >= limitOf.get(bot);
      return [
        bot,
        [running ? "up" : "DOWN", running ? "" : "bad"],
        [percent(ddOf.get(bot)), over ? "bad" : ""],
        percent(limitOf.get(bot)),
        [haltedOf.get(bot) === 1 ? "HALTED" : "open", haltedOf.get(bot) === 1 ? "bad" : ""],
        money(equityOf.get(bot)),
        percent(useOf.get(bot)),
        money(fundingOf.get(bot)),
      ];
    });
  fillTable("bots", rows);
}

async function drawPositions() {
  const names = Object.keys(Q.positions);
  const results = await Promise.all(names.map((n) => instant(Q.positions[n])));
  const maps = Object.fromEntries(names.map((n, i) => [n, byKey(results[i], positionKey)]));
  const rows = results[0]
    .map((s) => s.metric)
    .sort((a, b) => positionKey(a).localeCompare(positionKey(b)))
    .map((m) => {
      const k = positionKey(m);
      const value = (n) => maps[n].get(k);
      return [
        m.bot,
        [m.pair, "text"],
        [m.side, "text"],
        value("leverage").toString() + "x",
        money(value("notional")),
        money(value("margin")),
        price(value("liquidation")),
        percent(value("distance")),
        money(value("upnl")),
        money(value("funding")),
      ];
    });
  fillTable("positions", rows);
}

async function drawHistory(seconds) {
  const [dd, limit, use, ratio, funding] = await Promise.all(
    [Q.drawdown, Q.limit, Q.marginUse, Q.marginRatio, Q.funding].map((q) => range(q, seconds)),
  );
  lineChart(
    "chart-drawdown",
    [
      ...series(dd, (m) => m.bot + " drawdown"),
      ...series(limit, (m) => m.bot + " limit", { borderDash: [6, 4], borderWidth: 1 }),
    ],
    percentAxis({ min: 0 }),
  );
  lineChart(
    "chart-margin",
    [
      ...series(use, (m) => m.bot + " margin / equity"),
      ...series(ratio, (m) => m.bot + " maintenance margin ratio", { borderDash: [2, 3] }),
    ],
    percentAxis({ min: 0 }),
  );
  lineChart("chart-funding", series(funding, (m) => m.bot), { title: { display: true, text: "USDT" } });
}

function leverageOrder(label) {
  return Number.parseFloat(label);
}

async function drawLeverage() {
  const [trades, profit, ratioSum] = await Promise.all(
    [Q.leverageTrades, Q.leverageProfit, Q.leverageRatioSum].map(instant),
  );
  const profitOf = byKey(profit, leverageKey);
  const ratioOf = byKey(ratioSum, leverageKey);
  const rows = trades
    .map((s) => ({ ...s.metric, trades: Number(s.value[1]) }))
    .filter((r) => r.trades > 0)
    .sort((a, b) => leverageOrder(a.leverage) - leverageOrder(b.leverage) || a.bot.localeCompare(b.bot));
  const buckets = [...new Set(rows.map((r) => r.leverage))];
  const bots = [...new Set(rows.map((r) => r.bot))].sort();
  const mean = (r) => ratioOf.get(leverageKey(r)) / r.trades;
  const datasets = bots.map((bot, i) => ({
    label: bot,
    data: buckets.map((b) => {
      const r = rows.find((x) => x.bot === bot && x.leverage === b);
      return r ? mean(r) : null;
    }),
    backgroundColor: COLOURS[i % COLOURS.length],
  }));
  if (charts["chart-leverage"]) charts["chart-leverage"].destroy();
  charts["chart-leverage"] = new Chart(document.getElementById("chart-leverage"), {
    type: "bar",
    data: { labels: buckets.map((b) => "≤ " + b), datasets },
    options: {
      animation: false,
      scales: { y: { ...percentAxis(), title: { display: true, text: "mean return per trade" } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
  fillTable(
    "leverage",
    rows.map((r) => [
      "≤ " + r.leverage,
      r.bot,
      String(r.trades),
      money(profitOf.get(leverageKey(r))),
      percent(mean(r)),
    ]),
  );
}

// ---- page

function show(which) {
  document.getElementById("login").hidden = which !== "login";
  document.getElementById("dashboard").hidden = which !== "dashboard";
}

let timer = null;

async function draw() {
  clearTimeout(timer);
  const seconds = Number(document.getElementById("range").value);
  const error = document.getElementById("error");
  try {
    await Promise.all([drawBots(), drawPositions(), drawHistory(seconds), drawLeverage()]);
    error.textContent = "";
    document.getElementById("updated").textContent =
      "updated " + new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC";
    document.body.dataset.drawn = String(Date.now()); // for tests: the last complete draw
  } catch (exc) {
    if (exc instanceof LoggedOut) {
      logOut();
      return;
    }
    error.textContent = exc.message;
  }
  timer = setTimeout(draw, REFRESH_SECONDS * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const failure = document.getElementById("login-error");
    try {
      await logIn(
        document.getElementById("username").value,
        document.getElementById("password").value,
      );
      failure.textContent = "";
      document.getElementById("password").value = "";
      show("dashboard");
      draw();
    } catch (exc) {
      failure.textContent = exc.message;
    }
  });
  document.getElementById("refresh").addEventListener("click", draw);
  document.getElementById("range").addEventListener("change", draw);
  document.getElementById("logout").addEventListener("click", logOut);
  if (sessionStorage.getItem("risk.access")) {
    show("dashboard");
    draw();
  } else {
    show("login");
  }
});
