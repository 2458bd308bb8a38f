// chronus-recorder under a service manager and a session manager, end to end with a private
// jackd: sd_notify readiness, watchdog and stopping over a NOTIFY_SOCKET the test owns, and
// the NSM client protocol against a stand-in nsmd built from chronus::osc::Server.
#include "jack_fixture.hpp"
#include "osc.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/un.h>

using namespace chronus;
using namespace testing_rec;
using namespace std::chrono_literals;

namespace {

class SessionTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        REQUIRE_JACKD();
        dir_ = fs::temp_directory_path() / ("chronus-rec-session-" + std::to_string(getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        ASSERT_TRUE(jack_.start(dir_)) << jack_.failure();
        ramp_ = spawn({envOr("CHRONUS_RAMP", "chronus-ramp-source"), "--channels", "2"}, (dir_ / "ramp.log").string());
    }
    void TearDown() override
    {
        if (recorder_ > 0)
            stopChild(recorder_);
        if (ramp_ > 0)
            stopChild(ramp_);
        if (!HasFailure())
            fs::remove_all(dir_);
    }
    // Starts the recorder with extra environment variables (set in the child only).
    void startRecorder(std::vector<std::pair<std::string, std::string>> env)
    {
        port_ = freeUdpPort();
        recorder_ = spawn({envOr("CHRONUS_RECORDER", "chronus-recorder"), "--osc-port", std::to_string(port_), "--dir",
                           (dir_ / "rec").string()},
                          (dir_ / "recorder.log").string(), [env] {
                              for (const auto &[k, v] : env)
                                  setenv(k.c_str(), v.c_str(), 1);
                          });
        auto c = osc::Client::open(osc::Protocol::Udp, "127.0.0.1", port_);
        ASSERT_TRUE(c) << c.error();
        client_ = std::move(*c);
    }
    // Whether JACK knows `port`, asked through a probe client of our own.
    static bool portExists(const std::string &port)
    {
        jack_status_t st{};
        jack_client_t *probe = jack_client_open("session-probe", JackNoStartServer, &st);
        if (!probe)
            return false;
        const bool found = jack_port_by_name(probe, port.c_str()) != nullptr;
        jack_client_close(probe);
        return found;
    }
    static bool jackClientWithPrefix(const std::string &prefix)
    {
        jack_status_t st{};
        jack_client_t *probe = jack_client_open("session-probe", JackNoStartServer, &st);
        if (!probe)
            return false;
        const char **ports = jack_get_ports(probe, ("^" + prefix).c_str(), nullptr, 0);
        const bool found = ports && ports[0];
        if (ports)
            jack_free(ports);
        jack_client_close(probe);
        return found;
    }

    fs::path dir_;
    JackServer jack_;
    pid_t ramp_ = -1, recorder_ = -1;
    int port_ = 0;
    std::unique_ptr<osc::Client> client_;
};

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
public:
    explicit NotifySocket(const fs::path &path) : path_(path)
    {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        ::unlink(path.c_str());
        ok_ = path.string().size() < sizeof a.sun_path && fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    }
    ~NotifySocket()
    {
        if (fd_ >= 0)
            close(fd_);
        ::unlink(path_.c_str());
    }
    bool ok() const { return ok_; }
    // Next datagram within timeoutMs ("" on timeout).
    std::string receive(int timeoutMs)
    {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeoutMs) <= 0)
            return {};
        char buf[4096];
        const ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, std::size_t(n)) : std::string();
    }
    // Waits for a datagram containing `line`; everything received is appended to `seen`.
    bool await(const std::string &line, int timeoutMs, std::vector<std::string> &seen)
    {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while (std::chrono::steady_clock::now() < end) {
            const std::string m = receive(50);
            if (m.empty())
                continue;
            seen.push_back(m);
            if (m.find(line) != std::string::npos)
                return true;
        }
        return false;
    }

private:
    fs::path path_;
    int fd_ = -1;
    bool ok_ = false;
};

// A stand-in session manager: records what it receives, answers nothing by itself.
struct FakeNsmd {
    std::vector<osc::Message> received;
    std::unique_ptr<osc::Server> server;
    FakeNsmd()
    {
        auto s = osc::Server::open(0, true, [this](const osc::Message &m) { received.push_back(m); });
        EXPECT_TRUE(s) << (s ? "" : s.error());
        if (s)
            server = std::move(*s);
    }
    std::string url() const { return "osc.udp://127.0.0.1:" + std::to_string(server->port()) + "/"; }
    // First message at `address` (and, if given, first argument `first`) within timeoutMs.
    std::optional<osc::Message> await(const std::string &address, const std::string &first, int timeoutMs)
    {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
        while (std::chrono::steady_clock::now() < end) {
            for (auto it = received.begin(); it != received.end(); ++it)
                if (it->address == address && (first.empty() || it->stringAt(0) == first)) {
                    auto m = *it;
                    received.erase(it);
                    return m;
                }
            server->poll(20);
        }
        return std::nullopt;
    }
};

} // namespace

