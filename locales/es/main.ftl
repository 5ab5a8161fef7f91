# Textos de las páginas de berth, en español. Las claves son las mismas en todos los idiomas.

site-name = berth
skip-to-content = Ir al contenido
language-switch = Idioma
language-switch-submit = Cambiar idioma

## Fechas y horas

month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre
weekday-1 = lunes
weekday-2 = martes
weekday-3 = miércoles
weekday-4 = jueves
weekday-5 = viernes
weekday-6 = sábado
weekday-7 = domingo
weekday-short-1 = lu
weekday-short-2 = ma
weekday-short-3 = mi
weekday-short-4 = ju
weekday-short-5 = vi
weekday-short-6 = sá
weekday-short-7 = do
date-long = { $weekday }, { $day } de { $month } de { $year }
month-title = { $month } de { $year }
duration = { $hours ->
    [0] { $minutes } min
   *[other] { $minutes ->
        [0] { $hours } h
       *[other] { $hours } h { $minutes } min
    }
}

## Página del tour

tour-meeting-point = Punto de encuentro
tour-duration = Duración
tour-prices = Precios
tour-prices-vary = Los precios varían según la fecha: la página de reserva de cada salida muestra los suyos.
catalogue-from = desde { $price }
tour-price-per-person = por persona
tour-group-size = { $min ->
    [1] Hasta { $max } personas por reserva
   *[other] De { $min } a { $max } personas por reserva
}
policy-heading = Política de cancelación
policy-full-refund = Cancela en cualquier momento antes de la salida y te devolvemos el importe completo.
policy-from = Si cancelas con { $hours } o más de antelación: { $percent ->
    [0] sin reembolso.
    [100] reembolso completo.
   *[other] reembolso del { $percent } %.
}
policy-between = Si cancelas entre { $hours } y { $upto } antes: { $percent ->
    [0] sin reembolso.
    [100] reembolso completo.
   *[other] reembolso del { $percent } %.
}
policy-late = Si cancelas con menos de { $hours } de antelación: sin reembolso.
policy-started = Una vez empezada la salida, la reserva no se puede cancelar.
hours = { $count ->
    [one] { $count } hora
   *[other] { $count } horas
}

## Calendario

calendar-heading = Salidas
calendar-previous = Mes anterior
calendar-next = Mes siguiente
calendar-legend-available = Plazas disponibles
calendar-legend-few = Quedan pocas plazas
calendar-legend-sold-out = Agotado
calendar-legend-closed = Cerrado
day-available = Plazas disponibles
day-sold-out = Agotado
day-closed = Cerrado
day-none = Sin salidas
seats-left = { $count ->
    [one] Queda { $count } plaza
   *[other] Quedan { $count } plazas
}
seats-left-short = quedan { $count }
seats-available = { $count ->
    [one] { $count } plaza disponible
   *[other] { $count } plazas disponibles
}
day-heading = Salidas del { $date }
day-timezone = Horas locales del tour: { $zone }.
day-pick = Elige un día en el calendario para ver sus salidas.
day-empty = No hay salidas este día.
departure-sold-out = Agotado
departure-closed = Venta cerrada
departure-cancelled = Cancelada
departure-guaranteed = Salida garantizada
departure-minimum-reached = Mínimo alcanzado: se realiza cuando se confirmen reservas suficientes
departure-needs = { $count ->
    [one] Falta 1 viajero para que se realice
   *[other] Faltan { $count } viajeros para que se realice
}

## Errores

error-title = Algo ha fallado
error-back = Vuelve atrás e inténtalo de nuevo.
error-request-id = Referencia para soporte: { $id }
error-400 = No se ha podido entender esta petición.
error-403 = No puedes abrir esta página.
error-csrf = No se ha podido aceptar este formulario: ha caducado o se envió desde otro sitio. Vuelve atrás, recarga la página y envíalo de nuevo.
error-404 = Esta página no existe. Revisa la dirección o vuelve atrás.
error-413 = Lo que has enviado es demasiado grande.
error-415 = Este formulario se envió en un formato que berth no acepta.
error-422 = Parte de lo enviado no es válido.
error-429 = Demasiadas peticiones tuyas en poco tiempo. Espera { $seconds } segundos e inténtalo de nuevo.
error-500 = Un error nuestro ha impedido mostrar esta página. Ha quedado registrado; inténtalo más tarde.
error-503 = berth está ocupado en este momento. Espera { $seconds } segundos e inténtalo de nuevo.

## Booking

