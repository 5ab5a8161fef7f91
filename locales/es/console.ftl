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
