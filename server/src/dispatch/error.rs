//! How dispatch's errors answer: each a problem with its stable code.

use axum::http::StatusCode;
use todoke_shared::ProblemCode;

use super::DispatchError;
use crate::http::error::ApiError;
use crate::shipments::ShipmentError;

impl From<DispatchError> for ApiError {
    fn from(error: DispatchError) -> ApiError {
        let detail = error.to_string();
        match error {
            DispatchError::DepotNotFound => ApiError::not_found(ProblemCode::DepotNotFound, detail),
            DispatchError::RouteNotFound => ApiError::not_found(ProblemCode::RouteUnknown, detail),
            DispatchError::StopNotFound => ApiError::not_found(ProblemCode::StopNotFound, detail),
            DispatchError::BadTrackingNumber(field, error) => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, error.code(), &field, detail)
            }
            DispatchError::UnknownTrackingNumber(field) => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::TrackingNumberUnknown, &field, detail)
            }
            DispatchError::NotADriver => ApiError::not_found(ProblemCode::DriverNotFound, detail),
            DispatchError::Invalid(field, message) => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, ProblemCode::InvalidValue, field, message)
            }
            DispatchError::AlreadyDispatched => {
                ApiError::new(StatusCode::CONFLICT, ProblemCode::RouteAlreadyDispatched, detail)
            }
            DispatchError::NotAtDepot(..) => {
                ApiError::new(StatusCode::CONFLICT, ProblemCode::ShipmentNotAtDepot, detail)
            }
            DispatchError::AlreadyRouted(_) | DispatchError::SomeAlreadyRouted | DispatchError::StopAlreadyRouted => {
                ApiError::new(StatusCode::CONFLICT, ProblemCode::AlreadyRouted, detail)
            }
            DispatchError::RoutedMeanwhile => ApiError::new(StatusCode::CONFLICT, ProblemCode::RoutesChanged, detail),
            // A staff move the lifecycle refuses answers as it does for the shipments' own events.
            DispatchError::Transition(refused) => ShipmentError::from(refused).into(),
            DispatchError::Solver(solver) => {
                tracing::error!(error = %solver, "route planning failed");
                ApiError::internal()
            }
            DispatchError::Store(store) => store.into(),
        }
    }
}
