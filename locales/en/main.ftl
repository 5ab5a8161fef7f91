# berth's page text, English. Keys are shared by every page (and later by emails); each
# language under locales/ defines the same keys (a unit test checks).

site-name = berth
skip-to-content = Skip to content
language-switch = Language
language-switch-submit = Change language

## Dates and times

month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December
weekday-1 = Monday
weekday-2 = Tuesday
weekday-3 = Wednesday
weekday-4 = Thursday
weekday-5 = Friday
weekday-6 = Saturday
weekday-7 = Sunday
weekday-short-1 = Mon
weekday-short-2 = Tue
weekday-short-3 = Wed
weekday-short-4 = Thu
weekday-short-5 = Fri
weekday-short-6 = Sat
weekday-short-7 = Sun
date-long = { $weekday }, { $day } { $month } { $year }
month-title = { $month } { $year }
duration = { $hours ->
    [0] { $minutes } min
   *[other] { $minutes ->
        [0] { $hours } h
       *[other] { $hours } h { $minutes } min
    }
}

## Tour page

tour-meeting-point = Meeting point
tour-duration = Duration
tour-prices = Prices
tour-prices-vary = Prices vary by date: each departure's booking page shows what it sells at.
catalogue-from = from { $price }
tour-price-per-person = per person
tour-group-size = { $min ->
    [1] Up to { $max } people per booking
   *[other] { $min } to { $max } people per booking
}
policy-heading = Cancellation policy
policy-full-refund = Cancel any time before the departure for a full refund.
policy-from = Cancel { $hours } or more before the departure: { $percent ->
    [0] no refund.
    [100] full refund.
   *[other] { $percent } % refund.
}
policy-between = Cancel between { $hours } and { $upto } before: { $percent ->
    [0] no refund.
    [100] full refund.
   *[other] { $percent } % refund.
}
policy-late = Cancel less than { $hours } before: no refund.
policy-started = Bookings cannot be cancelled once the departure has started.
hours = { $count ->
    [one] { $count } hour
   *[other] { $count } hours
}

## Calendar

calendar-heading = Departures
calendar-previous = Previous month
calendar-next = Next month
calendar-legend-available = Seats available
calendar-legend-few = Few seats left
calendar-legend-sold-out = Sold out
calendar-legend-closed = Closed
day-available = Seats available
day-sold-out = Sold out
day-closed = Closed
day-none = No departures
seats-left = { $count ->
    [one] { $count } seat left
   *[other] { $count } seats left
}
seats-left-short = { $count } left
seats-available = { $count ->
    [one] { $count } seat available
   *[other] { $count } seats available
}
day-heading = Departures on { $date }
day-timezone = Times are local to the tour: { $zone }.
day-pick = Pick a day in the calendar to see its departures.
day-empty = No departures on this day.
departure-sold-out = Sold out
departure-closed = Sales closed
departure-cancelled = Cancelled
departure-guaranteed = Guaranteed to run
departure-minimum-reached = Minimum reached: it runs once enough bookings are confirmed
departure-needs = { $count ->
    [one] Needs 1 more traveler to run
   *[other] Needs { $count } more travelers to run
}

## Errors

error-title = Something went wrong
error-back = Go back and try again.
error-request-id = Reference for support: { $id }
error-400 = This request could not be understood.
error-403 = You may not open this page.
error-csrf = This form could not be accepted: it has expired or was sent from another site. Go back, reload the page and send it again.
error-404 = This page does not exist. Check the address, or go back.
error-413 = What you sent is too large.
error-415 = This form was sent in a format berth does not accept.
error-422 = Some of what was sent is not valid.
error-429 = Too many requests from you in a short time. Wait { $seconds } seconds and try again.
error-500 = An error on our side stopped this page. It has been logged; please try again later.
error-503 = berth is busy right now. Wait { $seconds } seconds and try again.

## Booking