book-this = Reservar { $time }
book-title = Reserva tus plazas
time-zone-named = horas de { $zone }
book-quantities = ¿Cuántas? (de { $min } a { $max } plazas por reserva)
book-traveler = Tus datos
label-name = Nombre completo
label-email = Correo electrónico
label-phone = Teléfono (opcional)
hint-phone = Formato internacional, p. ej. +34612345678. Solo para mensajes sobre esta reserva.
label-promo-code = Código promocional (opcional)
hint-promo-code = ¿Tienes un código? Se comprueba al ver el total.
book-see-total = Ver el total
book-update-total = Actualizar el total
book-hold = Reservar mis plazas ({ $total })
quote-heading = Tu total
quote-total = Total
quote-subtotal = Subtotal
quote-discount = Código promocional { $code }
quote-note = Calculado ahora con los precios del tour. No se reserva nada hasta que decidas reservar tus plazas.
field-name = Escribe tu nombre (de 1 a 200 caracteres).
field-email = Escribe un correo electrónico como ada@example.com.
field-phone = Escribe un número internacional como +34612345678, o déjalo vacío.
field-quantities = Elige números enteros de plazas, de { $min } a { $max } en total.
field-promo-unknown = No conocemos este código promocional. Comprueba cómo se escribe, o deja el campo vacío.
field-promo-not-valid-now = Este código promocional no es válido en este momento.
field-promo-not-applicable = Este código promocional no se aplica a este tour.
field-promo-minimum-spend = Este código promocional necesita una reserva de al menos { $amount } antes del descuento.
field-promo-exhausted = Este código promocional ya se ha agotado.
field-promo-customer-limit = Este código promocional ya se ha usado con este correo tantas veces como se permite.
notice-sold-out = { $count ->
    [0] Lo sentimos: esta salida se agotó mientras elegías. Tus datos se conservan abajo: elige otra salida en la página del tour.
    [one] Lo sentimos: ahora solo queda 1 plaza. Tus datos se conservan abajo: cambia las cantidades o elige otra salida.
   *[other] Lo sentimos: ahora solo quedan { $count } plazas. Tus datos se conservan abajo: cambia las cantidades o elige otra salida.
}
notice-sales-closed = La venta de esta salida ha cerrado. Tus datos se conservan abajo: elige otra salida en la página del tour.
notice-hold-limit = Ya tienes reservadas tantas plazas como permite una persona a la vez. Paga o libera una reserva, o inténtalo en { $seconds } segundos.
notice-payment-unavailable = No se pudo contactar con el servicio de pago, así que no se reservó ninguna plaza. Tus datos se conservan: inténtalo en un momento.
notice-hold-expired = Tu reserva caducó antes de confirmarse y sus plazas volvieron a la venta. Tus elecciones se conservan abajo: puedes reservar de nuevo.
notice-payment-failed = El pago no se completó, así que las plazas se liberaron. Tus elecciones se conservan abajo: puedes reservar de nuevo.
notice-rate-limited = Demasiadas solicitudes tuyas en poco tiempo. Tus datos se conservan: espera { $wait } segundos y envía el formulario de nuevo.
notice-total-changed = Las cantidades cambiaron; este es el nuevo total. Revísalo y reserva tus plazas.
notice-busy = berth está ocupado ahora mismo. Tus datos se conservan: espera { $seconds } segundos y envía el formulario de nuevo.
notice-failed = No se pudo hacer esta reserva. Revisa tus datos e inténtalo de nuevo.
notice-seats-available = Hay plazas a la venta ahora, así que no hace falta esperar: tus datos se conservan abajo. Mira el total y reserva tus plazas.
notice-already-waiting = Este correo o teléfono ya está en la lista de espera de esta salida, así que conservas tu lugar: te escribiremos cuando se liberen plazas.
notice-waitlist-full = La lista de espera de esta salida está llena. Tus datos se conservan: elige otra salida en la página del tour.
pay-title = Tus plazas están reservadas
pay-held-until = Guardamos tus plazas hasta las { $time } ({ $zone }).
pay-time-left = Tiempo restante:
pay-card-heading = Pagar con tarjeta
pay-card-submit = Pagar { $total }
pay-needs-script = Pagar con tarjeta necesita JavaScript, que está desactivado en este navegador.
pay-unavailable = No se pudo cargar el formulario de pago. Recarga la página para intentarlo de nuevo.
pay-processing = Tu pago se está procesando; la confirmación aparecerá en esta página.
pay-check-again = Comprobar de nuevo
pay-on-arrival = Pagas { $total } al llegar, en el punto de encuentro.
pay-reserve = Reservar, pagar al llegar
pay-nothing-to-pay = No hay nada que pagar por esta reserva. Confírmala para conservar tus plazas.
pay-confirm-free = Confirmar la reserva
summary-heading = Tu reserva
summary-reference = Referencia
confirmed-title = Reserva confirmada
confirmed-lead = Tu reserva { $reference } está confirmada.
confirmed-pay-on-arrival = Pagas { $total } al llegar.
confirmed-nothing-to-pay = No hay nada que pagar.
confirmed-add-to-calendar = Añadir al calendario (.ics)
confirmed-manage = Te enviamos a { $email } una confirmación con un enlace para gestionar tu reserva.
ended-title = Esta reserva está cerrada
ended-status = La reserva { $reference } ya no está activa.
ended-back = Volver al tour
## Gestionar la reserva

