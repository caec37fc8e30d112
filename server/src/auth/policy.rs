//! The one place that decides who may do what. Every handler asks here; `docs/AUTHORIZATION.md` is this
//! file in a table, and a test walks every route with every kind of caller against it.
//!
//! Nobody is told more than they may know: a caller who may never do a thing gets 403, but another
//! merchant's or driver's object answers 404, exactly like one that does not exist.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use super::caller::{Caller, Role, unauthorized};
use crate::http::error::ApiError;
use crate::store::ShipmentRecord;
use todoke_shared::ProblemCode;

#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    CreateShipment,
    ListShipments,
    ReadShipment(&'a ShipmentRecord),
    RecordEvent(&'a ShipmentRecord),
    ManageAccounts,
    /// Pickup points and delivery slots: what customers choose from.
    ManagePickupPoints,
    /// Depots, zones, drivers' profiles, receiving, building and dispatching routes.
    Dispatch,
    /// Reading depots, zones, drivers and routes.
    ViewDispatch,
    /// A driver's own day: the manifest and the stops of their routes.
    DriveRoutes,
}

/// Which shipments a caller may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Merchant(String),
}

pub fn authorize(caller: &Caller, action: Action<'_>) -> Result<(), ApiError> {
    use Role::*;
    let allowed = match (caller, action) {
        (Caller::Anonymous, _) => {
            return Err(unauthorized(
                ProblemCode::AuthenticationRequired,
                "Log in, or send an API key, to use this endpoint.",
            ));
        }
        (Caller::User { role: Admin | Dispatcher, .. }, Action::CreateShipment | Action::RecordEvent(_)) => true,
        (Caller::User { role: Admin | Dispatcher | Support, .. }, Action::ListShipments | Action::ReadShipment(_)) => {
            true
        }
        (Caller::User { role: Admin, .. }, Action::ManageAccounts) => true,
        (Caller::User { role: Admin | Dispatcher, .. }, Action::ManagePickupPoints | Action::Dispatch) => true,
        (Caller::User { role: Admin | Dispatcher | Support, .. }, Action::ViewDispatch) => true,
        (Caller::User { role: Driver, .. }, Action::DriveRoutes) => true,
        (Caller::Merchant { .. }, Action::CreateShipment | Action::ListShipments) => true,
        (Caller::Merchant { merchant, .. }, Action::ReadShipment(shipment)) => {
            return if shipment.merchant.as_deref() == Some(merchant) { Ok(()) } else { Err(shipment_not_found()) };
        }
        // Merchants may not record changes on their own shipments; someone else's shipment, like a
        // customer link's other shipments, is none of their business: 404, as if it did not exist.
        (Caller::Merchant { merchant, .. }, Action::RecordEvent(shipment))
            if shipment.merchant.as_deref() != Some(merchant) =>
        {
            return Err(shipment_not_found());
        }
        (Caller::Customer { shipment_id }, Action::ReadShipment(shipment) | Action::RecordEvent(shipment))
            if *shipment_id != shipment.id =>
        {
            return Err(shipment_not_found());
        }
        // Drivers act on the stops of their own routes only, through the driver API; no route makes a
        // shipment theirs yet, so every shipment is someone else's.
        (Caller::User { role: Driver, .. }, Action::ReadShipment(_) | Action::RecordEvent(_)) => {
            return Err(shipment_not_found());
        }
        _ => false,
    };
    if allowed { Ok(()) } else { Err(forbidden()) }
}

/// The answer for a shipment the caller may not know of: as if it did not exist, so that nobody
/// learns which ids are taken.
pub fn shipment_not_found() -> ApiError {
    ApiError::not_found(ProblemCode::ShipmentNotFound, "there is no shipment with that id")
}

/// The refusal of a caller whose role does not allow the action.
pub fn forbidden() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, ProblemCode::Forbidden, "Your role does not allow this.")
}

pub fn list_scope(caller: &Caller) -> Scope {
    match caller {
        Caller::Merchant { merchant, .. } => Scope::Merchant(merchant.clone()),
        _ => Scope::All,
    }
}

/// Whether the caller sees the full tracking view of `shipment` (recipient, address, parcels) rather
/// than the public one. A customer link opens its own shipment until `link_lifetime` after the
/// shipment reached a final status.
pub fn sees_full_tracking(
    caller: &Caller,
    shipment: &ShipmentRecord,
    now: DateTime<Utc>,
    link_lifetime: chrono::Duration,
) -> bool {
    match caller {
        Caller::Customer { shipment_id } => {
            *shipment_id == shipment.id && !(shipment.status.is_final() && shipment.updated_at + link_lifetime < now)
        }
        Caller::User { role: Role::Admin | Role::Dispatcher | Role::Support, .. } => true,
        Caller::Merchant { merchant, .. } => shipment.merchant.as_deref() == Some(merchant),
        Caller::User { role: Role::Driver, .. } | Caller::Anonymous => false,
    }
}