book-this = Book { $time }
book-title = Book your seats
time-zone-named = times in { $zone }
book-quantities = How many? ({ $min } to { $max } seats per booking)
book-traveler = Your details
label-name = Full name
label-email = Email
label-phone = Phone (optional)
hint-phone = International format, e.g. +351912345678. Only for messages about this booking.
label-promo-code = Promo code (optional)
hint-promo-code = Have a code? It is checked when you see the total.
book-see-total = See the total
book-update-total = Update the total
book-hold = Hold my seats ({ $total })
quote-heading = Your total
quote-total = Total
quote-subtotal = Subtotal
quote-discount = Promo code { $code }
quote-note = Computed now from the tour's prices. Nothing is held until you choose to hold your seats.
field-name = Enter your name (1 to 200 characters).
field-email = Enter an email address such as ada@example.com.
field-phone = Enter an international number such as +351912345678, or leave it empty.
field-quantities = Choose whole numbers of seats, { $min } to { $max } in all.
field-promo-unknown = We do not know this promo code. Check how it is spelled, or leave the field empty.
field-promo-not-valid-now = This promo code is not valid at this time.
field-promo-not-applicable = This promo code does not apply to this tour.
field-promo-minimum-spend = This promo code needs a booking of at least { $amount } before the discount.
field-promo-exhausted = This promo code has been used up.
field-promo-customer-limit = This promo code has already been used with this email as often as it may be.
notice-sold-out = { $count ->
    [0] Sorry, this departure sold out while you were choosing. Your details are kept below: pick another departure on the tour page.
    [one] Sorry, only 1 seat is left now. Your details are kept below: change the quantities or pick another departure.
   *[other] Sorry, only { $count } seats are left now. Your details are kept below: change the quantities or pick another departure.
}
notice-sales-closed = Sales for this departure have closed. Your details are kept below: pick another departure on the tour page.
notice-hold-limit = You already hold as many seats as one traveler may at once. Pay for or let a hold go, or try again in { $seconds } seconds.
notice-payment-unavailable = The payment service could not be reached, so no seats were held. Your details are kept: try again in a moment.
notice-hold-expired = Your hold expired before it was confirmed, and its seats went back on sale. Your choices are kept below: you can hold again.
notice-payment-failed = The payment did not go through, so the seats were released. Your choices are kept below: you can hold again.
notice-rate-limited = Too many requests from you in a short time. Your details are kept: wait { $wait } seconds and send the form again.
notice-total-changed = The quantities changed, so here is the new total. Check it, then hold your seats.
notice-busy = berth is busy right now. Your details are kept: wait { $seconds } seconds and send the form again.
notice-failed = This booking could not be made. Check your details and try again.
notice-seats-available = Seats are for sale now, so there is no need to wait: your details are kept below. See the total, then hold your seats.
notice-already-waiting = This email or phone number is already on the waiting list for this departure, so you keep your place: we will write to you when seats free up.
notice-waitlist-full = The waiting list for this departure is full. Your details are kept: pick another departure on the tour page.
pay-title = Your seats are held
pay-held-until = We hold your seats until { $time } ({ $zone }).
pay-time-left = Time left:
pay-card-heading = Pay by card
pay-card-submit = Pay { $total }
pay-needs-script = Paying by card needs JavaScript, which is turned off in this browser.
pay-unavailable = The payment form could not load. Reload the page to try again.
pay-processing = Your payment is being processed; the confirmation appears on this page.
pay-check-again = Check again
pay-on-arrival = You pay { $total } on arrival, at the meeting point.
pay-reserve = Reserve, pay on arrival
pay-nothing-to-pay = There is nothing to pay for this booking. Confirm it to keep your seats.
pay-confirm-free = Confirm booking
summary-heading = Your booking
summary-reference = Reference
confirmed-title = Booking confirmed
confirmed-lead = Your booking { $reference } is confirmed.
confirmed-pay-on-arrival = You pay { $total } on arrival.
confirmed-nothing-to-pay = There is nothing to pay.
confirmed-add-to-calendar = Add to calendar (.ics)
confirmed-manage = A confirmation with a link to manage your booking is on its way to { $email }.
ended-title = This booking is closed
ended-status = Booking { $reference } is no longer active.
ended-back = Back to the tour
## Manage booking

