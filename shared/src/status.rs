//! The shipment lifecycle: one enum of statuses, one transition function, reasons as codes.

use serde::{Deserialize, Serialize};

use crate::Language;
use crate::catalogue::Catalogue;

/// Where a shipment stands. The names are the wire vocabulary; `docs/LIFECYCLE.md` maps them to the
/// common carrier vocabularies (AfterShip tags, Karrio statuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    InfoReceived,
    AtDepot,
    OutForDelivery,
    Delivered,
    AttemptFailed,
    AvailableForPickup,
    ReturnedToSender,
    Cancelled,
    Exception,
}

/// Why an attempt failed or a shipment needs attention: a code, so that pages, emails and reports can
/// say it in the reader's language and staff can count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    RecipientNotHome,
    Refused,
    AddressNotFound,
    AccessRestricted,
    SafePlaceUnavailable,
    BusinessClosed,
    Damaged,
    Lost,
    Weather,
    VehicleProblem,
    SenderRequest,
    Other,
}

/// A requested move to a new status, with the reason where that status needs one. A failed attempt or
/// an exception without a reason cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    AtDepot,
    OutForDelivery,
    Delivered,
    AttemptFailed(ReasonCode),
    AvailableForPickup,
    ReturnedToSender(Option<ReasonCode>),
    Cancelled(Option<ReasonCode>),
    Exception(ReasonCode),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusChangeError {
    #[error("'{0}' needs a reason code")]
    ReasonRequired(&'static str),
    #[error("'{0}' takes no reason code")]
    ReasonNotAllowed(&'static str),
    #[error("a shipment cannot move back to 'info_received'")]
    NotATarget,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a shipment that is '{}' cannot become '{}'", from.as_str(), to.as_str())]
pub struct TransitionError {
    pub from: ShipmentStatus,
    pub to: ShipmentStatus,
}

impl TransitionError {
    /// The statuses the shipment could move to instead.
    pub fn allowed(&self) -> &'static [ShipmentStatus] {
        self.from.allowed_next()
    }
}

impl ShipmentStatus {
    pub const ALL: [ShipmentStatus; 9] = [
        ShipmentStatus::InfoReceived,
        ShipmentStatus::AtDepot,
        ShipmentStatus::OutForDelivery,
        ShipmentStatus::Delivered,
        ShipmentStatus::AttemptFailed,
        ShipmentStatus::AvailableForPickup,
        ShipmentStatus::ReturnedToSender,
        ShipmentStatus::Cancelled,
        ShipmentStatus::Exception,
    ];

    /// The statuses this one may move to. The whole lifecycle is this table.
    pub fn allowed_next(self) -> &'static [ShipmentStatus] {
        use ShipmentStatus::*;
        match self {
            InfoReceived => &[AtDepot, Cancelled, Exception],
            AtDepot => &[OutForDelivery, AvailableForPickup, ReturnedToSender, Cancelled, Exception],
            OutForDelivery => &[Delivered, AttemptFailed, AvailableForPickup, AtDepot, Exception],
            AttemptFailed => &[OutForDelivery, AtDepot, AvailableForPickup, ReturnedToSender, Exception],
            AvailableForPickup => &[Delivered, ReturnedToSender, Exception],
            Exception => &[AtDepot, OutForDelivery, AvailableForPickup, ReturnedToSender, Cancelled],
            Delivered | ReturnedToSender | Cancelled => &[],
        }
    }

    /// The one transition function: the status after `change`, or why it is not allowed.
    pub fn apply(self, change: StatusChange) -> Result<ShipmentStatus, TransitionError> {
        let to = change.status();
        if self.allowed_next().contains(&to) { Ok(to) } else { Err(TransitionError { from: self, to }) }
    }

    pub fn is_final(self) -> bool {
        self.allowed_next().is_empty()
    }

    pub fn as_str(self) -> &'static str {
        use ShipmentStatus::*;
        match self {
            InfoReceived => "info_received",
            AtDepot => "at_depot",
            OutForDelivery => "out_for_delivery",
            Delivered => "delivered",
            AttemptFailed => "attempt_failed",
            AvailableForPickup => "available_for_pickup",
            ReturnedToSender => "returned_to_sender",
            Cancelled => "cancelled",
            Exception => "exception",
        }
    }

    pub fn parse(text: &str) -> Option<ShipmentStatus> {
        ShipmentStatus::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// What the customer reads, on every channel.
    pub fn label(self, lang: Language) -> &'static str {
        Catalogue::text(lang, &format!("status-{}", self.as_str()))
    }

    /// The AfterShip tag this status corresponds to.
    pub fn aftership_tag(self) -> &'static str {
        use ShipmentStatus::*;
        match self {
            InfoReceived => "InfoReceived",
            AtDepot => "InTransit",
            OutForDelivery => "OutForDelivery",
            Delivered => "Delivered",
            AttemptFailed => "AttemptFail",
            AvailableForPickup => "AvailableForPickup",
            ReturnedToSender | Cancelled | Exception => "Exception",
        }
    }

    /// The Karrio tracking status this status corresponds to.
    pub fn karrio_status(self) -> &'static str {
        use ShipmentStatus::*;
        match self {
            InfoReceived => "pending",
            AtDepot => "in_transit",
            OutForDelivery => "out_for_delivery",
            Delivered => "delivered",
            AttemptFailed => "delivery_failed",
            AvailableForPickup => "ready_for_pickup",
            ReturnedToSender => "return_to_sender",
            Cancelled => "cancelled",
            Exception => "on_hold",
        }
    }
}

