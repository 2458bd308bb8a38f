#include "supervisor/output_stage.hpp"

#include "common/log.hpp"
#include "common/timeline_clock.hpp"

#include <jack/metadata.h>
#include <jack/midiport.h>
#include <jack/uuid.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace chronus::supervisor {

using shm::kNoBlock;

Expected<std::unique_ptr<OutputStage>> OutputStage::open(const OutputConfig &config)
{
    std::unique_ptr<OutputStage> o(new OutputStage);
    o->config_ = config;
    auto jack = JackClient::open(config.clientName, config.jackServer);
    if (!jack)
        return fail(jack.error());
    o->jack_ = std::move(*jack);
    jack_client_t *client = o->jack_->get();
    o->client_ = client;
    o->period_ = jack_get_buffer_size(client);
    o->rate_ = jack_get_sample_rate(client);
    const std::uint32_t n = config.channels;
    for (std::uint32_t c = 0; c < n; ++c) {
        const std::string name = n == 2 ? (c == 0 ? "out_L" : "out_R") : "out_" + std::to_string(c + 1);
        jack_port_t *p = jack_port_register(client, name.c_str(), JACK_DEFAULT_AUDIO_TYPE,
                                            JackPortIsOutput | JackPortIsTerminal, 0);
        if (!p)
            return fail("cannot register JACK port " + config.clientName + ":" + name);
        const jack_uuid_t uuid = jack_port_uuid(p);
        const std::string pretty =
            "Chronus " + (n == 2 ? std::string(c == 0 ? "left" : "right") : "out " + std::to_string(c + 1));
        if (!jack_uuid_empty(uuid)) {
            jack_set_property(client, uuid, JACK_METADATA_PRETTY_NAME, pretty.c_str(), "text/plain");
            jack_set_property(client, uuid, JACK_METADATA_ORDER, std::to_string(c + 1).c_str(),
                              "http://www.w3.org/2001/XMLSchema#integer");
        }
        o->ports_.push_back(p);
    }
    for (std::uint32_t c = 0; c < config.inputs; ++c) {
        const std::string name = "in_" + std::to_string(c + 1);
        jack_port_t *p = jack_port_register(client, name.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!p)
            return fail("cannot register JACK port " + config.clientName + ":" + name);
        if (const jack_uuid_t uuid = jack_port_uuid(p); !jack_uuid_empty(uuid))
            jack_set_property(client, uuid, JACK_METADATA_PRETTY_NAME, ("Chronus in " + std::to_string(c + 1)).c_str(),
                              "text/plain");
        o->inputPorts_.push_back(p);
    }
    o->inputHold_.reset(std::min<std::size_t>(config.inputs, 16), o->period_);
    o->clockPort_ = jack_port_register(client, "clock", JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
    if (!o->clockPort_)
        return fail("cannot register JACK port " + config.clientName + ":clock");
    if (const jack_uuid_t uuid = jack_port_uuid(o->clockPort_); !jack_uuid_empty(uuid))
        jack_set_property(client, uuid, JACK_METADATA_PRETTY_NAME, "Chronus timeline clock (not audio)", "text/plain");
    if (!config.masterClock.empty()) {
        o->masterClockPort_ = jack_port_register(client, "master_clock", JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!o->masterClockPort_)
            return fail("cannot register JACK port " + config.clientName + ":master_clock");
        if (const jack_uuid_t uuid = jack_port_uuid(o->masterClockPort_); !jack_uuid_empty(uuid))
            jack_set_property(client, uuid, JACK_METADATA_PRETTY_NAME, "Chronus master clock in (not audio)",
                              "text/plain");
    }
    o->midiPort_ = jack_port_register(client, "midi_in", JACK_DEFAULT_MIDI_TYPE, JackPortIsInput, 0);
    if (!o->midiPort_)
        return fail("cannot register JACK port " + config.clientName + ":midi_in");
    if (const jack_uuid_t uuid = jack_port_uuid(o->midiPort_); !jack_uuid_empty(uuid))
        jack_set_property(client, uuid, JACK_METADATA_PRETTY_NAME, "Chronus MIDI in", "text/plain");
    o->blockChannels_ = n + 2 * config.stems;
    o->stemSink_.assign(2 * std::size_t{config.stems} * o->period_, 0.0f);
    for (std::uint32_t k = 0; k < config.stems; ++k)
        o->stemTaps_.push_back(std::make_unique<TapRing>(std::size_t{1} << 17));
    o->lastSample_.assign(o->blockChannels_, 0.0f);
    o->scratch_.assign(std::size_t{o->blockChannels_} * o->period_, 0.0f);
    jack_set_process_callback(client, &OutputStage::processThunk, o.get());
    jack_set_buffer_size_callback(client, &OutputStage::bufferSizeThunk, o.get());
    jack_set_sample_rate_callback(client, &OutputStage::sampleRateThunk, o.get());
    jack_set_xrun_callback(client, &OutputStage::xrunThunk, o.get());
    jack_set_port_registration_callback(client, &OutputStage::portRegistrationThunk, o.get());
    jack_set_latency_callback(client, &OutputStage::latencyThunk, o.get());
    return o;
}

OutputStage::~OutputStage() { jack_.reset(); }

double OutputStage::sampleRate() const { return rate_; }
std::uint32_t OutputStage::periodFrames() const { return period_; }

Expected<void> OutputStage::activate(shm::Segment &segment)
{
    segment_ = &segment;
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        slots_[s] = segment.slot(s);
    if (jack_activate(jack_->get()) != 0)
        return fail("cannot activate JACK client '" + config_.clientName + "'");
    return {};
}

namespace {

// The physical playback ports, in JACK's order.
std::vector<std::string> playbackPorts(jack_client_t *client)
{
    std::vector<std::string> names;
    const char **playback = jack_get_ports(client, nullptr, JACK_DEFAULT_AUDIO_TYPE, JackPortIsPhysical | JackPortIsInput);
    if (!playback)
        return names;
    for (std::size_t i = 0; playback[i]; ++i)
        names.emplace_back(playback[i]);
    jack_free(playback);
    return names;
}

} // namespace

void OutputStage::autoConnect()
{
    jack_port_id_t drop;
    while (registered_.tryPop(drop)) {
    }
    registeredOverflow_.store(false, std::memory_order_relaxed);
    playbackSeen_ = playbackPorts(jack_->get());
    keepConnected_ = true;
    for (std::size_t c = 0; c < ports_.size() && c < playbackSeen_.size(); ++c)
        jack_connect(jack_->get(), jack_port_name(ports_[c]), playbackSeen_[c].c_str());
}

void OutputStage::keepConnected()
{
    if (!keepConnected_)
        return;
    // Which playback ports are new: those JACK registered since the last look (a port gone
    // and back between two looks is new too), or, if the queue overflowed, those not seen.
    std::vector<std::string> fresh;
    jack_port_id_t id;
    bool any = false;
    while (registered_.tryPop(id)) {
        any = true;
        if (const jack_port_t *port = jack_port_by_id(jack_->get(), id))
            fresh.emplace_back(jack_port_name(port));
    }
    const bool overflow = registeredOverflow_.exchange(false, std::memory_order_relaxed);
    if (!any && !overflow)
        return;
    std::vector<std::string> now = playbackPorts(jack_->get());
    for (std::size_t c = 0; c < ports_.size() && c < now.size(); ++c) {
        const bool appeared = std::find(fresh.begin(), fresh.end(), now[c]) != fresh.end() ||
                              (overflow && std::find(playbackSeen_.begin(), playbackSeen_.end(), now[c]) == playbackSeen_.end());
        if (!appeared)
            continue;
        const char *ours = jack_port_name(ports_[c]);
        const int r = jack_connect(jack_->get(), ours, now[c].c_str());
        if (r == 0 || r == EEXIST)
            log::info("playback port ", now[c], " appeared: connected ", ours, " to it");
        else
            log::warn("playback port ", now[c], " appeared, but connecting ", ours, " to it failed (", r, ")");
    }
    playbackSeen_ = std::move(now);
}

void OutputStage::followMasterClock()
{
    if (!masterClockPort_)
        return;
    wallMinusJack_.store(wallMinusJackMicros(), std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (now < nextMasterTry_ || masterClockConnected())
        return;
    nextMasterTry_ = now + std::chrono::milliseconds(500);
    const std::string &from = config_.masterClock;
    if (!jack_port_by_name(jack_->get(), from.c_str()))
        return;
    const int r = jack_connect(jack_->get(), from.c_str(), jack_port_name(masterClockPort_));
    if (r == 0 || r == EEXIST)
        log::info("the master clock ", from, " is connected: timetags map through the master's cycles");
    else
        log::warn("cannot connect the master clock ", from, " (", r, ")");
}

bool OutputStage::masterClockConnected() const
{
    return masterClockPort_ && jack_port_connected(masterClockPort_) > 0;
}

std::string OutputStage::setStems(const std::vector<std::string> &nodes)
{
    jack_client_t *client = jack_->get();
    std::string failed;
    std::vector<StemPorts> next;
    for (std::size_t k = 0; k < config_.stems; ++k) {
        if (k >= nodes.size()) {
            stemPorts_[2 * k].store(nullptr, std::memory_order_release);
            stemPorts_[2 * k + 1].store(nullptr, std::memory_order_release);
            continue;
        }
        auto have = std::find_if(stemNodes_.begin(), stemNodes_.end(), [&](const StemPorts &s) { return s.node == nodes[k]; });
        StemPorts ports;
        if (have != stemNodes_.end()) {
            ports = *have;
            stemNodes_.erase(have);
        } else {
            ports.node = nodes[k];
            jack_port_t *pair[2] = {};
            for (int side = 0; side < 2; ++side) {
                const std::string name = "stem_" + nodes[k] + (side == 0 ? "_L" : "_R");
                pair[side] = jack_port_register(client, name.c_str(), JACK_DEFAULT_AUDIO_TYPE,
                                                JackPortIsOutput | JackPortIsTerminal, 0);
                if (pair[side])
                    if (const jack_uuid_t uuid = jack_port_uuid(pair[side]); !jack_uuid_empty(uuid))
                        jack_set_property(client, uuid, JACK_METADATA_PRETTY_NAME,
                                          ("Chronus stem " + nodes[k] + (side == 0 ? " left" : " right")).c_str(),
                                          "text/plain");
            }
            if (!pair[0] || !pair[1]) {
                for (jack_port_t *p : pair)
                    if (p)
                        jack_port_unregister(client, p);
                failed += (failed.empty() ? "cannot register JACK ports for stem " : ", ") + nodes[k];
                pair[0] = pair[1] = nullptr;
            }
            ports.left = pair[0];
            ports.right = pair[1];
        }
        stemPorts_[2 * k].store(ports.left, std::memory_order_release);
        stemPorts_[2 * k + 1].store(ports.right, std::memory_order_release);
        next.push_back(ports);
    }
    // What is left in stemNodes_ is no stem any more: the audio thread may still hold those
    // ports this cycle, so they go after it has run two more.
    const std::uint64_t now = counters_.cycles.load(std::memory_order_acquire);
    for (const StemPorts &old : stemNodes_)
        for (jack_port_t *p : {old.left, old.right})
            if (p)
                retiredPorts_.emplace_back(p, now);
    stemNodes_ = std::move(next);
    return failed;
}

void OutputStage::releaseStemPorts()
{
    if (retiredPorts_.empty())
        return;
    const std::uint64_t now = counters_.cycles.load(std::memory_order_acquire);
    std::erase_if(retiredPorts_, [&](const std::pair<jack_port_t *, std::uint64_t> &r) {
        if (now < r.second + 2 && !serverGone())
            return false;
        if (!serverGone())
            jack_port_unregister(jack_->get(), r.first);
        return true;
    });
}

int OutputStage::processThunk(jack_nframes_t frames, void *arg)
{
    return static_cast<OutputStage *>(arg)->process(frames);
}

int OutputStage::bufferSizeThunk(jack_nframes_t frames, void *arg)
{
    auto *self = static_cast<OutputStage *>(arg);
    if (self->period_ != 0 && frames != self->period_)
        self->formatChanged_.store(true, std::memory_order_release);
    return 0;
}

int OutputStage::sampleRateThunk(jack_nframes_t rate, void *arg)
{
    auto *self = static_cast<OutputStage *>(arg);
    if (self->rate_ != 0 && rate != static_cast<jack_nframes_t>(self->rate_))
        self->formatChanged_.store(true, std::memory_order_release);
    return 0;
}

int OutputStage::xrunThunk(void *arg)
{
    static_cast<OutputStage *>(arg)->counters_.xruns.fetch_add(1, std::memory_order_relaxed);
    return 0;
}

void OutputStage::portRegistrationThunk(jack_port_id_t port, int registered, void *arg)
{
    // JACK's notification thread: no JACK calls here (jack_connect from a callback can
    // deadlock); the control loop looks at the port in keepConnected().
    auto *self = static_cast<OutputStage *>(arg);
    if (registered && !self->registered_.tryPush(port))
        self->registeredOverflow_.store(true, std::memory_order_relaxed);
}

void OutputStage::lookaheadChanged()
{
    if (jack_recompute_total_latencies(jack_->get()) != 0)
        log::warn("JACK did not recompute the latencies after the lookahead moved");
}

void OutputStage::latencyThunk(jack_latency_callback_mode_t mode, void *arg)
{
    // The output leaves the workers L periods after they rendered it (L now: --lookahead
    // auto moves it): report that as the ports' capture latency. Audio input and MIDI keep
    // the delay of the most L can be (config_.lookahead), so they never shift. A MIDI
    // message sounds midiDelayFrames() after it arrived, plus whatever lies downstream of
    // our outputs: the MIDI port's playback latency.
    auto *self = static_cast<OutputStage *>(arg);
    if (mode == JackPlaybackLatency) {
        jack_latency_range_t downstream{0, 0};
        for (jack_port_t *p : self->ports_) {
            jack_latency_range_t r;
            jack_port_get_latency_range(p, JackPlaybackLatency, &r);
            downstream.min = std::max(downstream.min, r.min);
            downstream.max = std::max(downstream.max, r.max);
        }
        const auto delay = static_cast<jack_nframes_t>(self->midiDelayFrames());
        jack_latency_range_t range{downstream.min + delay, downstream.max + delay};
        jack_port_set_latency_range(self->midiPort_, JackPlaybackLatency, &range);
        // An input sample leaves the outputs inputDelayFrames() after it came in.
        const auto inputDelay = std::uint32_t(self->config_.lookahead + 2) * jack_get_buffer_size(self->client_);
        jack_latency_range_t through{downstream.min + inputDelay, downstream.max + inputDelay};
        for (jack_port_t *p : self->inputPorts_)
            jack_port_set_latency_range(p, JackPlaybackLatency, &through);
        return;
    }
    jack_latency_range_t range;
    const std::uint32_t lookahead =
        self->segment_ ? self->segment_->header().lookahead.load(std::memory_order_acquire) : self->config_.lookahead;
    range.min = range.max = lookahead * jack_get_buffer_size(self->client_);
    // What comes in through in_N reaches the outputs (lookahead + 2) periods later.
    const auto inputDelay = std::uint32_t(self->config_.lookahead + 2) * jack_get_buffer_size(self->client_);
    for (jack_port_t *p : self->inputPorts_) {
        jack_latency_range_t upstream;
        jack_port_get_latency_range(p, JackCaptureLatency, &upstream);
        range.min = std::max(range.min, upstream.min + inputDelay);
        range.max = std::max(range.max, upstream.max + inputDelay);
    }
    for (jack_port_t *p : self->ports_)
        jack_port_set_latency_range(p, JackCaptureLatency, &range);
    for (std::uint32_t j = 0; j < 2 * self->config_.stems; ++j)
        if (jack_port_t *p = self->stemPorts_[j].load(std::memory_order_acquire))
            jack_port_set_latency_range(p, JackCaptureLatency, &range);
}

namespace {

// Runs `read` (relaxed loads of values the JACK thread publishes under `seq`, odd while it
// writes) until it read them all between two equal even values of `seq`: a consistent copy.
template <typename Read>
void readStable(const std::atomic<std::uint32_t> &seq, Read &&read) noexcept
{
    for (;;) {
        const std::uint32_t before = seq.load(std::memory_order_acquire);
        if (before & 1u)
            continue;
        read();
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq.load(std::memory_order_relaxed) == before)
            return;
    }
}

} // namespace

void OutputStage::readMasterClock(std::uint32_t frames, std::uint64_t frame, jack_time_t now) noexcept
{
    const auto master =
        timeline_clock::readMaster(static_cast<const float *>(jack_port_get_buffer(masterClockPort_, frames)), frames);
    const std::int64_t offset = wallMinusJack_.load(std::memory_order_relaxed);
    if (!master || offset == 0)
        return;
    // The anchor: the first master cycle of each window of kMasterWindow frames, the same
    // cycle for every slave of that master, with the wall-clock time the master gave it.
    const std::uint64_t window = master->frame / kMasterWindow;
    const bool anchor = window != masterWindow_;
    masterWindow_ = window;
    masterSeq_.fetch_add(1, std::memory_order_acq_rel);
    if (anchor) {
        masterPrevFrame_.store(masterAnchorFrame_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        masterPrevWall_.store(masterAnchorWall_.load(std::memory_order_relaxed), std::memory_order_relaxed);
        masterAnchorFrame_.store(master->frame, std::memory_order_relaxed);
        masterAnchorWall_.store(timeline_clock::unwrapWall(master->wallUs, std::uint64_t(std::int64_t(now) + offset)),
                                std::memory_order_relaxed);
    }
    // Our frame minus the master's, this cycle: the same as long as neither skips a cycle.
    masterOffset_.store(std::int64_t(frame) - std::int64_t(master->frame), std::memory_order_relaxed);
    masterSeq_.fetch_add(1, std::memory_order_release);
    masterCycles_.fetch_add(1, std::memory_order_relaxed);
    masterSeenAt_.store(counters_.cycles.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

std::optional<std::uint64_t> OutputStage::frameAtMasterTime(std::uint64_t jackUsecs) const noexcept
{
    if (!masterClockPort_ || masterCycles_.load(std::memory_order_relaxed) == 0)
        return std::nullopt;
    // A master clock not seen for a second (gone, or the link is): our own times again.
    const std::uint64_t cycles = counters_.cycles.load(std::memory_order_relaxed);
    if (cycles - masterSeenAt_.load(std::memory_order_relaxed) > std::uint64_t(rate_ / period_))
        return std::nullopt;
    std::uint64_t anchorFrame, anchorWall, prevFrame, prevWall;
    std::int64_t offset;
    readStable(masterSeq_, [&] {
        anchorFrame = masterAnchorFrame_.load(std::memory_order_relaxed);
        anchorWall = masterAnchorWall_.load(std::memory_order_relaxed);
        prevFrame = masterPrevFrame_.load(std::memory_order_relaxed);
        prevWall = masterPrevWall_.load(std::memory_order_relaxed);
        offset = masterOffset_.load(std::memory_order_relaxed);
    });
    // Slaves read one bundle a few milliseconds apart: an anchor younger than kAnchorSettle
    // may be one that another slave had not yet seen, so the one before it is used then.
    const std::int64_t masterNow = std::int64_t(cycleFrame()) - offset;
    if (masterNow - std::int64_t(anchorFrame) < std::int64_t(kAnchorSettle * rate_) && prevWall != 0) {
        anchorFrame = prevFrame;
        anchorWall = prevWall;
    }
    if (anchorWall == 0)
        return std::nullopt;
    // The timetag's wall-clock time as a master frame (at the nominal rate from the anchor),
    // then as ours.
    const double wall = double(std::int64_t(jackUsecs) + wallMinusJack_.load(std::memory_order_relaxed));
    const double masterFrame = double(anchorFrame) + (wall - double(anchorWall)) * rate_ / 1e6;
    const double f = masterFrame + double(offset);
    return f <= 0 ? 0 : static_cast<std::uint64_t>(std::llround(f));
}

std::uint64_t OutputStage::frameAtJackTime(std::uint64_t jackUsecs) const noexcept
{
    if (const auto viaMaster = frameAtMasterTime(jackUsecs); viaMaster && cycleFrame() != kNoBlock)
        return *viaMaster;
    std::uint64_t frame, usecs;
    float periodUsecs;
    readStable(timesSeq_, [&] {
        frame = timesFrame_.load(std::memory_order_relaxed);
        usecs = timesUsecs_.load(std::memory_order_relaxed);
        periodUsecs = timesPeriodUsecs_.load(std::memory_order_relaxed);
    });
    if (periodUsecs <= 0 || cycleFrame() == kNoBlock)
        return kNoBlock;
    const double delta = (double(std::int64_t(jackUsecs - usecs))) * period_ / periodUsecs;
    const double f = double(frame) + delta;
    return f <= 0 ? 0 : static_cast<std::uint64_t>(std::llround(f));
}

void OutputStage::push(const RtEvent &e) noexcept
{
    if (!events_.tryPush(e))
        counters_.eventsDropped.fetch_add(1, std::memory_order_relaxed);
}

void OutputStage::fadeOut(float *const *out, std::uint32_t frames) noexcept
{
    // No block from anyone: ramp from the last sample we played to silence, so the gap is
    // a short fade instead of a click.
    const std::uint32_t ramp = std::min<std::uint32_t>(64, frames);
    for (std::uint32_t c = 0; c < blockChannels_; ++c) {
        const float from = lastSample_[c];
        for (std::uint32_t i = 0; i < frames; ++i)
            out[c][i] = i < ramp ? from * float(ramp - i) / float(ramp + 1) : 0.0f;
    }
}

std::uint64_t OutputStage::advanceClock(std::uint32_t frames) noexcept
{
    shm::Header &header = segment_->header();
    jack_nframes_t frame32 = 0;
    jack_time_t now = 0, next = 0;
    float periodUsecs = 0;
    jack_get_cycle_times(client_, &frame32, &now, &next, &periodUsecs);
    cycleFrame32_ = frame32;
    const std::uint64_t reading = clock_.started() ? extendFrame(clock_.label(), frame32) : frame32;
    const CycleClock::Cycle cycle = clock_.next(reading, frames);
    clockStep_ = cycle.step;
    switch (cycle.step) {
    case CycleClock::Step::First:
        // Timeline frame 0 is this cycle.
        header.originAbs = cycle.frame;
        break;
    case CycleClock::Step::Restart: // the server's clock cannot restart under a running client
        break;
    case CycleClock::Step::Skipped:
        // JACK did not run us for a cycle (a server-side xrun): count the frames we missed.
        counters_.skippedFrames.fetch_add(cycle.skippedFrames, std::memory_order_relaxed);
        push({RtEvent::Type::Jumped, 0, 0, cycle.frame - header.originAbs, 0});
        break;
    case CycleClock::Step::Stale:
    case CycleClock::Step::Lagging:
        counters_.misreadCycles.fetch_add(1, std::memory_order_relaxed);
        break;
    case CycleClock::Step::Repeated:
        // The previous cycle read this cycle's time ahead and played this block early: the
        // block before it was never played. Declared, so a comparison can account for it.
        counters_.misreadCycles.fetch_add(1, std::memory_order_relaxed);
        counters_.misplayedBlocks.fetch_add(1, std::memory_order_relaxed);
        push({RtEvent::Type::Misplayed, 0, 0, cycle.frame - frames - header.originAbs, 0});
        break;
    case CycleClock::Step::Normal: break;
    }
    header.cycleAbs.store(cycle.frame, std::memory_order_release);
    const std::uint64_t frame = cycle.frame - header.originAbs;
    cycleFrame_.store(frame, std::memory_order_release);
    // With a master clock, timetags map through the master's cycles (frameAtJackTime()).
    if (masterClockPort_)
        readMasterClock(frames, frame, now);
    // Timetags map through the times JACK gave with the reading (not the label).
    timesSeq_.fetch_add(1, std::memory_order_acq_rel);
    timesFrame_.store(reading - header.originAbs, std::memory_order_relaxed);
    timesUsecs_.store(now, std::memory_order_relaxed);
    timesPeriodUsecs_.store(periodUsecs, std::memory_order_relaxed);
    timesSeq_.fetch_add(1, std::memory_order_release);
    counters_.cycles.fetch_add(1, std::memory_order_relaxed);
    header.supervisorHeartbeat.fetch_add(1, std::memory_order_relaxed);
    return frame;
}

std::array<SlotState, shm::kSlots> OutputStage::readStates() noexcept
{
    std::array<SlotState, shm::kSlots> states{};
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        states[s] = state_[s].load(std::memory_order_acquire);
    observeStates(failover_, states);
    return states;
}

BlockState OutputStage::readSlot(std::uint32_t slot, std::uint64_t frame, float *const *copyTo,
                                 std::uint64_t &hash) noexcept
{
    const shm::BlockRead r = shm::readBlock(slots_[slot], frame, copyTo);
    hash = r.hash;
    if (!r.present)
        return BlockState::Missing;
    if (r.nonFinite)
        return BlockState::NonFinite;
    return r.hashOk ? BlockState::Good : BlockState::Corrupt;
}

void OutputStage::measureMargin(const std::array<SlotState, shm::kSlots> &states, std::uint64_t frame) noexcept
{
    // No slot played yet (starting up, or both lost): the first blocks of a worker that
    // joins are missing by design, which is no margin to measure.
    if (failover_.active < 0)
        return;
    // Only stamps: a block a worker has begun to rewrite counts as not ready, which is right.
    const std::uint32_t lookahead = segment_->header().lookahead.load(std::memory_order_relaxed);
    std::uint32_t best = 0;
    bool publishing = false;
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        if (states[s] != SlotState::Verified && states[s] != SlotState::Verifying)
            continue;
        publishing = true;
        std::uint32_t ready = 0;
        for (std::uint64_t f = frame; ready <= lookahead; f += period_, ++ready)
            if (slots_[s].block(f).stamp.load(std::memory_order_acquire) != f)
                break;
        best = std::max(best, ready);
    }
    if (!publishing)
        return;
    const std::size_t bucket = std::min<std::size_t>(best, OutputCounters::kReadyBuckets - 1);
    counters_.readyCycles[bucket].fetch_add(1, std::memory_order_relaxed);
}

void OutputStage::adoptSlot(const std::array<SlotState, shm::kSlots> &states, std::uint64_t frame, float *const *out,
                            FailoverInput &input, std::uint64_t &activeHash) noexcept
{
    std::array<std::uint32_t, 2 * shm::kSlots> order{};
    const std::uint32_t n = adoptionOrder(failover_, states, order);
    for (std::uint32_t i = 0; i < n; ++i) {
        if (readSlot(order[i], frame, out, activeHash) == BlockState::Good) {
            adopt(failover_, order[i]);
            input.activeBlock = BlockState::Good;
            return;
        }
    }
}

void OutputStage::carryOut(const FailoverDecision &d, float *const *out, std::uint32_t frames) noexcept
{
    const std::uint32_t channels = blockChannels_;
    switch (d.output) {
    case FailoverDecision::Output::Active: break; // read into `out` already
    case FailoverDecision::Output::Standby:
        for (std::uint32_t c = 0; c < channels; ++c)
            std::memcpy(out[c], scratch_.data() + std::size_t{c} * frames, sizeof(float) * frames);
        break;
    case FailoverDecision::Output::Fade: fadeOut(out, frames); break;
    }
    if (d.failover) {
        counters_.failovers.fetch_add(1, std::memory_order_relaxed);
        counters_.lastFailoverFrame.store(d.events[d.eventCount - 1].frame, std::memory_order_relaxed);
    }
    if (d.unverifiedCycle)
        counters_.unverifiedCycles.fetch_add(1, std::memory_order_relaxed);
    if (d.divergence)
        counters_.divergences.fetch_add(1, std::memory_order_relaxed);
    if (d.gap)
        counters_.gaps.fetch_add(1, std::memory_order_relaxed);
    for (std::uint8_t i = 0; i < d.eventCount; ++i)
        push(d.events[i]);
    active_.store(failover_.active, std::memory_order_release);
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        suspectView_[s].store(failover_.suspect[s], std::memory_order_relaxed);
    for (std::uint32_t c = 0; c < channels; ++c)
        lastSample_[c] = out[c][frames - 1];
    tap_.write(out[0], out[ports_.size() > 1 ? 1 : 0], frames);
    for (std::size_t k = 0; k < stemTaps_.size(); ++k)
        stemTaps_[k]->write(out[ports_.size() + 2 * k], out[ports_.size() + 2 * k + 1], frames);
}

void OutputStage::readMidi(std::uint64_t frame, std::uint32_t frames) noexcept
{
    void *buffer = jack_port_get_buffer(midiPort_, frames);
    const std::uint32_t count = jack_midi_get_event_count(buffer);
    for (std::uint32_t i = 0; i < count; ++i) {
        jack_midi_event_t e;
        if (jack_midi_event_get(&e, buffer, i) != 0 || e.size == 0) {
            counters_.midiIgnored.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        MidiMessage m;
        m.frame = frame + e.time;
        std::size_t at = 0;
        if (e.buffer[0] >= 0xF0) { // SysEx and system messages: nothing to play
            if (e.buffer[0] < 0xF8)
                runningStatus_ = 0; // system common cancels running status; real-time does not
            counters_.midiIgnored.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (e.buffer[0] & 0x80) {
            runningStatus_ = e.buffer[0];
            at = 1;
        } else if (runningStatus_ == 0) { // data bytes with no status to go with
            counters_.midiIgnored.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        const std::uint8_t status = runningStatus_ & 0xF0;
        const std::size_t data = status == 0xC0 || status == 0xD0 ? 1 : 2;
        m.bytes[0] = runningStatus_;
        // Several messages in one event under running status: each one on its own.
        while (at + data <= e.size) {
            std::memcpy(m.bytes + 1, e.buffer + at, data);
            m.size = static_cast<std::uint8_t>(1 + data);
            at += data;
            if (!midi_.tryPush(m))
                counters_.midiDropped.fetch_add(1, std::memory_order_relaxed);
            else
                counters_.midiMessages.fetch_add(1, std::memory_order_relaxed);
        }
        if (at < e.size)
            counters_.midiIgnored.fetch_add(1, std::memory_order_relaxed);
    }
}

void OutputStage::publishInputs(std::uint64_t frame, std::uint32_t frames) noexcept
{
    if (inputPorts_.empty() || frames != period_)
        return;
    // Labels only move forward, except that a callback repeats the previous cycle's label when
    // that one read this cycle's time early (CycleClock::Step::Repeated): it owns the label,
    // and the earlier copy is put where it belongs (input_hold.hpp). Nobody has read either
    // yet: inputs are read (lookahead + 2) periods after they are captured.
    const std::uint64_t engineFrame = frame + shm::inputDelayFrames(segment_->geometry());
    if (lastInputFrame_ != shm::kNoBlock && engineFrame < lastInputFrame_)
        return;
    if (engineFrame == lastInputFrame_ && clockStep_ != CycleClock::Step::Repeated)
        return;
    lastInputFrame_ = engineFrame;
    const std::size_t channels = std::min<std::size_t>(inputPorts_.size(), 16);
    for (std::size_t c = 0; c < channels; ++c)
        std::memcpy(inputHold_.copyTarget(c), jack_port_get_buffer(inputPorts_[c], frames), sizeof(float) * frames);
    // JACK began the next cycle while we copied: the upstream client may have written it into
    // the buffers we read (input_hold.hpp).
    const bool torn = jack_last_frame_time(client_) != cycleFrame32_;
    const bool jumped = clockStep_ == CycleClock::Step::Skipped;
    inputHold_.offer(engineFrame, torn, jumped, [this](std::uint64_t at, const float *const *in) {
        static const float *const silence[16] = {};
        shm::publishInput(*segment_, at, in ? in : silence);
    });
    counters_.inputTornCycles.store(inputHold_.tornCycles(), std::memory_order_relaxed);
    counters_.inputDoubtfulFrames.store(inputHold_.doubtfulFrames(), std::memory_order_relaxed);
    counters_.inputMovedCycles.store(inputHold_.movedCycles(), std::memory_order_relaxed);
}

void OutputStage::readTransport(std::uint64_t frame) noexcept
{
    jack_position_t pos;
    const jack_transport_state_t state = jack_transport_query(client_, &pos);
    const bool bbt = (pos.valid & JackPositionBBT) != 0;
    transportSeq_.fetch_add(1, std::memory_order_acq_rel);
    tpRolling_.store(state == JackTransportRolling, std::memory_order_relaxed);
    tpBbt_.store(bbt, std::memory_order_relaxed);
    if (bbt) {
        tpBpm_.store(pos.beats_per_minute, std::memory_order_relaxed);
        tpBeats_.store(int(std::lround(pos.beats_per_bar)), std::memory_order_relaxed);
        tpType_.store(int(std::lround(pos.beat_type)), std::memory_order_relaxed);
        const double beat = (pos.beat - 1) + (pos.ticks_per_beat > 0 ? pos.tick / pos.ticks_per_beat : 0.0);
        tpBar_.store(pos.bar + (pos.beats_per_bar > 0 ? beat / pos.beats_per_bar : 0.0), std::memory_order_relaxed);
    }
    tpFrame_.store(frame, std::memory_order_relaxed);
    tpValid_.store(true, std::memory_order_relaxed);
    transportSeq_.fetch_add(1, std::memory_order_release);
}

JackTransportView OutputStage::jackTransport() const noexcept
{
    JackTransportView v;
    for (;;) {
        const std::uint32_t seq = transportSeq_.load(std::memory_order_acquire);
        if (seq & 1u)
            continue;
        v.valid = tpValid_.load(std::memory_order_relaxed);
        v.rolling = tpRolling_.load(std::memory_order_relaxed);
        v.bbt = tpBbt_.load(std::memory_order_relaxed);
        v.bpm = tpBpm_.load(std::memory_order_relaxed);
        v.beatsPerBar = tpBeats_.load(std::memory_order_relaxed);
        v.beatType = tpType_.load(std::memory_order_relaxed);
        v.bar = tpBar_.load(std::memory_order_relaxed);
        v.frame = tpFrame_.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (transportSeq_.load(std::memory_order_relaxed) == seq)
            return v;
    }
}

bool OutputStage::becomeTimebaseMaster()
{
    return jack_set_timebase_callback(jack_->get(), 0, &OutputStage::timebaseThunk, this) == 0;
}

void OutputStage::timebaseThunk(jack_transport_state_t, jack_nframes_t, jack_position_t *pos, int, void *arg)
{
    // Bars, beats and ticks of JACK's transport frame at our tempo and meter.
    auto *self = static_cast<OutputStage *>(arg);
    const double bpm = self->leadBpm_.load(std::memory_order_relaxed);
    const int beats = self->leadBeats_.load(std::memory_order_relaxed);
    const int unit = self->leadUnit_.load(std::memory_order_relaxed);
    constexpr double kTicksPerBeat = 1920.0;
    const double framesPerBeat = 60.0 * pos->frame_rate / bpm * 4.0 / unit;
    const double beatsDone = double(pos->frame) / framesPerBeat;
    const auto wholeBeats = static_cast<std::int64_t>(beatsDone);
    pos->valid = JackPositionBBT;
    pos->beats_per_bar = float(beats);
    pos->beat_type = float(unit);
    pos->ticks_per_beat = kTicksPerBeat;
    pos->beats_per_minute = bpm;
    pos->bar = std::int32_t(wholeBeats / beats + 1);
    pos->beat = std::int32_t(wholeBeats % beats + 1);
    pos->tick = std::int32_t((beatsDone - double(wholeBeats)) * kTicksPerBeat);
    pos->bar_start_tick = double(pos->bar - 1) * beats * kTicksPerBeat;
}

int OutputStage::process(jack_nframes_t frames) noexcept
{
    const std::uint32_t channels = static_cast<std::uint32_t>(ports_.size());
    const std::uint64_t frame = advanceClock(frames);
    // The clock is opened before the audio is written and closed with this block's frame
    // after (common/timeline_clock.hpp).
    float *clock = static_cast<float *>(jack_port_get_buffer(clockPort_, frames));
    timeline_clock::open(clock, frames);
    readMidi(frame, frames);
    publishInputs(frame, frames);
    readTransport(frame);
    float *out[shm::kMaxChannels];
    for (std::uint32_t c = 0; c < channels; ++c)
        out[c] = static_cast<float *>(jack_port_get_buffer(ports_[c], frames));
    for (std::uint32_t j = 0; j < 2 * config_.stems; ++j) {
        jack_port_t *p = stemPorts_[j].load(std::memory_order_acquire);
        out[channels + j] = p ? static_cast<float *>(jack_port_get_buffer(p, frames))
                              : stemSink_.data() + std::size_t{j} * period_;
    }
    if (frames != period_) {
        for (std::uint32_t c = 0; c < channels; ++c)
            std::memset(out[c], 0, sizeof(float) * frames);
        for (std::uint32_t j = 0; j < 2 * config_.stems; ++j)
            if (jack_port_t *p = stemPorts_[j].load(std::memory_order_acquire))
                std::memset(jack_port_get_buffer(p, frames), 0, sizeof(float) * frames);
        formatChanged_.store(true, std::memory_order_release);
        return 0;
    }

    FailoverInput input;
    input.states = readStates();
    measureMargin(input.states, frame);
    std::uint64_t activeHash = 0, standbyHash = 0;
    if (failover_.active < 0)
        adoptSlot(input.states, frame, out, input, activeHash);
    else if (readsActive(failover_, input.states))
        input.activeBlock = readSlot(std::uint32_t(failover_.active), frame, out, activeHash);
    if (readsStandby(failover_, input.states)) {
        // Into scratch, as a copy we may play: its hash is the hash of what we would play.
        float *standby[shm::kMaxChannels];
        for (std::uint32_t c = 0; c < blockChannels_; ++c)
            standby[c] = scratch_.data() + std::size_t{c} * frames;
        input.standbyBlock = readSlot(std::uint32_t(1 - failover_.active), frame, standby, standbyHash);
        input.blocksEqual = input.activeBlock == BlockState::Good && input.standbyBlock == BlockState::Good &&
                            activeHash == standbyHash;
    }
    carryOut(decide(failover_, input, frame, config_.verifyBlocks), out, frames);
    timeline_clock::close(clock, frames, frame);
    return 0;
}

} // namespace chronus::supervisor
