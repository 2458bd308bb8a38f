#include "tools/chronusctl/options.hpp"

#include "tools/chronusctl/commands.hpp"

#include <cstdio>
#include <cstdlib>

namespace chronus::ctl {

namespace {

const char *kDescription = "Talks to chronus-supervisor over OSC (UDP by default) and prints the reply.";

const char *kNotes = R"(Arguments are typed by their form: integers, floats, otherwise strings.
Exit status: 0 done, 1 /fail from the server, 2 usage, 3 no reply (is the server running?))";

using P = cli::Parsed<Options>;

} // namespace

cli::Parsed<Options> parseOptions(int argc, char **argv)
{
    Options o;
    double timeoutSeconds = 3;
    cli::CommandLine cl("chronusctl", "chronusctl [options] <command> [args...]", kDescription,
                        commandsHelp() + "\n" + kNotes);
    // CHRONUS_HOST names the supervisor's machine; CHRONUS_OSC_HOST, its older name, still works.
    if (!std::getenv("CHRONUS_HOST"))
        if (const char *old = std::getenv("CHRONUS_OSC_HOST"))
            ::setenv("CHRONUS_HOST", old, 1);
    cl.value("--host", "HOST", o.host, "supervisor host (default 127.0.0.1)", "a host").env("CHRONUS_HOST");
    cl.value("--port", "PORT", o.port, "supervisor port (default 5005)", "a port number between 1 and 65535",
             cli::between(1, 65535))
        .env("CHRONUS_OSC_PORT");
    cl.value("--recorder-port", "PORT", o.recorderPort, "send record commands straight to the recorder on PORT",
             "a port number between 1 and 65535", cli::between(1, 65535));
    cl.flag("--tcp", o.tcp, "use TCP instead of UDP");
    cl.value("--timeout", "SECONDS", timeoutSeconds, "how long to wait for a reply (default 3)",
             "a positive number of seconds", cli::Accept<double>([](double s) { return s >= 0.001 && s <= 86400; }));
    cl.flag("--json", o.asJson, "print replies as JSON");
    cl.wordsAfterOptions(o.words);
    if (auto status = cl.parse(argc, argv))
        return P::exit(*status);
    if (o.words.empty()) {
        std::fputs(cl.help().c_str(), stderr);
        return P::exit(2);
    }
    o.timeoutMs = static_cast<int>(timeoutSeconds * 1000);
    return o;
}

} // namespace chronus::ctl
