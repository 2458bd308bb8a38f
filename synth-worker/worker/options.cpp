#include "synth-worker/worker/options.hpp"

namespace chronus::worker {

namespace {

const char *kDescription = R"(Renders one slot of a running chronus-supervisor instance. Started by the supervisor;
not meant to be run by hand.)";

const char *kNotes = R"(It dies with the supervisor that started it, and refuses to run under any other parent.
With CHRONUS_FAULT_INJECTION=1 in its environment (the failover tests), SIGUSR1 poisons the
next block with NaN, SIGUSR2 stalls one cycle, SIGRTMIN holds back the event ring for a few
blocks and SIGRTMIN+1 stands the audio thread still for 1.2 s; otherwise all are ignored.)";

} // namespace

cli::Parsed<WorkerConfig> parseOptions(int argc, char **argv)
{
    WorkerConfig c;
    cli::CommandLine cl("chronus-synth-worker", "chronus-synth-worker --slot N [options]", kDescription, kNotes);
    cl.value("--slot", "N", c.slot, "slot index, 0 or 1 (required)", "0 or 1",
             cli::between<std::uint32_t>(0, shm::kSlots - 1))
        .required();
    cl.value("--instance", "NAME", c.instance, "supervisor instance (default \"default\")", "a name");
    cl.value("--jack-server", "NAME", c.jackServer, "JACK server (default \"default\")", "a name")
        .env("JACK_DEFAULT_SERVER");
    cl.value("--client-name", "NAME", c.clientName, "JACK client name (default chronus-worker-N)", "a name");
    if (auto status = cl.parse(argc, argv))
        return cli::Parsed<WorkerConfig>::exit(*status);
    return c;
}

} // namespace chronus::worker
