# The operator console.

console-name = berth console
console-menu = Console menu
console-today = Today
console-team = Team
console-sign-in = Sign in
console-sign-in-submit = Sign in
console-email = Email
console-password = Password
console-code = Code
console-code-help = Enter the six-digit code from your authenticator app, or one of your recovery codes.
console-code-submit = Verify
console-sign-in-failed = Email or password not recognised. After several failed attempts an account is locked for a while, and its user is emailed.
console-sign-in-throttled = Too many attempts from your network. Try again in { $seconds } seconds.
console-code-failed = That code was not accepted. Sign in again with your password.
console-signed-in-as = { $email } ({ $role })
console-sign-out = Sign out
console-sign-out-everywhere = on every device
console-summary = Summary
console-revenue-today = Revenue today (UTC)
console-revenue-none = Nothing yet
console-undelivered = Messages not delivered
console-day-today = Today
console-day-tomorrow = Tomorrow
console-time = Time
console-tour = Tour
console-seats = Seats taken
console-seats-of = { $taken } of { $capacity }
console-held = Seats on hold
console-checked-in = Checked in
console-cancelled = cancelled
console-no-departures = No departures.
console-name-column = Name
console-role = Role
console-two-factor = Two-factor sign-in
console-active = Active
role-owner = owner
role-admin = admin
role-staff = staff
role-guide = guide
yes = yes
no = no

## Departure: manifest and check-in

console-manifest-load = { $taken } of { $capacity } seats taken, { $checked } checked in
console-manifest-csv = Download the manifest (CSV)
console-manifest-search = Find a traveler (name or reference)
console-manifest-search-submit = Search
console-manifest-no-match = No booking matches “{ $query }”.
console-manifest-empty = Nobody is booked yet.
console-manifest-next = Next travelers
console-check-in = Check in { $name } ({ $seats ->
    [one] 1 seat
   *[other] { $seats } seats
})
console-checked-in-notice = { $reference } is checked in.
console-status-held = on hold
console-status-confirmed = confirmed
console-status-checked_in = checked in
console-status-expired = expired
console-status-cancelled = cancelled

## Departure: capacity and cancellation (admins)

console-capacity = Capacity
console-capacity-submit = Change capacity
console-capacity-changed = Capacity changed.
console-capacity-below = { $taken } seats are taken: the capacity cannot be lower.
console-capacity-invalid = Enter a whole number from 0 to 100,000.
console-cancel-departure = Cancel this departure
console-cancel-bookings = { $count ->
    [one] 1 booking is cancelled
   *[other] { $count } bookings are cancelled
}
console-cancel-travelers = { $count ->
    [one] 1 traveler is told
   *[other] { $count } travelers are told
}
console-cancel-refund = { $amount } goes back to travelers
console-cancel-no-refund = Nothing was paid online, so nothing is refunded.
console-cancel-confirm = Cancel the departure and its bookings
console-departure-cancelled = The departure is cancelled; its travelers are told and refunds are on their way.
console-back-to-departure = Back to the departure

## Tours, schedules and the calendar

