# La consola del operador.

console-name = consola de berth
console-menu = Menú de la consola
console-today = Hoy
console-team = Equipo
console-sign-in = Iniciar sesión
console-sign-in-submit = Iniciar sesión
console-email = Correo electrónico
console-password = Contraseña
console-code = Código
console-code-help = Escribe el código de seis cifras de tu aplicación de autenticación o uno de tus códigos de recuperación.
console-code-submit = Verificar
console-sign-in-failed = Correo o contraseña no reconocidos. Tras varios intentos fallidos, la cuenta se bloquea un tiempo y se avisa a su usuario por correo.
console-sign-in-throttled = Demasiados intentos desde tu red. Vuelve a intentarlo en { $seconds } segundos.
console-code-failed = Ese código no se aceptó. Inicia sesión de nuevo con tu contraseña.
console-signed-in-as = { $email } ({ $role })
console-sign-out = Cerrar sesión
console-sign-out-everywhere = en todos los dispositivos
console-summary = Resumen
console-revenue-today = Ingresos de hoy (UTC)
console-revenue-none = Nada todavía
console-undelivered = Mensajes no entregados
console-day-today = Hoy
console-day-tomorrow = Mañana
console-time = Hora
console-tour = Excursión
console-seats = Plazas ocupadas
console-seats-of = { $taken } de { $capacity }
console-held = Plazas retenidas
console-checked-in = Registrados
console-cancelled = cancelada
console-no-departures = Sin salidas.
console-name-column = Nombre
console-role = Rol
console-two-factor = Verificación en dos pasos
console-active = Activo
role-owner = propietario
role-admin = administrador
role-staff = personal
role-guide = guía
yes = sí
no = no

## Salida: lista de pasajeros y registro

console-manifest-load = { $taken } de { $capacity } plazas ocupadas, { $checked } registradas
console-manifest-csv = Descargar la lista (CSV)
console-manifest-search = Buscar un viajero (nombre o referencia)
console-manifest-search-submit = Buscar
console-manifest-no-match = Ninguna reserva coincide con «{ $query }».
console-manifest-empty = Todavía no hay reservas.
console-manifest-next = Siguientes viajeros
console-check-in = Registrar a { $name } ({ $seats ->
    [one] 1 plaza
   *[other] { $seats } plazas
})
console-checked-in-notice = { $reference } está registrada.
console-status-held = retenida
console-status-confirmed = confirmada
console-status-checked_in = registrada
console-status-expired = caducada
console-status-cancelled = cancelada

## Salida: capacidad y cancelación (administradores)

console-capacity = Capacidad
console-capacity-submit = Cambiar la capacidad
console-capacity-changed = Capacidad cambiada.
console-capacity-below = Hay { $taken } plazas ocupadas: la capacidad no puede ser menor.
console-capacity-invalid = Escribe un número entero de 0 a 100.000.
console-cancel-departure = Cancelar esta salida
console-cancel-bookings = { $count ->
    [one] Se cancela 1 reserva
   *[other] Se cancelan { $count } reservas
}
console-cancel-travelers = { $count ->
    [one] Se avisa a 1 viajero
   *[other] Se avisa a { $count } viajeros
}
console-cancel-refund = Se devuelven { $amount } a los viajeros
console-cancel-no-refund = No se pagó nada en línea, así que no hay reembolso.
console-cancel-confirm = Cancelar la salida y sus reservas
console-departure-cancelled = La salida está cancelada; se avisa a sus viajeros y los reembolsos están en camino.
console-back-to-departure = Volver a la salida

## Excursiones, horarios y calendario

