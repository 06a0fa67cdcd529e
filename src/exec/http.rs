//! The `http` binding: an outside service speaking the exec protocol over
//! HTTP. Each attempt POSTs the protocol's request (the JSON an exec plugin
//! reads on its stdin) to the binding's URL, with the request's idempotency
//! key in an `Idempotency-Key` header, and reads the reply from the body.
//!
//! The URL and the headers come from the bindings file alone: no order data
//! ever builds a URL or a header but the idempotency key. Redirects are not
//! followed, so the request goes to the host the file names and no other.

use std::fmt;
use std::io::Read;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

use super::action::{Action, ActionError, Outputs, Request};
use super::plugin::{excerpt, parse_reply, success_reply};

/// How long one attempt may take when the binding says no `timeout`.
pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// The header that carries the request's idempotency key.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Headers ordo sets itself, which a binding may not set.
const RESERVED_HEADERS: [&str; 6] = [
    "idempotency-key",
    "content-type",
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
];

/// A reply body larger than this is cut (and then fails to parse), as an
/// exec plugin's stdout is.
const MAX_REPLY: u64 = 16 << 20;

/// Headers as a binding sends them, in the file's order.
pub(crate) type Headers = Vec<(HeaderName, HeaderValue)>;

/// What an `http` binding says, checked when the bindings file is read.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// An `http` or `https` URL with a host.
    pub url: Url,
    /// How long one attempt may take; a task's shorter `timeout` wins.
    pub timeout_ms: u64,
    /// Sent with every request, in the file's order.
    pub headers: Headers,
}

impl fmt::Debug for HttpOptions {
    /// Header values are left out: they are often credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpOptions")
            .field("url", &self.url.as_str())
            .field("timeout_ms", &self.timeout_ms)
            .field("headers", &names)
            .finish()
    }
}