console-tours = Tours
console-calendar = Calendar
console-calendar-count = { $count ->
    [one] 1 departure
   *[other] { $count } departures
}
console-calendar-open = Open the calendar
console-date = Date
console-save = Save
console-form-problems = Some fields need a change: see the messages beside them.
console-tours-none = No tours yet.
console-tour-new = New tour
console-tour-edit = Edit tour
console-tour-created = Tour created.
console-tour-saved = Tour saved.
console-tour-name = Name
console-tour-description = Description
console-tour-meeting-point = Meeting point
console-tour-timezone = Time zone
console-tour-timezone-hint = An IANA zone, like Europe/Lisbon. Departures are scheduled in it.
console-tour-currency = Currency
console-tour-currency-hint = An ISO 4217 code, like EUR.
console-tour-fixed = Time zone { $timezone } and currency { $currency } stay as the tour was created.
console-tour-duration = Duration (minutes)
console-tour-cutoff = Sales close (minutes before the start)
console-tour-min = Fewest seats per booking
console-tour-max = Most seats per booking
console-tour-group = Seats per booking
console-tour-reschedule = Travelers may move their booking to another departure
console-tour-units = Ticket types
console-tour-prices = Ticket types and prices
console-unit-code = Code
console-unit-label = Label
console-unit-price = Price ({ $currency })
console-tour-policy = Cancellation policy
console-policy-hint = Each rule: cancelled at least this many hours before the start, this share of the price goes back. No rule: a full refund until the start.
console-policy-hours = Hours before
console-policy-percent = Refund (%)
console-policy-rule = At least { $hours } hours before: { $percent } % back
console-policy-none = A full refund until the departure starts.
console-schedules = Schedules
console-schedules-none = No schedule yet.
console-schedule-new = New schedule
console-schedule-created = Schedule saved; its departures are on sale.
console-schedule-rule = Rule
console-schedule-from = Dates
console-schedule-zone = Dates and times are in { $timezone }.
console-schedule-repeat = Repeat
console-schedule-frequency = Every
console-schedule-weekly = week
console-schedule-daily = day
console-schedule-interval = Every how many (1 = every one)
console-schedule-days = On
console-schedule-start = First date
console-schedule-ends = Ends
console-schedule-ends-never = never
console-schedule-ends-until = on a date
console-schedule-until = Last date
console-schedule-ends-count = after a number of dates
console-schedule-count = Number of dates
console-schedule-times = Start times
console-schedule-times-hint = HH:MM, separated by commas, like 09:00, 14:30.
console-schedule-exceptions = Dates without departures
console-schedule-exceptions-hint = YYYY-MM-DD, one per line or separated by commas.
console-schedule-preview = Preview
console-schedule-save = Save schedule
console-schedule-preview-heading = The next { $count } departures
console-schedule-preview-none = This schedule has no departure in the next two years.
console-schedule-offset = UTC offset
console-schedule-dst = clock change
console-schedule-shifted = moved by the clock change
console-actions = Actions
console-schedule-edit = Change or end
console-schedule-edit-hint = Departures still to come follow the new schedule where nobody is booked. Departures with travelers are kept as they are. To end the schedule, choose “on a date” and its last date.
console-schedule-changed = Schedule changed. { $kept ->
    [0] No departure with travelers needed to stay.
    [one] 1 departure with travelers does not match it and was kept: see the calendar.
   *[other] { $kept } departures with travelers do not match it and were kept: see the calendar.
}

## The user's own account

console-account = Account
console-password-change = Change password
console-password-current = Current password
console-password-new = New password
console-password-hint = At least 12 characters; not your email, not a common password. Your other sessions end.
console-password-changed = Password changed. Your other sessions have ended.
console-two-factor-enabled = Two-factor sign-in is on: you enter a code from your app after your password.
console-two-factor-disabled = Two-factor sign-in is off.
console-two-factor-start = Set up two-factor sign-in
console-two-factor-scan = Scan this code with your authenticator app, then enter the six-digit code it shows.
console-two-factor-qr = QR code for your authenticator app
console-two-factor-secret = Or enter this key in the app:
console-two-factor-confirm = Turn on two-factor sign-in
console-two-factor-again = Set it up again for a new code.
console-two-factor-on = Two-factor sign-in is on.
console-recovery-codes-help = Keep these ten recovery codes somewhere safe. Each signs you in once if you lose your phone. They are shown only now.
console-week = Week of { $monday }
console-week-previous = Previous week
console-week-next = Next week
console-week-view = This week
console-month-view = Month

# Bookings
console-bookings = Bookings
console-bookings-q = Reference, name or email
console-bookings-q-hint = Part of the traveler's name or email, or the whole reference.
console-bookings-status = Status
console-bookings-any = Any
console-bookings-from = Departures from
console-bookings-to = Departures until
console-bookings-search = Search
console-bookings-reference = Reference
console-bookings-traveler = Traveler
console-bookings-departure = Departure
console-bookings-seats = Seats
console-bookings-total = Total
console-bookings-next = Older bookings
console-bookings-none = No bookings yet.
console-bookings-none-match = No booking matches this search.
console-booking-title = Booking { $reference }
console-booking-made = Booked
console-booking-language = Language of messages
console-booking-items = Tickets
console-booking-payment = Payment
console-booking-provider = Paid through
console-booking-paid = Paid
console-booking-refunded = Refunded
console-booking-refund-pending = { $amount } on its way
console-booking-refunds = Refunds
console-booking-when = When
console-booking-amount = Amount
console-booking-reason = Reason
console-booking-actions = Actions
console-booking-resend = Send the confirmation again
console-booking-refund-amount = Amount to refund ({ $currency })
console-booking-refund-hint = At most { $amount }.
console-booking-refund = Refund
console-booking-cancel-explained = Cancelling gives the seats back and refunds everything paid.
console-booking-cancel = Cancel the booking
console-booking-messages = Messages
console-booking-message = Message
console-booking-channel = Channel
console-booking-no-messages = No messages yet.
console-booking-history = History
console-booking-no-history = Nothing done by the team yet.
console-booking-back = All bookings
console-booking-notice-resent = The confirmation is on its way again.
console-booking-notice-cancelled = The booking is cancelled.
console-booking-notice-refunded = The refund is on its way.