console-tours = Excursiones
console-calendar = Calendario
console-calendar-count = { $count ->
    [one] 1 salida
   *[other] { $count } salidas
}
console-calendar-open = Abrir el calendario
console-date = Fecha
console-save = Guardar
console-form-problems = Algunos campos necesitan un cambio: vea los mensajes junto a ellos.
console-tours-none = Aún no hay excursiones.
console-tour-new = Nueva excursión
console-tour-edit = Editar excursión
console-tour-created = Excursión creada.
console-tour-saved = Excursión guardada.
console-tour-name = Nombre
console-tour-description = Descripción
console-tour-meeting-point = Punto de encuentro
console-tour-timezone = Zona horaria
console-tour-timezone-hint = Una zona IANA, como Europe/Madrid. Las salidas se programan en ella.
console-tour-currency = Moneda
console-tour-currency-hint = Un código ISO 4217, como EUR.
console-tour-fixed = La zona horaria { $timezone } y la moneda { $currency } quedan como se creó la excursión.
console-tour-duration = Duración (minutos)
console-tour-cutoff = Cierre de ventas (minutos antes del inicio)
console-tour-min = Mínimo de plazas por reserva
console-tour-max = Máximo de plazas por reserva
console-tour-group = Plazas por reserva
console-tour-reschedule = Los viajeros pueden cambiar su reserva a otra salida
console-tour-units = Tipos de entrada
console-tour-prices = Tipos de entrada y precios
console-unit-code = Código
console-unit-label = Etiqueta
console-unit-price = Precio ({ $currency })
console-tour-policy = Política de cancelación
console-policy-hint = Cada regla: si se cancela al menos tantas horas antes del inicio, se devuelve este porcentaje del precio. Sin reglas: reembolso completo hasta el inicio.
console-policy-hours = Horas antes
console-policy-percent = Reembolso (%)
console-policy-rule = Al menos { $hours } horas antes: se devuelve el { $percent } %
console-policy-none = Reembolso completo hasta que empieza la salida.
console-schedules = Horarios
console-schedules-none = Aún no hay horarios.
console-schedule-new = Nuevo horario
console-schedule-created = Horario guardado; sus salidas están a la venta.
console-schedule-rule = Regla
console-schedule-from = Fechas
console-schedule-zone = Las fechas y horas están en { $timezone }.
console-schedule-repeat = Repetir
console-schedule-frequency = Cada
console-schedule-weekly = semana
console-schedule-daily = día
console-schedule-interval = Cada cuántas (1 = cada una)
console-schedule-days = Los días
console-schedule-start = Primera fecha
console-schedule-ends = Termina
console-schedule-ends-never = nunca
console-schedule-ends-until = en una fecha
console-schedule-until = Última fecha
console-schedule-ends-count = tras un número de fechas
console-schedule-count = Número de fechas
console-schedule-times = Horas de inicio
console-schedule-times-hint = HH:MM, separadas por comas, como 09:00, 14:30.
console-schedule-exceptions = Fechas sin salidas
console-schedule-exceptions-hint = AAAA-MM-DD, una por línea o separadas por comas.
console-schedule-preview = Vista previa
console-schedule-save = Guardar horario
console-schedule-preview-heading = Las próximas { $count } salidas
console-schedule-preview-none = Este horario no tiene salidas en los próximos dos años.
console-schedule-offset = Desfase UTC
console-schedule-dst = cambio de hora
console-schedule-shifted = movida por el cambio de hora
console-actions = Acciones
console-schedule-edit = Cambiar o terminar
console-schedule-edit-hint = Las salidas por venir siguen el nuevo horario donde no hay nadie reservado. Las salidas con viajeros se mantienen como están. Para terminar el horario, elija «en una fecha» y su última fecha.
console-schedule-changed = Horario cambiado. { $kept ->
    [0] Ninguna salida con viajeros tuvo que quedarse.
    [one] 1 salida con viajeros no coincide y se mantuvo: vea el calendario.
   *[other] { $kept } salidas con viajeros no coinciden y se mantuvieron: vea el calendario.
}

## La cuenta propia

console-account = Cuenta
console-password-change = Cambiar la contraseña
console-password-current = Contraseña actual
console-password-new = Contraseña nueva
console-password-hint = Al menos 12 caracteres; ni su correo ni una contraseña común. Sus otras sesiones terminan.
console-password-changed = Contraseña cambiada. Sus otras sesiones han terminado.
console-two-factor-enabled = El inicio de sesión en dos pasos está activado: tras la contraseña introduce un código de su aplicación.
console-two-factor-disabled = El inicio de sesión en dos pasos está desactivado.
console-two-factor-start = Configurar el inicio de sesión en dos pasos
console-two-factor-scan = Escanee este código con su aplicación de autenticación e introduzca el código de seis cifras que muestra.
console-two-factor-qr = Código QR para su aplicación de autenticación
console-two-factor-secret = O introduzca esta clave en la aplicación:
console-two-factor-confirm = Activar el inicio de sesión en dos pasos
console-two-factor-again = Vuelva a configurarlo para obtener un código nuevo.
console-two-factor-on = El inicio de sesión en dos pasos está activado.
console-recovery-codes-help = Guarde estos diez códigos de recuperación en un lugar seguro. Cada uno le permite entrar una vez si pierde el teléfono. Solo se muestran ahora.
console-week = Semana del { $monday }
console-week-previous = Semana anterior
console-week-next = Semana siguiente
console-week-view = Esta semana
console-month-view = Mes

