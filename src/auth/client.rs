//! Who is calling, by address: the socket's peer, unless that peer is a
//! proxy named in `[server] trusted_proxies`; then the rightmost address in
//! `X-Forwarded-For` that is not one (those to its left the client itself
//! could have written).

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::AuthState;
use crate::error::AppError;
use crate::operations::sessions::Caller;
use crate::telemetry::RequestId;

/// The client of `req`, as text, as limits count it (see [`client_of`]).
pub fn address(req: &HttpRequest, trusted: &[IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return String::new();
    };
    let is_trusted = |a: &IpAddr| trusted.iter().any(|t| t.to_canonical() == *a);
    if !is_trusted(&peer) {
        return client_of(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
        .collect();
    client_of(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !is_trusted(a))
            .unwrap_or(peer),
    )
}

/// One client, as limits count it: an IPv4 address as itself (written as
/// IPv4 whether it came as `1.2.3.4` or `::ffff:1.2.3.4`), an IPv6 address
/// by its /64, the network one subscriber is given and can pick any
/// address from.
pub fn client_of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let network = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{network}/64")
        }
    }
}

/// A caller of the sign-in endpoints: their request and address.
impl FromRequest for Caller {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req
            .app_data::<web::Data<AuthState>>()
            .map(|a| a.trusted_proxies.clone())
            .unwrap_or_default();
        std::future::ready(Ok(Caller {
            request_id: RequestId::of(req),
            address: address(req, &trusted),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
        let direct = TestRequest::default()
            .peer_addr("203.0.113.7:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "198.51.100.1"))
            .to_http_request();
        assert_eq!(
            address(&direct, &[]),
            "203.0.113.7",
            "no proxy: the header is not believed"
        );
        let proxied = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "6.6.6.6, 198.51.100.1, 10.0.0.3"))
            .to_http_request();
        let trusted = [ip("10.0.0.2"), ip("10.0.0.3")];
        assert_eq!(
            address(&proxied, &trusted),
            "198.51.100.1",
            "the rightmost untrusted"
        );
        let bare = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .to_http_request();
        assert_eq!(address(&bare, &trusted), "10.0.0.2");
    }

    #[test]
    fn an_ipv4_address_counts_once_whatever_its_form_and_ipv6_by_its_64() {
        assert_eq!(client_of(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(client_of(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(
            client_of(ip("2001:db8:1:2:aaaa::1")),
            client_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_eq!(client_of(ip("2001:db8:1:2::9")), "2001:db8:1:2::/64");
        assert_ne!(
            client_of(ip("2001:db8:1:2::1")),
            client_of(ip("2001:db8:1:3::1"))
        );
        // A mapped peer is the proxy it names, and a mapped client its IPv4.
        let mapped = TestRequest::default()
            .peer_addr("[::ffff:10.0.0.2]:5000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "::ffff:198.51.100.1"))
            .to_http_request();
        assert_eq!(address(&mapped, &[ip("10.0.0.2")]), "198.51.100.1");
    }
}