# Messages
console-messages = Messages
console-messages-show = Show
console-messages-retry = Send again
console-messages-retried = The message is queued again.
console-messages-attempts = { $count ->
    [one] { $count } attempt
   *[other] { $count } attempts
}
console-messages-none-undelivered = Every message was delivered or is on its way.
console-messages-none = No messages.
console-messages-status-undelivered = Not delivered (failed or given up)
console-messages-status-pending = Waiting to be sent
console-messages-status-sending = Being sent
console-messages-status-sent = Sent
console-messages-status-failed = Failed
console-messages-status-dead = Given up after retries

# Reports
console-reports = Reports
console-reports-from = From
console-reports-to = To
console-reports-show = Show
console-reports-utc = Dates are UTC days, as in the ledger. Load counts departures starting in those days.
console-reports-totals = Totals
console-reports-currency = Currency
console-reports-payments = Payments
console-reports-refunds = Refunds
console-reports-net = Net
console-reports-chart = Net revenue per day in { $currency }
console-reports-nothing = Nothing in this range.
console-reports-by-day = By day
console-reports-by-tour = By tour
console-reports-by-channel = By channel
console-reports-channel = Channel
console-reports-direct = Direct (your pages and API)
console-reports-gross = Sales
console-reports-commission = Commission
console-reports-owed = Owed to you
console-reports-date = Date
console-reports-departures = Departures
console-reports-load = Load factor
console-reports-load-value = { $percent } % ({ $sold } of { $capacity } seats sold)
console-reports-csv-days = Download the days as CSV
console-reports-csv-tours = Download the tours as CSV

# Team and API tokens
console-team-role-of = Role of { $email }
console-team-change-role = Change
console-team-reset-two-factor = Turn off two-factor sign-in
console-team-deactivate = Deactivate
console-team-add = Add a user
console-team-first-password = First password
console-team-first-password-hint = At least 12 characters. Hand it over in person; they can change it under Account.
console-team-add-submit = Add the user
console-team-require-two-factor = Everyone must sign in with a second factor
console-team-save = Save
console-team-notice-added = The user is added.
console-team-notice-role = The role is changed.
console-team-notice-deactivated = The user is deactivated and signed out everywhere.
console-team-notice-two-factor-reset = Two-factor sign-in is off for that user; they were signed out.
console-team-notice-required = Everyone must now sign in with a second factor.
console-team-notice-not-required = A second factor is no longer required.
console-team-notice-revoked = The token is revoked.
console-tokens = API tokens
console-tokens-label = Label
console-tokens-created = Created
console-tokens-revoke = Revoke
console-tokens-revoked = revoked { $at }
console-tokens-create = Create a token
console-tokens-shown-once = The new token, shown this once: copy it now.
console-enrol-first = Your operator requires two-factor sign-in. Turn it on below to use the console.