# Reservas
console-bookings = Reservas
console-bookings-q = Referencia, nombre o correo
console-bookings-q-hint = Parte del nombre o del correo del viajero, o la referencia completa.
console-bookings-status = Estado
console-bookings-any = Cualquiera
console-bookings-from = Salidas desde
console-bookings-to = Salidas hasta
console-bookings-search = Buscar
console-bookings-reference = Referencia
console-bookings-traveler = Viajero
console-bookings-departure = Salida
console-bookings-seats = Plazas
console-bookings-total = Total
console-bookings-next = Reservas anteriores
console-bookings-none = Aún no hay reservas.
console-bookings-none-match = Ninguna reserva coincide con esta búsqueda.
console-booking-title = Reserva { $reference }
console-booking-made = Reservada
console-booking-language = Idioma de los mensajes
console-booking-items = Entradas
console-booking-payment = Pago
console-booking-provider = Pagada con
console-booking-paid = Pagado
console-booking-refunded = Reembolsado
console-booking-refund-pending = { $amount } en camino
console-booking-refunds = Reembolsos
console-booking-when = Cuándo
console-booking-amount = Importe
console-booking-reason = Motivo
console-booking-actions = Acciones
console-booking-resend = Enviar de nuevo la confirmación
console-booking-refund-amount = Importe a reembolsar ({ $currency })
console-booking-refund-hint = Como máximo { $amount }.
console-booking-refund = Reembolsar
console-booking-cancel-explained = Al cancelar se liberan las plazas y se reembolsa todo lo pagado.
console-booking-cancel = Cancelar la reserva
console-booking-messages = Mensajes
console-booking-message = Mensaje
console-booking-channel = Canal
console-booking-no-messages = Aún no hay mensajes.
console-booking-history = Historial
console-booking-no-history = El equipo aún no ha hecho nada.
console-booking-back = Todas las reservas
console-booking-notice-resent = La confirmación se ha enviado de nuevo.
console-booking-notice-cancelled = La reserva está cancelada.
console-booking-notice-refunded = El reembolso está en camino.

# Mensajes
console-messages = Mensajes
console-messages-show = Mostrar
console-messages-retry = Enviar de nuevo
console-messages-retried = El mensaje vuelve a estar en cola.
console-messages-attempts = { $count ->
    [one] { $count } intento
   *[other] { $count } intentos
}
console-messages-none-undelivered = Todos los mensajes se entregaron o están en camino.
console-messages-none = No hay mensajes.
console-messages-status-undelivered = No entregados (fallidos o abandonados)
console-messages-status-pending = Esperando envío
console-messages-status-sending = Enviándose
console-messages-status-sent = Enviado
console-messages-status-failed = Fallido
console-messages-status-dead = Abandonado tras varios intentos

# Informes
console-reports = Informes
console-reports-from = Desde
console-reports-to = Hasta
console-reports-show = Mostrar
console-reports-utc = Las fechas son días UTC, como en el libro contable. La ocupación cuenta las salidas que empiezan en esos días.
console-reports-totals = Totales
console-reports-currency = Moneda
console-reports-payments = Pagos
console-reports-refunds = Reembolsos
console-reports-net = Neto
console-reports-chart = Ingresos netos por día en { $currency }
console-reports-nothing = Nada en este periodo.
console-reports-by-day = Por día
console-reports-by-tour = Por tour
console-reports-by-channel = Por canal
console-reports-channel = Canal
console-reports-direct = Directo (tus páginas y API)
console-reports-gross = Ventas
console-reports-commission = Comisión
console-reports-owed = A tu favor
console-reports-date = Fecha
console-reports-departures = Salidas
console-reports-load = Ocupación
console-reports-load-value = { $percent } % ({ $sold } de { $capacity } plazas vendidas)
console-reports-csv-days = Descargar los días en CSV
console-reports-csv-tours = Descargar los tours en CSV

