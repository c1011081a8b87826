//! A scripted SMTP peer, for the SMTP answers mailcrab does not give.
//! Shared with the command line's tests, which include this file by path.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Starts an SMTP server on a free port that sends `greeting`, then answers
/// each command with what `reply` gives for its verb (in upper case), until
/// the client says QUIT or hangs up. Returns the port.
pub async fn scripted_smtp(greeting: &'static [u8], reply: fn(&str) -> &'static [u8]) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                if write.write_all(greeting).await.is_err() {
                    return;
                }
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    if write.write_all(reply(&verb)).await.is_err() || verb == "QUIT" {
                        return;
                    }
                }
            });
        }
    });
    port
}