/// Whether the caller may read a customer's access code (gate or door code): staff only here; the
/// assigned driver reads it in the manifest.
pub fn sees_access_code(caller: &Caller) -> bool {
    matches!(caller, Caller::User { role: Role::Admin | Role::Dispatcher | Role::Support, .. })
}

/// Who may read and change a shipment's delivery preferences: the customer with a valid link to it,
/// support staff and admins. Others' shipments answer 404; a link past its time answers 403.
pub fn may_change_preferences(
    caller: &Caller,
    shipment: &ShipmentRecord,
    now: DateTime<Utc>,
    link_lifetime: chrono::Duration,
) -> Result<(), ApiError> {
    match caller {
        Caller::Anonymous => Err(unauthorized(
            ProblemCode::AuthenticationRequired,
            "Open the page from the link in your email to change this.",
        )),
        Caller::User { role: Role::Admin | Role::Support, .. } => Ok(()),
        Caller::Customer { shipment_id } if *shipment_id == shipment.id => {
            link_still_open(caller, shipment, now, link_lifetime)
        }
        Caller::Merchant { merchant, .. } if shipment.merchant.as_deref() == Some(merchant) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ProblemCode::Forbidden,
            "Preferences are the customer's to change.",
        )),
        Caller::User { role: Role::Dispatcher, .. } => Err(forbidden()),
        _ => Err(shipment_not_found()),
    }
}

/// Who may see a shipment's proof of delivery and its photos: staff, the merchant's key, and the
/// customer's link while it lasts. Drivers see their own day in the manifest, not proofs afterwards.
pub fn may_read_proof(
    caller: &Caller,
    shipment: &ShipmentRecord,
    now: DateTime<Utc>,
    link_lifetime: chrono::Duration,
) -> Result<(), ApiError> {
    match caller {
        Caller::Anonymous => Err(unauthorized(
            ProblemCode::AuthenticationRequired,
            "Open the proof from the link in your email, or log in, to see it.",
        )),
        Caller::User { role: Role::Admin | Role::Dispatcher | Role::Support, .. } => Ok(()),
        Caller::Merchant { merchant, .. } if shipment.merchant.as_deref() == Some(merchant) => Ok(()),
        Caller::Customer { shipment_id } if *shipment_id == shipment.id => {
            link_still_open(caller, shipment, now, link_lifetime)
        }
        _ => Err(shipment_not_found()),
    }
}

/// Whether the caller sees staff's side of a proof: the integrity check and the original photos, which
/// keep the phone's metadata.
pub fn sees_proof_integrity(caller: &Caller) -> bool {
    matches!(caller, Caller::User { role: Role::Admin | Role::Dispatcher | Role::Support, .. })
}

fn link_still_open(
    caller: &Caller,
    shipment: &ShipmentRecord,
    now: DateTime<Utc>,
    link_lifetime: chrono::Duration,
) -> Result<(), ApiError> {
    if sees_full_tracking(caller, shipment, now, link_lifetime) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ProblemCode::LinkExpired,
            "This link has expired: the parcel was delivered a while ago.",
        ))
    }
}

/// Who may leave feedback on a delivery: the customer, from their link. Staff and the merchant see it
/// but may not give it.
pub fn may_leave_feedback(
    caller: &Caller,
    shipment: &ShipmentRecord,
    now: DateTime<Utc>,
    link_lifetime: chrono::Duration,
) -> Result<(), ApiError> {
    match caller {
        Caller::Anonymous => Err(unauthorized(
            ProblemCode::AuthenticationRequired,
            "Open the page from the link in your email to leave feedback.",
        )),
        Caller::Customer { shipment_id } if *shipment_id == shipment.id => {
            link_still_open(caller, shipment, now, link_lifetime)
        }
        Caller::User { role: Role::Admin | Role::Dispatcher | Role::Support, .. } => {
            Err(ApiError::new(StatusCode::FORBIDDEN, ProblemCode::Forbidden, "Feedback is the customer's to give."))
        }
        Caller::Merchant { merchant, .. } if shipment.merchant.as_deref() == Some(merchant) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, ProblemCode::Forbidden, "Feedback is the customer's to give."))
        }
        _ => Err(shipment_not_found()),
    }
}