# Equipo y tokens de API
console-team-role-of = Rol de { $email }
console-team-change-role = Cambiar
console-team-reset-two-factor = Desactivar el segundo factor
console-team-deactivate = Desactivar
console-team-add = Añadir un usuario
console-team-first-password = Primera contraseña
console-team-first-password-hint = Al menos 12 caracteres. Entrégala en persona; podrá cambiarla en Cuenta.
console-team-add-submit = Añadir el usuario
console-team-require-two-factor = Todos deben iniciar sesión con un segundo factor
console-team-save = Guardar
console-team-notice-added = Usuario añadido.
console-team-notice-role = Rol cambiado.
console-team-notice-deactivated = Usuario desactivado; se cerraron todas sus sesiones.
console-team-notice-two-factor-reset = Segundo factor desactivado para ese usuario; se cerraron sus sesiones.
console-team-notice-required = Ahora todos deben iniciar sesión con un segundo factor.
console-team-notice-not-required = El segundo factor ya no es obligatorio.
console-team-notice-revoked = Token revocado.
console-tokens = Tokens de API
console-tokens-label = Etiqueta
console-tokens-created = Creado
console-tokens-revoke = Revocar
console-tokens-revoked = revocado { $at }
console-tokens-create = Crear un token
console-tokens-shown-once = El nuevo token, visible solo esta vez: cópialo ahora.
console-enrol-first = Tu operador exige el inicio de sesión en dos pasos. Actívalo abajo para usar la consola.

# Ajustes y registro de auditoría
console-settings = Ajustes
console-settings-operator = Operador
console-settings-sender = Correos a los viajeros
console-settings-domains = Dominios aprobados para tu dirección de envío: { $domains }.
console-settings-no-domains = Aún no hay ningún dominio aprobado para tu dirección de envío: los correos salen de la dirección del servidor con tu nombre. Pide al propietario de la instancia que apruebe el tuyo.
console-settings-mail-from = Dirección de envío
console-settings-mail-from-hint = Una dirección de un dominio aprobado; vacía: la del servidor.
console-settings-reply-to = Dirección de respuesta
console-settings-reply-to-hint = Adónde van las respuestas de los viajeros; vacía: la de envío.
console-settings-origins = Sitios que pueden mostrar tus páginas de reserva
console-settings-origins-label = Sitios permitidos, uno por línea
console-settings-origins-hint = Como https://harbour-tours.example (hasta 20). Vacío: ningún sitio puede enmarcarlas.
console-settings-reseller-messages = Mensajes a los viajeros de revendedores
console-settings-reseller-messages-label = berth escribe a los viajeros de un revendedor
console-settings-reseller-messages-on-request = Cuando el revendedor pide un recibo por correo
console-settings-reseller-messages-always = Siempre, por correo y SMS cuando el revendedor los facilita
console-settings-reseller-messages-never = Nunca: el revendedor les avisa
console-settings-reseller-messages-hint = La confirmación indica quién vendió la reserva. Se aplica a las reservas confirmadas o cambiadas desde ahora.
console-settings-notice-reseller-messages = Ajuste de los viajeros de revendedores guardado.
console-settings-notice-sender = Remitente guardado.
console-settings-notice-origins = Sitios permitidos guardados.
console-audit = Registro de auditoría
console-audit-action = Acción
console-audit-target = Sobre
console-audit-actor = Por
console-audit-older = Entradas anteriores
console-audit-none = Aún no hay nada registrado.

# Archivar un tour
console-tour-archive = Archivar el tour
console-tour-restore = Volver a poner el tour a la venta
console-tour-archive-hint = Archivado, deja de venderse y sale de tus páginas públicas; sus reservas se mantienen.
console-tour-archived = archivado
console-tour-archived-on = Archivado el { $date }: no se vende ni aparece en el catálogo público.
console-tour-archived-notice = El tour está archivado.
console-tour-restored-notice = El tour vuelve a estar a la venta.

# Restablecer la contraseña
console-reset = Restablece tu contraseña
console-reset-link = ¿Olvidaste tu contraseña?
console-reset-help = Escribe el correo con el que inicias sesión. Si pertenece a un usuario, se le enviará un código válido durante 15 minutos.
console-reset-send = Enviar el código
console-reset-sent = Si { $email } pertenece a un usuario, el código está en camino. Escríbelo con una contraseña nueva.
console-reset-code = Código del correo
console-reset-new-password = Contraseña nueva
console-reset-confirm = Guardar la contraseña nueva
console-reset-done = Tu contraseña ha cambiado y se cerraron todas las sesiones. Inicia sesión con la nueva.
console-reset-back = Volver al inicio de sesión
console-booking-move-to = Mover a otra salida
console-booking-move = Mover la reserva
console-booking-seats-left = { $count ->
    [one] queda { $count } plaza
   *[other] quedan { $count } plazas
}
console-booking-no-targets = Ninguna otra salida de este tour tiene sitio para esta reserva en los próximos tres meses.
console-booking-notice-moved = La reserva se ha movido; el viajero recibe un correo.

