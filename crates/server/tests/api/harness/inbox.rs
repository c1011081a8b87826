//! A real SMTP server (mailcrab, in process) that keeps what it receives.

/// A port for a mailcrab SMTP server (or for nothing: a refused
/// connection). mailcrab binds its own address and takes no listener, so
/// this is the one place a port is found by binding and letting go; the
/// servers under test are handed their bound listener instead.
pub fn smtp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A mailcrab SMTP server and everything it has received.
pub struct Inbox {
    stop: Box<dyn Fn() + Send + Sync>,
    pub received: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    /// Asks the pump to take in everything already queued, then answers.
    flush: tokio::sync::mpsc::UnboundedSender<tokio::sync::oneshot::Sender<()>>,
    arrived: std::sync::Arc<tokio::sync::Notify>,
}

impl Inbox {
    pub async fn start(port: u16) -> Inbox {
        let mut handle = mailcrab::development_mail_server([127, 0, 0, 1], port).await;
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
        let (flush, mut flushes) =
            tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<()>>();
        let (sink, ping) = (received.clone(), arrived.clone());
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::{RecvError, TryRecvError};
            let keep = |message: mailcrab::MailMessage| {
                sink.lock().unwrap().push(serde_json::to_value(&message).unwrap());
                ping.notify_one();
            };
            loop {
                tokio::select! {
                    message = handle.rx.recv() => match message {
                        Ok(message) => keep(message),
                        Err(RecvError::Lagged(n)) => panic!("inbox lagged by {n} messages"),
                        Err(RecvError::Closed) => return,
                    },
                    Some(done) = flushes.recv() => {
                        loop {
                            match handle.rx.try_recv() {
                                Ok(message) => keep(message),
                                Err(TryRecvError::Lagged(n)) => panic!("inbox lagged by {n} messages"),
                                Err(_) => break,
                            }
                        }
                        let _ = done.send(());
                    }
                }
            }
        });
        let cancel = handle.token.clone();
        // Ready when it accepts connections.
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Inbox { stop: Box::new(move || cancel.cancel()), received, flush, arrived }
    }

    /// Everything received by now. mailcrab queues a message before it
    /// answers 250, so once a send has returned its message is here: after
    /// `deliver_all` (or a shutdown awaited), this is the whole count, and
    /// a duplicate cannot be still on its way.
    pub async fn settled(&self) -> Vec<serde_json::Value> {
        let (done, flushed) = tokio::sync::oneshot::channel();
        self.flush.send(done).expect("inbox pump running");
        flushed.await.expect("inbox pump answers");
        self.received.lock().unwrap().clone()
    }

    /// Waits until `n` messages have arrived (or 20 s), then returns all
    /// received by then.
    pub async fn wait_for(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let got = self.settled().await;
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            let _ = tokio::time::timeout_at(deadline, self.arrived.notified()).await;
        }
    }

    pub fn stop(&self) {
        (self.stop)();
    }
}
