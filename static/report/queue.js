/* The phone's outbox of reports: IndexedDB, shared by the page and the service worker.
   A report stays here until the server acknowledges it (201, or 200 for a retry), then it is deleted. */
(function (scope) {
  "use strict";
  var DB = "alcabala", STORE = "outbox", ENDPOINT = "/api/v1/reports";
  var sending = null;

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "client_id" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), result;
        var request = work(tx.objectStore(STORE));
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function put(item) { return run("readwrite", function (s) { return s.put(item); }); }
  function remove(id) { return run("readwrite", function (s) { return s.delete(id); }); }
  function all() {
    return run("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    });
  }

  function body(item) {
    var fields = { client_id: item.client_id, kind: item.kind, observed_at: item.observed_at, device: item.device };
    if (item.location) fields.location = item.location;
    if (item.place) fields.place = item.place;
    if (item.accuracy_m != null) fields.accuracy_m = item.accuracy_m;
    if (item.description) fields.description = item.description;
    if (!item.photo) return { body: JSON.stringify(fields), headers: { "Content-Type": "application/json" } };
    var form = new FormData();
    Object.keys(fields).forEach(function (key) {
      var value = fields[key];
      form.append(key, typeof value === "object" ? JSON.stringify(value) : String(value));
    });
    form.append("photo", item.photo, "photo");
    return { body: form, headers: {} };
  }

  /* Sends one report. Resolves to {ok, data} when acknowledged, {retry: true} when it should wait
     (offline, 429, 5xx), or {rejected: detail} when the server refused it (4xx: the user fixes or discards). */
  function send(item) {
    var request = body(item);
    // referrerPolicy "origin": under the site's no-referrer policy a browser without Sec-Fetch-Site would say
    // Origin: null, which the server refuses as a foreign page's; the request only ever goes to our own origin.
    return fetch(ENDPOINT, { method: "POST", body: request.body, headers: request.headers, credentials: "omit", cache: "no-store", referrerPolicy: "origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.status === 200 || response.status === 201) {
            return remove(item.client_id).then(function () { return { ok: true, data: data }; });
          }
          if (response.status === 408 || response.status === 429 || response.status >= 500) {
            return { retry: true, after: Number(response.headers.get("Retry-After")) || 0 };
          }
          item.state = "rejected";
          item.error = data.detail || ("HTTP " + response.status);
          item.fields = data.fields || {};
          return put(item).then(function () { return { rejected: item.error }; });
        });
      }, function () { return { retry: true }; });
  }

  /* Sends every waiting report once; concurrent calls share one pass. */
  function flush() {
    if (sending) return sending;
    sending = all().then(function (items) {
      var waiting = items.filter(function (item) { return item.state === "waiting"; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function (results) {
          return send(item).then(function (result) { results.push([item, result]); return results; });
        });
      }, Promise.resolve([]));
    }).finally(function () { sending = null; });
    return sending;
  }

  scope.AlcQueue = { put: put, remove: remove, all: all, send: send, flush: flush };
})(self);