# Settings and audit log
console-settings = Settings
console-settings-operator = Operator
console-settings-sender = Emails to travelers
console-settings-domains = Domains approved for your sender address: { $domains }.
console-settings-no-domains = No domain is approved for your own sender address yet: emails come from the server's address with your name. Ask the instance owner to approve yours.
console-settings-mail-from = Sender address
console-settings-mail-from-hint = An address in an approved domain; empty: the server's address.
console-settings-reply-to = Reply-to address
console-settings-reply-to-hint = Where travelers' replies go; empty: the sender.
console-settings-origins = Sites that may show your booking pages
console-settings-origins-label = Allowed sites, one per line
console-settings-origins-hint = Like https://harbour-tours.example (up to 20). Empty: no site may frame them.
console-settings-reseller-messages = Messages to resellers' travelers
console-settings-reseller-messages-label = berth writes to a reseller's travelers
console-settings-reseller-messages-on-request = When the reseller asks for an email receipt
console-settings-reseller-messages-always = Always, by email and SMS when the reseller passes them on
console-settings-reseller-messages-never = Never: the reseller tells them itself
console-settings-reseller-messages-hint = The confirmation says who sold the booking. Applies to bookings confirmed or changed from now on.
console-settings-notice-reseller-messages = The setting for resellers' travelers is saved.
console-settings-notice-sender = The sender is saved.
console-settings-notice-origins = The allowed sites are saved.
console-audit = Audit log
console-audit-action = Action
console-audit-target = On
console-audit-actor = By
console-audit-older = Older entries
console-audit-none = Nothing recorded yet.

# Archiving a tour
console-tour-archive = Archive the tour
console-tour-restore = Put the tour back on sale
console-tour-archive-hint = Archived, it is no longer sold and leaves your public pages; its bookings stay.
console-tour-archived = archived
console-tour-archived-on = Archived on { $date }: not sold, not in the public catalogue.
console-tour-archived-notice = The tour is archived.
console-tour-restored-notice = The tour is on sale again.

# Password reset
console-reset = Reset your password
console-reset-link = Forgot your password?
console-reset-help = Enter the email you sign in with. If it belongs to a user, a code valid for 15 minutes is sent to it.
console-reset-send = Send the code
console-reset-sent = If { $email } belongs to a user, a code is on its way. Enter it with a new password.
console-reset-code = Code from the email
console-reset-new-password = New password
console-reset-confirm = Set the new password
console-reset-done = Your password is changed and every session ended. Sign in with the new one.
console-reset-back = Back to sign-in
console-booking-move-to = Move to another departure
console-booking-move = Move the booking
console-booking-seats-left = { $count ->
    [one] { $count } seat left
   *[other] { $count } seats left
}
console-booking-no-targets = No other departure of this tour has room for this booking in the next three months.
console-booking-notice-moved = The booking is moved; the traveler is told by email.

console-payments = Payments
console-payments-in-force-operator = Your travelers pay into your own Stripe account.
console-payments-in-force-environment = Your travelers pay into this instance's Stripe account (its key is set in the server's environment). Set keys of your own below to be paid into your account.
console-payments-in-force-none = Your travelers pay on arrival. Set your Stripe keys below to take card payments online.
console-payments-mode-test = Test mode
console-payments-mode-live = Live mode
console-payments-secret-key = Secret key
console-payments-secret-key-hint = sk_test_…, sk_live_… or a restricted key rk_…; stored encrypted and shown masked after saving.
console-payments-publishable-key = Publishable key
console-payments-publishable-key-hint = pk_test_… or pk_live_…, of the same mode as the secret key.
console-payments-webhook-secret = Webhook signing secret
console-payments-webhook-secret-hint = whsec_…, from the Stripe webhook endpoint that calls the address above.
console-payments-set-at = Set
console-payments-webhook = Point a Stripe webhook endpoint (events payment_intent.succeeded, payment_intent.payment_failed, payment_intent.canceled, charge.refunded) at:
console-payments-save = Save the keys
console-payments-check = Check the keys with Stripe
console-payments-remove = Stop using my keys
console-payments-check-ok = Stripe accepted the keys: account { $account }.
console-payments-check-failed = The check failed: { $problem }
console-settings-notice-payments = Your Stripe keys are saved; new payments go to your account. Payments taken before are still refunded with the keys they were made with.
console-settings-notice-payments-removed = Your own Stripe keys are no longer used for new payments.
console-payments-check-ok-instance = Stripe accepted the instance's keys.
console-resellers = Resellers
console-resellers-intro = Channels that sell your seats through the OCTO API with a key of their own. They see only the tours you let them sell.
console-resellers-name = Name
console-resellers-commission = Commission (%)
console-resellers-commission-hint = The share of the price the reseller keeps, 0 to 100.
console-resellers-tours = Tours
console-resellers-tours-legend = Tours it may sell (none ticked: all of them)
console-resellers-all-tours = All tours
console-resellers-some-tours = { $count ->
    [one] 1 tour
   *[other] { $count } tours
}
console-resellers-create = Add a reseller
console-resellers-shown-once = The reseller's OCTO API key, shown this once: copy it now and hand it over safely.
console-team-notice-reseller-revoked = The reseller's key no longer works.

