# Todoke's texts in English. Keys and placeables must match every other file (shared/src/catalogue/tests.rs).
# Sections: dates, shared labels, emails, the tracking page, its forms and problems, the driver app.

## Dates and times: the shapes `Catalogue::date`, `date_time` and `window` fill in.
## Placeables: $year, $month, $month2 (two digits), $day, $day2, $weekday, $monthName.

date-long = { $weekday } { $day } { $monthName } { $year }
date-mail = { $day } { $monthName } { $year }
date-short = { $day } { $monthName }
date-numeric = { $month2 }/{ $day2 }
date-time = { $date } { $time }
window-long = { $date } { $start }–{ $end }
window-mail = { $date } { $start }–{ $end }
window-short = { $date } { $start }–{ $end }
window-numeric = { $date } { $start }–{ $end }
time-window = { $start }–{ $end }
weekday-1 = Mon
weekday-2 = Tue
weekday-3 = Wed
weekday-4 = Thu
weekday-5 = Fri
weekday-6 = Sat
weekday-7 = Sun
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

## The language's own name, in the page's language menu.
language-name = English

## Shipment statuses, as the customer reads them on every channel.
status-info_received = Shipping information received
status-at_depot = At the delivery depot
status-out_for_delivery = Out for delivery
status-delivered = Delivered
status-attempt_failed = Delivery attempted
status-available_for_pickup = Ready for pickup
status-returned_to_sender = Returned to sender
status-cancelled = Cancelled
status-exception = Delivery exception

## Why an attempt failed or a parcel is held.
reason-recipient_not_home = Nobody was home
reason-refused = Delivery was refused
reason-address_not_found = The address could not be found
reason-access_restricted = The building could not be entered
reason-safe_place_unavailable = The chosen safe place was not available
reason-business_closed = The business was closed
reason-damaged = The parcel is damaged
reason-lost = We are locating the parcel
reason-weather = Delayed by bad weather
reason-vehicle_problem = Delayed by a vehicle problem
reason-sender_request = At the sender's request
reason-other = Other reason

## Safe places (置き配).
place-front_door = Front door
place-delivery_box = Delivery box
place-meter_box = Meter box
place-garage = Garage
place-bicycle_basket = Bicycle basket
place-storage_shed = Storage shed
place-building_reception = Building reception
place-other = Other

## How the parcel changes (or changed) hands, for the customer.
method-hand_to_recipient = Handed to you
method-safe_place = Left at: { $place }
method-neighbour = Given to your neighbour: { $name }
method-pickup_point = Pickup point: { $point }

## What the driver must capture as proof.
proof-signature = signature
proof-recipient_name = recipient's name
proof-photo = photo of where it was left
proof-neighbour_name = neighbour's name
proof-neighbour_door = neighbour's door
proof-pickup_point_id = pickup point
proof-scan = scan of every parcel
proof-age_check = age check

## Emails to the customer.
mail-dear = Dear { $name },
mail-link = Track the parcel or change how you receive it
mail-expected = Expected: { $window }
mail-delivery = Delivery: { $method }
mail-how = How: { $method }
mail-when = When: { $window }
mail-why = Why: { $reason }
mail-delivered-at = Delivered: { $when }
mail-received-by = Received by: { $name }
mail-dispatched-subject = Your parcel is out for delivery today ({ $number })
mail-dispatched-left = Your parcel has left our depot.
mail-dispatched-note = You can still change your note for the driver from the link below until delivery.
mail-attempt_failed-subject = We could not deliver your parcel ({ $number })
mail-attempt_failed-next = We will try again on the next delivery day. You can choose a time that suits you, or a pickup point, from the link below.
mail-delayed-subject = Your parcel is running late ({ $number })
mail-delayed-sorry = We are sorry: your parcel is running late.
mail-delayed-new-time = New expected time: { $when }
mail-delayed-choose = If that does not suit you, choose a later time or a pickup point from the link below.
mail-delivered-subject = Your parcel was delivered ({ $number })
mail-delivered-proof = The proof of delivery (photo, signature) is at the link below.
mail-preferences_changed-subject = Your delivery choice is updated ({ $number })
mail-preferences_changed-undo = If you did not make this change, you can undo it from the link below.
mail-slip-proof = The full proof of delivery (photos, signature, place) is at the link below.
mail-slip-photo = Photo at delivery
mail-slip-signature = Signature
mail-slip-feedback = Tell us how the delivery went

