//! Tokens: signed access tokens (JWT, RFC 8725 practice), customer links, and random secrets that are
//! stored only as digests.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::store::AccountStore;

const ALGORITHM: Algorithm = Algorithm::HS256;
/// RFC 9068's media type for access tokens; a token of another type is refused.
const ACCESS_TOKEN_TYPE: &str = "at+jwt";
const ISSUER: &str = "todoke";
const AUDIENCE: &str = "todoke-api";
/// The key generated on first start, shared by every server through the database.
const GENERATED_KID: &str = "k1";
const LINK_CONTEXT: &[u8] = b"todoke customer link v1\0";
const FORM_CONTEXT: &[u8] = b"todoke preferences form v1\0";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub email: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The claims as read, with a `nbf` that this server never issues but honours.
#[derive(Deserialize)]
struct TimedClaims {
    #[serde(flatten)]
    claims: Claims,
    nbf: Option<i64>,
}

/// How far the clocks of the issuer and this server may disagree.
const LEEWAY_SECONDS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired; refresh it or log in again")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

/// The keys that sign and verify tokens, by key id.
pub struct Keys {
    current: String,
    secrets: HashMap<String, Vec<u8>>,
}

impl Keys {
    /// Uses the configured secret when there is one; otherwise the key kept in the database, created
    /// on the first start. Keys in the database stay valid for verifying, so keys can rotate.
    pub async fn load(
        accounts: &dyn AccountStore,
        configured: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Keys> {
        let mut secrets = HashMap::new();
        for (kid, secret) in accounts.signing_keys().await? {
            secrets.insert(kid, STANDARD.decode(secret)?);
        }
        let current = match configured {
            Some(secret) => {
                anyhow::ensure!(secret.len() >= 32, "TODOKE_JWT_SECRET must be at least 32 characters");
                let kid = format!("cfg-{}", &digest(secret)[..12]);
                secrets.insert(kid.clone(), secret.as_bytes().to_vec());
                kid
            }
            None => {
                let fresh = STANDARD.encode(rand::random::<[u8; 32]>());
                let stored = accounts.ensure_signing_key(GENERATED_KID, &fresh, now).await?;
                secrets.insert(GENERATED_KID.to_string(), STANDARD.decode(stored)?);
                GENERATED_KID.to_string()
            }
        };
        Ok(Keys { current, secrets })
    }

    pub fn issue(&self, claims: &Claims) -> String {
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_string());
        header.kid = Some(self.current.clone());
        let key = EncodingKey::from_secret(&self.secrets[&self.current]);
        jsonwebtoken::encode(&header, claims, &key).expect("HMAC signing cannot fail")
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != ALGORITHM || header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(TokenError::Invalid);
        }
        let secret = header.kid.as_ref().and_then(|kid| self.secrets.get(kid)).ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // The times are checked below against the server's clock, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<TimedClaims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(|_| TokenError::Invalid)?;
        let (now, TimedClaims { claims, nbf }) = (now.timestamp(), data.claims);
        if claims.exp + LEEWAY_SECONDS < now {
            return Err(TokenError::Expired);
        }
        // Not valid before a moment still to come (`nbf`), or issued in the future: the same leeway as `exp`.
        if nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECONDS) || claims.iat > now + LEEWAY_SECONDS {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    /// The `k` of a customer's tracking link: the shipment id and a MAC over it, so that only this
    /// server can make one and it opens only that shipment.
    pub fn customer_link(&self, shipment_id: Uuid) -> String {
        let mac = self.link_mac(&self.current, shipment_id).expect("the current key exists");
        let mut token = shipment_id.as_bytes().to_vec();
        token.extend_from_slice(&mac);
        format!("{}.{}", self.current, URL_SAFE_NO_PAD.encode(token))
    }

    /// The shipment a customer link opens, if it was made here.
    pub fn verify_customer_link(&self, link: &str) -> Option<Uuid> {
        let (kid, token) = link.split_once('.')?;
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let (id, mac) = bytes.split_at_checked(16)?;
        let shipment_id = Uuid::from_slice(id).ok()?;
        let mut expected = self.hmac(kid)?;
        expected.update(LINK_CONTEXT);
        expected.update(shipment_id.as_bytes());
        expected.verify_truncated_left(mac).ok()?;
        (mac.len() >= 16).then_some(shipment_id)
    }

    /// The anti-forgery token of the preferences form of one shipment: only a page this server rendered
    /// for that shipment carries it, and another site cannot read it.
    pub fn form_token(&self, shipment_id: Uuid) -> String {
        let mut mac = self.hmac(&self.current).expect("the current key exists");
        mac.update(FORM_CONTEXT);
        mac.update(shipment_id.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
    }

    pub fn verify_form_token(&self, shipment_id: Uuid, token: &str) -> bool {
        let Ok(token) = URL_SAFE_NO_PAD.decode(token) else { return false };
        let Some(mut mac) = self.hmac(&self.current) else { return false };
        mac.update(FORM_CONTEXT);
        mac.update(shipment_id.as_bytes());
        token.len() == 16 && mac.verify_truncated_left(&token).is_ok()
    }

    fn link_mac(&self, kid: &str, shipment_id: Uuid) -> Option<Vec<u8>> {
        let mut mac = self.hmac(kid)?;
        mac.update(LINK_CONTEXT);
        mac.update(shipment_id.as_bytes());
        Some(mac.finalize().into_bytes()[..16].to_vec())
    }

    fn hmac(&self, kid: &str) -> Option<Hmac<Sha256>> {
        Hmac::<Sha256>::new_from_slice(self.secrets.get(kid)?).ok()
    }
}

/// Builds the claims of an access token for an account.
pub fn claims(id: Uuid, email: &str, role: &str, now: DateTime<Utc>, lifetime: chrono::Duration) -> Claims {
    Claims {
        sub: id,
        email: email.to_string(),
        role: role.to_string(),
        iss: ISSUER.to_string(),
        aud: AUDIENCE.to_string(),
        iat: now.timestamp(),
        exp: (now + lifetime).timestamp(),
    }
}

/// A new random secret with a recognisable prefix (`tdk_` for API keys, `tdr_` for refresh tokens).
pub fn random_secret(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

/// What is stored of a secret: its SHA-256, in hex. High-entropy secrets need no slow hash.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &[u8]) -> Keys {
        Keys { current: "t1".into(), secrets: HashMap::from([("t1".to_string(), secret.to_vec())]) }
    }

    #[test]
    fn customer_links_open_one_shipment_and_cannot_be_forged() {
        let keys = keys(b"0123456789abcdef0123456789abcdef");
        let (x, y) = (Uuid::now_v7(), Uuid::now_v7());
        let link = keys.customer_link(x);
        assert_eq!(keys.verify_customer_link(&link), Some(x));
        let other = keys.customer_link(y);
        let (kid, _) = link.split_once('.').unwrap();
        // Y's MAC with X's id, a truncated MAC, another key, garbage: all refused.
        let mut swapped = URL_SAFE_NO_PAD.decode(other.split_once('.').unwrap().1).unwrap();
        swapped[..16].copy_from_slice(x.as_bytes());
        assert_eq!(keys.verify_customer_link(&format!("{kid}.{}", URL_SAFE_NO_PAD.encode(swapped))), None);
        assert_eq!(keys.verify_customer_link(&link[..link.len() - 4]), None);
        assert_eq!(self::keys(b"another secret of enough length!!").verify_customer_link(&link), None);
        assert_eq!(keys.verify_customer_link("t1.!!!"), None);
        assert_eq!(keys.verify_customer_link(""), None);
    }

    #[test]
    fn access_tokens_are_checked_for_everything_rfc_8725_asks() {
        let keys = keys(b"0123456789abcdef0123456789abcdef");
        let now = Utc::now();
        let good = claims(Uuid::now_v7(), "a@example.jp", "admin", now, chrono::Duration::minutes(15));
        assert!(keys.verify(&keys.issue(&good), now).is_ok());

        let expired =
            claims(good.sub, "a@example.jp", "admin", now - chrono::Duration::hours(2), chrono::Duration::minutes(15));
        assert_eq!(keys.verify(&keys.issue(&expired), now).unwrap_err(), TokenError::Expired);
        let wrong_audience = Claims { aud: "someone-else".into(), ..good.clone() };
        assert_eq!(keys.verify(&keys.issue(&wrong_audience), now).unwrap_err(), TokenError::Invalid);
        let wrong_issuer = Claims { iss: "someone-else".into(), ..good.clone() };
        assert_eq!(keys.verify(&keys.issue(&wrong_issuer), now).unwrap_err(), TokenError::Invalid);
        let from_the_future = Claims { iat: now.timestamp() + 3600, ..good.clone() };
        assert_eq!(keys.verify(&keys.issue(&from_the_future), now).unwrap_err(), TokenError::Invalid);
        let not_yet = |nbf: i64| {
            let mut claims = serde_json::to_value(&good).unwrap();
            claims["nbf"] = nbf.into();
            let mut header = Header::new(ALGORITHM);
            header.typ = Some(ACCESS_TOKEN_TYPE.to_string());
            header.kid = Some("t1".into());
            let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
            keys.verify(&jsonwebtoken::encode(&header, &claims, &key).unwrap(), now)
        };
        assert_eq!(not_yet(now.timestamp() + 3600).unwrap_err(), TokenError::Invalid);
        assert!(not_yet(now.timestamp() + 10).is_ok(), "within the leeway, as for exp");
        assert!(not_yet(now.timestamp() - 60).is_ok());
        let other_key = self::keys(b"another secret of enough length!!").issue(&good);
        assert_eq!(keys.verify(&other_key, now).unwrap_err(), TokenError::Invalid);
    }
}