impl StatusChange {
    /// Builds a change from the wire form: a target status and an optional reason.
    pub fn new(to: ShipmentStatus, reason: Option<ReasonCode>) -> Result<StatusChange, StatusChangeError> {
        use ShipmentStatus::*;
        let no_reason = |change: StatusChange| match reason {
            None => Ok(change),
            Some(_) => Err(StatusChangeError::ReasonNotAllowed(to.as_str())),
        };
        let needs_reason = |make: fn(ReasonCode) -> StatusChange| {
            reason.map(make).ok_or(StatusChangeError::ReasonRequired(to.as_str()))
        };
        match to {
            InfoReceived => Err(StatusChangeError::NotATarget),
            AtDepot => no_reason(StatusChange::AtDepot),
            OutForDelivery => no_reason(StatusChange::OutForDelivery),
            Delivered => no_reason(StatusChange::Delivered),
            AvailableForPickup => no_reason(StatusChange::AvailableForPickup),
            AttemptFailed => needs_reason(StatusChange::AttemptFailed),
            Exception => needs_reason(StatusChange::Exception),
            ReturnedToSender => Ok(StatusChange::ReturnedToSender(reason)),
            Cancelled => Ok(StatusChange::Cancelled(reason)),
        }
    }

    pub fn status(self) -> ShipmentStatus {
        match self {
            StatusChange::AtDepot => ShipmentStatus::AtDepot,
            StatusChange::OutForDelivery => ShipmentStatus::OutForDelivery,
            StatusChange::Delivered => ShipmentStatus::Delivered,
            StatusChange::AttemptFailed(_) => ShipmentStatus::AttemptFailed,
            StatusChange::AvailableForPickup => ShipmentStatus::AvailableForPickup,
            StatusChange::ReturnedToSender(_) => ShipmentStatus::ReturnedToSender,
            StatusChange::Cancelled(_) => ShipmentStatus::Cancelled,
            StatusChange::Exception(_) => ShipmentStatus::Exception,
        }
    }