manage-title = Reserva { $reference }
manage-status = Estado
manage-complete = Completa tu reserva
manage-complete-until = Te guardamos estas plazas hasta el
manage-complete-submit = Completar mi reserva
manage-tour = Excursión
manage-when = Cuándo
manage-items = Entradas
manage-total = Total
manage-payment = Pago
manage-paid = Pagado
manage-pay-on-arrival = pago a la llegada
manage-nothing-to-pay = nada que pagar
manage-refunded = Reembolsado
manage-refund-pending = Reembolso en camino
manage-calendar = Añadir al calendario (.ics)
manage-reschedule = Cambiar la fecha
manage-reschedule-rule = Puedes trasladar esta reserva a otra salida de la misma excursión al mismo precio.
manage-reschedule-pick = Salidas con sitio para tu reserva (horas en { $zone })
manage-reschedule-submit = Trasladar mi reserva
manage-reschedule-none = Ahora mismo ninguna otra salida tiene sitio para tu reserva.
manage-cancel = Cancelar la reserva
manage-cancel-quote = Si cancelas ahora, recuperas { $refund } ({ $percent } % de lo pagado, según la política de cancelación).
manage-cancel-submit = Cancelar mi reserva
manage-done-cancelled = Tu reserva está cancelada. El reembolso, si lo hay, va en camino a tu medio de pago.
manage-done-rescheduled = Tu reserva se ha trasladado. Te hemos enviado un correo con los nuevos datos y un nuevo enlace a esta página.
manage-problem-sold_out = Esa salida ya no tiene plazas suficientes. Elige otra.
manage-problem-sales_closed = La venta de esa salida está cerrada. Elige otra.
manage-problem-reschedule_not_allowed = Esta reserva ya no se puede trasladar. Contacta con el operador.
manage-problem-reschedule_price_differs = Los precios de la excursión han cambiado desde tu reserva, así que no se puede trasladar aquí. Contacta con el operador.
manage-problem-invalid_transition = Esta reserva no se puede cambiar en su estado actual.
manage-problem-cancellation_closed = La salida ha comenzado; la reserva ya no se puede cancelar.
manage-problem-validation_failed = Elige una de las salidas de la lista.
manage-problem-other = No se pudo hacer. Recarga la página e inténtalo de nuevo.
manage-link-title = Gestionar tu reserva
manage-link-invalid = Este enlace no abre ninguna reserva. Usa el enlace de tu último correo tal como se envió.
manage-link-expired = Este enlace ha caducado: los enlaces dejan de funcionar 30 días después de la salida. Contacta con el operador si necesitas algo sobre esta reserva.
booking-status-held = Retenida, pendiente de pago
booking-status-confirmed = Confirmada
booking-status-checked_in = Presentada
booking-status-expired = Caducada
booking-status-cancelled = Cancelada

## Lista de espera

waitlist-heading = Apúntate a la lista de espera
waitlist-lead = Esta salida está agotada. Dinos cuántas plazas quieres: cuando se liberen plazas, te las retenemos en el orden en que se apuntaron los viajeros y te escribimos.
hint-waitlist-contact = Indica un correo, un teléfono o ambos: te escribimos ahí cuando se liberen plazas.
label-waitlist-email = Correo electrónico
label-waitlist-phone = Teléfono
field-waitlist-email = Escribe un correo como ada@example.com, o un teléfono: necesitamos uno para avisarte cuando se liberen plazas.
waitlist-join = Apuntarme a la lista de espera
waitlist-joined-title = Estás en la lista de espera
waitlist-joined-position = Eres el número { $position } de la lista.
waitlist-hold-minutes = { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
}
waitlist-hold-hours = { $count ->
    [one] 1 hora
   *[other] { $count } horas
}
waitlist-joined-email = Cuando se liberen plazas para ti, te las retenemos durante { $held } y te enviamos por correo un enlace para completar tu reserva.
waitlist-joined-sms = Cuando se liberen plazas para ti, te las retenemos durante { $held } y te enviamos un SMS con un enlace para completar tu reserva.
waitlist-joined-both = Cuando se liberen plazas para ti, te las retenemos durante { $held } y te enviamos un correo y un SMS con un enlace para completar tu reserva.
waitlist-joined-order = Las plazas van a los viajeros en el orden en que se apuntaron, cada una al primero cuyo grupo quepa. Si la retención caduca, pasan al siguiente de la lista.
