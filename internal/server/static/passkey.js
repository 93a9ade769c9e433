// passkey.js: WebAuthn passkeys on inkan's pages (account_passkeys.go).
// The pages configure it with data-* attributes; it speaks JSON to this
// origin only, with the page's CSRF token in X-CSRF-Token.
(function () {
  "use strict";

  function bufferOf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function base64url(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      var d = { type: c.type, id: bufferOf(c.id) };
      if (c.transports) d.transports = c.transports;
      return d;
    });
  }

  function creationOptions(pk) {
    pk.challenge = bufferOf(pk.challenge);
    pk.user.id = bufferOf(pk.user.id);
    pk.excludeCredentials = descriptors(pk.excludeCredentials);
    return pk;
  }

  function requestOptions(pk) {
    pk.challenge = bufferOf(pk.challenge);
    pk.allowCredentials = descriptors(pk.allowCredentials);
    return pk;
  }

  // credentialJSON is the PublicKeyCredential as the server reads it
  // (WebAuthn's toJSON()).
  function credentialJSON(cred) {
    var r = cred.response, out = {
      id: cred.id, rawId: base64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: base64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    if (r.attestationObject) {
      out.response.attestationObject = base64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = base64url(r.authenticatorData);
      out.response.signature = base64url(r.signature);
      if (r.userHandle) out.response.userHandle = base64url(r.userHandle);
    }
    return out;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        // A change that needs a recent sign-in goes to the login page.
        if (res.status === 403 && typeof data.login === "string" && data.login.charAt(0) === "/" && data.login.charAt(1) !== "/") {
          window.location.assign(data.login);
        }
        if (!res.ok) throw new Error(data.detail || res.statusText);
        return data;
      });
    });
  }

  // failure shows what went wrong in root's alert, the browser's own
  // refusals (cancelled, timed out) in the page's language.
  function failure(root) {
    return function (err) {
      if (err && err.name === "AbortError") return;
      var box = root.querySelector("#passkey-error");
      var text = root.dataset.failed; // the browser's or authenticator's own refusal
      if (err && err.name === "NotAllowedError") text = root.dataset.cancelled;
      else if (err && err.name === "Error" && err.message) text = err.message; // the server's detail
      box.textContent = text;
      box.hidden = false;
    };
  }

  function supported(root) {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    var box = root.querySelector("#passkey-error");
    box.textContent = root.dataset.unsupported;
    box.hidden = false;
    return false;
  }

  // The account page: add a passkey; the first one's recovery codes are
  // shown once.
  function account(root) {
    var form = root.querySelector("#passkey-add");
    if (!supported(root)) return;
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      root.querySelector("#passkey-error").hidden = true;
      var csrf = root.dataset.csrf, name = form.querySelector("#passkey-name").value;
      post("/account/passkeys/options", csrf, {}).then(function (o) {
        return navigator.credentials.create({ publicKey: creationOptions(o.publicKey) }).then(function (cred) {
          return post("/account/passkeys", csrf, { handle: o.handle, name: name, credential: credentialJSON(cred) });
        });
      }).then(function (res) {
        if (!res.recovery_codes) {
          window.location.assign(res.redirect);
          return;
        }
        var codes = root.querySelector("#passkey-codes"), list = codes.querySelector("ul");
        res.recovery_codes.forEach(function (c) {
          var li = document.createElement("li");
          li.textContent = c;
          list.appendChild(li);
        });
        form.hidden = true;
        codes.hidden = false;
      }).catch(failure(root));
    });
  }

  // A sign-in: passwordless on the login page (with conditional
  // mediation, the browser offering passkeys in the email field, where it
  // can), or the second factor of a pending login.
  function signIn(root, button, secondFactor) {
    if (!supported(root)) return;
    var csrf = root.dataset.csrf, pending = null;
    var finish = function (o, cred) {
      var body = { handle: o.handle, credential: credentialJSON(cred), second_factor: secondFactor };
      if (!secondFactor) {
        body.request = root.dataset.request || "";
        if (root.dataset.return !== undefined) body["return"] = root.dataset["return"];
      }
      return post("/oauth2/login/passkey", csrf, body).then(function (res) { window.location.assign(res.redirect); });
    };
    var ask = function (mediation) {
      var ctrl = new AbortController();
      pending = ctrl;
      return post("/oauth2/login/passkey/options", csrf, { second_factor: secondFactor }).then(function (o) {
        var req = { publicKey: requestOptions(o.publicKey), signal: ctrl.signal };
        if (mediation) req.mediation = mediation;
        return navigator.credentials.get(req).then(function (cred) { return finish(o, cred); });
      });
    };
    button.hidden = false;
    button.addEventListener("click", function () {
      if (pending) pending.abort();
      root.querySelector("#passkey-error").hidden = true;
      ask(null).catch(failure(root));
    });
    if (!secondFactor && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) ask("conditional").catch(function (err) {
          if (err && (err.name === "AbortError" || err.name === "NotAllowedError")) return;
          failure(root)(err);
        });
      });
    }
  }

  function start() {
    var root;
    if ((root = document.getElementById("passkeys"))) account(root);
    if ((root = document.getElementById("passkey-login"))) signIn(root, root.querySelector("#passkey-signin"), false);
    if ((root = document.getElementById("passkey-mfa"))) signIn(root, root.querySelector("#passkey-use"), true);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
