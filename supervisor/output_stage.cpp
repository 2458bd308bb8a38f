#include "supervisor/output_stage.hpp"

#include "common/jack_time.hpp"
#include "common/log.hpp"

#include <jack/metadata.h>
#include <jack/uuid.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace chronus::supervisor {

using shm::kNoBlock;

Expected<std::unique_ptr<OutputStage>> OutputStage::open(const OutputOptions &options)
{
    std::unique_ptr<OutputStage> o(new OutputStage);
    o->options_ = options;
    auto jack = JackClient::open(options.clientName, options.jackServer);
    if (!jack)
        return fail(jack.error());
    o->jack_ = std::move(*jack);
    jack_client_t *client = o->jack_->get();
    o->client_ = client;
    o->period_ = jack_get_buffer_size(client);
    o->rate_ = jack_get_sample_rate(client);
    const std::uint32_t n = options.channels;
    for (std::uint32_t c = 0; c < n; ++c) {
        const std::string name = n == 2 ? (c == 0 ? "out_L" : "out_R") : "out_" + std::to_string(c + 1);
        jack_port_t *p = jack_port_register(client, name.c_str(), JACK_DEFAULT_AUDIO_TYPE,
                                            JackPortIsOutput | JackPortIsTerminal, 0);
        if (!p)
            return fail("cannot register JACK port " + options.clientName + ":" + name);
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
    o->lastSample_.assign(n, 0.0f);
    o->scratch_.assign(std::size_t{n} * o->period_, 0.0f);
    jack_set_process_callback(client, &OutputStage::processThunk, o.get());
    jack_set_buffer_size_callback(client, &OutputStage::bufferSizeThunk, o.get());
    jack_set_sample_rate_callback(client, &OutputStage::sampleRateThunk, o.get());
    jack_set_xrun_callback(client, &OutputStage::xrunThunk, o.get());
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
        return fail("cannot activate JACK client '" + options_.clientName + "'");
    return {};
}

void OutputStage::autoConnect()
{
    const char **playback =
        jack_get_ports(jack_->get(), nullptr, JACK_DEFAULT_AUDIO_TYPE, JackPortIsPhysical | JackPortIsInput);
    if (!playback)
        return;
    for (std::size_t c = 0; c < ports_.size() && playback[c]; ++c)
        jack_connect(jack_->get(), jack_port_name(ports_[c]), playback[c]);
    jack_free(playback);
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

void OutputStage::latencyThunk(jack_latency_callback_mode_t mode, void *arg)
{
    // The output leaves the workers L periods after they rendered it: report that as the
    // ports' capture latency (we have no inputs, so playback latency has nothing to add).
    auto *self = static_cast<OutputStage *>(arg);
    if (mode != JackCaptureLatency)
        return;
    jack_latency_range_t range;
    range.min = range.max = self->options_.lookahead * jack_get_buffer_size(self->client_);
    for (jack_port_t *p : self->ports_)
        jack_port_set_latency_range(p, JackCaptureLatency, &range);
}

std::uint64_t OutputStage::frameAtJackTime(std::uint64_t jackUsecs) const noexcept
{
    std::uint64_t frame, usecs;
    float periodUsecs;
    for (;;) {
        const std::uint32_t seq = timesSeq_.load(std::memory_order_acquire);
        if (seq & 1u)
            continue;
        frame = timesFrame_.load(std::memory_order_relaxed);
        usecs = timesUsecs_.load(std::memory_order_relaxed);
        periodUsecs = timesPeriodUsecs_.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (timesSeq_.load(std::memory_order_relaxed) == seq)
            break;
    }
    if (periodUsecs <= 0 || cycleFrame() == kNoBlock)
        return kNoBlock;
    const double delta = (double(std::int64_t(jackUsecs - usecs))) * period_ / periodUsecs;
    const double f = double(frame) + delta;
    return f <= 0 ? 0 : static_cast<std::uint64_t>(std::llround(f));
}

void OutputStage::push(RtEvent::Type type, std::uint32_t slot, std::uint64_t frame, std::uint64_t value,
                       std::uint32_t other) noexcept
{
    const RtEvent e{type, static_cast<std::uint8_t>(slot), static_cast<std::uint8_t>(other), frame, value};
    if (!events_.tryPush(e))
        counters_.eventsDropped.fetch_add(1, std::memory_order_relaxed);
}

void OutputStage::fadeOut(float *const *out, std::uint32_t frames) noexcept
{
    // No block from anyone: ramp from the last sample we played to silence, so the gap is
    // a short fade instead of a click.
    const std::uint32_t ramp = std::min<std::uint32_t>(64, frames);
    for (std::uint32_t c = 0; c < ports_.size(); ++c) {
        const float from = lastSample_[c];
        for (std::uint32_t i = 0; i < frames; ++i)
            out[c][i] = i < ramp ? from * float(ramp - i) / float(ramp + 1) : 0.0f;
    }
}

int OutputStage::process(jack_nframes_t frames) noexcept
{
    jack_client_t *client = client_;
    shm::Header &header = segment_->header();
    const std::uint32_t channels = static_cast<std::uint32_t>(ports_.size());

    jack_nframes_t frame32 = 0;
    jack_time_t now = 0, next = 0;
    float periodUsecs = 0;
    jack_get_cycle_times(client, &frame32, &now, &next, &periodUsecs);
    if (!started_) {
        // Timeline frame 0 is this cycle.
        lastAbs_ = frame32;
        header.originAbs = lastAbs_;
        started_ = true;
    } else {
        const std::uint64_t abs = extendFrame(lastAbs_, frame32);
        // JACK did not run us for a cycle (a server-side xrun): count the frames we missed.
        if (abs > lastAbs_ + lastFrames_)
            counters_.skippedFrames.fetch_add(abs - lastAbs_ - lastFrames_, std::memory_order_relaxed);
        lastAbs_ = abs;
    }
    lastFrames_ = frames;
    header.cycleAbs.store(lastAbs_, std::memory_order_release);
    const std::uint64_t F = lastAbs_ - header.originAbs;
    cycleFrame_.store(F, std::memory_order_release);
    timesSeq_.fetch_add(1, std::memory_order_acq_rel);
    timesFrame_.store(F, std::memory_order_relaxed);
    timesUsecs_.store(now, std::memory_order_relaxed);
    timesPeriodUsecs_.store(periodUsecs, std::memory_order_relaxed);
    timesSeq_.fetch_add(1, std::memory_order_release);
    counters_.cycles.fetch_add(1, std::memory_order_relaxed);
    header.supervisorHeartbeat.fetch_add(1, std::memory_order_relaxed);

    float *out[16];
    for (std::uint32_t c = 0; c < channels; ++c)
        out[c] = static_cast<float *>(jack_port_get_buffer(ports_[c], frames));
    if (frames != period_) {
        for (std::uint32_t c = 0; c < channels; ++c)
            std::memset(out[c], 0, sizeof(float) * frames);
        formatChanged_.store(true, std::memory_order_release);
        return 0;
    }

    Role role[shm::kSlots];
    for (std::uint32_t s = 0; s < shm::kSlots; ++s) {
        role[s] = role_[s].load(std::memory_order_acquire);
        if (role[s] != lastRole_[s]) {
            // A new role is a new worker (or a newly trusted one): forget old suspicion.
            suspect_[s] = false;
            matches_[s] = 0;
            lastRole_[s] = role[s];
        }
    }

    using T = RtEvent::Type;
    auto failureOf = [](const shm::BlockRead &r) {
        return !r.present ? T::Missing : r.nonFinite ? T::NonFinite : T::Corrupt;
    };
    auto good = [](const shm::BlockRead &r) { return r.present && r.hashOk && !r.nonFinite; };

    int act = active_.load(std::memory_order_relaxed);
    shm::BlockRead ra{};
    bool okA = false;
    if (act < 0) {
        // Nobody active (start-up, or after a cycle where no slot had a block): adopt a
        // verified slot with a good block, preferring one we have no doubt about.
        for (int pass = 0; pass < 2 && act < 0; ++pass) {
            for (std::uint32_t s = 0; s < shm::kSlots && act < 0; ++s) {
                if (role[s] != Role::Verified || (pass == 0 && suspect_[s]))
                    continue;
                ra = shm::readBlock(slots_[s], F, out);
                if (good(ra)) {
                    act = static_cast<int>(s);
                    okA = true;
                    suspect_[s] = false;
                    matches_[s] = 0;
                    active_.store(act, std::memory_order_release);
                }
            }
        }
    } else if ((role[act] == Role::Verified || role[act] == Role::Syncing) && !suspect_[act]) {
        // Syncing only after a double failure made an unverified slot the last one standing.
        ra = shm::readBlock(slots_[act], F, out);
        okA = good(ra);
    }

    const int oth = act >= 0 ? 1 - act : -1;
    shm::BlockRead rb{};
    bool okB = false;
    if (oth >= 0 && (role[oth] == Role::Syncing || role[oth] == Role::Verified)) {
        rb = shm::readBlock(slots_[oth], F, nullptr);
        okB = good(rb);
        // A syncing slot may still be catching up: a missing block only restarts its count.
        if (!okB && !suspect_[oth] && (role[oth] == Role::Verified || rb.present)) {
            suspect_[oth] = true;
            push(failureOf(rb), static_cast<std::uint32_t>(oth), F);
        }
        if (!okB)
            matches_[oth] = 0;
    }

    if (act >= 0 && !okA) {
        // The active slot failed in this cycle: play the other slot's block for the same frame.
        T reason = T::Missing;
        if (role[act] != Role::Dead && role[act] != Role::Starting && !suspect_[act]) {
            reason = failureOf(ra);
            suspect_[act] = true;
            matches_[act] = 0;
            push(reason, static_cast<std::uint32_t>(act), F);
        }
        bool switched = false;
        if (okB) {
            // A doubted or unverified slot is still better than silence.
            const shm::BlockRead again = shm::readBlock(slots_[oth], F, out);
            if (good(again) && again.hash == rb.hash) {
                switched = true;
                active_.store(oth, std::memory_order_release);
                counters_.failovers.fetch_add(1, std::memory_order_relaxed);
                counters_.lastFailoverFrame.store(F, std::memory_order_relaxed);
                if (role[oth] != Role::Verified || suspect_[oth])
                    counters_.unverifiedCycles.fetch_add(1, std::memory_order_relaxed);
                suspect_[oth] = false;
                push(T::Failover, static_cast<std::uint32_t>(act), F, static_cast<std::uint64_t>(reason),
                     static_cast<std::uint32_t>(oth));
            }
        }
        if (!switched) {
            fadeOut(out, frames);
            counters_.gaps.fetch_add(1, std::memory_order_relaxed);
            if (!inGap_)
                push(T::Gap, static_cast<std::uint32_t>(act), F);
            active_.store(-1, std::memory_order_release); // adopt whoever has the next block
        }
        inGap_ = !switched;
    } else if (act >= 0 && okB) {
        const bool equal = rb.hash == ra.hash;
        if (role[oth] == Role::Verified && !suspect_[oth]) {
            if (!equal) {
                counters_.divergences.fetch_add(1, std::memory_order_relaxed);
                suspect_[oth] = true; // the standby is resynced from the active slot
                push(T::Divergence, static_cast<std::uint32_t>(oth), F);
            }
        } else if (equal) {
            // Syncing, or verified but doubted after a late block: K matches in a row
            // (re)establish trust.
            if (++matches_[oth] == options_.verifyBlocks) {
                if (role[oth] == Role::Syncing) {
                    push(T::Verified, static_cast<std::uint32_t>(oth), F, matches_[oth]);
                } else {
                    suspect_[oth] = false;
                    push(T::Recovered, static_cast<std::uint32_t>(oth), F, matches_[oth]);
                }
            }
        } else {
            matches_[oth] = 0;
            suspect_[oth] = true;
            push(T::SyncMismatch, static_cast<std::uint32_t>(oth), F);
        }
    } else if (act < 0) {
        fadeOut(out, frames); // nothing live yet (start-up)
    }
    if (okA)
        inGap_ = false;
    for (std::uint32_t s = 0; s < shm::kSlots; ++s)
        suspectView_[s].store(suspect_[s], std::memory_order_relaxed);
    for (std::uint32_t c = 0; c < channels; ++c)
        lastSample_[c] = out[c][frames - 1];
    return 0;
}

} // namespace chronus::supervisor
