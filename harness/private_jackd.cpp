#include "harness/private_jackd.hpp"

#include "harness/process.hpp"

#include <jack/jack.h>

#include <chrono>
#include <cstdlib>
#include <system_error>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace chronus::harness {

bool PrivateJackd::start(const std::filesystem::path &dir, int periodFrames)
{
    if (const char *p = std::getenv("CHRONUS_TEST_PERIOD"); p && std::atoi(p) > 0)
        periodFrames = std::atoi(p);
    static int counter = 0;
    name_ = "chronus-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    log_ = dir / "jackd.log";
    pid_ = spawn({"jackd", "-n", name_, "--no-realtime", "-d", "dummy", "-r", "48000", "-p",
                  std::to_string(periodFrames)},
                 log_.string());
    setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
    setenv("JACK_NO_START_SERVER", "1", 1);
    for (int i = 0; i < 300; ++i) {
        jack_status_t st{};
        if (jack_client_t *c = jack_client_open("probe", JackNoStartServer, &st)) {
            jack_client_close(c);
            return true;
        }
        if (waitpid(pid_, nullptr, WNOHANG) != 0) {
            pid_ = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::string PrivateJackd::failure() const
{
    const std::string log = readText(log_);
    if (log.find("Too many servers") != std::string::npos)
        return "jackd: all 8 JACK server slots are taken by servers that died uncleanly; "
               "scripts/jack-reclaim frees them";
    return "jackd did not start; its log: " + log.substr(log.size() > 600 ? log.size() - 600 : 0);
}

void PrivateJackd::stop()
{
    if (pid_ <= 0)
        return;
    stopChild(pid_);
    pid_ = -1;
    // jackd leaves semaphores named after the server when clients died under it; the name
    // is ours alone, so remove what carries it.
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator("/dev/shm", ec))
        if (e.path().filename().string().find("_" + name_ + "_") != std::string::npos)
            std::filesystem::remove(e.path(), ec);
}

} // namespace chronus::harness