console-payments = Pagos
console-payments-in-force-operator = Sus viajeros pagan en su propia cuenta de Stripe.
console-payments-in-force-environment = Sus viajeros pagan en la cuenta de Stripe de esta instalación (su clave está en el entorno del servidor). Indique sus propias claves abajo para cobrar en su cuenta.
console-payments-in-force-none = Sus viajeros pagan a la llegada. Indique sus claves de Stripe abajo para cobrar con tarjeta en línea.
console-payments-mode-test = Modo de prueba
console-payments-mode-live = Modo real
console-payments-secret-key = Clave secreta
console-payments-secret-key-hint = sk_test_…, sk_live_… o una clave restringida rk_…; se guarda cifrada y después se muestra enmascarada.
console-payments-publishable-key = Clave publicable
console-payments-publishable-key-hint = pk_test_… o pk_live_…, del mismo modo que la clave secreta.
console-payments-webhook-secret = Secreto de firma del webhook
console-payments-webhook-secret-hint = whsec_…, del endpoint de webhook de Stripe que llama a la dirección de arriba.
console-payments-set-at = Indicadas
console-payments-webhook = Dirija un endpoint de webhook de Stripe (eventos payment_intent.succeeded, payment_intent.payment_failed, payment_intent.canceled, charge.refunded) a:
console-payments-save = Guardar las claves
console-payments-check = Comprobar las claves con Stripe
console-payments-remove = Dejar de usar mis claves
console-payments-check-ok = Stripe aceptó las claves: cuenta { $account }.
console-payments-check-failed = La comprobación falló: { $problem }
console-settings-notice-payments = Sus claves de Stripe están guardadas; los pagos nuevos van a su cuenta. Los pagos anteriores se siguen reembolsando con las claves con que se hicieron.
console-settings-notice-payments-removed = Sus propias claves de Stripe ya no se usan para pagos nuevos.
console-payments-check-ok-instance = Stripe aceptó las claves de la instalación.
console-resellers = Revendedores
console-resellers-intro = Canales que venden sus plazas por la API OCTO con una clave propia. Solo ven los tours que usted les deja vender.
console-resellers-name = Nombre
console-resellers-commission = Comisión (%)
console-resellers-commission-hint = La parte del precio que se queda el revendedor, de 0 a 100.
console-resellers-tours = Tours
console-resellers-tours-legend = Tours que puede vender (ninguno marcado: todos)
console-resellers-all-tours = Todos los tours
console-resellers-some-tours = { $count ->
    [one] 1 tour
   *[other] { $count } tours
}
console-resellers-create = Añadir un revendedor
console-resellers-shown-once = La clave de la API OCTO del revendedor, mostrada solo esta vez: cópiela ahora y entréguela de forma segura.
console-team-notice-reseller-revoked = La clave del revendedor ya no funciona.

# Webhooks
console-webhooks = Webhooks
console-webhooks-intro = Tus sistemas se enteran de cada cambio en reservas y salidas: berth envía cada evento, firmado, a las URL que registres aquí.
console-webhooks-none = Aún no hay endpoints de webhook.
console-webhooks-register = Registrar un endpoint
console-webhooks-url = URL
console-webhooks-description = Descripción
console-webhooks-events = Eventos
console-webhooks-create = Registrar
console-webhooks-secret-once = El secreto de firma del endpoint, visible solo esta vez: cópialo ahora.
console-webhooks-secret = Secreto de firma
console-webhooks-state = Estado
console-webhooks-enabled = Activo
console-webhooks-disabled = Desactivado
console-webhooks-disabled-failing = Desactivado: todas las entregas fallaron durante tres días
console-webhooks-failing-since = fallando desde { $at }
console-webhooks-attempts = Últimos intentos
console-webhooks-no-attempts = Aún no se ha enviado nada.
console-webhooks-event = Evento
console-webhooks-result = Resultado
console-webhooks-test = Enviar un evento de prueba
console-webhooks-enable = Activar
console-webhooks-disable = Desactivar
console-webhooks-rotate = Nuevo secreto
console-webhooks-delete = Eliminar
console-webhooks-notice-enabled = El endpoint está activo; los eventos en espera van de camino.
console-webhooks-notice-disabled = El endpoint está desactivado; sus eventos esperan hasta que se active.
console-webhooks-notice-test = Un evento de prueba va de camino.
console-webhooks-notice-deleted = El endpoint está eliminado.

