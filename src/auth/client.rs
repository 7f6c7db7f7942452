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

/// The client address of `req`, as text.
pub fn address(req: &HttpRequest, trusted: &[IpAddr]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return String::new();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
        .to_string()
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
}
