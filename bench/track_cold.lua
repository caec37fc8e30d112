-- wrk script: each request tracks the next parcel not read yet, so that every read misses the cache (the
-- server was just started); threads take turns through the list.
local numbers = {}
for line in io.lines(os.getenv("TRACKING_NUMBERS")) do numbers[#numbers + 1] = line end
local threads, counter = 0, 0
setup = function(thread)
  threads = threads + 1
  thread:set("first", threads)
end
init = function()
  counter = first
  step = tonumber(os.getenv("WRK_THREADS") or "2")
end
request = function()
  local number = numbers[(counter - 1) % #numbers + 1]
  counter = counter + step
  return wrk.format("GET", "/api/v1/track/" .. number)
end