## Guías y su calendario
console-load = { $taken } de { $capacity } plazas ocupadas
console-guides = Guías
console-guides-none = Todavía no hay guía asignado.
console-guides-choose = Quién guía esta salida
console-guides-save = Guardar guías
console-guides-saved = Guías guardados.
console-my-departures = Mis salidas
console-my-departures-none = Todavía no guías ninguna salida próxima.
console-my-calendar = Mi calendario
console-my-calendar-intro = Suscríbete a las salidas que guías desde el calendario de tu teléfono o Google Calendar. Quien tenga la dirección puede leerlo: crea una por dispositivo y revoca la que pierdas.
console-my-calendar-once = La dirección de tu calendario. Solo se muestra ahora: cópiala en tu aplicación de calendario.
console-my-calendar-open = Abrir en mi aplicación de calendario
console-feed-label = Nombre de este calendario
console-feed-label-hint = Por ejemplo «Mi teléfono» (hasta 100 caracteres).
console-feed-create = Crear una dirección de calendario
console-feed-revoke = Revocar
console-feed-revoke-named = Revocar { $label }
console-feed-revoked = La dirección del calendario está revocada; ya no abre.
console-tour-min-participants = Mínimo de participantes
console-tour-min-participants-hint = Una salida con menos reservas se cancela y se reembolsa por completo; 0 para sin mínimo.
console-tour-decision-hours = Decidir con estas horas de antelación
console-tour-decision-hours-hint = Cuándo decide berth si cada salida se realiza (de 1 a 720).
console-needs = { $count ->
    [one] Falta 1 viajero para que se realice: se decide el { $at }.
   *[other] Faltan { $count } viajeros para que se realice: se decide el { $at }.
}
console-guaranteed = Salida garantizada.
console-guarantee = Realizarla igualmente (avisar a sus viajeros)
console-guaranteed-notice = La salida está garantizada; se avisa a sus viajeros de que se realiza.
console-minimum-reached = Mínimo alcanzado con las plazas retenidas o reservadas ahora: se decide el { $at } con las confirmadas.
console-departure-minimum = Mínimo de participantes
console-departure-minimum-tours = de la excursión
console-departure-min-participants-hint = Vacío para el de la excursión ({ $value }); 0 para sin mínimo.
console-departure-decision-hours-hint = Vacío para el de la excursión ({ $value }); de 1 a 720.
console-departure-minimum-save = Guardar el mínimo de esta salida
console-departure-minimum-clear = Usar el mínimo de la excursión
console-departure-minimum-saved = El mínimo de esta salida está guardado.
console-departure-minimum-cleared = Esta salida vuelve a seguir el mínimo de su excursión.

# Códigos promocionales
console-promo-codes = Códigos promocionales
console-promo-intro = Códigos que los viajeros escriben en el formulario de reserva para obtener un descuento. Un código desactivado se rechaza como desconocido; las reservas ya hechas conservan su descuento.
console-promo-none = Aún no hay códigos promocionales.
console-promo-code = Código
console-promo-code-hint = De 1 a 32 letras, dígitos, - o _; los viajeros pueden escribirlo en mayúsculas o minúsculas.
console-promo-discount = Descuento
console-promo-discount-hint = Indica un porcentaje o un importe, no ambos.
console-promo-percent-off = Porcentaje de descuento
console-promo-percent-value = { $percent } % de descuento
console-promo-amount-off = Importe de descuento
console-promo-currency = Moneda de los importes
console-promo-currency-hint = El importe de descuento y el gasto mínimo están en esta moneda; un importe de descuento solo se aplica a excursiones vendidas en ella.
console-promo-tour = Excursión
console-promo-all-tours = Todas las excursiones
console-promo-window = Validez
console-promo-zone = Zona horaria de las fechas
console-promo-valid-from = Válido desde
console-promo-valid-from-hint = Vacío: desde ahora.
console-promo-valid-until = Válido hasta
console-promo-valid-until-hint = Las retenciones hechas antes de este momento pueden usarlo. Vacío: sin fin.
console-promo-from = desde
console-promo-until = hasta
console-promo-always = Siempre
console-promo-min-spend = Gasto mínimo
console-promo-min-spend-hint = El total de la reserva antes del descuento. Vacío: ninguno.
console-promo-no-minimum = sin gasto mínimo
console-promo-min-spend-value = gasto mínimo { $amount }
console-promo-in-use-count = { $count } en uso
console-promo-on = activo
console-promo-off = desactivado
console-promo-max-redemptions = Usos máximos
console-promo-max-redemptions-hint = Reservas que retienen plazas con él a la vez; una caducada o cancelada devuelve su uso. Vacío: sin límite.
console-promo-max-per-customer = Usos máximos por viajero
console-promo-max-per-customer-hint = Lo mismo, por correo del viajero. Vacío: sin límite.
console-promo-limits = Límites
console-promo-max-uses = { $count ->
    [one] como máximo 1 uso
   *[other] como máximo { $count } usos
}
console-promo-unlimited = sin límite de usos
console-promo-per-customer = { $count ->
    [one] 1 por viajero
   *[other] { $count } por viajero
}
console-promo-per-customer-unlimited = sin límite por viajero
console-promo-max-of = Usos máximos de { $code } (vacío: sin límite)
console-promo-change-max = Cambiar
console-promo-redemptions = En uso ahora
console-promo-active = Activo
console-promo-switch-off = Desactivar { $code }
console-promo-switch-on = Activar { $code }
console-promo-create = Nuevo código promocional
console-promo-create-submit = Crear el código
console-promo-notice-created = El código promocional está creado; los viajeros ya pueden usarlo.
console-promo-notice-off = El código promocional está desactivado: las nuevas reservas no pueden usarlo.
console-promo-notice-on = El código promocional vuelve a estar activo.
console-promo-notice-limit = Se han cambiado los usos máximos del código.
console-promo-in-currency = solo en { $currency }
console-promo-any-currency = cualquier moneda
console-promo-min-spend-of = Gasto mínimo de { $code } (vacío: ninguno)
console-promo-currency-of = Moneda de { $code } (vacía: cualquiera, sin gasto mínimo)
console-promo-change-spend = Cambiar
console-promo-notice-spend = El gasto mínimo y la moneda del código han cambiado.

