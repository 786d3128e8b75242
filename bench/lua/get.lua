-- Reads: GET requests cycling through a list of paths (queries, pages, order ids), so a
-- measurement is not one hot row answered from the same cache lines over and over.
--
-- Parameters (written by bench/load.py): paths, headers, success (a Lua pattern the body of a
-- successful answer contains).

local p
local n = 0

function init(args)
  p = load_params(args)
  n = tid * 7919
end

function request()
  n = n + 1
  return wrk.format("GET", p.paths[n % #p.paths + 1], p.headers)
end
