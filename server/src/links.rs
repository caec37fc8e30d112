//! Absolute links given to customers, in emails and answers.

use std::sync::Arc;

use todoke_shared::TrackingNumber;
use uuid::Uuid;

use crate::auth::tokens::Keys;

/// Absolute links given to customers, from `TODOKE_PUBLIC_URL` or the bound address.
pub struct Links {
    public_url: String,
    keys: Arc<Keys>,
}

impl Links {
    pub fn new(public_url: String, keys: Arc<Keys>) -> Links {
        Links { public_url, keys }
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The tracking page anyone holding the number may open.
    pub fn tracking_page(&self, number: &TrackingNumber) -> String {
        format!("{}/t/{}", self.public_url, number)
    }

    /// The customer's own link to a shipment's tracking page: it carries the token that unlocks the
    /// full view (`k`).
    pub fn customer_tracking_page(&self, number: &TrackingNumber, shipment_id: Uuid) -> String {
        format!("{}/t/{}?k={}", self.public_url, number, self.customer_key(shipment_id))
    }

    /// The token (`k`) that opens one shipment to its customer, for links of their own.
    pub fn customer_key(&self, shipment_id: Uuid) -> String {
        self.keys.customer_link(shipment_id)
    }
}