# Webhooks
console-webhooks = Webhooks
console-webhooks-intro = Your systems hear about every booking and departure change: berth posts each event, signed, to the URLs you register here.
console-webhooks-none = No webhook endpoints yet.
console-webhooks-register = Register an endpoint
console-webhooks-url = URL
console-webhooks-description = Description
console-webhooks-events = Events
console-webhooks-create = Register
console-webhooks-secret-once = The endpoint's signing secret, shown only this once: copy it now.
console-webhooks-secret = Signing secret
console-webhooks-state = State
console-webhooks-enabled = Enabled
console-webhooks-disabled = Disabled
console-webhooks-disabled-failing = Disabled: every delivery failed for three days
console-webhooks-failing-since = failing since { $at }
console-webhooks-attempts = Latest attempts
console-webhooks-no-attempts = Nothing sent yet.
console-webhooks-event = Event
console-webhooks-result = Result
console-webhooks-test = Send a test event
console-webhooks-enable = Enable
console-webhooks-disable = Disable
console-webhooks-rotate = New secret
console-webhooks-delete = Delete
console-webhooks-notice-enabled = The endpoint is enabled; waiting events are on their way.
console-webhooks-notice-disabled = The endpoint is disabled; its events wait until it is enabled.
console-webhooks-notice-test = A test event is on its way.
console-webhooks-notice-deleted = The endpoint is deleted.

## Guides and their calendar
console-load = { $taken } of { $capacity } seats taken
console-guides = Guides
console-guides-none = No guide is assigned yet.
console-guides-choose = Who leads this departure
console-guides-save = Save guides
console-guides-saved = Guides saved.
console-my-departures = My departures
console-my-departures-none = You lead no upcoming departures yet.
console-my-calendar = My calendar
console-my-calendar-intro = Subscribe to the departures you lead from your phone's calendar or Google Calendar. Anyone holding the address can read it: make one per device, and revoke one you lose.
console-my-calendar-once = Your calendar address. It is shown only now: copy it into your calendar app.
console-my-calendar-open = Open in my calendar app
console-feed-label = Name this calendar
console-feed-label-hint = For example "My phone" (up to 100 characters).
console-feed-create = Make a calendar address
console-feed-revoke = Revoke
console-feed-revoke-named = Revoke { $label }
console-feed-revoked = The calendar address is revoked; it no longer opens.
console-tour-min-participants = Minimum participants
console-tour-min-participants-hint = A departure with fewer booked is cancelled and refunded in full; 0 for no minimum.
console-tour-decision-hours = Decide this many hours before
console-tour-decision-hours-hint = When berth decides whether each departure runs (1 to 720).
console-needs = { $count ->
    [one] Needs 1 more traveler to run: decided { $at }.
   *[other] Needs { $count } more travelers to run: decided { $at }.
}
console-guaranteed = Guaranteed to run.
console-guarantee = Run it anyway (tell its travelers)
console-guaranteed-notice = The departure is guaranteed; its travelers are told it runs.
console-minimum-reached = Minimum reached with the seats held or booked now: decided { $at } on confirmed seats.
console-departure-minimum = Minimum of participants
console-departure-minimum-tours = the tour's
console-departure-min-participants-hint = Empty for the tour's ({ $value }); 0 for no minimum.
console-departure-decision-hours-hint = Empty for the tour's ({ $value }); 1 to 720.
console-departure-minimum-save = Save this departure's minimum
console-departure-minimum-clear = Use the tour's minimum
console-departure-minimum-saved = This departure's minimum is saved.
console-departure-minimum-cleared = This departure follows its tour's minimum again.