TEST_F(SessionTest, TellsSystemdItIsReadyOnceJackAndOscServeFeedsTheWatchdogAndSaysStopping)
{
    // Unix socket paths are limited to 107 bytes: keep this one short.
    const fs::path sock = fs::temp_directory_path() / ("chronus-notify-" + std::to_string(getpid()) + ".sock");
    NotifySocket notify(sock);
    ASSERT_TRUE(notify.ok());
    startRecorder({{"NOTIFY_SOCKET", sock.string()}, {"WATCHDOG_USEC", "200000"}});
    std::vector<std::string> seen;
#ifndef CHRONUS_HAVE_SYSTEMD
    // Built without the systemd feature: the recorder serves but never notifies.
    std::optional<osc::Message> pong;
    for (int i = 0; i < 100 && !pong; ++i)
        pong = client_->request("/ping", {}, 100);
    ASSERT_TRUE(pong);
    EXPECT_FALSE(notify.await("=", 500, seen)) << seen.front();
    return;
#endif
    ASSERT_TRUE(notify.await("READY=1", 10000, seen)) << "no READY=1; see " << dir_ << "/recorder.log";
    // Ready means ready: the JACK inputs exist and OSC answers at once.
    EXPECT_TRUE(portExists("chronus-recorder:in_1"));
    EXPECT_TRUE(client_->request("/ping", {}, 200)) << "READY=1 came before OSC answered";
    // Watchdog at half the 200 ms interval: about 10 in a second; ask for at least 5.
    int watchdogs = 0;
    const auto end = std::chrono::steady_clock::now() + 1000ms;
    bool statusSeen = false;
    while (std::chrono::steady_clock::now() < end) {
        const std::string m = notify.receive(50);
        watchdogs += m.find("WATCHDOG=1") != std::string::npos;
        statusSeen = statusSeen || m.find("STATUS=OSC on port " + std::to_string(port_)) != std::string::npos;
    }
    for (const std::string &m : seen)
        statusSeen = statusSeen || m.find("STATUS=OSC on port " + std::to_string(port_)) != std::string::npos;
    EXPECT_TRUE(statusSeen);
    EXPECT_GE(watchdogs, 5);
    EXPECT_LE(watchdogs, 15);
    kill(recorder_, SIGTERM);
    EXPECT_TRUE(notify.await("STOPPING=1", 5000, seen));
    int status = 0;
    waitpid(recorder_, &status, 0);
    recorder_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(SessionTest, UnderNsmItWaitsForOpenThenUsesTheSessionNameAndDirectoryAndQuitsCleanlyOnSigterm)
{
    FakeNsmd nsmd;
    ASSERT_TRUE(nsmd.server);
    startRecorder({{"NSM_URL", nsmd.url()}});
    auto announce = nsmd.await("/nsm/server/announce", "", 10000);
    ASSERT_TRUE(announce) << "no announce; see " << dir_ << "/recorder.log";
    EXPECT_EQ(announce->stringAt(0), "chronus-recorder");
    EXPECT_EQ(announce->intAt(5), recorder_);
    const std::string back = announce->senderUrl;
    ASSERT_TRUE(nsmd.server->sendTo(back, "/reply", {std::string("/nsm/server/announce"), std::string("hello"),
                                                      std::string("fake-nsmd"), std::string(":server-control:")}));
    // No JACK client and no OSC before the session is open.
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(jackClientWithPrefix("chronus-recorder"));
    EXPECT_FALSE(jackClientWithPrefix("Recorder.nXYZ"));
    EXPECT_FALSE(client_->request("/ping", {}, 100));

    const fs::path sessionPath = dir_ / "session" / "Recorder.nXYZ";
    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/open", {sessionPath.string(), std::string("demo"),
                                                                std::string("Recorder.nXYZ")}));
    auto opened = nsmd.await("/reply", "/nsm/client/open", 5000);
    ASSERT_TRUE(opened) << "no reply to open; see " << dir_ << "/recorder.log";
    EXPECT_TRUE(fs::is_directory(sessionPath));
    std::optional<osc::Message> pong;
    for (int i = 0; i < 50 && !pong; ++i)
        pong = client_->request("/ping", {}, 100);
    ASSERT_TRUE(pong) << "recorder never answered /ping after open";
    EXPECT_TRUE(portExists("Recorder.nXYZ:in_1"));
    EXPECT_FALSE(jackClientWithPrefix("chronus-recorder"));

    auto started = client_->request("/record/start", {std::string("take")}, 5000);
    ASSERT_TRUE(started);
    ASSERT_EQ(started->address, "/done") << osc::toString(*started);
    const fs::path path = *started->stringAt(1);
    EXPECT_EQ(path.parent_path(), fs::canonical(sessionPath));

    ASSERT_TRUE(nsmd.server->sendTo(back, "/nsm/client/save", {}));
    auto saved = nsmd.await("/reply", "/nsm/client/save", 5000);
    EXPECT_TRUE(saved) << "no reply to save";
    std::this_thread::sleep_for(700ms);

    // NSM quits clients with SIGTERM: the take is finalized and the process exits 0.
    const int status = stopChild(recorder_, SIGTERM);
    recorder_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const RampCheck r = checkRamp(path, sidecarFirstFrame(path));
    ASSERT_TRUE(r.opened);
    EXPECT_GE(r.frames, 48000u / 2) << r.describe();
    EXPECT_EQ(r.mismatches, 0u) << r.describe();
    EXPECT_EQ(r.silentFrames % 256, 0u) << r.describe();
    EXPECT_GE(fs::file_size(path), r.frames * 8);
    EXPECT_LT(fs::file_size(path), r.frames * 8 + 4096);
}
