#include "supervisor/supervisor_app.hpp"

#include "common/log.hpp"
#include "supervisor/session.hpp"

#include <thread>

namespace chronus::supervisor {

using namespace std::chrono_literals;

Expected<std::unique_ptr<SupervisorApp>> SupervisorApp::open(const Options &options, std::unique_ptr<NsmClient> nsm)
{
    std::unique_ptr<SupervisorApp> app(new SupervisorApp(options));
    app->nsm_ = std::move(nsm);
    // Refuse a second instance before touching JACK or the port.
    bool stale = false;
    if (auto claimed = shm::Segment::claim(options.instance, &stale); !claimed)
        return fail(claimed.error());
    if (stale)
        log::warn("removed the stale shared memory of a crashed instance '", options.instance, "'");

    SupervisorApp *self = app.get(); // owns the server, so outlives its handler
    auto server = osc::Server::open(options.oscPort, options.localOnly, [self](const osc::Message &m) {
        if (self->serving_)
            self->serving_->handle(m);
    });
    if (!server)
        return fail(server.error() + " (is another chronus-supervisor running? use --osc-port)");
    app->server_ = std::move(*server);
    app->server_->setAllowed(*osc::AllowList::parse(options.allow)); // checked while parsing
    if (auto audio = app->openAudio(); !audio)
        return fail(audio.error());
    if (!options.journalPath.empty()) {
        if (auto opened = app->timeline_->openJournal(options.journalPath); !opened)
            return fail(opened.error());
        // From the first cycle's input on (the ring still holds it).
        const std::uint64_t first = shm::inputDelayFrames(app->segment_->geometry());
        if (auto opened = app->inputJournal_.open(options.journalPath, *app->segment_, *app->timeline_, first); !opened)
            return fail(opened.error());
    }
    // The kept live patch plays at start unless a patch was given (or a session has one).
    app->liveState_ = std::make_unique<LiveState>(options.stateDir + "/" + options.instance + "/live.json");
    if (app->options_.patchText.empty() && !options.fresh)
        if (auto kept = app->liveState_->load(); kept && !kept->empty()) {
            app->options_.patchText = *kept;
            app->options_.patchPath = app->liveState_->path();
            log::info("restoring the live patch kept in ", app->options_.patchPath, " (--fresh starts empty)");
        }
    app->wireControl();
    app->slots_->start();
    return app;
}

// The JACK client and the segment it shares with the workers, sized by JACK's period.
Expected<void> SupervisorApp::openAudio()
{
    OutputConfig outOptions;
    outOptions.clientName = options_.jackName;
    outOptions.jackServer = options_.jackServer;
    outOptions.channels = options_.channels;
    outOptions.inputs = options_.inputs;
    outOptions.stems = options_.stems;
    outOptions.lookahead = lookahead_.config().max;
    outOptions.masterClock = options_.masterClock;
    auto output = OutputStage::open(outOptions);
    if (!output)
        return fail(output.error());
    output_ = std::move(*output);

    shm::Geometry geometry;
    geometry.channels = options_.channels + 2 * options_.stems;
    geometry.stems = options_.stems;
    geometry.periodFrames = output_->periodFrames();
    geometry.sampleRate = output_->sampleRate();
    geometry.lookahead = lookahead_.config().max; // fixes the input and MIDI delays
    geometry.inputs = options_.inputs;
    // Inputs stay in the ring long enough for a worker catching up (Worker::keepingUp: 2 s).
    while (double(geometry.inputBlocks) * geometry.periodFrames < 3.0 * geometry.sampleRate)
        geometry.inputBlocks *= 2;
    auto segment = shm::Segment::create(options_.instance, geometry);
    if (!segment)
        return fail(segment.error());
    segment_ = std::move(*segment);
    segment_->header().lookahead.store(lookahead_.current(), std::memory_order_release);
    if (auto active = output_->activate(*segment_); !active)
        return fail(active.error());
    for (int i = 0; i < 5000 && output_->cycleFrame() == shm::kNoBlock; ++i)
        std::this_thread::sleep_for(1ms);
    if (output_->cycleFrame() == shm::kNoBlock)
        return fail("JACK did not run our process callback within 5 s");
    if (options_.connect)
        output_->autoConnect();
    timeline_ = std::make_unique<Timeline>(*output_, *segment_);
    return {};
}

void SupervisorApp::wireControl()
{
    auto notify = [this](const std::string &kind, const std::string &text) {
        if (serving_)
            serving_->notify(kind, text);
    };
    slots_ = std::make_unique<SlotManager>(
        *output_, *segment_, *timeline_,
        SlotManagerConfig{options_.workerPath, options_.instance, output_->serverName(), options_.jackName}, notify);
    interpreter_.setStemLimit(options_.stems);
    surface_ = std::make_unique<ControlSurface>(
        interpreter_, *timeline_, *slots_, *output_, *segment_,
        ControlSurfaceConfig{options_.recorderPort, "127.0.0.1", options_.patchDir, options_.maxAheadSeconds,
                             options_.transport, std::size_t(options_.bufferMemoryMb) << 20});
    surface_->setServer(server_.get());
    surface_->setLookahead(&lookahead_);
    slots_->setRestartHook([this](std::uint64_t silentFrom) { restoreLivePatch(silentFrom); });
    monitor_ = std::make_unique<ServiceMonitor>(
        *output_, *slots_, log::cat("JACK client ", options_.jackName, ", OSC port ", server_->port()));
    if (nsm_)
        nsm_->onSave([this] { return saveToSession(); });
}

int SupervisorApp::run(const std::atomic<bool> &quit)
{
    // Commands wait in the socket until a worker is live, so none is lost before the
    // timeline has somebody to play it.
    const auto started = std::chrono::steady_clock::now();
    int status = 0;
    while (!quit.load()) {
        if (ready_) {
            server_->poll(1);
        } else {
            std::this_thread::sleep_for(1ms);
            if (auto up = awaitFirstWorker(started); !up) {
                log::error(up.error());
                status = 1;
                break;
            }
        }
        // Saves wait in the socket until the start-up patch is loaded: an earlier one would
        // overwrite the session's patch with an empty one.
        if (nsm_ && ready_)
            nsm_->poll(0);
        slots_->service();
        timeline_->tick();
        if (ready_) {
            surface_->playMidi();
            surface_->tickTransport();
            surface_->tick();
            keepLivePatch();
        }
        monitor_->tick(ready_);
        output_->keepConnected();
        output_->followMasterClock();
        adaptLookahead();
        timeline_->prune();
        if (const std::uint64_t cycle = output_->cycleFrame(); cycle != shm::kNoBlock)
            inputJournal_.tick(cycle + shm::inputDelayFrames(segment_->geometry())); // blocks of earlier cycles
        if (const std::string trouble = jackTrouble(); !trouble.empty()) {
            log::error(trouble);
            status = 1;
            break;
        }
    }
    stop();
    return status;
}

Expected<void> SupervisorApp::awaitFirstWorker(std::chrono::steady_clock::time_point started)
{
    if (output_->activeSlot() < 0) {
        if (std::chrono::steady_clock::now() - started > 10s)
            return fail("no worker came up within 10 s (worker binary: " + options_.workerPath + ")");
        return {};
    }
    ready_ = true;
    serving_ = surface_.get();
    log::info("ready: OSC on port ", server_->port(), " (UDP and TCP), JACK client '", options_.jackName, "', ",
              output_->periodFrames(), " frames at ", output_->sampleRate(), " Hz, lookahead ",
              lookahead_.config().adaptive ? log::cat("auto (", lookahead_.config().min, "..", lookahead_.config().max, ")")
                                           : log::cat(lookahead_.current()));
    return loadStartupPatch();
}

void SupervisorApp::adaptLookahead()
{
    const auto &ready = output_->counters().readyCycles;
    std::array<std::uint64_t, OutputCounters::kReadyBuckets> totals{};
    for (std::size_t k = 0; k < totals.size(); ++k)
        totals[k] = ready[k].load(std::memory_order_relaxed);
    const auto moved = lookahead_.update(totals, std::chrono::steady_clock::now());
    if (!moved)
        return;
    // Raised: stamps move on at once, the workers render a block more from their next cycle.
    // Lowered: they wait a cycle; what they rendered stays good (Timeline::safeFrame).
    segment_->header().lookahead.store(*moved, std::memory_order_release);
    output_->lookaheadChanged();
    log::info("lookahead ", lookahead_.lastReason());
    if (surface_)
        surface_->notify("lookahead", log::cat(*moved));
}

Expected<void> SupervisorApp::loadStartupPatch()
{
    if (options_.patchText.empty())
        return {};
    auto spec = model::PatchSpec::fromJson(options_.patchText);
    auto outcome = spec ? interpreter_.load(*spec) : Expected<model::Outcome>(fail(spec.error()));
    if (!outcome)
        return fail(options_.patchPath + ": " + outcome.error());
    const std::uint64_t frame = timeline_->frameFor(std::nullopt);
    (void)timeline_->apply(*outcome, frame, "/patch/load", {options_.patchText, 0.0f});
    surface_->patchLoaded(frame);
    return {};
}

void SupervisorApp::restoreLivePatch(std::uint64_t silentFrom)
{
    if (interpreter_.generation() == 0)
        return;
    const std::string json = interpreter_.liveJson(-1);
    auto spec = model::PatchSpec::fromJson(json);
    auto compiled = spec ? model::compile(*spec, interpreter_.generation())
                         : Expected<model::CompiledPatch>(fail(spec.error()));
    if (!compiled) {
        log::error("cannot re-commit the live patch: ", compiled.error());
        return;
    }
    model::Outcome outcome;
    outcome.commit = std::make_shared<const model::CompiledPatch>(std::move(*compiled));
    (void)timeline_->apply(outcome, timeline_->frameFor(std::nullopt), "/patch/load", {json, 0.0f},
                           {.freshStart = true, .silentFrom = silentFrom});
    log::warn("both workers were lost: re-committing the live patch");
    surface_->notify("error", "both workers were lost; the live patch was restored");
}

void SupervisorApp::keepLivePatch()
{
    // Only after the start-up patch is in: before it, the empty patch would replace the kept one.
    const auto now = std::chrono::steady_clock::now();
    if (now < nextStateOffer_)
        return;
    liveState_->offer(interpreter_.liveJson(2));
    nextStateOffer_ = now + 200ms;
}

Expected<void> SupervisorApp::saveToSession()
{
    const std::string file = sessionPatchFile(nsm_->session()->path);
    auto written = writeFileAtomically(file, interpreter_.liveJson(2) + "\n");
    if (written)
        log::info("NSM: saved the live patch to ", file);
    else
        log::error("NSM: ", written.error());
    return written;
}

std::string SupervisorApp::jackTrouble() const
{
    if (output_->serverGone())
        return "the JACK server shut down (" + output_->shutdownReason() + "); exiting so the service restarts";
    if (output_->formatChanged())
        return "the JACK buffer size or sample rate changed; exiting so the service restarts with the new settings";
    return {};
}

void SupervisorApp::stop()
{
    monitor_->stopping();
    serving_ = nullptr;
    slots_->stopAll();
    output_.reset();
    log::info("stopped");
}

} // namespace chronus::supervisor
