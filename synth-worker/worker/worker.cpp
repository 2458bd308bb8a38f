#include "synth-worker/worker/worker.hpp"

#include "common/jack_time.hpp"
#include "common/log.hpp"
#include "model/patch.hpp"

#include <jack/metadata.h>
#include <jack/thread.h>
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
    w->input_.assign(std::size_t{w->geometry_.inputs} * w->geometry_.periodFrames, 0.0f);
    for (std::uint32_t c = 0; c < w->geometry_.inputs; ++c)
        w->inputChannels_.push_back(w->input_.data() + std::size_t{c} * w->geometry_.periodFrames);
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

    // The outputs only: stems leave through the supervisor's ports.
    const std::uint32_t channels = w->geometry_.channels - 2 * w->geometry_.stems;
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
    w->engine_ = std::make_unique<engine::Engine>(w->geometry_.sampleRate, w->geometry_.periodFrames,
                                                  shm::kWorkerPendingEvents);
    jack_set_process_callback(client, &Worker::processThunk, w.get());
    jack_set_thread_init_callback(client, &Worker::threadInitThunk, w.get());
    jack_set_buffer_size_callback(client, &Worker::bufferSizeThunk, w.get());

    shm::SlotStatus &st = *w->slot_.status;
    st.pid.store(::getpid(), std::memory_order_relaxed);
    st.drainFrame.store(kNoBlock, std::memory_order_relaxed);
    st.preparedGeneration.store(0, std::memory_order_relaxed);
    st.lostReason.store(shm::LostReason::None, std::memory_order_relaxed);
    st.workerState.store(WorkerState::Starting, std::memory_order_release);
    return w;
}

Worker::~Worker()
{
    jack_.reset(); // stops the process thread before the engine goes
    if (renderThreadStarted_) {
        quitRender_.store(true, std::memory_order_release);
        renderWake_.post();
        ::pthread_join(renderThread_, nullptr);
    }
    slot_.status->workerState.store(WorkerState::Empty, std::memory_order_release);
}

Expected<void> Worker::start()
{
    // Not in the JACK graph yet: a worker that is still loading, building and catching up
    // would answer JACK's cycles late, and on a non-real-time server that holds up every
    // other client's cycle, the live worker's too. It activates once it has caught up.
    slot_.status->workerState.store(WorkerState::Ready, std::memory_order_release);
    return {};
}

void *Worker::renderThunk(void *arg)
{
    static_cast<Worker *>(arg)->renderLoop();
    return nullptr;
}