## The tracking page.
page-title = Parcel tracking
page-tracking_number = Tracking number
page-expected = Expected delivery
page-delivered_to_area = Delivering to
page-history = History
page-not_found = Parcel not found
page-typo = This tracking number has a typo
page-check_number = Please check the tracking number again.
page-recipient = Recipient
page-how = How you receive
page-hand_over = Hand it to me
page-safe_place = Leave it at a safe place
page-neighbour = Give it to a neighbour
page-neighbour_name = Their name
page-neighbour_door = Their door
page-pickup_point = I collect it at a pickup point or locker
page-place_description = Where exactly (for Other)
page-window = Delivery time
page-promised_window = Keep the promised time
page-instructions = Note for the driver
page-access_code = Gate or door code
page-access_code_hint = leave as it is to keep it
page-language = Language
page-email_notices = Email me about this parcel
page-save = Save changes
page-saved = Your changes are saved.
page-locked_method = The parcel is on its way: the method and time can no longer change.
page-not_saved = Not saved
page-proof = Proof of delivery
page-attempt = We came by
page-received_by = Received by
page-signature = Signature
page-photo = Photo
page-feedback = How did the delivery go?
page-comment = Anything to tell us (optional)
page-send_feedback = Send
arrival-heading = Expected arrival
arrival-stops-before = { $n ->
    [0] Yours is the next stop
    [one] { $n } stop before yours
   *[other] { $n } stops before yours
}
arrival-driver-near = Your driver is about { $km } km away
arrival-updated = From the driver's position at { $time }

## What went wrong with a form of the page, in the page's language.
form-unreadable = The form could not be read. Please try again.
form-choose-place = choose where the parcel may be left
form-choose-method = choose how you want to receive the parcel
form-choose-window = choose a delivery time from the list
form-feedback-not-delivered = Feedback opens once the parcel is delivered.
# A field's problem on the page: the field's name and what is wrong.
form-field-problem = { $field }: { $problem }
field-method = How you receive
field-method-place = Safe place
field-method-description = Where exactly
field-method-name = Their name
field-method-door = Their door
field-method-point_id = Pickup point
field-window = Delivery time
field-instructions = Note for the driver
field-access_code = Gate or door code
field-language = Language
field-rating = Stars
field-comment = Your comment
invalid-required = must not be empty
invalid-too_long = must be at most { $max } characters
invalid-invalid_characters = must not contain control characters such as line breaks
invalid-unknown_pickup_point = choose a pickup point from the list
invalid-date_out_of_range = choose a day from the list
invalid-not_a_slot = choose a delivery time from the list
invalid-out_of_range = choose from one to five stars

## Problems a customer meets on the page (by the problem's code).
problem-form_token_invalid = This form did not come from your tracking page. Please open the page again.
problem-authentication_required = Please open this page from the link in your email first.
problem-link_expired = This link has expired: the parcel was delivered a while ago.
problem-forbidden = Only the link in the customer's own email may do this.
problem-preferences_locked = It is too late to change this: the parcel is on its way.
problem-tracking_number_unknown = No parcel has this tracking number.

