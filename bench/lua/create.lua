-- Order creation: every request is a fresh valid order built from a body template.
--
-- Parameters (written by bench/load.py): path, headers, bodies (templates; one per store or
-- location, taken in turn), slots ({date, time} pairs the order may ask for), firsts/lasts
-- (customer names), items ({first, count}: the item id range), base (start of the counter).
-- ${name} in a template is replaced: n (unique per request across threads and runs), phone8 /
-- phone7 (digits that make a valid number), first, last, d1 s1 d2 s2 d3 s3 (three consecutive
-- slots), item1, item2 (two different items).
--
-- Consecutive requests walk through the slots, so each slot takes an equal share and a run of
-- tens of thousands of orders never fills one (the harness gives every slot ample capacity).

local p
local n = 0

function init(args)
  p = load_params(args)
end

local function fmt(x)
  return string.format("%d", x)
end

function request()
  n = n + 1
  local k = p.base + n * 64 + tid
  local bodies, slots = p.bodies, p.slots
  local nb, ns = #bodies, #slots
  local s = math.floor(k / nb) % ns
  local a, b, c = slots[s + 1], slots[(s + 1) % ns + 1], slots[(s + 2) % ns + 1]
  local values = {
    n = fmt(k),
    phone8 = fmt(20000000 + k % 10000000),
    phone7 = fmt(1000000 + k % 9000000),
    first = p.firsts[k % #p.firsts + 1],
    last = p.lasts[math.floor(k / 7) % #p.lasts + 1],
    d1 = a[1], s1 = a[2], d2 = b[1], s2 = b[2], d3 = c[1], s3 = c[2],
  }
  if p.items then
    local i = (k * 7919) % p.items.count
    values.item1 = fmt(p.items.first + i)
    values.item2 = fmt(p.items.first + (i + 1 + k % 97) % p.items.count)
  end
  local body = string.gsub(bodies[k % nb + 1], "%${(%w+)}", values)
  return wrk.format("POST", p.path, p.headers, body)
end