## Recursos compartidos: barcos, autobuses y guías que ocupan salidas de varias excursiones
console-resources = Recursos
console-resources-intro = Barcos, autobuses y guías que comparten salidas de varias excursiones. Una salida ocupa un recurso desde su inicio durante lo que dura su excursión, y nunca más allá de su capacidad: se rechaza una retención que la superaría, y también una asignación o una capacidad menor.
console-resources-none = Aún no hay recursos.
console-resources-capacity = Capacidad
console-resources-capacity-seats = { $count ->
    [one] 1 plaza
   *[other] { $count } plazas
}
console-resources-capacity-departures = { $count ->
    [one] 1 salida a la vez
   *[other] { $count } salidas a la vez
}
console-resources-draw = Las salidas lo ocupan por
console-resources-draw-seats = Plazas: cada salida en curso ocupa las plazas retenidas o reservadas en ella (un barco, un autobús)
console-resources-draw-departure = Salida: cada una ocupa una unidad mientras dura, reservada o no (un guía, un conductor)
console-resources-assigned = Asignado a
console-resources-assigned-none = Aún no lo ocupa ninguna excursión.
console-resources-every-departure = todas las salidas de la excursión
console-resources-schedule = el horario de las { $times } desde el { $start }
console-resources-schedule-until = el horario de las { $times } del { $start } al { $until }
console-resources-schedule-unknown = el horario { $id }
console-resources-end = Terminar la asignación a { $tour }
console-resources-load = Los próximos 7 días
console-resources-load-of = Salidas que ocupan { $name } en los próximos 7 días
console-resources-peak-seats = Momento de más ocupación: { $peak } de { $capacity } plazas ocupadas ({ $free } libres).
console-resources-peak-departures = Momento de más ocupación: { $peak } de { $capacity } a la vez ({ $free } libres).
console-resources-load-none = Ninguna salida lo ocupa en los próximos 7 días.
console-resources-starts = Horario (hora local de la excursión)
console-resources-tour = Excursión
console-resources-draws = Lo que ocupa
console-resources-draws-seats = { $count ->
    [one] 1 plaza
   *[other] { $count } plazas
}
console-resources-draws-departure = { $seats ->
    [one] 1 salida (1 plaza ocupada)
   *[other] 1 salida ({ $seats } plazas ocupadas)
}
console-resources-change = Nombre y capacidad
console-resources-name = Nombre
console-resources-name-hint = De 1 a 100 caracteres, como Barco Marlin o Guía Ana.
console-resources-capacity-hint = Plazas de un barco o autobús; salidas a la vez para un guía (normalmente 1).
console-resources-change-submit = Guardar
console-resources-assign = Asignar a una excursión
console-resources-schedule-choice = Horario (opcional)
console-resources-schedule-hint = Uno de los horarios de la excursión elegida: solo sus salidas ocupan el recurso.
console-resources-assign-submit = Asignar
console-resources-no-tours = No hay ninguna excursión a la venta a la que asignarlo.
console-resources-create = Nuevo recurso
console-resources-create-submit = Crear el recurso
console-resources-notice-created = El recurso está creado; asígnelo a las excursiones cuyas salidas lo ocupan.
console-resources-notice-changed = Se ha cambiado el recurso.
console-resources-notice-assigned = El recurso está asignado: las salidas de la excursión ya lo ocupan.
console-resources-notice-unassigned = La asignación ha terminado: esas salidas ya no ocupan el recurso.

