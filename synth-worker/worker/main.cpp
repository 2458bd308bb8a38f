// chronus-synth-worker: one DSP slot of the live suite. Started by chronus-supervisor as
// its direct child; dies with it. Wires options, the shared-memory segment, the Worker
// and signal handling, then runs the control loop.
#include "common/log.hpp"
#include "common/shm_layout.hpp"
#include "synth-worker/worker/options.hpp"
#include "synth-worker/worker/worker.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace {

std::atomic<bool> quit{false};
chronus::worker::Worker *current = nullptr;

void onQuit(int) { quit.store(true); }
// Test hooks (with CHRONUS_FAULT_INJECTION=1): SIGUSR1 poisons the next block with NaN,
// SIGUSR2 stalls one cycle, SIGRTMIN holds back the event ring for a few blocks, SIGRTMIN+1
// stands the audio thread still for 1.2 s (starved, not stopped).
void onFault(int sig)
{
    if (current)
        current->injectFault(sig == SIGUSR1        ? chronus::shm::FaultKind::NaN
                             : sig == SIGUSR2      ? chronus::shm::FaultKind::Stall
                             : sig == SIGRTMIN + 1 ? chronus::shm::FaultKind::Starve
                                                   : chronus::shm::FaultKind::DelayEvents);
}

void installSignalHandlers()
{
    std::signal(SIGTERM, onQuit);
    std::signal(SIGINT, onQuit);
    // Fault injection is for the failover tests only (CHRONUS_FAULT_INJECTION=1 in their
    // environment); anywhere else a stray SIGUSR1/2 must neither poison a block nor kill us.
    const char *faults = std::getenv("CHRONUS_FAULT_INJECTION");
    const bool injectable = faults && std::string_view(faults) == "1";
    std::signal(SIGUSR1, injectable ? onFault : SIG_IGN);
    std::signal(SIGUSR2, injectable ? onFault : SIG_IGN);
    std::signal(SIGRTMIN, injectable ? onFault : SIG_IGN);
    std::signal(SIGRTMIN + 1, injectable ? onFault : SIG_IGN);
}

// The segment of the supervisor that started us; refuses any other parent.
chronus::Expected<std::unique_ptr<chronus::shm::Segment>> openSegment(const std::string &instance)
{
    using namespace chronus;
    auto segment = shm::Segment::open(instance);
    if (!segment)
        return segment;
    if (::getppid() != (*segment)->header().supervisorPid)
        return fail(log::cat("started by pid ", ::getppid(), ", not by the supervisor (pid ",
                             (*segment)->header().supervisorPid, "); workers are started by chronus-supervisor"));
    return segment;
}

} // namespace

int main(int argc, char **argv)
{
    using namespace chronus;
    // Die with the supervisor (checked against its pid below, in case it already died).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto config = worker::parseOptions(argc, argv);
    if (!config)
        return config.exitStatus();
    log::init("chronus-synth-worker[" + std::to_string(config->slot) + "]");

    auto segment = openSegment(config->instance);
    if (!segment) {
        log::error(segment.error());
        return 1;
    }
    // Best effort: without the privilege the worker still runs, just not locked in RAM.
    (void)::mlockall(MCL_CURRENT | MCL_FUTURE);

    auto w = worker::Worker::create(*config, **segment);
    if (!w) {
        log::error(w.error());
        return 1;
    }
    current = w->get();
    installSignalHandlers();
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