# Promo codes
console-promo-codes = Promo codes
console-promo-intro = Codes travelers type on the booking form for a discount. A switched-off code is refused as unknown; bookings already made keep their discount.
console-promo-none = No promo codes yet.
console-promo-code = Code
console-promo-code-hint = 1 to 32 letters, digits, - or _; travelers may type it in any case.
console-promo-discount = Discount
console-promo-discount-hint = Give a percent or an amount, not both.
console-promo-percent-off = Percent off
console-promo-percent-value = { $percent } % off
console-promo-amount-off = Amount off
console-promo-currency = Currency of the amounts
console-promo-currency-hint = The amount off and the minimum spend are in this currency; an amount off applies only to tours sold in it.
console-promo-tour = Tour
console-promo-all-tours = All tours
console-promo-window = Valid
console-promo-zone = Time zone of the dates
console-promo-valid-from = Valid from
console-promo-valid-from-hint = Empty: from now on.
console-promo-valid-until = Valid until
console-promo-valid-until-hint = Holds made before this time may use it. Empty: no end.
console-promo-from = from
console-promo-until = until
console-promo-always = Always
console-promo-min-spend = Minimum spend
console-promo-min-spend-hint = The booking's total before the discount. Empty: none.
console-promo-no-minimum = no minimum spend
console-promo-min-spend-value = minimum spend { $amount }
console-promo-in-use-count = { $count } in use
console-promo-on = active
console-promo-off = switched off
console-promo-max-redemptions = Most uses
console-promo-max-redemptions-hint = Bookings holding seats with it at once; a lapsed or cancelled one gives its use back. Empty: no limit.
console-promo-max-per-customer = Most uses per traveler
console-promo-max-per-customer-hint = The same, per traveler email. Empty: no limit.
console-promo-limits = Limits
console-promo-max-uses = { $count ->
    [one] at most 1 use
   *[other] at most { $count } uses
}
console-promo-unlimited = no limit on uses
console-promo-per-customer = { $count ->
    [one] 1 per traveler
   *[other] { $count } per traveler
}
console-promo-per-customer-unlimited = no limit per traveler
console-promo-max-of = Most uses of { $code } (empty: no limit)
console-promo-change-max = Change
console-promo-redemptions = In use now
console-promo-active = Active
console-promo-switch-off = Switch { $code } off
console-promo-switch-on = Switch { $code } on
console-promo-create = New promo code
console-promo-create-submit = Create the code
console-promo-notice-created = The promo code is created; travelers can use it now.
console-promo-notice-off = The promo code is switched off: travelers' new bookings cannot use it.
console-promo-notice-on = The promo code is switched on again.
console-promo-notice-limit = The code's most uses are changed.
console-promo-in-currency = in { $currency } only
console-promo-any-currency = any currency
console-promo-min-spend-of = Minimum spend of { $code } (empty: none)
console-promo-currency-of = Currency of { $code } (empty: any, without a minimum spend)
console-promo-change-spend = Change
console-promo-notice-spend = The code's minimum spend and currency are changed.

