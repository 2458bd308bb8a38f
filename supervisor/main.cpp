// chronus-supervisor: the JACK client `chronus` that plays one of two lockstep workers and
// fails over to the other inside the same cycle. Wires options, the session (NSM, when
// NSM_URL is set), the shared-memory segment, the output stage, the slots, the timeline,
// the OSC surface and the service manager's notifications, then runs the control loop.
#include "supervisor/control_surface.hpp"
#include "model/interpreter.hpp"
#include "common/log.hpp"
#include "common/osc.hpp"
#include "supervisor/output_stage.hpp"
#include "common/parse.hpp"
#include "supervisor/service_monitor.hpp"
#include "supervisor/session.hpp"
#include "supervisor/slot_manager.hpp"
#include "supervisor/timeline.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

const char *kUsage = R"(usage: chronus-supervisor [--osc-host 127.0.0.1] [--osc-port 5005] [--instance NAME]
                          [--lookahead 2] [--channels 2] [--recorder-port 5006] [--journal FILE]
                          [--patch FILE] [--jack-server NAME] [--jack-name NAME] [--worker PATH]
                          [--patch-dir DIR] [--no-connect] [--nsm-open-timeout 30] [--max-ahead 60]

Plays two lockstep chronus-synth-worker processes through the JACK client "chronus"
(ports out_L, out_R) and switches to the standby inside the same JACK cycle when the
active worker crashes, hangs or emits NaN/Inf. Controlled by OSC over UDP and TCP.

  --osc-host H        127.0.0.1 (default: local clients only) or 0.0.0.0 ($CHRONUS_OSC_HOST)
  --osc-port N        UDP and TCP port (default 5005, $CHRONUS_OSC_PORT)
  --instance NAME     instance name; one per machine (default "default")
  --lookahead L       periods the workers render ahead (default 2; 1 for the lowest latency
                      when JACK runs real-time and never skips a worker's cycle)
  --channels N        output channels (default 2)
  --recorder-port N   where /record/* is forwarded (default 5006)
  --journal FILE      write every command at its exact frame; chronus-render --script
                      FILE reproduces the output bit for bit
  --patch FILE        patch to load at start
  --jack-server NAME  JACK server (default: $JACK_DEFAULT_SERVER or "default")
  --jack-name NAME    JACK client name (default "chronus"; workers are NAME-worker-0/1)
  --patch-dir DIR     where /patch/save writes and /patch/load NAME reads
                      (default $CHRONUS_PATCH_DIR or ~/.local/share/chronus/patches)
  --worker PATH       chronus-synth-worker binary (default: next to this program)
  --no-connect        do not connect out_* to the system playback ports
  --nsm-open-timeout S  under a session manager, seconds to wait for the session to open
                      (default 30)
  --max-ahead S       how far ahead a bundle's timetag may be, in seconds (default 60;
                      farther ones are answered /fail)

Under systemd (Type=notify) it reports READY=1 once OSC is served and the workers play,
its state as STATUS=, and feeds the watchdog only while JACK runs its process callback.
Under a Non Session Manager (NSM_URL set) it registers no JACK client before the session
opens; then the client id is the JACK client name (and the instance unless --instance is
given), the session directory the patch directory, and <session>/patch.json the patch it
loads and what /nsm/client/save writes.
)";

std::atomic<bool> quit{false};
void onQuit(int) { quit.store(true); }

int usageError(const std::string &message)
{
    std::fprintf(stderr, "chronus-supervisor: %s\n(try --help)\n", message.c_str());
    return 2;
}

std::string dirOf(const std::string &path)
{
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The worker binary: --worker, $CHRONUS_WORKER, next to us (installed), or the build tree.
std::string findWorker(const std::string &option)
{
    if (!option.empty())
        return option;
    if (const char *env = std::getenv("CHRONUS_WORKER"); env && *env)
        return env;
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return "chronus-synth-worker";
    self[n] = '\0';
    const std::string dir = dirOf(self);
    for (const std::string &candidate :
         {dir + "/chronus-synth-worker", dir + "/../synth-worker/worker/chronus-synth-worker"})
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    return dir + "/chronus-synth-worker";
}

} // namespace

int main(int argc, char **argv)
{
    using namespace chronus;
    using namespace chronus::supervisor;
    log::init("chronus-supervisor");

    std::string oscHost = "127.0.0.1", instance = "default", journalPath, patchPath, jackServer, workerOption;
    std::string jackName = "chronus";
    std::string patchDir = defaultPatchDir();
    int oscPort = 5005, recorderPort = 5006;
    unsigned lookahead = 2, channels = 2, nsmOpenSeconds = 30;
    double maxAheadSeconds = 60;
    bool connect = true, instanceGiven = false;
    if (const char *env = std::getenv("CHRONUS_OSC_HOST"); env && *env)
        oscHost = env;
    if (const char *env = std::getenv("CHRONUS_OSC_PORT"); env && *env)
        if (!parseWhole(std::string(env), oscPort))
            return usageError("CHRONUS_OSC_PORT must be a port number");

    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](std::string &out) {
            if (i + 1 >= argc)
                return false;
            out = argv[++i];
            return true;
        };
        std::string v;
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "--osc-host") {
            if (!value(oscHost))
                return usageError("--osc-host needs an address");
        } else if (arg == "--osc-port") {
            if (!value(v) || !parseWhole(v, oscPort) || oscPort < 0 || oscPort > 65535)
                return usageError("--osc-port needs a port number");
        } else if (arg == "--instance") {
            if (!value(instance) || instance.empty() || instance.size() > 40 ||
                instance.find_first_of("/ \t:") != std::string::npos)
                return usageError("--instance needs a name of up to 40 characters without '/', ':' or spaces");
            instanceGiven = true;
        } else if (arg == "--lookahead") {
            if (!value(v) || !parseWhole(v, lookahead) || lookahead < 1 || lookahead > 8)
                return usageError("--lookahead needs 1..8 periods");
        } else if (arg == "--max-ahead") {
            if (!value(v) || !parseWhole(v, maxAheadSeconds) || !(maxAheadSeconds >= 0.1 && maxAheadSeconds <= 3600))
                return usageError("--max-ahead needs 0.1..3600 seconds");
        } else if (arg == "--channels") {
            if (!value(v) || !parseWhole(v, channels) || channels < 1 || channels > 16)
                return usageError("--channels needs 1..16");
        } else if (arg == "--recorder-port") {
            if (!value(v) || !parseWhole(v, recorderPort) || recorderPort < 1 || recorderPort > 65535)
                return usageError("--recorder-port needs a port number");
        } else if (arg == "--journal") {
            if (!value(journalPath))
                return usageError("--journal needs a file");
        } else if (arg == "--patch") {
            if (!value(patchPath))
                return usageError("--patch needs a file");
        } else if (arg == "--jack-server") {
            if (!value(jackServer))
                return usageError("--jack-server needs a name");
        } else if (arg == "--jack-name") {
            if (!value(jackName) || jackName.empty() || jackName.size() > 40)
                return usageError("--jack-name needs a name of up to 40 characters");
        } else if (arg == "--worker") {
            if (!value(workerOption))
                return usageError("--worker needs a path");
        } else if (arg == "--patch-dir") {
            if (!value(patchDir) || patchDir.empty())
                return usageError("--patch-dir needs a directory");
        } else if (arg == "--no-connect") {
            connect = false;
        } else if (arg == "--nsm-open-timeout") {
            if (!value(v) || !parseWhole(v, nsmOpenSeconds) || nsmOpenSeconds < 1 || nsmOpenSeconds > 3600)
                return usageError("--nsm-open-timeout needs 1..3600 seconds");
        } else {
            return usageError("unknown option '" + arg + "'");
        }
    }
    bool localOnly;
    if (oscHost == "127.0.0.1" || oscHost == "localhost")
        localOnly = true;
    else if (oscHost == "0.0.0.0" || oscHost == "*")
        localOnly = false;
    else
        return usageError("--osc-host is 127.0.0.1 (local only) or 0.0.0.0 (all interfaces)");
    std::string patchText;
    if (!patchPath.empty()) {
        std::ifstream in(patchPath);
        if (!in)
            return usageError("cannot read --patch '" + patchPath + "'");
        std::ostringstream s;
        s << in.rdbuf();
        patchText = s.str();
    }

    struct sigaction sa{};
    sa.sa_handler = onQuit;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    // Under NSM no JACK client may exist before the session opens; the session then names
    // the JACK client and holds the patch.
    SessionPlan plan{jackName, patchDir, instance, instanceGiven, patchPath, patchText};
    auto nsm = joinSession(plan, argv[0], std::chrono::seconds(nsmOpenSeconds), quit);
    if (!nsm) {
        log::error(nsm.error());
        return 1;
    }
    if (quit.load()) // SIGTERM before the session opened: nothing was started
        return 0;
    jackName = plan.jackName;
    patchDir = plan.patchDir;
    instance = plan.instance;
    patchPath = plan.patchPath;
    patchText = plan.patchText;

    // Refuse a second instance before touching JACK or the port.
    bool stale = false;
    if (auto claimed = shm::Segment::claim(instance, &stale); !claimed) {
        log::error(claimed.error());
        return 1;
    }
    if (stale)
        log::warn("removed the stale shared memory of a crashed instance '", instance, "'");

    ControlSurface *surface = nullptr;
    auto server = osc::Server::open(oscPort, localOnly, [&](const osc::Message &m) {
        if (surface)
            surface->handle(m);
    });
    if (!server) {
        log::error(server.error(), " (is another chronus-supervisor running? use --osc-port)");
        return 1;
    }

    OutputConfig outOptions;
    outOptions.clientName = jackName;
    outOptions.jackServer = jackServer;
    outOptions.channels = channels;
    outOptions.lookahead = lookahead;
    auto output = OutputStage::open(outOptions);
    if (!output) {
        log::error(output.error());
        return 1;
    }

    shm::Geometry geometry;
    geometry.channels = channels;
    geometry.periodFrames = (*output)->periodFrames();
    geometry.sampleRate = (*output)->sampleRate();
    geometry.lookahead = lookahead;
    auto segment = shm::Segment::create(instance, geometry);
    if (!segment) {
        log::error(segment.error());
        return 1;
    }
    if (auto active = (*output)->activate(**segment); !active) {
        log::error(active.error());
        return 1;
    }
    for (int i = 0; i < 5000 && (*output)->cycleFrame() == shm::kNoBlock; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if ((*output)->cycleFrame() == shm::kNoBlock) {
        log::error("JACK did not run our process callback within 5 s");
        return 1;
    }
    if (connect)
        (*output)->autoConnect();

    Timeline timeline(**output, **segment);
    if (!journalPath.empty())
        if (auto opened = timeline.openJournal(journalPath); !opened) {
            log::error(opened.error());
            return 1;
        }
    model::Interpreter controller;
    std::function<void(const std::string &, const std::string &)> notify = [&](const std::string &kind,
                                                                                 const std::string &text) {
        if (surface)
            surface->notify(kind, text);
    };
    SlotManager slots(**output, **segment, timeline,
                      {findWorker(workerOption), instance, (*output)->serverName(), jackName}, notify);
    ControlSurface controlSurface(controller, timeline, slots, **output, **segment, {recorderPort, "127.0.0.1", patchDir, maxAheadSeconds});
    controlSurface.setServer(server->get());

    slots.setRestartHook([&] {
        // Both workers were lost: the replacement starts empty. Put the live patch (with
        // its current parameter values) back, under the same generation.
        if (controller.generation() == 0)
            return;
        const std::string json = controller.liveJson(-1);
        auto spec = model::PatchSpec::fromJson(json);
        auto compiled = spec ? model::compile(*spec, controller.generation())
                             : Expected<model::CompiledPatch>(fail(spec.error()));
        if (!compiled) {
            log::error("cannot re-commit the live patch: ", compiled.error());
            return;
        }
        model::Outcome outcome;
        outcome.commit = std::make_shared<const model::CompiledPatch>(std::move(*compiled));
        (void)timeline.apply(outcome, timeline.frameFor(std::nullopt), "/patch/load", {json, 0.0f},
                             {.freshStart = true});
        log::warn("both workers were lost: re-committing the live patch");
        controlSurface.notify("error", "both workers were lost; the live patch was restored");
    });

    ServiceMonitor monitor(**output, slots,
                           log::cat("JACK client ", jackName, ", OSC port ", (*server)->port()));
    // Handlers that wait for the timeline keep the slots serviced and the watchdog fed.
    controlSurface.setIdle([&] {
        slots.service();
        monitor.tick(true);
    });
    if (*nsm)
        (*nsm)->onSave([&]() -> Expected<void> {
            const std::string file = sessionPatchFile((*nsm)->session()->path);
            auto written = writeFileAtomically(file, controller.liveJson(2) + "\n");
            if (written)
                log::info("NSM: saved the live patch to ", file);
            else
                log::error("NSM: ", written.error());
            return written;
        });
    slots.start();

    // Commands wait in the socket until a worker is live, so none is lost before the
    // timeline has somebody to play it.
    bool ready = false;
    int status = 0;
    const auto started = std::chrono::steady_clock::now();
    while (!quit.load()) {
        if (ready) {
            (*server)->poll(1);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            if ((*output)->activeSlot() >= 0) {
                ready = true;
                surface = &controlSurface;
                log::info("ready: OSC on port ", (*server)->port(), " (UDP and TCP), JACK client '",
                          outOptions.clientName, "', ", geometry.periodFrames, " frames at ", geometry.sampleRate,
                          " Hz, lookahead ", lookahead);
                if (!patchText.empty()) {
                    auto spec = model::PatchSpec::fromJson(patchText);
                    auto outcome = spec ? controller.load(*spec) : Expected<model::Outcome>(fail(spec.error()));
                    if (!outcome) {
                        log::error(patchPath, ": ", outcome.error());
                        status = 1;
                        break;
                    }
                    (void)timeline.apply(*outcome, timeline.frameFor(std::nullopt), "/patch/load", {patchText, 0.0f});
                }
            } else if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
                log::error("no worker came up within 10 s (worker binary: ", findWorker(workerOption), ")");
                status = 1;
                break;
            }
        }
        // Saves wait in the socket until the start-up patch is loaded: an earlier one would
        // overwrite the session's patch with an empty one.
        if (*nsm && ready)
            (*nsm)->poll(0);
        slots.service();
        timeline.tick();
        if (ready)
            controlSurface.tick();
        monitor.tick(ready);
        timeline.prune();
        if ((*output)->serverGone()) {
            log::error("the JACK server shut down (", (*output)->shutdownReason(), "); exiting so the service restarts");
            status = 1;
            break;
        }
        if ((*output)->formatChanged()) {
            log::error("the JACK buffer size or sample rate changed; exiting so the service restarts with the new "
                       "settings");
            status = 1;
            break;
        }
    }
    monitor.stopping();
    surface = nullptr;
    slots.stopAll();
    output->reset();
    log::info("stopped");
    return status;
}