## Precios por fecha: los precios de temporada de un tour, los precios propios de una salida

console-seasonal-prices = Precios de temporada
console-seasonal-intro = Reglas que cambian el precio de un tipo de entrada en algunas salidas: por fechas, días de la semana y horas de inicio ({ $timezone }). Primero cuenta el precio propio de la salida, luego la regla que coincide con la prioridad más alta (entre iguales, la añadida más tarde) y luego el precio de arriba. Las reservas ya hechas conservan su precio.
console-rules-none = Aún no hay precios de temporada: todas las salidas se venden a los precios de arriba.
console-rule-added = Precios de temporada añadidos; las salidas que coinciden ya se venden a ellos.
console-rule-removed = Precios de temporada eliminados.
console-rule-name = Nombre
console-rule-name-hint = Hasta 100 caracteres, como Fines de semana de verano.
console-rule-dates = Fechas
console-rule-days = Días
console-rule-times = Horas de inicio
console-rule-priority = Prioridad
console-rule-prices = Precios
console-rule-from-date = desde el { $date }
console-rule-until-date = hasta el { $date }
console-rule-any-date = cualquier fecha
console-rule-every-day = todos los días
console-rule-from-time = que empiezan a las { $time } o más tarde
console-rule-before-time = que empiezan antes de las { $time }
console-rule-any-time = cualquier hora de inicio
console-rule-priority-value = prioridad { $priority }
console-rule-remove = Eliminar { $name }
console-rule-add = Añadir precios de temporada
console-rule-dates-hint = Ambas incluidas; deje una vacía para no poner inicio o fin.
console-rule-from-date-label = Primera fecha
console-rule-to-date-label = Última fecha
console-rule-days-hint = Ninguno marcado: todos los días.
console-rule-times-hint = Salidas que empiezan a la primera hora o después y antes de la segunda; vacías para cualquiera.
console-rule-from-time-label = Desde
console-rule-to-time-label = Antes de
console-rule-prices-legend = Precios ({ $currency })
console-rule-prices-hint = Deje un precio vacío para mantener el precio de ese tipo de entrada.
console-rule-unit-price = { $label } ({ $currency })
console-rule-unit-price-hint = Ahora { $price }.
console-rule-priority-hint = Donde las reglas se solapan, gana la más alta; de -1000 a 1000, 0 si está vacía.
console-rule-add-submit = Añadir la regla
console-departure-prices = Precios
console-departure-price = Se vende a
console-own-price-tag = propio de esta salida
console-own-prices = Precios propios de esta salida ({ $currency })
console-own-prices-hint = Deje un precio vacío para vender ese tipo de entrada al precio del tour para esta fecha.
console-own-price-hint = Sin precio propio: { $price }.
console-own-prices-save = Guardar precios propios
console-own-prices-clear = Quitar los precios propios
console-own-prices-saved = Los precios propios de esta salida están guardados; las nuevas reservas los pagan.
console-own-prices-cleared = Esta salida vuelve a venderse a los precios del tour para su fecha.

## Lista de espera (página de la salida)

console-waitlist = Lista de espera
console-waitlist-empty = Nadie espera esta salida.
console-waitlist-seats = { $seats ->
    [one] 1 plaza
   *[other] { $seats } plazas
}
console-waitlist-joined = se apuntó el { $at }
console-waitlist-until = retenida hasta { $at }
console-waitlist-remove = Quitar a { $name } de la lista
console-waitlist-removed = Quitado de la lista de espera.
console-waitlist-not-waiting = Solo se puede quitar a un viajero que aún espera. Una vez ofrecida, la retención es una reserva: cancélala desde su página.
console-waitlist-state-waiting = En espera
console-waitlist-state-offered = Ofrecida
console-waitlist-state-booked = Reservada
console-waitlist-state-lapsed = Oferta caducada
console-waitlist-state-removed = Quitado
console-waitlist-state-closed = Cerrada: venta terminada