## The driver app (todoke-driver).
driver-logged-out = logged out
driver-logged-in = logged in as { $email }
driver-queued-to-send = { $count } queued: run sync to send
driver-sent = sent: { $kind } { $parcel }
driver-sent-flagged = sent: { $kind } { $parcel } (flagged: far from the address)
driver-unreachable = the server cannot be reached; { $waiting } saved here and sent once it can ({ $why })
driver-all-sent = everything is sent
driver-not-logged-in = log in first: todoke-driver login
driver-queue-not-sent = { $count } actions are not sent yet: sync them before logging out
driver-queue-of-another = { $email } has actions not sent yet: log in as that driver and sync first
driver-login-expired = the login has expired: log in again (todoke-driver login); queued work is kept and sent after
driver-invalid-server = { $server }: give the server as https://host (or http:// on a local network)
driver-invalid-credentials = the email or password is wrong
driver-password = Password:{ " " }
driver-kind-arrive = arrive
driver-kind-deliver = deliver
driver-kind-fail = fail
driver-conflict = not applied: { $kind } { $parcel }: { $what } [{ $code }]
driver-conflict-reassigned = was moved to another driver while you were offline: bring the parcel back to the depot
driver-conflict-cancelled = was cancelled while you were offline: bring the parcel back to the depot
driver-conflict-redirected = was redirected to a pickup point while you were offline: bring the parcel back to the depot
driver-conflict-changed = changed while you were offline: bring the parcel back to the depot; now: { $status }
driver-conflict-method = the customer changed how to receive it while you were offline; deliver it the new way: { $method }
driver-conflict-not-dispatched = the route is no longer dispatched: ask the depot
driver-conflict-off-route = was taken off your route while you were offline (moved to another driver, or back to the depot): bring the parcel back to the depot
driver-conflict-proof = the proof is incomplete: { $fields }
driver-day-fetched = { $date }: { $count ->
    [one] { $count } stop fetched
   *[other] { $count } stops fetched
}
driver-day-unchanged = { $date }: { $count ->
    [one] { $count } stop, unchanged
   *[other] { $count } stops, unchanged
}
driver-day-not-fetched = the day could not be fetched ({ $error })
driver-not-sent-yet = not sent yet
driver-refused = refused
driver-route-heading = { $date }: { $count ->
    [one] { $count } stop
   *[other] { $count } stops
} (fetched { $fetched })
driver-proof = proof
driver-show-stop = Stop
driver-show-status = Status
driver-show-planned = Planned
driver-show-name = Name
driver-show-phone = Phone
driver-show-address = Address
driver-show-delivery = Delivery
driver-show-instructions = Instructions
driver-show-access_code = Access code
driver-show-proof_needed = Proof needed
driver-show-parcels = Parcels
driver-no-such-stop = { $reference }: no such stop today (see todoke-driver route)
driver-stop-closed = { $parcel } is closed: { $status }
driver-no-position = no recent position: give --at LAT,LON or run locate
driver-invalid-reason = { $reason }: give one of { $codes }
driver-saved = saved: { $kind } { $parcel } (#{ $number })
driver-locate-needs = give --at LAT,LON or --replay FILE
driver-positions-recorded = { $count ->
    [one] { $count } position recorded
   *[other] { $count } positions recorded
}
driver-status-logged-in = logged in: { $email } ({ $server })
driver-status-not-logged-in = not logged in
driver-status-queued = queued: { $count }, positions unsent: { $positions }
driver-action-queued = queued (tries { $attempts })
driver-action-sent = sent { $time } → { $status }
driver-refusal-method = the customer chose another way to receive this parcel: deliver it as chosen, or hand it over
driver-missing = missing: { $proof }
driver-wrong-parcel = { $code }: not a parcel of this delivery
driver-unscanned = { $code }: scan this parcel too
driver-too-many-photos = send at most this many photos: { $max }
driver-photos-too-large = the photos are too large together; send fewer
driver-file-unreadable = cannot be read ({ $error })
driver-file-too-large = is too large; the limit is { $mb } MB
driver-file-not-photo = is not a photo (JPEG, PNG or WebP)
driver-file-not-signature = is neither signature strokes (JSON) nor a PNG
driver-no-day = no day is kept yet: run todoke-driver sync while online
driver-invalid-position = { $text }: give LAT,LON or LAT,LON,ACCURACY_M, such as 35.6812,139.7671
