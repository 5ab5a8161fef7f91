-- The database floor from sysbench's C client: a hold's write transaction as berth's storage
-- issues it (storage::departures::take_seats_if_free, storage::bookings::insert), one connection
-- per thread, READ COMMITTED as berth's pool sets it. No berth code is involved.
--
--   sysbench load-tests/sysbench/hold.lua --db-driver=mysql --mysql-host=127.0.0.1 \
--     --mysql-user=root --mysql-db=DB --threads=32 --time=15 \
--     --departures=ID1,ID2 --tour=ID --operator=ID run
--
-- The tour, operator and departures must exist (`berth-floor --fixtures-only FILE` makes them).
-- sysbench 1.0's Lua API does not report how many rows an UPDATE changed, so the script cannot
-- see a sold-out departure: give the departures room for every hold of the run (bench.sh uses
-- 100,000 seats) and check afterwards that seats_taken equals the seats booked (bench.sh does).
sysbench.cmdline.options = {
  departures = {"Departure ids, comma-separated (one: the rush; many: the spread)", ""},
  tour = {"The departures' tour id", ""},
  operator = {"The tour's operator id", ""},
  price = {"Unit price in minor units", 3500},
}

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  con:query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
  departures = {}
  for id in string.gmatch(sysbench.opt.departures, "[^,]+") do
    table.insert(departures, id)
  end
  if #departures == 0 then
    error("--departures is required")
  end
end

function thread_done()
  con:disconnect()
end

function event()
  local departure = departures[sysbench.rand.uniform(1, #departures)]
  local now = os.date("!%Y-%m-%d %H:%M:%S")
  local expires = os.date("!%Y-%m-%d %H:%M:%S", os.time() + 900)
  local id = sysbench.rand.string("##########################")
  local reference = sysbench.rand.string("@@@@@@@@")
  local token = sysbench.rand.string(string.rep("#", 64))
  local price = sysbench.opt.price
  con:query("BEGIN")
  con:query(string.format(
    "UPDATE departures SET seats_taken = seats_taken + 1, updated_at = '%s' " ..
    "WHERE id = '%s' AND status = 'scheduled' AND starts_at > '%s' AND seats_taken + 1 <= capacity",
    now, departure, now))
  con:query(string.format(
    "INSERT INTO bookings (id, reference, access_token_hash, departure_id, tour_id, operator_id, status, " ..
    "seats, total, currency, customer_name, customer_email, customer_phone, customer_language, expires_at, " ..
    "created_at, updated_at, hold_client, hold_email) VALUES ('%s', '%s', '%s', '%s', '%s', '%s', 'held', " ..
    "1, %d, 'EUR', 'Floor Tester', 'floor@example.com', NULL, 'en', '%s', '%s', '%s', NULL, NULL)",
    id, reference, token, departure, sysbench.opt.tour, sysbench.opt.operator, price, expires, now, now))
  con:query(string.format(
    "INSERT INTO booking_items (booking_id, unit_code, quantity, unit_price) VALUES ('%s', 'adult', 1, %d)",
    id, price))
  con:query("COMMIT")
end
