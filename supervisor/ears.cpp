#include "supervisor/ears.hpp"

#include "common/analysis.hpp"

#include <algorithm>
#include <cmath>

namespace chronus::supervisor {

namespace {

using Clock = std::chrono::steady_clock;
// A subscription lasts this long unless renewed, so a client that went away stops costing.
constexpr auto kLease = std::chrono::minutes(10);
constexpr int kMaxFailures = 3;

float dbArg(double db) { return db <= -1e8 ? -200.0f : static_cast<float>(db); }

} // namespace

Ears::~Ears()
{
    for (auto &p : pending_)
        if (p.json.valid())
            p.json.wait();
}

bool Ears::answers(const osc::Message &msg)
{
    const std::string &a = msg.address;
    return a == "/analyze" || a == "/levels" || a == "/meters" || (a == "/meter" && msg.args.size() == 1);
}

void Ears::handle(const osc::Message &msg)
{
    if (msg.address == "/analyze")
        analyze(msg);
    else if (msg.address == "/levels")
        levelsNow(msg);
    else
        subscribe(msg);
}

void Ears::fail(const osc::Message &msg, const std::string &reason)
{
    if (server_)
        server_->reply(msg, "/fail", {msg.address, reason});
}

bool Ears::recent(double seconds, std::vector<float> &left, std::vector<float> &right) const
{
    for (int attempt = 0; attempt < 3; ++attempt) {
        const std::uint64_t written = tap_.written();
        const auto want = static_cast<std::uint64_t>(std::llround(seconds * rate_));
        const std::uint64_t n = std::min<std::uint64_t>({want, written, tap_.capacity() / 2});
        if (n == 0)
            return false;
        if (tap_.read(written - n, std::size_t(n), left, right))
            return true;
    }
    return false;
}

// /analyze [seconds]: the description of the last seconds played (default 5).
void Ears::analyze(const osc::Message &msg)
{
    const double seconds = msg.args.empty() ? 5.0 : msg.numberAt(0).value_or(-1.0);
    if (msg.args.size() > 1 || !(seconds >= 0.1 && seconds <= kMaxSeconds))
        return fail(msg, "/analyze takes [seconds] from 0.1 to 40 (default 5)");
    std::vector<float> left, right;
    if (!recent(seconds, left, right))
        return fail(msg, "nothing has been played yet");
    auto work = [l = std::move(left), r = std::move(right), rate = rate_] {
        return analysis::toJson(analysis::analyze(l.data(), r.data(), l.size(), rate));
    };
    if (pending_.size() >= 8)
        return fail(msg, "too many analyses under way; try again shortly");
    pending_.push_back({msg.peer(), std::async(std::launch::async, std::move(work))});
}

// /levels [seconds]: peak and RMS per channel (dBFS) and clipped samples, over the last
// seconds (default 0.3).
void Ears::levelsNow(const osc::Message &msg)
{
    const double seconds = msg.args.empty() ? 0.3 : msg.numberAt(0).value_or(-1.0);
    if (msg.args.size() > 1 || !(seconds >= 0.01 && seconds <= kMaxSeconds))
        return fail(msg, "/levels takes [seconds] from 0.01 to 40 (default 0.3)");
    std::vector<float> left, right;
    if (!recent(seconds, left, right))
        return fail(msg, "nothing has been played yet");
    const auto l = analysis::levels(left.data(), right.data(), left.size());
    if (server_)
        server_->reply(msg, "/done",
                       {msg.address, dbArg(l.peakDbfs[0]), dbArg(l.peakDbfs[1]), dbArg(l.rmsDbfs[0]),
                        dbArg(l.rmsDbfs[1]), std::int32_t(l.clips[0]), std::int32_t(l.clips[1])});
}

// /meters <1/0> [rate_hz]: level messages to the sender at up to 30 a second.
void Ears::subscribe(const osc::Message &msg)
{
    const auto on = msg.numberAt(0);
    const auto word = msg.stringAt(0);
    const bool yes = (on && *on == 1) || (word && (*word == "on" || *word == "1"));
    const bool no = (on && *on == 0) || (word && (*word == "off" || *word == "0"));
    const double rate = msg.args.size() > 1 ? msg.numberAt(1).value_or(-1.0) : 10.0;
    if (msg.args.empty() || msg.args.size() > 2 || !(yes || no) || !(rate >= 0.5 && rate <= 30.0))
        return fail(msg, msg.address + " takes 1 or 0, then an optional rate from 0.5 to 30 Hz (default 10)");
    if (msg.protocol != osc::Protocol::Udp || msg.senderUrl.empty())
        return fail(msg, "meters need UDP (they are sent as datagrams to the sender's port)");
    std::erase_if(subscribers_, [&](const Subscriber &s) { return s.url == msg.senderUrl; });
    if (yes) {
        if (subscribers_.size() >= kMaxSubscribers)
            return fail(msg, "too many meter subscribers (16)");
        const auto now = Clock::now();
        subscribers_.push_back({msg.senderUrl, rate, tap_.written(), now, now + kLease, 0});
    }
    if (server_)
        server_->reply(msg, "/done", {msg.address, std::int32_t(yes ? 1 : 0), float(rate)});
}

void Ears::tick()
{
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->json.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            ++it;
            continue;
        }
        if (server_)
            server_->send(it->to, "/done", {std::string("/analyze"), it->json.get()});
        it = pending_.erase(it);
    }
    if (!subscribers_.empty())
        sendMeters();
}

void Ears::sendMeters()
{
    const auto now = Clock::now();
    std::erase_if(subscribers_, [&](const Subscriber &s) { return now > s.expires || s.failures >= kMaxFailures; });
    std::vector<float> left, right;
    for (auto &s : subscribers_) {
        if (now < s.next)
            continue;
        s.next = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / s.rateHz));
        const std::uint64_t written = tap_.written();
        const std::uint64_t from = std::max(s.from, written > std::uint64_t(rate_) ? written - std::uint64_t(rate_) : 0);
        if (written <= from || !tap_.read(from, std::size_t(written - from), left, right))
            continue;
        s.from = written;
        const auto l = analysis::levels(left.data(), right.data(), left.size());
        std::vector<osc::Arg> args = {dbArg(l.peakDbfs[0]), dbArg(l.peakDbfs[1]), dbArg(l.rmsDbfs[0]),
                                      dbArg(l.rmsDbfs[1]), std::int32_t(l.clips[0]), std::int32_t(l.clips[1])};
        // Then each stem over the same stretch: its name and the same six values.
        for (const auto &[name, tap] : stems_) {
            const std::uint64_t end = std::min(written, tap->written());
            const std::uint64_t start = std::max(from, end > std::uint64_t(rate_) ? end - std::uint64_t(rate_) : 0);
            if (end <= start || !tap->read(start, std::size_t(end - start), left, right))
                continue;
            const auto t = analysis::levels(left.data(), right.data(), left.size());
            args.insert(args.end(), {name, dbArg(t.peakDbfs[0]), dbArg(t.peakDbfs[1]), dbArg(t.rmsDbfs[0]),
                                     dbArg(t.rmsDbfs[1]), std::int32_t(t.clips[0]), std::int32_t(t.clips[1])});
        }
        const bool sent = server_ && server_->sendTo(s.url, "/meter", args);
        s.failures = sent ? 0 : s.failures + 1;
    }
}

} // namespace chronus::supervisor
