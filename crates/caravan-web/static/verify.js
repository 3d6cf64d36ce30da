// Caravan: verifies a C2SP tlog-proof in the auditor's browser, without trusting the node.
//
// Why in the browser: the auditor checks what the node claims with code the node does not
// run. The page hands over the proof text, the entry (or its leaf hash) and the verifier
// keys the auditor trusts; this file recomputes the RFC 6962 leaf hash and the inclusion
// path up to the checkpoint root (RFC 9162 §2.1.3.2), and verifies the checkpoint's
// Ed25519 signed-note signature (C2SP signed-note, type 0x01) and the witnesses'
// timestamped cosignatures (C2SP tlog-cosignature, type 0x04) with WebCrypto. Where the
// browser lacks WebCrypto Ed25519 it says so: the inclusion is still checked here and
// the signatures only by the node (the page shows the node's own result, labelled).
//
// No dependencies, no inline script (CSP script-src 'self'), no network calls.
"use strict";

(function () {
  const enc = new TextEncoder();

  function b64decode(text) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw new Error("not standard base64: " + text.slice(0, 20));
    }
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function b64encode(bytes) {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  }

  function hexdecode(text) {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new Error("not hex");
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
    return out;
  }

  function concat(...parts) {
    const n = parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (entry) => sha256(concat(new Uint8Array([0]), entry));
  const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

  // RFC 9162 §2.1.3.2, with BigInt so tree sizes beyond 2^32 stay exact.
  async function rootFromInclusion(index, size, leaf, path) {
    if (index >= size) throw new Error("index " + index + " is not below the tree size " + size);
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const p of path) {
      if (sn === 0n) throw new Error("the proof has more hashes than the tree needs");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw new Error("the proof has fewer hashes than the tree needs");
    return r;
  }

  // c2sp.org/tlog-proof@v1: header, optional extra, index, hashes, blank line, checkpoint.
  function parseProof(text) {
    const lines = text.replace(/\r\n/g, "\n").split("\n");
    if (lines[0] !== "c2sp.org/tlog-proof@v1") throw new Error("the first line is not c2sp.org/tlog-proof@v1");
    let i = 1;
    let extra = null;
    if (lines[i] && lines[i].startsWith("extra ")) {
      extra = lines[i].slice(6);
      i++;
    }
    const m = /^index (0|[1-9][0-9]*)$/.exec(lines[i] || "");
    if (!m) throw new Error("no `index N` line");
    const index = BigInt(m[1]);
    i++;
    const path = [];
    while (i < lines.length && lines[i] !== "") {
      const h = b64decode(lines[i]);
      if (h.length !== 32) throw new Error("a proof hash is not 32 bytes");
      path.push(h);
      i++;
    }
    if (i >= lines.length) throw new Error("no blank line before the checkpoint");
    const checkpoint = lines.slice(i + 1).join("\n");
    return { index, path, extra, checkpoint };
  }

  // C2SP signed-note: text ending in "\n", a blank line, then "— name base64" lines.
  function parseNote(text) {
    const split = text.lastIndexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint has no signature block");
    const body = text.slice(0, split + 1);
    const signatures = [];
    for (const line of text.slice(split + 2).split("\n")) {
      if (line === "") continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("malformed signature line");
      const raw = b64decode(m[2]);
      if (raw.length < 5) throw new Error("signature too short");
      const keyId = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
      signatures.push({ name: m[1], keyId, raw: raw.slice(4) });
    }
    const lines = body.split("\n");
    const sizeText = lines[1] || "";
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error("the checkpoint size is not a decimal number");
    const root = b64decode(lines[2] || "");
    if (root.length !== 32) throw new Error("the checkpoint root is not 32 bytes");
    return { body, origin: lines[0], size: BigInt(sizeText), root, signatures };
  }

  // A vkey: name+hexid+base64(type || key). The key ID is recomputed, not trusted.
  async function parseVkey(line) {
    const parts = line.split("+");
    if (parts.length < 3) throw new Error("a key is not name+id+key: " + line);
    const name = parts[0];
    const id = parts[1];
    const raw = b64decode(parts.slice(2).join("+"));
    if (!/^[0-9a-f]{8}$/.test(id) || raw.length !== 33) throw new Error("a key is malformed: " + name);
    const type = raw[0];
    const publicKey = raw.slice(1);
    const digest = await sha256(concat(enc.encode(name), new Uint8Array([0x0a, type]), publicKey));
    const keyId = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
    if (keyId !== parseInt(id, 16)) throw new Error("the key ID of " + name + " does not match its key");
    return { name, keyId, type, publicKey };
  }

  let ed25519Support = null;
  async function ed25519Available(publicKey) {
    if (ed25519Support !== null) return ed25519Support;
    try {
      await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      ed25519Support = true;
    } catch (e) {
      ed25519Support = false;
    }
    return ed25519Support;
  }

  async function ed25519Verify(publicKey, signature, message) {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Runs every check; returns { verdict, checks: [{ id, ok, text }] }.
  // ok: true (passed), false (failed), null (not checked here).
  // The page's language: each message comes from a data-msg-* attribute of #browser-result
  // (rendered from the catalogue, %1 %2 … for the values), English if there is none.
  function msg(name, english, ...values) {
    const target = document.getElementById("browser-result");
    let text = (target && target.dataset["msg" + name]) || english;
    values.forEach((v, i) => {
      text = text.split("%" + (i + 1)).join(String(v));
    });
    return text;
  }

  async function verify(proofText, entryText, keysText) {
    const checks = [];
    const add = (id, ok, text) => checks.push({ id, ok, text });
    let proof;
    let note;
    try {
      proof = parseProof(proofText.trim() + "\n");
      note = parseNote(proof.checkpoint);
      add("format", true, msg("Format", "tlog-proof for entry %1 against checkpoint %2 of size %3", proof.index, note.origin, note.size));
    } catch (e) {
      add("format", false, msg("Unreadable", "The proof cannot be read: %1", e.message));
      return { verdict: "failed", checks };
    }

    let leaf;
    const entry = entryText.trim();
    try {
      if (/^[0-9a-fA-F]{64}$/.test(entry)) {
        leaf = hexdecode(entry);
        add("leaf", true, msg("LeafGiven", "Leaf hash given: %1", hex(leaf)));
      } else {
        leaf = await leafHash(b64decode(entry));
        add("leaf", true, msg("LeafComputed", "Leaf hash SHA-256(0x00 || entry) = %1", hex(leaf)));
      }
    } catch (e) {
      add("leaf", false, msg("BadEntry", "The entry is neither base64 bytes nor a 64-digit hex leaf hash: %1", e.message));
      return { verdict: "failed", checks };
    }

    let included = false;
    try {
      const root = await rootFromInclusion(proof.index, note.size, leaf, proof.path);
      included = equal(root, note.root);
      add("inclusion", included, included
        ? msg("Included", "Inclusion verified: %1 hashes lead from the leaf to the checkpoint root %2", proof.path.length, b64encode(note.root))
        : msg("NotIncluded", "Inclusion FAILED: the path leads to %1, not the checkpoint root %2", b64encode(root), b64encode(note.root)));
    } catch (e) {
      add("inclusion", false, msg("InclusionError", "Inclusion FAILED: %1", e.message));
    }

    const keys = [];
    for (const line of keysText.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
      try {
        keys.push(await parseVkey(line));
      } catch (e) {
        add("keys", false, e.message);
      }
    }
    const logKeys = keys.filter((k) => k.type === 0x01 && k.name === note.origin);
    const witnessKeys = keys.filter((k) => k.type === 0x04);
    const textBytes = enc.encode(note.body);

    let logSigned = null;
    if (logKeys.length === 0) {
      add("log-signature", false, msg("NoLogKey", "No trusted log key for origin %1 is listed", note.origin));
      logSigned = false;
    } else if (!(await ed25519Available(logKeys[0].publicKey))) {
      add("log-signature", null, msg("NoEd25519", "This browser has no WebCrypto Ed25519: the log signature is checked by the node only (see the node's result)"));
    } else {
      logSigned = false;
      for (const key of logKeys) {
        const sig = note.signatures.find((s) => s.name === key.name && s.keyId === key.keyId);
        if (!sig) continue;
        if (sig.raw.length === 64 && (await ed25519Verify(key.publicKey, sig.raw, textBytes))) {
          logSigned = true;
          add("log-signature", true, msg("LogSigned", "Log signature verified in this browser (Ed25519, key %1)", key.name + " " + key.keyId.toString(16).padStart(8, "0")));
        } else {
          add("log-signature", false, msg("LogSigBad", "The log signature by %1 does NOT verify", key.name));
        }
      }
      if (!checks.some((c) => c.id === "log-signature")) {
        add("log-signature", false, msg("NoLogSig", "The checkpoint carries no signature by a trusted log key"));
      }
    }

    for (const key of witnessKeys) {
      const sig = note.signatures.find((s) => s.name === key.name && s.keyId === key.keyId);
      const label = key.name + " " + key.keyId.toString(16).padStart(8, "0");
      if (!sig) {
        add("cosignature", null, msg("NoCosig", "No cosignature by witness %1 on this checkpoint", label));
        continue;
      }
      if (sig.raw.length !== 72) {
        add("cosignature", false, msg("CosigLength", "The cosignature by %1 has the wrong length", label));
        continue;
      }
      let time = 0n;
      for (let i = 0; i < 8; i++) time = (time << 8n) | BigInt(sig.raw[i]);
      if (!(await ed25519Available(key.publicKey))) {
        add("cosignature", null, msg("CosigUnchecked", "Cosignature by %1 at %2 present; not checked here (no WebCrypto Ed25519)", label, time));
        continue;
      }
      const message = concat(enc.encode("cosignature/v1\ntime " + time + "\n"), textBytes);
      const ok = await ed25519Verify(key.publicKey, sig.raw.slice(8), message);
      const when = new Date(Number(time) * 1000).toISOString();
      add("cosignature", ok, ok
        ? msg("CosigOk", "Cosignature verified in this browser: witness %1 at %2", label, when)
        : msg("CosigBad", "The cosignature by %1 does NOT verify", label));
    }

    let verdict;
    if (checks.some((c) => c.ok === false)) verdict = "failed";
    else if (included && logSigned === true) verdict = "verified";
    else verdict = "partial";
    return { verdict, checks };
  }

  function show(target, result) {
    target.replaceChildren();
    target.dataset.verdict = result.verdict;
    const heading = document.createElement("p");
    const strong = document.createElement("strong");
    strong.textContent = {
      verified: msg("Verified", "Verified in this browser: the entry is in the log, under a checkpoint signed by a trusted key."),
      partial: msg("Partial", "Inclusion verified in this browser; the signatures were not all checked here."),
      failed: msg("Failed", "NOT verified: see the failed check below."),
    }[result.verdict];
    heading.append(strong);
    const list = document.createElement("ul");
    for (const c of result.checks) {
      const li = document.createElement("li");
      li.dataset.check = c.id;
      li.dataset.ok = c.ok === null ? "unchecked" : String(c.ok);
      li.textContent = (c.ok === true ? "✔ " : c.ok === false ? "✘ " : "– ") + c.text;
      list.append(li);
    }
    target.append(heading, list);
  }

  function init() {
    const button = document.getElementById("verify-in-browser");
    const target = document.getElementById("browser-result");
    if (!button || !target) return;
    button.hidden = false;
    const note = document.getElementById("browser-needs-script");
    if (note) note.hidden = true;
    button.addEventListener("click", async () => {
      target.textContent = msg("Verifying", "Verifying…");
      try {
        const result = await verify(
          document.getElementById("proof").value,
          document.getElementById("entry").value,
          document.getElementById("keys").value,
        );
        show(target, result);
      } catch (e) {
        show(target, { verdict: "failed", checks: [{ id: "error", ok: false, text: String(e) }] });
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
