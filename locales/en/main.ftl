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

## Manage booking

manage-title = Booking { $reference }
manage-status = Status
manage-tour = Tour
manage-when = When
manage-items = Tickets
manage-total = Total
manage-payment = Payment
manage-paid = Paid
manage-pay-on-arrival = pay on arrival
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
