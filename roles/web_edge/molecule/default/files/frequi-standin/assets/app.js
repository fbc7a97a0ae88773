// Logs in like FreqUI (basic credentials -> bearer token), then shows the bot's status.
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const out = document.getElementById("status");
  const user = document.getElementById("username").value;
  const pass = document.getElementById("password").value;
  const login = await fetch("api/v1/token/login", {
    method: "POST",
    headers: { Authorization: "Basic " + btoa(user + ":" + pass) },
  });
  if (!login.ok) {
    out.textContent = "login refused: HTTP " + login.status;
    return;
  }
  const token = (await login.json()).access_token;
  const auth = { headers: { Authorization: "Bearer " + token } };
  const config = await (await fetch("api/v1/show_config", auth)).json();
  const trades = await (await fetch("api/v1/status", auth)).json();
  out.textContent =
    "bot " + config.bot_name + ": " + config.state +
    (config.dry_run ? " (dry run)" : " (live)") + ", " + config.trading_mode +
    ", open trades: " + trades.length;
});