    pub fn reason(self) -> Option<ReasonCode> {
        match self {
            StatusChange::AttemptFailed(reason) | StatusChange::Exception(reason) => Some(reason),
            StatusChange::ReturnedToSender(reason) | StatusChange::Cancelled(reason) => reason,
            _ => None,
        }
    }
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 12] = [
        ReasonCode::RecipientNotHome,
        ReasonCode::Refused,
        ReasonCode::AddressNotFound,
        ReasonCode::AccessRestricted,
        ReasonCode::SafePlaceUnavailable,
        ReasonCode::BusinessClosed,
        ReasonCode::Damaged,
        ReasonCode::Lost,
        ReasonCode::Weather,
        ReasonCode::VehicleProblem,
        ReasonCode::SenderRequest,
        ReasonCode::Other,
    ];

    pub fn as_str(self) -> &'static str {
        use ReasonCode::*;
        match self {
            RecipientNotHome => "recipient_not_home",
            Refused => "refused",
            AddressNotFound => "address_not_found",
            AccessRestricted => "access_restricted",
            SafePlaceUnavailable => "safe_place_unavailable",
            BusinessClosed => "business_closed",
            Damaged => "damaged",
            Lost => "lost",
            Weather => "weather",
            VehicleProblem => "vehicle_problem",
            SenderRequest => "sender_request",
            Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|reason| reason.as_str() == text)
    }

    pub fn label(self, lang: Language) -> &'static str {
        Catalogue::text(lang, &format!("reason-{}", self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change_to(to: ShipmentStatus) -> StatusChange {
        StatusChange::new(to, Some(ReasonCode::Other))
            .or_else(|_| StatusChange::new(to, None))
            .expect("every status but info_received is a target")
    }

    #[test]
    fn every_pair_of_statuses_follows_the_table() {
        for from in ShipmentStatus::ALL {
            for to in ShipmentStatus::ALL.into_iter().filter(|&s| s != ShipmentStatus::InfoReceived) {
                let result = from.apply(change_to(to));
                if from.allowed_next().contains(&to) {
                    assert_eq!(result, Ok(to), "{from:?} -> {to:?}");
                } else {
                    let err = result.expect_err("illegal transition must be refused");
                    assert_eq!(err.allowed(), from.allowed_next());
                }
            }
        }
    }

    #[test]
    fn a_delivery_runs_from_intake_to_doorstep() {
        let status = ShipmentStatus::InfoReceived;
        let status = status.apply(StatusChange::AtDepot).unwrap();
        let status = status.apply(StatusChange::OutForDelivery).unwrap();
        let status = status.apply(StatusChange::AttemptFailed(ReasonCode::RecipientNotHome)).unwrap();
        let status = status.apply(StatusChange::OutForDelivery).unwrap();
        let status = status.apply(StatusChange::Delivered).unwrap();
        assert!(status.is_final());
    }

    #[test]
    fn reasons_are_required_where_they_explain_a_problem() {
        use ShipmentStatus::*;
        assert_eq!(StatusChange::new(AttemptFailed, None), Err(StatusChangeError::ReasonRequired("attempt_failed")));
        assert_eq!(StatusChange::new(Exception, None), Err(StatusChangeError::ReasonRequired("exception")));
        assert_eq!(
            StatusChange::new(Delivered, Some(ReasonCode::Refused)),
            Err(StatusChangeError::ReasonNotAllowed("delivered"))
        );
        assert_eq!(StatusChange::new(InfoReceived, None), Err(StatusChangeError::NotATarget));
        assert_eq!(StatusChange::new(Cancelled, None), Ok(StatusChange::Cancelled(None)));
    }

    #[test]
    fn names_round_trip_through_text_and_json() {
        for status in ShipmentStatus::ALL {
            assert_eq!(ShipmentStatus::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            for lang in Language::ALL {
                assert!(!status.label(lang).is_empty());
            }
        }
        for reason in ReasonCode::ALL {
            assert_eq!(ReasonCode::parse(reason.as_str()), Some(reason));
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
    }

    #[test]
    fn carrier_vocabularies_cover_every_status() {
        let aftership = [
            "InfoReceived",
            "InTransit",
            "OutForDelivery",
            "Delivered",
            "AttemptFail",
            "AvailableForPickup",
            "Exception",
        ];
        for status in ShipmentStatus::ALL {
            assert!(aftership.contains(&status.aftership_tag()));
            assert!(!status.karrio_status().is_empty());
        }
    }
}
