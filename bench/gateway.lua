-- wrk script of bench/gateway: every request is `GET $BENCH_PATH` with
-- `Authorization: Bearer <token>`, the token drawn at random (per request) from the pool in
-- $BENCH_TOKENS (one token per line). Without $BENCH_TOKENS the header is left out.
--
-- At the end it prints one machine-readable line for the script:
--   BENCH requests=<n> seconds=<s> rps=<r> p50_us=<..> p90_us=<..> p99_us=<..> max_us=<..>
--         non2xx=<n> connect_errors=<n> read_errors=<n> write_errors=<n> timeouts=<n>
-- (wrk counts every non-2xx/3xx answer in errors.status; the script requires it to be 0.)

local path = os.getenv("BENCH_PATH") or "/"
local tokens_file = os.getenv("BENCH_TOKENS") or ""
local requests = {}

local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("thread_id", threads)
end

function init(args)
    -- Each wrk thread has its own Lua state: load the pool and pre-format one request per token,
    -- so the per-request cost on the client side is one random index.
    math.randomseed(os.time() * 100 + (thread_id or 0))
    if tokens_file ~= "" then
        for line in io.lines(tokens_file) do
            if #line > 0 then
                requests[#requests + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. line })
            end
        end
        if #requests == 0 then
            error("no tokens in " .. tokens_file)
        end
    else
        requests[1] = wrk.format("GET", path)
    end
end

function request()
    return requests[math.random(#requests)]
end

function done(summary, latency, _)
    local seconds = summary.duration / 1000000
    io.write(string.format(
        "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
        summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        summary.errors.status, summary.errors.connect, summary.errors.read,
        summary.errors.write, summary.errors.timeout))
end
