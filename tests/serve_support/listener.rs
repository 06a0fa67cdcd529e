//! A TMF622 hub listener for the server tests: a bare HTTP/1.1 server on
//! 127.0.0.1 that keeps the events POSTed to it.

use serde_json::Value;

/// A hub listener on 127.0.0.1: records the events it accepts; while
/// `down`, answers 500 (and keeps nothing).
pub struct Listener {
    pub url: String,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    /// Every body sent, refused ones too.
    pub sent: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    pub attempts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Listener {
    pub fn start(down: bool) -> Listener {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::Ordering;
        let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listener = Listener {
            url: format!("http://{}/events", socket.local_addr().unwrap()),
            received: Default::default(),
            sent: Default::default(),
            attempts: Default::default(),
            down: std::sync::Arc::new(down.into()),
        };
        let (received, sent, attempts, down) = (
            listener.received.clone(),
            listener.sent.clone(),
            listener.attempts.clone(),
            listener.down.clone(),
        );
        std::thread::spawn(move || {
            for stream in socket.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                attempts.fetch_add(1, Ordering::SeqCst);
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    sent.lock().unwrap().push(v);
                }
                let status = if down.load(Ordering::SeqCst) {
                    "500 Internal Server Error"
                } else {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        received.lock().unwrap().push(v);
                    }
                    "204 No Content"
                };
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        listener
    }

    /// The states of the order's events as received, oldest first.
    pub fn states(&self, order: &str) -> Vec<(String, String)> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["productOrder"]["id"] == order)
            .map(|e| {
                (
                    e["eventType"].as_str().unwrap_or("").to_string(),
                    e["event"]["productOrder"]["state"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect()
    }
}
