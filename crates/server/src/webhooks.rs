//! Webhooks: signing as Standard Webhooks says, and the network guard that
//! keeps deliveries off private addresses (checked at creation, and again
//! by the delivery client's resolver). The worker that sends them is
//! `workers::webhooks`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use invitd_core::Secret;
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};

/// A new endpoint secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> Secret {
    Secret::new(format!("whsec_{}", STANDARD.encode(invitd_core::secret::random_bytes::<24>())))
}

/// Why a message could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// Not `whsec_` followed by base64, or no key bytes after it.
    #[error("the endpoint secret is not whsec_ and a base64 key")]
    BadSecret,
    #[error("the endpoint key cannot key HMAC-SHA256")]
    Key(#[from] hmac::digest::InvalidLength),
}

/// `webhook-signature` for a message: `v1,<base64 HMAC-SHA256>` of
/// `<id>.<timestamp>.<body>`, keyed with the base64-decoded part of the
/// `whsec_` secret.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignError> {
    let key = secret
        .expose()
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .filter(|key| !key.is_empty())
        .ok_or(SignError::BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, broadcast,
/// documentation, benchmarking or reserved. IPv6 must be global unicast
/// (`2000::/3`); deprecated and special ranges are refused (site-local
/// `fec0::/10`, IPv4-compatible `::/96`, IETF protocol assignments
/// `2001::/23` with Teredo), and addresses that carry an IPv4 address
/// (IPv4-mapped `::ffff:0:0/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`)
/// are judged by that IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(v4: std::net::Ipv4Addr) -> bool {
    let o = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_multicast()
        || v4.is_broadcast()
        || v4.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        // The deprecated 6to4 relay anycast prefix.
        || (o[0] == 192 && o[1] == 88 && o[2] == 99)
        || (o[0] == 198 && (18..20).contains(&o[1]))
        || o[0] >= 240)
}

fn is_public_v6(v6: std::net::Ipv6Addr) -> bool {
    let s = v6.segments();
    let embedded = |hi: u16, lo: u16| {
        std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
    };
    // IPv4-mapped: the IPv4 address is what is reached.
    if let Some(v4) = v6.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // NAT64 well-known prefix: a translator reaches the embedded address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(s[6], s[7]));
    }
    // 6to4: the embedded address is the tunnel's other end.
    if s[0] == 0x2002 {
        return is_public_v4(embedded(s[1], s[2]));
    }
    // Everything else outside global unicast is reserved, deprecated or
    // local: `::/96` (IPv4-compatible, loopback, unspecified), `100::/64`
    // (discard), `64:ff9b:1::/48` (local NAT64), `fc00::/7` (unique local),
    // `fe80::/10` (link-local), `fec0::/10` (site-local), `ff00::/8`.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    // IETF protocol assignments (Teredo, benchmarking, ORCHID),
    // documentation `2001:db8::/32` and `3fff::/20`.
    let special = s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8);
    !(special || (s[0] & 0xfff0) == 0x3ff0)
}

/// Why a URL may not receive webhooks, if it may not.
pub async fn check_url(url: &str, allow_private: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a URL".to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("only http and https URLs can receive webhooks".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("credentials in the URL are not allowed".into());
    }
    let host = parsed.host_str().ok_or("the URL has no host")?.trim_matches(['[', ']']).to_string();
    if allow_private {
        return Ok(());
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect(),
    };
    if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} resolves to a loopback, private or link-local address; set INVITD_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true to allow it (development only)"
        ));
    }
    Ok(())
}

/// A DNS resolver for the webhook client that drops non-public addresses,
/// so a name cannot be re-pointed at a private address between the check
/// at creation and a delivery.
pub(crate) struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // Embedded IPv4 judged as IPv4: NAT64, 6to4.
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b::169.254.169.254",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:1::1",
            // Deprecated: IPv4-compatible, site-local; Teredo.
            "::127.0.0.1",
            "::8.8.8.8",
            "fec0::1",
            "feff::1",
            "2001:0::7f00:1",
            "2001::1",
            // Reserved and special.
            "::",
            "100::1",
            "64:ff9b:1::1",
            "fc00::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "4000::1",
            "192.88.99.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn secrets_have_the_standard_shape() {
        let s = new_secret();
        let key = STANDARD.decode(s.expose().strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 24);
    }
}
