# Lo que recibe un viajero: asuntos y textos de los correos, y SMS.

mail-when = { $date }, { $time } ({ $zone })
sms-when = { $day } de { $month }, { $time }

subject-booking-confirmed = Reserva { $reference } confirmada: { $tour }
subject-booking-cancelled = Reserva { $reference } cancelada: { $tour }
subject-departure-cancelled = Salida cancelada: { $tour } (reserva { $reference })
subject-departure-guaranteed = Se realiza: { $tour } (reserva { $reference })
subject-departure-not-running = No se realiza: { $tour } (reserva { $reference })
subject-hold-expired = Tu reserva { $reference } de { $tour } ha caducado
subject-booking-rescheduled = Reserva { $reference } cambiada: { $tour }
subject-reminder = Recordatorio: { $tour } (reserva { $reference })
subject-waitlist-offer = Plazas para ti: { $tour } (reserva { $reference })
subject-waitlist-closed = Lista de espera cerrada: { $tour }

mail-hello = Hola, { $name }:
mail-confirmed = tu reserva { $reference } está confirmada.
mail-sold-by = La reservaste a través de { $seller }: para cualquier cambio, contacta con ellos.
mail-rescheduled = tu reserva { $reference } ha pasado a otra salida.
mail-reminder = te recordamos tu reserva { $reference }:
mail-cancelled = tu reserva { $reference } de { $tour } el { $when } está cancelada.
mail-departure-cancelled = lo sentimos: la salida de { $tour } del { $when } se ha cancelado, y con ella tu reserva { $reference }.
mail-departure-guaranteed = buenas noticias: se han reservado plazas suficientes, así que { $tour } del { $when } se realiza. Tu reserva { $reference } sigue en pie.
mail-departure-not-running = lo sentimos: { $tour } del { $when } necesitaba al menos { $needed } viajeros para realizarse y se reservaron menos, así que se ha cancelado, y con ella tu reserva { $reference }.
mail-hold-expired = tu reserva { $reference } de { $tour } ({ $when }) caducó antes de confirmarse y sus plazas se liberaron. Si aún quieres venir, vuelve a reservar.
mail-waitlist-offer = se han liberado plazas en { $tour } ({ $when }) y eras el siguiente en la lista de espera: te las guardamos como reserva { $reference } hasta el { $until }.
mail-waitlist-complete = Completa tu reserva antes de esa hora; después, las plazas pasan al siguiente viajero en espera.
mail-waitlist-closed = la venta de { $tour } ({ $when }) ha terminado sin que se liberaran plazas para ti a tiempo: la lista de espera ha terminado y no habrá plazas para ti en esta salida.
mail-waitlist-sorry = Lo sentimos. Si te viene bien otra fecha, puedes reservarla.
mail-refund = Te estamos devolviendo { $amount } a tu tarjeta; tu banco puede tardar unos días en mostrarlo.
mail-meeting-point = Punto de encuentro: { $place }
mail-total = Total: { $total }
mail-total-unchanged = Total: { $total } (sin cambios)
mail-manage = Gestionar tu reserva
mail-calendar-attached = Adjuntamos la entrada para tu calendario.
mail-calendar-updated = Adjuntamos la entrada de calendario actualizada; los enlaces de correos anteriores siguen funcionando hasta que caducan.

sms-booking-confirmed = Confirmada: { $tour }, { $when }. Ref { $reference }
sms-booking-cancelled = Cancelada: { $tour }, { $when }. Ref { $reference }
sms-departure-cancelled = Salida cancelada: { $tour }, { $when }. Ref { $reference }
sms-departure-guaranteed = Se realiza: { $tour }, { $when }. Ref { $reference }
sms-departure-not-running = No se realiza (pocas reservas): { $tour }, { $when }. Ref { $reference }
sms-booking-rescheduled = Cambiada: { $tour }, ahora { $when }. Ref { $reference }
sms-reminder = Recordatorio: { $tour }, { $when }. Ref { $reference }
sms-waitlist-offer = Plazas guardadas para ti: { $tour }, { $when }, hasta { $until }. Completa: { $link }
sms-waitlist-closed = Lista de espera cerrada: { $tour }, { $when }. No se liberaron plazas para ti; lo sentimos.
sms-refund = Reembolso { $amount }
