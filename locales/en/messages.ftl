# What a traveler receives: email subjects and text, and SMS. Variables are filled in by
# `service::notifications::templates`; names, tour text and amounts arrive already formatted.

mail-when = { $date }, { $time } ({ $zone })
sms-when = { $day } { $month } { $time }

subject-booking-confirmed = Booking { $reference } confirmed: { $tour }
subject-booking-cancelled = Booking { $reference } cancelled: { $tour }
subject-departure-cancelled = Departure cancelled: { $tour } (booking { $reference })
subject-departure-guaranteed = It will run: { $tour } (booking { $reference })
subject-departure-not-running = Not running: { $tour } (booking { $reference })
subject-hold-expired = Your hold { $reference } on { $tour } expired
subject-booking-rescheduled = Booking { $reference } moved: { $tour }
subject-reminder = Reminder: { $tour } (booking { $reference })
subject-waitlist-offer = Seats for you: { $tour } (hold { $reference })
subject-waitlist-closed = Waiting list closed: { $tour }

mail-hello = Hello { $name },
mail-confirmed = your booking { $reference } is confirmed.
mail-sold-by = You booked it through { $seller }: for any change, please contact them.
mail-rescheduled = your booking { $reference } has moved to a new departure.
mail-reminder = a reminder of your booking { $reference }:
mail-cancelled = your booking { $reference } for { $tour } on { $when } is cancelled.
mail-departure-cancelled = we are sorry: the departure of { $tour } on { $when } is cancelled, and with it your booking { $reference }.
mail-departure-guaranteed = good news: enough travelers have booked, so { $tour } on { $when } will run. Your booking { $reference } stands.
mail-departure-not-running = we are sorry: { $tour } on { $when } needed at least { $needed } travelers to run and too few booked, so it is cancelled, and with it your booking { $reference }.
mail-hold-expired = your hold { $reference } on { $tour } ({ $when }) expired before it was confirmed, and its seats were released. If you still want to come, please book again.
mail-waitlist-offer = seats freed up on { $tour } ({ $when }), and you were next on the waiting list: we are holding them for you as booking { $reference } until { $until }.
mail-waitlist-complete = Complete your booking before then; after that the seats go to the next traveler waiting.
mail-waitlist-closed = sales for { $tour } ({ $when }) have closed, and no seats freed up for you in time: the waiting list has ended, and there will be no seats for you on this departure.
mail-waitlist-sorry = We are sorry. If another date suits you, you are welcome to book it.
mail-refund = A refund of { $amount } is on its way to your card; your bank may take a few days to show it.
mail-meeting-point = Meeting point: { $place }
mail-total = Total: { $total }
mail-total-unchanged = Total: { $total } (unchanged)
mail-manage = Manage your booking
mail-calendar-attached = The calendar entry is attached.
mail-calendar-updated = The updated calendar entry is attached; links from earlier emails keep working until they expire.

sms-booking-confirmed = Confirmed: { $tour }, { $when }. Ref { $reference }
sms-booking-cancelled = Cancelled: { $tour }, { $when }. Ref { $reference }
sms-departure-cancelled = Departure cancelled: { $tour }, { $when }. Ref { $reference }
sms-departure-guaranteed = It will run: { $tour }, { $when }. Ref { $reference }
sms-departure-not-running = Not running (too few booked): { $tour }, { $when }. Ref { $reference }
sms-booking-rescheduled = Moved: { $tour }, now { $when }. Ref { $reference }
sms-reminder = Reminder: { $tour }, { $when }. Ref { $reference }
sms-waitlist-offer = Seats held for you: { $tour }, { $when }, until { $until }. Complete: { $link }
sms-waitlist-closed = Waiting list closed: { $tour }, { $when }. No seats freed up for you; sorry.
sms-refund = Refund { $amount }