## Shared resources: boats, buses and guides that departures of several tours draw on
console-resources = Resources
console-resources-intro = Boats, buses and guides that departures of several tours share. A departure draws on a resource from its start for its tour's duration, and never beyond its capacity: a hold that would pass it is refused, and so is an assignment or a smaller capacity.
console-resources-none = No resources yet.
console-resources-capacity = Capacity
console-resources-capacity-seats = { $count ->
    [one] 1 seat
   *[other] { $count } seats
}
console-resources-capacity-departures = { $count ->
    [one] 1 departure at a time
   *[other] { $count } departures at a time
}
console-resources-draw = Departures draw on it by
console-resources-draw-seats = Seats: each departure running takes the seats held or booked on it (a boat, a bus)
console-resources-draw-departure = Departure: each takes one while it runs, booked or not (a guide, a driver)
console-resources-assigned = Assigned to
console-resources-assigned-none = No tour draws on it yet.
console-resources-every-departure = every departure of the tour
console-resources-schedule = the schedule at { $times } from { $start }
console-resources-schedule-until = the schedule at { $times } from { $start } to { $until }
console-resources-schedule-unknown = the schedule { $id }
console-resources-end = End the assignment to { $tour }
console-resources-load = The next 7 days
console-resources-load-of = Departures drawing on { $name } in the next 7 days
console-resources-peak-seats = Busiest moment: { $peak } of { $capacity } seats drawn ({ $free } free).
console-resources-peak-departures = Busiest moment: { $peak } of { $capacity } at once ({ $free } free).
console-resources-load-none = No departure draws on it in the next 7 days.
console-resources-starts = Runs (tour's local time)
console-resources-tour = Tour
console-resources-draws = Draws on it
console-resources-draws-seats = { $count ->
    [one] 1 seat
   *[other] { $count } seats
}
console-resources-draws-departure = { $seats ->
    [one] 1 departure (1 seat taken)
   *[other] 1 departure ({ $seats } seats taken)
}
console-resources-change = Name and capacity
console-resources-name = Name
console-resources-name-hint = 1 to 100 characters, such as Boat Marlin or Guide Ana.
console-resources-capacity-hint = Seats of a boat or bus; departures at a time for a guide (usually 1).
console-resources-change-submit = Save
console-resources-assign = Assign to a tour
console-resources-schedule-choice = Schedule (optional)
console-resources-schedule-hint = One of the chosen tour's schedules: only its departures draw on the resource.
console-resources-assign-submit = Assign
console-resources-no-tours = No tour on sale to assign it to.
console-resources-create = New resource
console-resources-create-submit = Create the resource
console-resources-notice-created = The resource is created; assign it to the tours whose departures draw on it.
console-resources-notice-changed = The resource is changed.
console-resources-notice-assigned = The resource is assigned: the tour's departures draw on it now.
console-resources-notice-unassigned = The assignment is ended: those departures no longer draw on the resource.

## Prices by date: a tour's seasonal prices, a departure's own prices

console-seasonal-prices = Seasonal prices
console-seasonal-intro = Rules that change what a ticket type sells at on some departures: by dates, days of the week and start times ({ $timezone }). A departure's own price comes first, then the matching rule of the highest priority (of equals, the one added last), then the price above. Bookings already made keep their price.
console-rules-none = No seasonal prices yet: every departure sells at the prices above.
console-rule-added = Seasonal prices added; departures they match sell at them now.
console-rule-removed = Seasonal prices removed.
console-rule-name = Name
console-rule-name-hint = Up to 100 characters, like Summer weekends.
console-rule-dates = Dates
console-rule-days = Days
console-rule-times = Start times
console-rule-priority = Priority
console-rule-prices = Prices
console-rule-from-date = from { $date }
console-rule-until-date = until { $date }
console-rule-any-date = any date
console-rule-every-day = every day
console-rule-from-time = starting at { $time } or later
console-rule-before-time = starting before { $time }
console-rule-any-time = any start time
console-rule-priority-value = priority { $priority }
console-rule-remove = Remove { $name }
console-rule-add = Add seasonal prices
console-rule-dates-hint = Both included; leave one empty for no start or no end.
console-rule-from-date-label = First date
console-rule-to-date-label = Last date
console-rule-days-hint = None ticked: every day.
console-rule-times-hint = Departures starting at or after the first time and before the second; leave empty for any.
console-rule-from-time-label = From
console-rule-to-time-label = Before
console-rule-prices-legend = Prices ({ $currency })
console-rule-prices-hint = Leave a price empty to keep that ticket type's price.
console-rule-unit-price = { $label } ({ $currency })
console-rule-unit-price-hint = Now { $price }.
console-rule-priority-hint = Where rules overlap, the higher wins; from -1000 to 1000, 0 if empty.
console-rule-add-submit = Add the rule
console-departure-prices = Prices
console-departure-price = Sells at
console-own-price-tag = this departure's own
console-own-prices = This departure's own prices ({ $currency })
console-own-prices-hint = Leave a price empty to sell that ticket type at the tour's price for this date.
console-own-price-hint = Without its own: { $price }.
console-own-prices-save = Save own prices
console-own-prices-clear = Clear own prices
console-own-prices-saved = This departure's own prices are saved; new bookings pay them.
console-own-prices-cleared = This departure sells at the tour's prices for its date again.

## Waiting list (departure page)

console-waitlist = Waiting list
console-waitlist-empty = Nobody is waiting for this departure.
console-waitlist-seats = { $seats ->
    [one] 1 seat
   *[other] { $seats } seats
}
console-waitlist-joined = joined { $at }
console-waitlist-until = held until { $at }
console-waitlist-remove = Remove { $name } from the list
console-waitlist-removed = Removed from the waiting list.
console-waitlist-not-waiting = Only a traveler still waiting can be removed. Once offered, the hold is a booking: cancel it from its page.
console-waitlist-state-waiting = Waiting
console-waitlist-state-offered = Offered
console-waitlist-state-booked = Booked
console-waitlist-state-lapsed = Offer lapsed
console-waitlist-state-removed = Removed
console-waitlist-state-closed = Closed: sales ended