/// Why a URL cannot serve an `http` binding, if it cannot.
pub(crate) fn url_fault(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{text}` is not an http or https URL (its scheme is `{}`)",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{text}` names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{text}` holds credentials, which would show in every message naming it"
        ));
    }
    Ok(url)
}

/// A header name a binding may send, or why not.
pub(crate) fn header_name(name: &str) -> Result<HeaderName, String> {
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a header name"))?;
    if RESERVED_HEADERS.contains(&header.as_str()) {
        return Err(format!("ordo sets the header `{name}` itself"));
    }
    Ok(header)
}

/// A header value a binding may send, or why not.
pub(crate) fn header_value(name: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value)
        .map_err(|_| format!("the value of the header `{name}` holds a character a header cannot"))
}

/// The action an `http` binding runs: one POST per attempt.
pub(crate) struct Http {
    options: HttpOptions,
    /// Built on first use, on a worker thread: a blocking client runs a
    /// runtime of its own, which must not start inside another's.
    client: OnceLock<Result<Client, String>>,
}

impl Http {
    pub fn new(options: HttpOptions) -> Http {
        Http {
            options,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&Client, ActionError> {
        let built = self.client.get_or_init(|| {
            Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("ordo/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| chain(&e))
        });
        built
            .as_ref()
            .map_err(|e| ActionError::permanent(format!("cannot make an HTTP client: {e}")))
    }
}

impl Action for Http {
    fn invoke(&self, req: &Request) -> Result<Outputs, ActionError> {
        let client = self.client()?;
        // As bytes: an order id may hold non-ASCII letters, which a header
        // carries as UTF-8 (only control characters cannot be sent).
        let key = HeaderValue::from_bytes(req.idempotency_key.as_bytes()).map_err(|_| {
            ActionError::permanent(format!(
                "the idempotency key `{}` cannot be sent as an HTTP header",
                req.idempotency_key
            ))
        })?;
        let mut post = client
            .post(self.options.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY, key)
            .body(req.to_json_line());
        for (name, value) in &self.options.headers {
            post = post.header(name, value);
        }
        // The executor's deadline is the binding's timeout or the task's,
        // whichever is sooner.
        let left = req
            .remaining()
            .unwrap_or(Duration::from_millis(self.options.timeout_ms));
        let answer = post.timeout(left).send().map(|reply| {
            let status = reply.status();
            let mut body = Vec::new();
            let read = reply.take(MAX_REPLY).read_to_end(&mut body);
            read.map(|_| (status, body))
        });
        match answer {
            Ok(Ok((status, body))) => interpret(status, &body),
            Ok(Err(e)) => Err(self.unanswered(req, &e.to_string(), false)),
            Err(e) => Err(self.unanswered(req, &chain(&e), e.is_connect())),
        }
    }
}

impl Http {
    /// An attempt without an answer: retryable. Past the deadline it timed
    /// out, and the executor counts it as a timeout (its outcome unknown).
    fn unanswered(&self, req: &Request, why: &str, connect: bool) -> ActionError {
        let url = self.options.url.as_str();
        if req.remaining().is_some_and(|left| left.is_zero()) {
            return ActionError::retryable(format!(
                "POST {url} timed out; the request may have taken effect"
            ));
        }
        if connect {
            return ActionError::retryable(format!("cannot connect to {url}: {why}"));
        }
        ActionError::retryable(format!("POST {url} got no answer: {why}"))
    }
}

/// Turns an HTTP status and the reply's body into the attempt's result.
fn interpret(status: StatusCode, body: &[u8]) -> Result<Outputs, ActionError> {
    let text = String::from_utf8_lossy(body);
    let answered = format!("the service answered {}", shown(status));
    if status.is_success() {
        return success_reply(&text, &answered);
    }
    if status.is_redirection() {
        return Err(ActionError::permanent(format!(
            "{answered}, a redirect, which ordo does not follow: bind the URL it points to"
        )));
    }
    let why = parse_reply(&text)
        .and_then(|r| r.error)
        .or_else(|| (!text.trim().is_empty()).then(|| excerpt(&text)))
        .map(|w| format!(": {w}"))
        .unwrap_or_default();
    let retryable = matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
    ) || status.is_server_error();
    Err(ActionError {
        message: format!("{answered}{why}"),
        retryable,
    })
}

/// `503 Service Unavailable`, or the bare code for one without a name.
fn shown(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// An error and its causes, `outer: inner: innermost`: reqwest's own
/// message alone rarely says what went wrong.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decide_the_attempt() {
        let ok = interpret(StatusCode::OK, br#"{"outputs":{"circuit":"C-1"}}"#).unwrap();
        assert_eq!(ok["circuit"], "C-1");
        assert!(interpret(StatusCode::NO_CONTENT, b"").unwrap().is_empty());
        let e = interpret(StatusCode::OK, b"<html>").unwrap_err();
        assert!(!e.retryable && e.message.contains("200 OK"), "{e:?}");
        for retryable in [408, 429, 500, 502, 503, 504, 599] {
            let status = StatusCode::from_u16(retryable).unwrap();
            assert!(interpret(status, b"").unwrap_err().retryable, "{status}");
        }
        for permanent in [301, 400, 401, 403, 404, 409, 422] {
            let status = StatusCode::from_u16(permanent).unwrap();
            assert!(!interpret(status, b"").unwrap_err().retryable, "{status}");
        }
        let e = interpret(StatusCode::BAD_REQUEST, br#"{"error":"no such port"}"#).unwrap_err();
        assert_eq!(
            e,
            ActionError::permanent("the service answered 400 Bad Request: no such port")
        );
        let e = interpret(StatusCode::SERVICE_UNAVAILABLE, b"try later").unwrap_err();
        assert_eq!(
            e,
            ActionError::retryable("the service answered 503 Service Unavailable: \"try later\"")
        );
    }

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials() {
        assert!(url_fault("http://127.0.0.1:9000/activate").is_ok());
        assert!(url_fault("https://fulfil.example.com/v1/activate?x=1").is_ok());
        assert!(url_fault("ftp://example.com/x")
            .unwrap_err()
            .contains("scheme is `ftp`"));
        assert!(url_fault("file:///etc/passwd").is_err());
        assert!(url_fault("/activate").unwrap_err().contains("is not a URL"));
        assert!(url_fault("http://").is_err());
        assert!(url_fault("http://user:pw@example.com/")
            .unwrap_err()
            .contains("credentials"));
    }

    proptest::proptest! {
        /// Whatever the text, an accepted URL is http or https, has a host
        /// and holds no credentials.
        #[test]
        fn accepted_urls_are_http_with_a_host(
            scheme in "(http|https|ftp|file|javascript|HTTP)",
            sep in "(://|:/|:|///)",
            user in "([a-z]{1,4}(:[a-z]{0,3})?@)?",
            host in "[a-z0-9.\\[\\]:-]{0,12}",
            path in "[/a-z?#%=&]{0,10}",
        ) {
            let text = format!("{scheme}{sep}{user}{host}{path}");
            if let Ok(url) = url_fault(&text) {
                proptest::prop_assert!(matches!(url.scheme(), "http" | "https"), "{}", text);
                proptest::prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{}", text);
                proptest::prop_assert!(url.username().is_empty() && url.password().is_none(), "{}", text);
            }
        }
    }

    #[test]
    fn headers_ordo_sets_cannot_be_overridden() {
        assert!(header_name("Authorization").is_ok());
        assert!(header_value("Authorization", "Bearer t").is_ok());
        assert!(header_name("Idempotency-Key")
            .unwrap_err()
            .contains("itself"));
        assert!(header_name("content-type").is_err());
        assert!(header_name("bad name").is_err());
        assert!(header_value("X-A", "line\nbreak").is_err());
    }
}
