#include "recorder/recorder_surface.hpp"

#include "common/log.hpp"
#include "common/service_notify.hpp"

#include <chrono>
#include <cmath>
#include <sys/statvfs.h>
#include <thread>

namespace chronus::rec {

namespace {

// "576000+1024 600064+2048": take frame where each run of silence starts, and its length.
std::string gapList(const std::vector<Gap> &gaps)
{
    std::string out;
    for (const Gap &g : gaps)
        out += log::cat(out.empty() ? "" : " ", g.atFrame, "+", g.frames);
    return out;
}

void logGaps(const TakeSummary &s, double rate)
{
    for (std::size_t i = 0; i < s.inputGaps.size() && i < kMaxGapsShown; ++i) {
        const InputGap &g = s.inputGaps[i];
        log::warn(s.path.filename().string(), ": in_", g.channel + 1, " had no source for ", double(g.frames) / rate,
                  " s from ", double(g.atFrame) / rate, " s (take frame ", g.atFrame, "); silence there");
    }
    for (std::size_t i = 0; i < s.gaps.size() && i < kMaxGapsShown; ++i) {
        const Gap &g = s.gaps[i];
        log::warn(s.path.filename().string(), ": ", g.frames, " silent frames in place of lost ones at ",
                  double(g.atFrame) / rate, " s (take frame ", g.atFrame, ")");
    }
    if (s.gapCount > kMaxGapsShown)
        log::warn(s.path.filename().string(), ": ", s.gapCount, " gaps in all; the sidecar (.json) lists ",
                  s.gapCount > kMaxGapsKept ? "the first " + std::to_string(kMaxGapsKept) : std::string("every one"));
}

} // namespace

RecorderSurface::RecorderSurface(Capture &capture, DiskWriter &writer, RecorderSurfaceConfig config)
    : capture_(capture), writer_(writer), config_(std::move(config))
{
    writer_.setPrerollFrames(std::uint64_t(config_.prerollSeconds * capture_.sampleRate()));
    updateFeeding();
}

bool RecorderSurface::recording() const { return writer_.status().recording; }

void RecorderSurface::updateFeeding() { capture_.setFeeding(config_.prerollSeconds > 0 || recording()); }

void RecorderSurface::shareBindings()
{
    if (capture_.bindingVersion() == sharedBindingVersion_)
        return;
    sharedBindingVersion_ = capture_.bindingVersion();
    writer_.setInputSources(capture_.boundSources());
}

void RecorderSurface::handle(const osc::Message &msg)
{
    const std::string &a = msg.address;
    if (a == "/record/start")
        start(msg);
    else if (a == "/record/stop")
        stop(msg);
    else if (a == "/record/split")
        split(msg);
    else if (a == "/record/preroll")
        preroll(msg);
    else if (a == "/record/status")
        status(msg);
    else if (a == "/ping")
        server_->replyWith(msg, "/pong");
    else
        server_->replyWith(msg, "/fail", a, std::string("unknown command"));
}

void RecorderSurface::start(const osc::Message &msg)
{
    auto failWith = [&](const std::string &why) { server_->replyWith(msg, "/fail", msg.address, why); };
    if (recording())
        return failWith("already recording " + writer_.status().path.string());
    TakeRequest req;
    // Arguments: [file] [format] [seconds]; a number anywhere is the duration limit.
    std::size_t strings = 0;
    double seconds = config_.maxSeconds;
    for (std::size_t i = 0; i < msg.args.size(); ++i) {
        if (auto s = msg.stringAt(i)) {
            if (strings == 0)
                req.name = *s;
            else if (strings == 1) {
                auto c = parseContainer(*s);
                if (!c)
                    return failWith(c.error());
                req.container = *c;
            } else
                return failWith("too many arguments: [file] [format] [seconds]");
            ++strings;
        } else if (auto n = msg.numberAt(i)) {
            if (*n < 0 || !std::isfinite(*n))
                return failWith("duration must be a positive number of seconds");
            seconds = *n;
        } else {
            return failWith("arguments are [file] [format] [seconds]");
        }
    }
    // Sources that match --port but appeared too lately to be bound yet (a client's ports
    // settle 200 ms before binding, so they keep their order) are bound now, and the take
    // begins once JACK uses the connections: not with inputs silent for want of a source.
    if (capture_.reconnect(true) > 0)
        capture_.awaitCycles(2, 1000);
    const std::uint64_t rate = capture_.sampleRate();
    req.maxFrames = std::uint64_t(std::llround(seconds * double(rate)));
    const std::uint64_t prerollFrames = std::uint64_t(config_.prerollSeconds * double(rate));
    const std::uint64_t now = capture_.nowFrame();
    req.startFrame = now > prerollFrames ? now - prerollFrames : 0;
    const std::uint64_t cyclesBefore = capture_.fedCycles();
    shareBindings();
    capture_.setFeeding(true);
    auto path = writer_.begin(req);
    if (!path) {
        updateFeeding();
        return failWith(path.error());
    }
    starterUrl_ = msg.protocol == osc::Protocol::Udp ? msg.senderUrl : std::string();
    // Answer once the first frame of the take has been captured (pre-roll: it already was).
    if (prerollFrames == 0) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (capture_.fedCycles() == cyclesBefore && std::chrono::steady_clock::now() < deadline &&
               !capture_.serverGone())
            std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    log::info("recording ", path->string());
    service::status("recording " + path->string());
    server_->replyWith(msg, "/done", msg.address, path->string());
}

void RecorderSurface::stop(const osc::Message &msg)
{
    if (!recording())
        return (void)server_->replyWith(msg, "/fail", msg.address, std::string("not recording"));
    auto summary = writer_.end(capture_.nowFrame());
    updateFeeding();
    if (!summary)
        return (void)server_->replyWith(msg, "/fail", msg.address, summary.error());
    if (!summary->error.empty())
        return (void)server_->replyWith(msg, "/fail", msg.address, summary->error);
    log::info("stopped ", summary->path.string(), ": ", summary->frames, " frames, ", summary->lostFrames, " lost");
    logGaps(*summary, capture_.sampleRate());
    service::status(log::cat("idle; last take ", summary->path.string(), ": ", summary->frames, " frames, ",
                             summary->lostFrames, " lost"));
    server_->replyWith(msg, "/done", msg.address, summary->path.string(), std::int64_t(summary->frames),
                       std::int64_t(summary->lostFrames),
                       std::int32_t(capture_.counters().xruns.load(std::memory_order_relaxed)));
}

void RecorderSurface::split(const osc::Message &msg)
{
    if (!recording())
        return (void)server_->replyWith(msg, "/fail", msg.address, std::string("not recording"));
    auto paths = writer_.split();
    if (!paths)
        return (void)server_->replyWith(msg, "/fail", msg.address, paths.error());
    // The closed part's name too: a take's first file takes its _0001 name only now.
    server_->replyWith(msg, "/done", msg.address, paths->next.string(), paths->closed.string());
}

void RecorderSurface::preroll(const osc::Message &msg)
{
    auto s = msg.numberAt(0);
    if (!s || *s < 0 || !std::isfinite(*s))
        return (void)server_->replyWith(msg, "/fail", msg.address, std::string("needs a number of seconds"));
    // The ring holds the history: leave at least 2 s of it for disk stalls.
    if (*s > config_.ringSeconds - 2)
        return (void)server_->replyWith(
            msg, "/fail", msg.address,
            log::cat("pre-roll of ", *s, " s does not fit the ", config_.ringSeconds,
                     " s ring (restart with --ring-seconds ", std::ceil(*s + 4), ")"));
    config_.prerollSeconds = *s;
    writer_.setPrerollFrames(std::uint64_t(*s * capture_.sampleRate()));
    updateFeeding();
    server_->replyWith(msg, "/done", msg.address, float(*s));
}

void RecorderSurface::status(const osc::Message &msg)
{
    const WriterStatus w = writer_.status();
    const CaptureCounters &c = capture_.counters();
    const FrameRing &ring = capture_.ring();
    const double cap = double(ring.capacityFrames());
    const double rate = capture_.sampleRate();
    std::vector<osc::Arg> a;
    auto kv = [&a](const char *key, osc::Arg v) {
        a.emplace_back(std::string(key));
        a.push_back(std::move(v));
    };
    struct statvfs fs{};
    std::int64_t freeBytes = -1;
    if (statvfs(config_.dir.c_str(), &fs) == 0)
        freeBytes = std::int64_t(fs.f_bavail) * std::int64_t(fs.f_frsize);
    // "error" until the next take starts; disk_errors and last_error keep the history.
    kv("state", std::string(w.recording ? "recording" : (w.failed ? "error" : "idle")));
    kv("path", w.path.string());
    kv("seconds", double(w.takeFrames) / rate);
    kv("frames", std::int64_t(w.takeFrames));
    kv("ring_fill", float(double(ring.readableFrames()) / cap));
    kv("ring_peak", float(double(c.ringPeakFrames.load()) / cap));
    kv("overruns", std::int64_t(c.overruns.load()));
    kv("lost_frames", std::int64_t(w.lostFrames));
    kv("lost_frames_total",
       std::int64_t(c.overrunFrames.load() + c.skippedFrames.load() + c.doubtfulFrames.load()));
    // The causes of lost frames since start: JACK skipped our cycles (the server or a
    // client upstream was held off), the disk thread fell a whole ring behind, or a late
    // cycle's data could not be told from the next one's (doubtful_frames, below).
    kv("skipped_frames", std::int64_t(c.skippedFrames.load()));
    kv("overrun_frames", std::int64_t(c.overrunFrames.load()));
    kv("doubtful_frames", std::int64_t(c.doubtfulFrames.load())); // read as JACK began the next cycle
    kv("repeated_frames", std::int64_t(c.repeatedFrames.load())); // a cycle labelled twice, kept once
    kv("misread_cycles", std::int64_t(c.misreadCycles.load()));   // late/stale frame time, placed right
    // --clock: the port whose timeline frames place the cycles, and frames of cycles it
    // gave no frame for (not recorded: the next frame it gives declares them lost).
    kv("clock", capture_.clockSource());
    kv("unclocked_frames", std::int64_t(c.unclockedFrames.load()));
    kv("gaps", gapList(w.gaps));
    kv("xruns", std::int64_t(c.xruns.load()));
    kv("disk_errors", std::int64_t(w.diskErrors));
    kv("last_error", w.lastError);
    kv("free_bytes", freeBytes);
    // Time left at the current take's rate (idle: the configured format's); for FLAC and
    // Ogg measured once the file holds a second, before that from the uncompressed size.
    kv("seconds_left", w.bytesPerSecond && freeBytes >= 0 ? double(freeBytes) / double(w.bytesPerSecond) : -1.0);
    kv("seconds_left_measured", w.bytesPerSecondMeasured);
    kv("preroll", config_.prerollSeconds);
    const std::vector<float> peaks = writer_.takePeaks();
    for (std::size_t i = 0; i < peaks.size(); ++i)
        kv(("peak_" + std::to_string(i + 1)).c_str(), peaks[i]);
    // Per input: the ports connected to it now ("none": it records silence), the port it
    // waits for when that is none, and the frames of the current or last take during which
    // it had none (only where there were any, so that 1024 inputs still fit a datagram).
    const std::vector<std::vector<std::string>> connected = capture_.connections();
    const std::vector<std::string> bound = capture_.boundSources();
    std::int64_t without = 0, noSourceTotal = 0;
    for (std::size_t i = 0; i < connected.size(); ++i) {
        std::string names;
        for (const std::string &p : connected[i])
            names += (names.empty() ? "" : ",") + p;
        without += names.empty();
        kv(("source_" + std::to_string(i + 1)).c_str(), names.empty() ? std::string("none") : names);
        if (names.empty())
            kv(("waiting_for_" + std::to_string(i + 1)).c_str(),
               bound[i].empty() ? std::string("a new port matching --port") : bound[i]);
    }
    for (std::size_t i = 0; i < w.noSourceFrames.size(); ++i)
        if (w.noSourceFrames[i]) {
            kv(("no_source_frames_" + std::to_string(i + 1)).c_str(), std::int64_t(w.noSourceFrames[i]));
            noSourceTotal += std::int64_t(w.noSourceFrames[i]);
        }
    kv("inputs_without_source", without);
    kv("no_source_frames", noSourceTotal);
    server_->reply(msg, "/record/status.reply", a);
}

void RecorderSurface::tick()
{
    capture_.reconnect();
    shareBindings();
    while (auto e = writer_.pollEvent()) {
        updateFeeding();
        const TakeSummary &s = e->summary;
        logGaps(s, capture_.sampleRate());
        service::status(e->kind == WriterEvent::Kind::DiskError ? "disk error: " + s.error
                                                                 : "idle; last take " + s.path.string());
        if (starterUrl_.empty() || !server_)
            continue;
        if (e->kind == WriterEvent::Kind::DiskError)
            server_->sendTo(starterUrl_, "/fail", {std::string("/record/start"), s.error, s.path.string()});
        else
            server_->sendTo(starterUrl_, "/done",
                            {std::string("/record/stop"), s.path.string(), std::int64_t(s.frames),
                             std::int64_t(s.lostFrames), std::int32_t(capture_.counters().xruns.load())});
    }
}

void RecorderSurface::finish(bool drainAll)
{
    if (!recording())
        return;
    auto summary = drainAll ? writer_.end(std::nullopt, 1000) : writer_.end(capture_.nowFrame());
    if (summary) {
        log::info("finalized ", summary->path.string(), ": ", summary->frames, " frames, ", summary->lostFrames,
                  " lost");
        logGaps(*summary, capture_.sampleRate());
        // The one who started the take hears that it ended, as after a duration limit.
        if (!starterUrl_.empty() && server_ && !summary->error.empty())
            server_->sendTo(starterUrl_, "/fail", {std::string("/record/start"), summary->error, summary->path.string()});
        else if (!starterUrl_.empty() && server_)
            server_->sendTo(starterUrl_, "/done",
                            {std::string("/record/stop"), summary->path.string(), std::int64_t(summary->frames),
                             std::int64_t(summary->lostFrames), std::int32_t(capture_.counters().xruns.load())});
    }
    updateFeeding();
}

} // namespace chronus::rec
