#include "synth-worker/worker/worker.hpp"

#include "common/jack_time.hpp"
#include "common/log.hpp"
#include "synth-worker/engine/patch.hpp"

#include <jack/metadata.h>
#include <jack/uuid.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include <unistd.h>

namespace chronus::worker {

using shm::kNoBlock;
using shm::WorkerState;

namespace {

void setPrettyName(jack_client_t *client, jack_port_t *port, const std::string &name)
{
    const jack_uuid_t uuid = jack_port_uuid(port);
    if (!jack_uuid_empty(uuid))
        jack_set_property(client, uuid, JACK_METADATA_PRETTY_NAME, name.c_str(), "text/plain");
}

} // namespace

Expected<std::unique_ptr<Worker>> Worker::create(const WorkerConfig &config, shm::Segment &segment)
{
    std::unique_ptr<Worker> w(new Worker);
    w->config_ = config;
    w->segment_ = &segment;
    w->geometry_ = segment.geometry();
    if (config.slot >= shm::kSlots)
        return fail("--slot must be 0 or 1");
    w->slot_ = segment.slot(config.slot);

    const std::string name =
        config.clientName.empty() ? "chronus-worker-" + std::to_string(config.slot) : config.clientName;
    auto jack = JackClient::open(name, config.jackServer);
    // The worker we replace may have been killed a moment ago: JACK drops its client (and
    // frees the name) when it notices the closed socket. Wait for that, briefly.
    for (int i = 0; i < 200 && !jack && jack.error().find("already exists") != std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        jack = JackClient::open(name, config.jackServer);
    }
    if (!jack)
        return fail(jack.error());
    w->jack_ = std::move(*jack);
    jack_client_t *client = w->jack_->get();
    w->client_ = client;
    if (jack_get_sample_rate(client) != static_cast<jack_nframes_t>(w->geometry_.sampleRate))
        return fail(log::cat("JACK runs at ", jack_get_sample_rate(client), " Hz but the supervisor set up ",
                             w->geometry_.sampleRate, " Hz"));
    if (jack_get_buffer_size(client) != w->geometry_.periodFrames)
        return fail(log::cat("JACK period is ", jack_get_buffer_size(client), " frames but the supervisor set up ",
                             w->geometry_.periodFrames));

    const std::uint32_t channels = w->geometry_.channels;
    for (std::uint32_t c = 0; c < channels; ++c) {
        const std::string port = channels == 2 ? (c == 0 ? "out_L" : "out_R") : "out_" + std::to_string(c + 1);
        jack_port_t *p = jack_port_register(client, port.c_str(), JACK_DEFAULT_AUDIO_TYPE, JackPortIsOutput, 0);
        if (!p)
            return fail("cannot register JACK port " + name + ":" + port);
        setPrettyName(client, p,
                      log::cat("Chronus worker ", config.slot, " ",
                               channels == 2 ? (c == 0 ? "left" : "right") : std::to_string(c + 1)));
        w->ports_.push_back(p);
    }
    w->engine_ = std::make_unique<engine::Engine>(w->geometry_.sampleRate, w->geometry_.periodFrames, 1u << 16);
    jack_set_process_callback(client, &Worker::processThunk, w.get());
    jack_set_thread_init_callback(client, &Worker::threadInitThunk, w.get());
    jack_set_buffer_size_callback(client, &Worker::bufferSizeThunk, w.get());

    shm::SlotStatus &st = *w->slot_.status;
    st.pid.store(::getpid(), std::memory_order_relaxed);
    st.workerState.store(WorkerState::Starting, std::memory_order_release);
    return w;
}

Worker::~Worker()
{
    jack_.reset(); // stops the process thread before the engine goes
    slot_.status->workerState.store(WorkerState::Empty, std::memory_order_release);
}

Expected<void> Worker::start()
{
    if (jack_activate(jack_->get()) != 0)
        return fail("cannot activate the JACK client");
    slot_.status->workerState.store(WorkerState::Ready, std::memory_order_release);
    return {};
}

int Worker::processThunk(jack_nframes_t frames, void *arg) { return static_cast<Worker *>(arg)->process(frames); }

void Worker::threadInitThunk(void *)
{
    // Every render path computes with FTZ/DAZ; set it for the whole thread as well.
    (void)flushDenormals();
}

int Worker::bufferSizeThunk(jack_nframes_t frames, void *arg)
{
    auto *self = static_cast<Worker *>(arg);
    if (frames != self->geometry_.periodFrames)
        self->bufferSizeChanged_.store(true, std::memory_order_release);
    return 0;
}

void Worker::renderBlock() noexcept
{
    const std::uint64_t frame = engine_->frame();
    const std::uint32_t channels = geometry_.channels;
    const std::uint32_t period = geometry_.periodFrames;
    const bool poison = nanBlocks_ > 0;
    const engine::Graph *g = engine_->graph();
    shm::publishBlock(slot_, frame, g ? g->generation() : 0, [&](float *const *out) {
        engine_->render(out, channels, period);
        if (poison)
            std::fill_n(out[0], period, std::numeric_limits<float>::quiet_NaN());
    });
    if (poison)
        --nanBlocks_;
    slot_.status->lastBlock.store(frame, std::memory_order_release);
}

int Worker::process(jack_nframes_t frames) noexcept
{
    jack_client_t *client = client_;
    shm::SlotStatus &st = *slot_.status;
    const shm::Header &header = segment_->header();
    const std::uint32_t period = geometry_.periodFrames;

    jack_nframes_t frame32 = 0;
    jack_time_t now = 0, next = 0;
    float periodUsecs = 0;
    jack_get_cycle_times(client, &frame32, &now, &next, &periodUsecs);
    lastAbs_ = extendFrame(haveAbs_ ? lastAbs_ : header.cycleAbs.load(std::memory_order_acquire), frame32);
    haveAbs_ = true;
    st.heartbeat.fetch_add(1, std::memory_order_relaxed);

    // Monitor ports carry the block the supervisor outputs in this cycle.
    const bool timelineStarted = lastAbs_ >= header.originAbs;
    const std::uint64_t cycle = lastAbs_ - header.originAbs;
    for (std::uint32_t c = 0; c < ports_.size(); ++c) {
        auto *out = static_cast<float *>(jack_port_get_buffer(ports_[c], frames));
        shm::BlockHeader &b = slot_.block(cycle);
        if (timelineStarted && frames == period && b.stamp.load(std::memory_order_acquire) == cycle)
            std::memcpy(out, slot_.blockChannel(b, c), sizeof(float) * frames);
        else
            std::memset(out, 0, sizeof(float) * frames);
    }
    if (!timelineStarted || frames != period || lost_.load(std::memory_order_relaxed))
        return 0;

    const std::uint64_t target = cycle + std::uint64_t{geometry_.lookahead} * period;
    rtTarget_.store(target, std::memory_order_release);
    if (!rtOwnsEngine_.load(std::memory_order_acquire))
        return 0;

    switch (static_cast<shm::FaultKind>(fault_.exchange(0, std::memory_order_relaxed))) {
    case shm::FaultKind::NaN: nanBlocks_ = 1; break;
    case shm::FaultKind::Stall:
        // Test hook: deliberately miss the deadline by several periods.
        ::usleep(static_cast<useconds_t>(periodUsecs * 6));
        break;
    case shm::FaultKind::None: break;
    }

    shm::CommandRecord rec;
    while (slot_.events.tryPop(rec))
        engine_->schedule(rec.event);

    // A commit due in this block that is not built yet: this slot cannot stay in lockstep.
    // Look in the ring first, then at what the control thread is building: it marks a
    // record as building before taking it out of the ring, so a record missed in the ring
    // has been taken and is seen here (in the other order both looks could miss it).
    const std::uint64_t blockEnd = target + period;
    const bool queuedDue = slot_.control.peek(rec) && rec.frame < blockEnd;
    const std::uint64_t building = building_.load(std::memory_order_acquire);
    if (queuedDue || (building != kNoBlock && building < blockEnd)) {
        lost_.store(true, std::memory_order_relaxed);
        st.commitsMissed.fetch_add(1, std::memory_order_relaxed);
        st.workerState.store(WorkerState::Lost, std::memory_order_release);
        return 0;
    }

    // Snapshot at the block boundary, before rendering it.
    const std::uint32_t request = st.snapshotRequest.load(std::memory_order_acquire);
    if (request != served_) {
        const std::size_t bytes = engine_->saveSnapshot({slot_.snapshot, slot_.snapshotBytes});
        if (bytes > 0) { // 0: mid-crossfade, try again next cycle
            st.snapshotFrame = engine_->frame();
            st.snapshotBytesUsed = bytes;
            served_ = request;
            st.snapshotServed.store(request, std::memory_order_release);
        }
    }

    const jack_time_t started = jack_get_time();
    std::uint32_t rendered = 0;
    while (engine_->frame() <= target && rendered < config_.maxBlocksPerCycle) {
        renderBlock();
        ++rendered;
    }
    if (engine_->frame() <= target) {
        // Too far behind to catch up inside the cycle: stop and let the supervisor replace us.
        lost_.store(true, std::memory_order_relaxed);
        st.workerState.store(WorkerState::Lost, std::memory_order_release);
        return 0;
    }
    const double load = periodUsecs > 0 ? double(jack_get_time() - started) / periodUsecs : 0.0;
    loadAverage_ += 0.05 * (load - loadAverage_);
    st.dspLoadPpm.store(static_cast<std::uint32_t>(loadAverage_ * 1e6), std::memory_order_relaxed);
    const engine::EngineStats &stats = engine_->stats();
    st.eventsApplied.store(stats.eventsApplied, std::memory_order_relaxed);
    st.eventsLate.store(stats.eventsLate, std::memory_order_relaxed);
    const engine::Graph *g = engine_->graph();
    st.generation.store(g ? g->generation() : 0, std::memory_order_relaxed);
    return 0;
}

void Worker::drainEvents()
{
    shm::CommandRecord rec;
    while (slot_.events.tryPop(rec))
        engine_->schedule(rec.event);
}

void Worker::drainControl()
{
    shm::CommandRecord rec;
    while (slot_.control.peek(rec)) {
        building_.store(rec.frame, std::memory_order_release);
        (void)slot_.control.tryPop(rec);
        const std::string text = slot_.text.read(rec.textOffset, rec.textLength);
        std::string error;
        auto spec = engine::PatchSpec::fromJson(text);
        if (!spec) {
            error = spec.error();
        } else if (auto compiled = engine::compile(*spec, rec.generation); !compiled) {
            error = compiled.error();
        } else if (auto graph = engine::Graph::build(*compiled, geometry_.sampleRate, geometry_.periodFrames); !graph) {
            error = graph.error();
        } else if (!engine_->submitGraph(std::move(*graph), rec.frame, rec.crossfadeFrames)) {
            error = "too many pending commits";
        }
        building_.store(kNoBlock, std::memory_order_release);
        if (!error.empty()) {
            // The other slot may have built it: we cannot stay in lockstep.
            log::error("commit of generation ", rec.generation, " failed: ", error);
            slot_.status->commitErrors.fetch_add(1, std::memory_order_relaxed);
            lost_.store(true, std::memory_order_relaxed);
            slot_.status->workerState.store(WorkerState::Lost, std::memory_order_release);
        }
    }
}

Expected<void> Worker::join(std::uint32_t seq)
{
    shm::SlotStatus &st = *slot_.status;
    const std::uint32_t period = geometry_.periodFrames;
    // The process thread must have run once so we know where the timeline is.
    for (int i = 0; i < 2000 && rtTarget_.load(std::memory_order_acquire) == kNoBlock; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (rtTarget_.load(std::memory_order_acquire) == kNoBlock)
        return fail("JACK never ran a cycle for this worker");

    if (st.joinKind == shm::JoinKind::Fresh) {
        // Every empty engine renders the same silence, so joining anywhere is lockstep.
        engine_->setFrame(rtTarget_.load(std::memory_order_acquire) + period);
    } else {
        st.workerState.store(WorkerState::CatchingUp, std::memory_order_release);
        const shm::SlotView source = segment_->slot(st.joinSourceSlot);
        const std::size_t bytes = std::min<std::size_t>(st.joinSnapshotBytes, source.snapshotBytes);
        snapshotCopy_.assign(source.snapshot, source.snapshot + bytes);
        if (auto loaded = engine_->loadSnapshot(snapshotCopy_); !loaded)
            return fail("cannot load the snapshot: " + loaded.error());
        if (engine_->frame() != st.joinFrame)
            return fail(log::cat("snapshot holds frame ", engine_->frame(), ", expected ", st.joinFrame));
        // Replay and catch up faster than real time until one block ahead of the process
        // thread's target, then hand the engine over.
        for (;;) {
            drainEvents();
            drainControl();
            if (lost_.load())
                return fail("a replayed commit could not be built");
            if (engine_->frame() > rtTarget_.load(std::memory_order_acquire))
                break;
            renderBlock();
        }
    }
    st.workerState.store(WorkerState::Live, std::memory_order_release);
    rtOwnsEngine_.store(true, std::memory_order_release);
    joinedSeq_ = seq;
    st.joinDone.store(seq, std::memory_order_release);
    return {};
}

Expected<void> Worker::step()
{
    if (jack_->serverGone())
        return fail("the JACK server shut down: " + jack_->shutdownReason());
    if (bufferSizeChanged_.load(std::memory_order_acquire))
        return fail("the JACK buffer size changed; the supervisor restarts the suite");
    const shm::Header &header = segment_->header();
    if (::getppid() != header.supervisorPid)
        return fail("the supervisor is gone");
    shm::SlotStatus &st = *slot_.status;
    const std::uint32_t seq = st.joinSeq.load(std::memory_order_acquire);
    if (seq != joinedSeq_ && !rtOwnsEngine_.load(std::memory_order_relaxed))
        if (auto joined = join(seq); !joined)
            return joined;
    drainControl();
    while (engine_->takeRetired()) {
    }
    return {};
}

} // namespace chronus::worker
