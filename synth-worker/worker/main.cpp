// chronus-synth-worker: one DSP slot of the live suite. Started by chronus-supervisor as
// its direct child; dies with it. Wires options, the shared-memory segment, the Worker
// and signal handling, then runs the control loop.
#include "common/log.hpp"
#include "common/parse.hpp"
#include "common/shm_layout.hpp"
#include "synth-worker/worker/worker.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace {

const char *kUsage = R"(usage: chronus-synth-worker --slot N [--instance NAME] [--jack-server NAME] [--client-name NAME]

Renders one slot of a running chronus-supervisor instance. Started by the supervisor;
not meant to be run by hand.

  --slot N            slot index, 0 or 1
  --instance NAME     supervisor instance (default "default")
  --jack-server NAME  JACK server (default: $JACK_DEFAULT_SERVER or "default")
  --client-name NAME  JACK client name (default chronus-worker-N)
)";

std::atomic<bool> quit{false};
chronus::worker::Worker *current = nullptr;

void onQuit(int) { quit.store(true); }
// Test hooks (with CHRONUS_FAULT_INJECTION=1): SIGUSR1 poisons the next block with NaN,
// SIGUSR2 stalls one cycle, SIGRTMIN holds back the event ring for a few blocks.
void onFault(int sig)
{
    if (current)
        current->injectFault(sig == SIGUSR1   ? chronus::shm::FaultKind::NaN
                             : sig == SIGUSR2 ? chronus::shm::FaultKind::Stall
                                              : chronus::shm::FaultKind::DelayEvents);
}

int usageError(const std::string &message)
{
    std::fprintf(stderr, "chronus-synth-worker: %s\n%s", message.c_str(), kUsage);
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    using namespace chronus;
    // Die with the supervisor (checked against its pid below, in case it already died).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);

    worker::WorkerConfig options;
    bool haveSlot = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : nullptr;
        if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "--slot" && value) {
            if (!chronus::parseWhole(argv[++i], options.slot) || options.slot >= shm::kSlots)
                return usageError("--slot must be 0 or 1");
            haveSlot = true;
        } else if (arg == "--instance" && value) {
            options.instance = argv[++i];
        } else if (arg == "--jack-server" && value) {
            options.jackServer = argv[++i];
        } else if (arg == "--client-name" && value) {
            options.clientName = argv[++i];
        } else {
            return usageError("unknown or incomplete option '" + arg + "'");
        }
    }
    if (!haveSlot)
        return usageError("--slot is required");
    log::init("chronus-synth-worker[" + std::to_string(options.slot) + "]");

    auto segment = shm::Segment::open(options.instance);
    if (!segment) {
        log::error(segment.error());
        return 1;
    }
    if (::getppid() != (*segment)->header().supervisorPid) {
        log::error("started by pid ", ::getppid(), ", not by the supervisor (pid ", (*segment)->header().supervisorPid,
                   "); workers are started by chronus-supervisor");
        return 1;
    }
    // Best effort: without the privilege the worker still runs, just not locked in RAM.
    (void)::mlockall(MCL_CURRENT | MCL_FUTURE);

    auto w = worker::Worker::create(options, **segment);
    if (!w) {
        log::error(w.error());
        return 1;
    }
    current = w->get();
    std::signal(SIGTERM, onQuit);
    std::signal(SIGINT, onQuit);
    // Fault injection is for the failover tests only (CHRONUS_FAULT_INJECTION=1 in their
    // environment); anywhere else a stray SIGUSR1/2 must neither poison a block nor kill us.
    const char *faults = std::getenv("CHRONUS_FAULT_INJECTION");
    const bool injectable = faults && std::string_view(faults) == "1";
    std::signal(SIGUSR1, injectable ? onFault : SIG_IGN);
    std::signal(SIGUSR2, injectable ? onFault : SIG_IGN);
    std::signal(SIGRTMIN, injectable ? onFault : SIG_IGN);
    if (auto started = (*w)->start(); !started) {
        log::error(started.error());
        return 1;
    }
    int status = 0;
    while (!quit.load()) {
        if (auto ok = (*w)->step(); !ok) {
            log::error(ok.error());
            status = 1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    current = nullptr;
    w->reset();
    return status;
}
