-- wrk script: each request tracks a random one of the seeded parcels.
local numbers = {}
for line in io.lines(os.getenv("TRACKING_NUMBERS")) do numbers[#numbers + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/track/" .. numbers[math.random(#numbers)])
end
