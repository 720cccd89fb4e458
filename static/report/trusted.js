/* The trusted reporter's page (/trusted): a one-time code from a moderator is sent to the JSON endpoint and the
 * trusted token it answers is kept in localStorage, where deviceToken() finds it. Without this script the page's
 * form is posted as it is and its answer page shows the token (and this script, if it loads there, keeps it). */
import { el, keepTrustedToken, requestJson, setUpQuickExit, strings } from "../lib/common.js";

setUpQuickExit();

const shown = document.getElementById("trusted-token");
if (shown) keepTrustedToken(shown.textContent.trim());

const form = document.getElementById("trusted-form");
if (form) {
  const t = strings("i18n");
  const input = form.querySelector("#id_code");
  const error = document.getElementById("trusted-error");
  const send = form.querySelector("button[type=submit]");
  // A scanned QR code opens /trusted#code=…: the fragment never reaches the server; drop it from the address bar.
  const match = /^#code=([A-Za-z0-9-]{1,64})$/.exec(location.hash);
  if (match) {
    input.value = match[1];
    history.replaceState(null, "", location.pathname);
  }
  const showError = (text) => {
    error.replaceChildren(el("p", null, text));
    error.hidden = false;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = input.value.trim();
    if (!code) {
      showError(t.needCode);
      return;
    }
    send.disabled = true;
    send.setAttribute("aria-busy", "true");
    try {
      const answer = await requestJson(form.dataset.api, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ code }),
        credentials: "same-origin",
      });
      const token = answer.body && answer.body.token;
      if (answer.status === 201 && typeof token === "string") {
        keepTrustedToken(token);
        input.value = "";
        error.hidden = true;
        document.getElementById("trusted").hidden = true;
        document.getElementById("trusted-done").hidden = false;
      } else {
        const body = answer.body || {};
        showError((body.fields && body.fields.code) || body.detail || t.failed);
      }
    } catch {
      showError(t.failed);
    } finally {
      send.disabled = false;
      send.removeAttribute("aria-busy");
    }
  });
}
