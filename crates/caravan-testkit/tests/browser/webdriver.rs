//! A small W3C WebDriver client: JSON over HTTP/1.1 to a local chromedriver.
//!
//! Why not a crate: the journeys need a dozen commands (navigate, find, type, click, run a
//! script, take a screenshot, press keys, set a cookie), and chromedriver listens on
//! loopback; a blocking request per command over `std::net::TcpStream` is all it takes,
//! without a second HTTP and async stack in the test's dependency tree.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP exchange with chromedriver; answers the JSON body's `value`.
fn call(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connect chromedriver: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(payload.as_bytes()))
        .map_err(|e| format!("send to chromedriver: {e}"))?;
    // chromedriver may keep the connection open: read the head, then Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let split = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("read from chromedriver: {e}"))?;
        if n == 0 {
            return Err("chromedriver closed the connection before answering".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let headers = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let length = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = headers.contains("transfer-encoding: chunked");
    let mut body = raw[split + 4..].to_vec();
    loop {
        let complete = match length {
            Some(len) => body.len() >= len,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("read from chromedriver: {e}"))?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if chunked {
        body = dechunk(&body);
    }
    let parsed: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("chromedriver sent no JSON ({e}): {headers}"))?;
    let value = parsed.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        let message = value.get("message").and_then(Value::as_str).unwrap_or("");
        return Err(format!("{method} {path}: {error}: {message}"));
    }
    Ok(value)
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
    out
}

/// A browser session.
pub(crate) struct Session {
    port: u16,
    id: String,
}

/// A found element.
#[derive(Clone)]
pub(crate) struct Element(String);

impl Element {
    /// An element a script returned.
    pub(crate) fn from_value(value: &Value) -> Option<Element> {
        value[ELEMENT].as_str().map(|id| Element(id.to_owned()))
    }

    /// The element as a script argument.
    pub(crate) fn arg(&self) -> Value {
        json!({ ELEMENT: self.0 })
    }
}

impl Session {
    /// Starts headless Chromium through chromedriver on `port`.
    pub(crate) fn start(port: u16, chromium: &str) -> Result<Session, String> {
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"]
            }
        } } });
        let value = call(port, "POST", "/session", Some(&caps))?;
        let id = value["sessionId"]
            .as_str()
            .ok_or("chromedriver returned no session id")?
            .to_owned();
        Ok(Session { port, id })
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(
            self.port,
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        )
    }

    /// Navigates and waits for the page to load.
    pub(crate) fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .map(|_| ())
    }

    /// The current URL.
    pub(crate) fn url(&self) -> Result<String, String> {
        Ok(self
            .cmd("GET", "/url", None)?
            .as_str()
            .unwrap_or("")
            .to_owned())
    }

    /// The first element matching a CSS selector.
    pub(crate) fn find(&self, css: &str) -> Result<Element, String> {
        let value = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        value[ELEMENT]
            .as_str()
            .map(|id| Element(id.to_owned()))
            .ok_or_else(|| format!("no element {css}: {value}"))
    }

    /// Types into an element.
    pub(crate) fn type_into(&self, element: &Element, text: &str) -> Result<(), String> {
        self.cmd(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .map(|_| ())
    }

    /// Clears a form field.
    pub(crate) fn clear(&self, element: &Element) -> Result<(), String> {
        self.cmd(
            "POST",
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .map(|_| ())
    }

    /// Clicks an element.
    pub(crate) fn click(&self, element: &Element) -> Result<(), String> {
        self.cmd(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .map(|_| ())
    }

    /// Runs a synchronous script; `arguments` are passed as the script's `arguments`.
    pub(crate) fn script(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs an asynchronous script that calls its last argument with the result.
    pub(crate) fn script_async(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Presses and releases one key (a WebDriver key code such as `\u{E004}`, Tab).
    pub(crate) fn press(&self, key: &str) -> Result<(), String> {
        self.cmd(
            "POST",
            "/actions",
            Some(
                json!({ "actions": [ { "type": "key", "id": "keyboard", "actions": [
                { "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }
            ] } ] }),
            ),
        )
        .map(|_| ())
    }

    /// Sets a cookie on the current page's origin.
    pub(crate) fn add_cookie(&self, name: &str, value: &str) -> Result<(), String> {
        self.cmd(
            "POST",
            "/cookie",
            Some(json!({ "cookie": { "name": name, "value": value, "path": "/" } })),
        )
        .map(|_| ())
    }

    /// Deletes every cookie.
    pub(crate) fn clear_cookies(&self) -> Result<(), String> {
        self.cmd("DELETE", "/cookie", None).map(|_| ())
    }

    /// A PNG screenshot of the viewport.
    pub(crate) fn screenshot(&self) -> Result<Vec<u8>, String> {
        let value = self.cmd("GET", "/screenshot", None)?;
        base64_decode(value.as_str().ok_or("screenshot is not a string")?)
    }

    /// Ends the session (closes the browser).
    pub(crate) fn quit(self) {
        let _ = self.cmd("DELETE", "", None);
    }
}

/// Standard base64 (WebDriver screenshots), padding optional.
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("not base64: {:?}", c as char)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}