manage-title = Booking { $reference }
manage-status = Status
manage-complete = Complete your booking
manage-complete-until = These seats are held for you until
manage-complete-submit = Complete my booking
manage-tour = Tour
manage-when = When
manage-items = Tickets
manage-total = Total
manage-payment = Payment
manage-paid = Paid
manage-pay-on-arrival = pay on arrival
manage-nothing-to-pay = nothing to pay
manage-refunded = Refunded
manage-refund-pending = Refund on its way
manage-calendar = Add to calendar (.ics)
manage-reschedule = Change the date
manage-reschedule-rule = You can move this booking to another departure of the same tour at the same price.
manage-reschedule-pick = Departures with room for your booking (times in { $zone })
manage-reschedule-submit = Move my booking
manage-reschedule-none = No other departure has room for your booking right now.
manage-cancel = Cancel the booking
manage-cancel-quote = If you cancel now, you get { $refund } back ({ $percent } % of what you paid, by the cancellation policy).
manage-cancel-submit = Cancel my booking
manage-done-cancelled = Your booking is cancelled. Any refund is on its way to your payment method.
manage-done-rescheduled = Your booking has moved. We sent you an email with the new details and a new link to this page.
manage-problem-sold_out = That departure no longer has enough seats. Pick another one.
manage-problem-sales_closed = Sales for that departure have closed. Pick another one.
manage-problem-reschedule_not_allowed = This booking cannot be moved any more. Contact the operator.
manage-problem-reschedule_price_differs = The tour's prices changed since you booked, so it cannot be moved here. Contact the operator.
manage-problem-invalid_transition = This booking cannot be changed in its current state.
manage-problem-cancellation_closed = The departure has started; the booking can no longer be cancelled.
manage-problem-validation_failed = Pick one of the departures listed.
manage-problem-other = That could not be done. Reload the page and try again.
manage-link-title = Manage your booking
manage-link-invalid = This link does not open a booking. Use the link from your latest email exactly as it was sent.
manage-link-expired = This link has expired: links stop working 30 days after the departure. Contact the operator if you need anything about this booking.
booking-status-held = Held, awaiting payment
booking-status-confirmed = Confirmed
booking-status-checked_in = Checked in
booking-status-expired = Expired
booking-status-cancelled = Cancelled

## Waiting list

waitlist-heading = Join the waiting list
waitlist-lead = This departure is sold out. Tell us how many seats you want: when seats free up, we hold them for you in the order travelers joined and write to you.
hint-waitlist-contact = Give an email, a phone number, or both: we write there when seats free up.
label-waitlist-email = Email
label-waitlist-phone = Phone
field-waitlist-email = Enter an email address such as ada@example.com, or a phone number: we need one to tell you when seats free up.
waitlist-join = Join the waiting list
waitlist-joined-title = You are on the waiting list
waitlist-joined-position = You are number { $position } in line.
waitlist-hold-minutes = { $count ->
    [one] 1 minute
   *[other] { $count } minutes
}
waitlist-hold-hours = { $count ->
    [one] 1 hour
   *[other] { $count } hours
}
waitlist-joined-email = When seats free up for you, we hold them for { $held } and email you a link to complete your booking.
waitlist-joined-sms = When seats free up for you, we hold them for { $held } and send you a text message with a link to complete your booking.
waitlist-joined-both = When seats free up for you, we hold them for { $held } and send you an email and a text message with a link to complete your booking.
waitlist-joined-order = Seats go to travelers in the order they joined, each to the first whose party fits. If the hold runs out, the seats go to the next in line.
