// The supervisor's parts wired together, and its control loop: the OSC server, the JACK
// output stage, the shared-memory segment, the timeline, the slots with their workers, the
// control surface and the service monitor; plus the two policies that belong to none of
// them: loading the start-up patch once a worker plays, and putting the live patch back
// when both workers were lost. Control thread only.
#pragma once

#include "common/expected.hpp"
#include "common/nsm.hpp"
#include "common/osc.hpp"
#include "common/shm_layout.hpp"
#include "supervisor/control_surface.hpp"
#include "supervisor/options.hpp"
#include "supervisor/output_stage.hpp"
#include "supervisor/service_monitor.hpp"
#include "supervisor/slot_manager.hpp"
#include "supervisor/input_journal.hpp"
#include "supervisor/lookahead.hpp"
#include "supervisor/timeline.hpp"
#include "model/interpreter.hpp"
#include "supervisor/live_state.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace chronus::supervisor {

class SupervisorApp {
public:
    // Claims the instance, opens the OSC port, the JACK client and the segment, waits for
    // the first process cycle, and starts the workers. `nsm` (null outside a session) is
    // kept to answer saves. Fails with the reason to exit 1.
    static Expected<std::unique_ptr<SupervisorApp>> open(const Options &options, std::unique_ptr<NsmClient> nsm);

    // Serves until `quit`, or until the JACK server or its format goes away, no worker comes
    // up, or the start-up patch fails; then stops the workers and the JACK client. Returns
    // the exit status.
    int run(const std::atomic<bool> &quit);

private:
    explicit SupervisorApp(Options options)
        : options_(std::move(options)),
          lookahead_(LookaheadConfig{options_.lookaheadAuto, options_.lookahead,
                                     options_.lookaheadAuto ? options_.lookaheadMax : options_.lookahead,
                                     options_.lookaheadCalmSeconds})
    {
    }
    Expected<void> openAudio();
    void wireControl();
    // Until the first worker plays: becomes ready (and loads the start-up patch) when one
    // does, fails when none has after 10 s.
    Expected<void> awaitFirstWorker(std::chrono::steady_clock::time_point started);
    // The patch from --patch or the session, committed on the live timeline.
    Expected<void> loadStartupPatch();
    // Both workers were lost: the replacement starts empty, so the live patch (with its
    // current parameter values) is committed again under the same generation.
    void restoreLivePatch(std::uint64_t silentFrom);
    // Hands the live patch to liveState_ now and then (once the start-up patch is in).
    void keepLivePatch();
    // The session's save: the live patch to <session>/patch.json.
    Expected<void> saveToSession();
    // --lookahead auto: moves the lookahead with the output's margin, and tells the workers
    // (the segment's header) and JACK (the ports' latency).
    void adaptLookahead();
    // Why the loop must end because of JACK ("" while all is well).
    std::string jackTrouble() const;
    void stop();

    Options options_;
    bool ready_ = false;
    ControlSurface *serving_ = nullptr; // receives OSC once ready; null before and after

    // In construction order; destroyed in reverse.
    std::unique_ptr<NsmClient> nsm_;
    std::unique_ptr<osc::Server> server_;
    std::unique_ptr<OutputStage> output_;
    std::unique_ptr<shm::Segment> segment_;
    std::unique_ptr<Timeline> timeline_;
    InputJournal inputJournal_; // the input the workers took in, beside the journal
    model::Interpreter interpreter_;
    std::unique_ptr<SlotManager> slots_;
    std::unique_ptr<ControlSurface> surface_;
    std::unique_ptr<ServiceMonitor> monitor_;
    std::unique_ptr<LiveState> liveState_; // the live patch kept for a restart
    std::chrono::steady_clock::time_point nextStateOffer_{};
    AdaptiveLookahead lookahead_{LookaheadConfig{}};
};

} // namespace chronus::supervisor
