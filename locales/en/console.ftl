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
