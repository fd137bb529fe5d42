// videogate playground: a client of the public API in the browser, with the key in sessionStorage.
// Every value from the server is written with textContent or as an attribute, never as HTML.
"use strict";
(function () {
  const storageKey = "vg_playground_key";
  const $ = (id) => document.getElementById(id);
  let models = [];
  let watching = null;

  function key() { return sessionStorage.getItem(storageKey); }

  async function api(path, options) {
    const init = Object.assign({ headers: {} }, options || {});
    init.headers = Object.assign({ "Authorization": "Bearer " + key() }, init.headers);
    const response = await fetch(path, init);
    let body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    if (!response.ok) {
      const error = new Error(body.message || ("HTTP " + response.status));
      error.code = body.error || ("http_" + response.status);
      throw error;
    }
    return body;
  }

  function show(element, text) { element.textContent = text; element.hidden = !text; }

  function option(value, text, selected) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    element.selected = !!selected;
    return element;
  }

  function fillModel() {
    const model = models.find((m) => m.id === $("model").value);
    if (!model) return;
    $("aspect-ratio").replaceChildren(...model.aspect_ratios.map((r) => option(r, r, r === model.default_aspect_ratio)));
    $("duration").replaceChildren(...model.durations.map((d) => option(String(d), d + " s", d === model.default_duration)));
    $("image").required = model.mode === "image-to-video";
  }

  async function loadModels() {
    const answer = await api("/v1/models");
    models = answer.data.filter((m) => m.available !== false);
    $("model").replaceChildren(...models.map((m) => option(m.id, m.id + " (" + m.credits + " credits, " + m.mode + ")", m.id === "kling-v2.5-turbo-pro")));
    fillModel();
  }

  async function loadAccount() {
    const answer = await api("/v1/account");
    const account = answer.account;
    const environment = account.key && account.key.environment ? account.key.environment : (key().startsWith("vg_live_") ? "live" : "test");
    const balance = account.balances[environment] || { available: 0, held: 0 };
    $("balances").textContent = account.name + " · " + environment + " credits: " + balance.available + " available, " + balance.held + " held";
  }

  async function loadRecent() {
    const answer = await api("/v1/video?limit=10");
    const rows = answer.data.map((job) => {
      const row = document.createElement("tr");
      const idCell = document.createElement("td");
      if (job.status === "completed") {
        const link = document.createElement("a");
        link.href = "#";
        link.textContent = job.request_id;
        link.addEventListener("click", (event) => { event.preventDefault(); render(job); });
        idCell.append(link);
      } else {
        idCell.textContent = job.request_id;
      }
      row.append(idCell);
      const prompt = job.metadata && job.metadata.prompt ? job.metadata.prompt : "";
      for (const value of [job.status, job.model, prompt.slice(0, 80), job.created_at]) {
        const cell = document.createElement("td");
        cell.textContent = value || "";
        row.append(cell);
      }
      return row;
    });
    $("recent").replaceChildren(...rows);
  }

  function render(job) {
    $("current").hidden = false;
    $("current-id").textContent = job.request_id;
    const progress = $("current-progress");
    let text = job.status;
    if (job.status === "pending") {
      text = job.queue_position !== undefined ? "Waiting: " + job.queue_position + " job(s) ahead in the queue" : "Waiting in the queue";
      progress.value = 0;
    } else if (job.status === "processing") {
      text = "Rendering" + (job.progress !== undefined ? ": " + job.progress + " %" : "");
      progress.value = job.progress || 0;
    } else if (job.status === "completed") {
      text = "Completed: " + job.credits_used + " credits charged";
      progress.value = 100;
      const video = $("result-video");
      if (video.getAttribute("src") !== job.video_url) {
        video.src = job.video_url;
        if (job.thumbnail_url) video.poster = job.thumbnail_url;
      }
      $("result-download").href = job.video_url;
      $("result").hidden = false;
    } else if (job.status === "error") {
      text = "Failed: " + (job.error ? job.error.code + ": " + job.error.message : "unknown error");
    }
    if (job.status !== "completed") $("result").hidden = true;
    $("current-status").textContent = text;
  }

  function final(job) { return job.status === "completed" || job.status === "error"; }

  // The events stream, read with fetch (EventSource cannot send the Authorization header);
  // polls every 5 s if the stream is refused or drops.
  async function watch(id) {
    const token = {};
    watching = token;
    while (watching === token) {
      try {
        const response = await fetch("/v1/video/" + encodeURIComponent(id) + "/events", { headers: { "Authorization": "Bearer " + key() } });
        if (!response.ok || !response.body) throw new Error("no stream");
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let boundary;
          while ((boundary = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            const data = block.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart()).join("\n");
            if (!data || !block.split("\n").some((line) => line === "event: job")) continue;
            const job = JSON.parse(data);
            if (watching !== token) return;
            render(job);
            if (final(job)) { await Promise.all([loadRecent(), loadAccount()]); return; }
          }
        }
      } catch (e) {
        // fall through to a poll
      }
      if (watching !== token) return;
      const job = await api("/v1/video/" + encodeURIComponent(id));
      render(job);
      if (final(job)) { await Promise.all([loadRecent(), loadAccount()]); return; }
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
  }

  function readImage(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  async function generate(event) {
    event.preventDefault();
    show($("submit-error"), "");
    const prompt = $("prompt").value;
    // The prompt is kept in the job's metadata (up to 500 characters) so that the recent jobs can show it.
    const body = { prompt: prompt, model: $("model").value, aspect_ratio: $("aspect-ratio").value, duration: Number($("duration").value),
      metadata: { source: "playground", prompt: Array.from(prompt).slice(0, 500).join("") } };
    const file = $("image").files[0];
    if (file) body.image = await readImage(file);
    const idempotency = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    try {
      const job = await api("/v1/video", { method: "POST", headers: { "Content-Type": "application/json", "Idempotency-Key": idempotency }, body: JSON.stringify(body) });
      render(job);
      loadAccount();
      watch(job.request_id);
    } catch (error) {
      show($("submit-error"), error.code + ": " + error.message);
    }
  }

  async function start() {
    $("sign-in").hidden = true;
    $("app").hidden = false;
    $("sign-out").hidden = false;
    await Promise.all([loadModels(), loadAccount(), loadRecent()]);
  }

  async function signIn(event) {
    event.preventDefault();
    show($("sign-in-error"), "");
    sessionStorage.setItem(storageKey, $("api-key").value.trim());
    try {
      await api("/v1/account");
      $("api-key").value = "";
      await start();
    } catch (error) {
      sessionStorage.removeItem(storageKey);
      show($("sign-in-error"), error.code === "invalid_api_key" || error.code === "unauthorized" ? "That API key is not valid." : error.code + ": " + error.message);
    }
  }

  function signOut() {
    watching = null;
    sessionStorage.removeItem(storageKey);
    $("app").hidden = true;
    $("current").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("sign-in-form").addEventListener("submit", signIn);
    $("generate").addEventListener("submit", generate);
    $("model").addEventListener("change", fillModel);
    $("sign-out").addEventListener("click", signOut);
    if (key()) start().catch(signOut);
  });
})();