Expected<void> Worker::activate()
{
    if (!active_) {
        // The render thread is real-time when JACK is, one step below JACK's client threads:
        // not starved by ordinary processes, and never holding up a JACK thread (its own
        // worker's, the other worker's, the supervisor's) on a machine with few cores.
        jack_client_t *client = jack_->get();
        const int priority = std::max(1, jack_client_real_time_priority(client) - 1);
        if (jack_client_create_thread(client, &renderThread_, priority,
                                      jack_is_realtime(client), &Worker::renderThunk, this) != 0)
            return fail("cannot start the render thread");
        renderThreadStarted_ = true;
        if (jack_activate(jack_->get()) != 0)
            return fail("cannot activate the JACK client");
        active_ = true;
    }
    // The process thread must have run once so we know where the timeline is.
    for (int i = 0; i < 2000 && rtTarget_.load(std::memory_order_acquire) == kNoBlock; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (rtTarget_.load(std::memory_order_acquire) == kNoBlock)
        return fail("JACK never ran a cycle for this worker");
    return {};
}

std::uint64_t Worker::supervisorTarget() const noexcept
{
    // The block the workers render in the supervisor's latest cycle, by its clock in the
    // segment (this worker has no JACK cycles of its own before it activates).
    const shm::Header &header = segment_->header();
    const std::uint64_t cycleAbs = header.cycleAbs.load(std::memory_order_acquire);
    const std::uint64_t cycle = cycleAbs > header.originAbs ? cycleAbs - header.originAbs : 0;
    return cycle + std::uint64_t{header.lookahead.load(std::memory_order_acquire)} * geometry_.periodFrames;
}

Expected<void> Worker::catchUp(const std::function<std::uint64_t()> &target)
{
    // Replay and render faster than real time until one block ahead of `target`.
    for (;;) {
        drainControl();
        if (lost_.load())
            return fail("a replayed commit could not be built");
        if (engine_->frame() > target())
            return {};
        if (!renderBlock())
            return fail("a replayed command arrived after its frame");
    }
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

void Worker::takeEvents() noexcept
{
    shm::SlotStatus &st = *slot_.status;
    // Say which block the events taken now are for before taking them; the supervisor pushes,
    // fences and reads this, so between the two fences one side sees the other (Dekker).
    st.drainFrame.store(engine_->frame(), std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (delayEventsBlocks_ > 0) { // test hook (FaultKind::DelayEvents)
        --delayEventsBlocks_;
        return;
    }
    const std::uint64_t lateBefore = engine_->stats().eventsLate;
    shm::CommandRecord rec;
    while (slot_.events.tryPop(rec))
        if (freshFrom_ == UINT64_MAX || rec.event.frame >= freshFrom_)
            engine_->schedule(rec.event);
    if (engine_->stats().eventsLate != lateBefore)
        missedEvent(engine_->stats().lastLateFrame);
}

void Worker::missedEvent(std::uint64_t frame) noexcept
{
    // An event arrived after its frame was rendered: every block from that frame on lacks it.
    // Withdraw those still in the ring (the supervisor then reads them as missing and plays the
    // other slot's, inside the cycle) and stop: this slot is out of lockstep and is replaced.
    const std::uint32_t period = geometry_.periodFrames;
    const std::uint64_t first = frame - frame % period;
    for (std::uint64_t b = first; b < engine_->frame(); b += period) {
        shm::BlockHeader &h = slot_.block(b);
        std::uint64_t stamped = b;
        h.stamp.compare_exchange_strong(stamped, kNoBlock, std::memory_order_acq_rel);
    }
    slot_.status->eventsLate.store(engine_->stats().eventsLate, std::memory_order_relaxed);
    reportLost(shm::LostReason::CommandLate);
}

void Worker::reportLost(shm::LostReason reason) noexcept
{
    shm::SlotStatus &st = *slot_.status;
    st.drainFrame.store(kNoBlock, std::memory_order_relaxed);
    lost_.store(true, std::memory_order_relaxed);
    st.lostReason.store(reason, std::memory_order_relaxed);
    st.workerState.store(WorkerState::Lost, std::memory_order_release);
}

bool Worker::renderBlock() noexcept
{
    takeEvents();
    if (lost_.load(std::memory_order_relaxed))
        return false;
    const std::uint64_t frame = engine_->frame();
    const std::uint32_t channels = geometry_.channels;
    const std::uint32_t period = geometry_.periodFrames;
    if (engine_->activationUnprepared(frame + period)) {
        // A commit goes live in this block and its patch is not built here (the supervisor
        // waits for every slot to build it, so only a slot that came late gets here): this
        // slot cannot stay in lockstep.
        slot_.status->commitsMissed.fetch_add(1, std::memory_order_relaxed);
        reportLost(shm::LostReason::CommitMissed);
        return false;
    }
    const bool poison = nanBlocks_ > 0;
    const engine::Graph *g = engine_->graph();
    if (geometry_.inputs > 0) {
        // What the supervisor captured for this frame; silence (in both slots alike) when
        // JACK never ran its cycle.
        float *const *in = const_cast<float *const *>(inputChannels_.data());
        if (!shm::readInput(*segment_, frame, in))
            slot_.status->inputsMissing.fetch_add(1, std::memory_order_relaxed);
    }
    shm::publishBlock(slot_, frame, g ? g->generation() : 0, [&](float *const *out) {
        engine_->render(out, channels, period, inputChannels_.data(), geometry_.inputs, geometry_.stems);
        if (poison)
            std::fill_n(out[0], period, std::numeric_limits<float>::quiet_NaN());
    });
    if (poison)
        --nanBlocks_;
    slot_.status->lastBlock.store(frame, std::memory_order_release);
    return true;
}

int Worker::process(jack_nframes_t frames) noexcept
{
    const shm::Header &header = segment_->header();
    const std::uint32_t period = geometry_.periodFrames;

    jack_nframes_t frame32 = 0;
    jack_time_t now = 0, next = 0;
    float periodUsecs = 0;
    jack_get_cycle_times(client_, &frame32, &now, &next, &periodUsecs);
    lastAbs_ = extendFrame(haveAbs_ ? lastAbs_ : header.cycleAbs.load(std::memory_order_acquire), frame32);
    haveAbs_ = true;
    periodUsecs_.store(periodUsecs, std::memory_order_relaxed);

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
    // The lookahead may move (--lookahead auto): a larger one is rendered up to over the next
    // cycles, a smaller one waited out.
    const std::uint32_t lookahead = header.lookahead.load(std::memory_order_acquire);
    rtTarget_.store(cycle + std::uint64_t{lookahead} * period, std::memory_order_release);
    // The rendering happens on the render thread: however long it takes, JACK's cycle is
    // not held up (on a non-real-time server a client late in its callback delays every
    // other client's cycle, the other worker's too).
    if (rtOwnsEngine_.load(std::memory_order_acquire))
        renderWake_.post();
    return 0;
}

void Worker::renderLoop() noexcept
{
    while (renderWake_.wait() && !quitRender_.load(std::memory_order_acquire))
        renderCycle();
}

void Worker::renderCycle() noexcept
{
    shm::SlotStatus &st = *slot_.status;
    const float periodUsecs = periodUsecs_.load(std::memory_order_relaxed);
    const std::uint64_t target = rtTarget_.load(std::memory_order_acquire);
    if (lost_.load(std::memory_order_relaxed) || target == kNoBlock)
        return;
    st.heartbeat.fetch_add(1, std::memory_order_relaxed);

    switch (static_cast<shm::FaultKind>(fault_.exchange(0, std::memory_order_relaxed))) {
    case shm::FaultKind::NaN: nanBlocks_ = 1; break;
    case shm::FaultKind::Stall:
        // Test hook: deliberately miss the deadline by several periods.
        ::usleep(static_cast<useconds_t>(periodUsecs * 6));
        break;
    case shm::FaultKind::DelayEvents: delayEventsBlocks_ = kDelayEventsBlocks; break;
    case shm::FaultKind::Starve: ::usleep(1'200'000); break; // test hook: as if given no CPU
    case shm::FaultKind::None: break;
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
    const auto budgetUsecs = static_cast<jack_time_t>(periodUsecs * config_.catchUpShare);
    std::uint32_t rendered = 0;
    while (engine_->frame() <= target && (rendered == 0 || jack_get_time() - started < budgetUsecs)) {
        if (!renderBlock())
            return;
        ++rendered;
    }
    if (!keepingUp(target))
        return;
    const double load = periodUsecs > 0 ? double(jack_get_time() - started) / periodUsecs : 0.0;
    loadAverage_ += 0.05 * (load - loadAverage_);
    st.dspLoadPpm.store(static_cast<std::uint32_t>(loadAverage_ * 1e6), std::memory_order_relaxed);
    const engine::EngineStats &stats = engine_->stats();
    st.eventsApplied.store(stats.eventsApplied, std::memory_order_relaxed);
    st.eventsLate.store(stats.eventsLate, std::memory_order_relaxed);
    const engine::Graph *g = engine_->graph();
    st.generation.store(g ? g->generation() : 0, std::memory_order_relaxed);
}

CHRONUS_RT bool Worker::keepingUp(std::uint64_t target) noexcept
{
    // Still behind (held off by the machine, or JACK skipped cycles): late, not wrong. Blocks
    // are rendered in order, up to a share of each period, until it is caught up; meanwhile
    // the other slot plays. One that gains no ground for a while, or is too far behind to be
    // back soon, is replaced instead (a resync is quicker, and catching up for long takes
    // CPU the other slot needs). A jump of many cycles (JACK stalled every client) is not
    // by itself a reason: both slots see it, and replacing both would silence the output.
    const std::uint32_t period = geometry_.periodFrames;
    if (engine_->frame() > target) {
        fewestBehind_ = UINT64_MAX;
        cyclesWithoutProgress_ = 0;
        return true;
    }
    const std::uint64_t behind = (target - engine_->frame()) / period + 1;
    if (behind < fewestBehind_) {
        fewestBehind_ = behind;
        cyclesWithoutProgress_ = 0;
    } else {
        ++cyclesWithoutProgress_;
    }
    const auto maxBehind = static_cast<std::uint64_t>(config_.maxSecondsBehind * geometry_.sampleRate / period);
    if (cyclesWithoutProgress_ >= config_.noProgressCycles || behind > maxBehind) {
        reportLost(shm::LostReason::CannotKeepUp);
        return false;
    }
    return true;
}

void Worker::drainControl()
{
    shm::CommandRecord rec;
    while (slot_.control.tryPop(rec)) {
        // A commit's patch, to build now and hand to the engine ahead of its Activate event.
        const std::string text = slot_.text.read(rec.textOffset, rec.textLength);
        std::string error;
        auto spec = model::PatchSpec::fromJson(text);
        if (!spec) {
            error = spec.error();
        } else if (auto compiled = model::compile(*spec, rec.generation); !compiled) {
            error = compiled.error();
        } else if (auto graph = engine::Graph::build(*compiled, geometry_.sampleRate, geometry_.periodFrames); !graph) {
            error = graph.error();
        } else if (!engine_->prepare(std::move(*graph))) {
            error = "too many commits waiting to go live";
        }
        if (!error.empty()) {
            // The other slot may have built it: we cannot stay in lockstep.
            log::error("commit of generation ", rec.generation, " failed: ", error);
            slot_.status->commitErrors.fetch_add(1, std::memory_order_relaxed);
            reportLost(shm::LostReason::CommitFailed);
            return;
        }
        // Built: the supervisor stamps the activation once every slot says so.
        slot_.status->preparedGeneration.store(rec.generation, std::memory_order_release);
    }
}

Expected<void> Worker::join(std::uint32_t seq)
{
    shm::SlotStatus &st = *slot_.status;
    const std::uint32_t period = geometry_.periodFrames;
    if (st.joinKind == shm::JoinKind::Fresh) {
        // Every empty engine renders the same silence, so joining anywhere is lockstep.
        if (auto on = activate(); !on)
            return on;
        engine_->setFrame(rtTarget_.load(std::memory_order_acquire) + period);
        freshFrom_ = engine_->frame();
        // Say where we begin before the supervisor hears we joined: it stamps nothing earlier.
        st.drainFrame.store(freshFrom_, std::memory_order_seq_cst);
    } else {
        st.workerState.store(WorkerState::Joining, std::memory_order_release);
        const shm::SlotView source = segment_->slot(st.joinSourceSlot);
        const std::size_t bytes = std::min<std::size_t>(st.joinSnapshotBytes, source.snapshotBytes);
        snapshotCopy_.assign(source.snapshot, source.snapshot + bytes);
        if (auto loaded = engine_->loadSnapshot(snapshotCopy_); !loaded)
            return fail("cannot load the snapshot: " + loaded.error());
        if (engine_->frame() != st.joinFrame)
            return fail(log::cat("snapshot holds frame ", engine_->frame(), ", expected ", st.joinFrame));
        // Catch up by the supervisor's clock (a little ahead, for the time JACK takes to
        // activate us), join the graph, then finish by our own cycles and hand over.
        if (auto caught = catchUp([&] { return supervisorTarget() + kActivationMarginBlocks * period; }); !caught)
            return caught;
        if (auto on = activate(); !on)
            return on;
        if (auto caught = catchUp([&] { return rtTarget_.load(std::memory_order_acquire); }); !caught)
            return caught;
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
