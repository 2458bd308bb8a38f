// State that survives: a supervisor that is killed, or that exits because JACK's buffer size
// changed, comes back with the live patch it had (values set live included); --fresh starts
// empty.
#include "harness/gtest_support.hpp"
#include "harness/live_suite.hpp"
#include "harness/private_jackd.hpp"

#include <nlohmann/json.hpp>

#include <csignal>
#include <sys/wait.h>

using namespace chronus::harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using namespace chronus::osc;

namespace {

// The live patch as the supervisor dumps it.
std::optional<nlohmann::json> dump(Client &c)
{
    auto r = command(c, "/patch/dump", {});
    if (!r || r->address != "/done" || r->args.size() < 2 || !r->stringAt(1))
        return std::nullopt;
    return nlohmann::json::parse(*r->stringAt(1));
}

std::unique_ptr<Client> connect(const Supervisor &sup)
{
    auto c = Client::open(Protocol::Udp, "127.0.0.1", sup.port());
    return c ? std::move(*c) : nullptr;
}

// Builds a patch and sets a value live, waits until it is kept, returns its dump.
nlohmann::json playSomething(Client &c)
{
    for (const auto &[addr, args] : std::vector<std::pair<std::string, std::vector<Arg>>>{
             {"/patch/create", {"lead", "osc", "waveform", "saw", "freq", 220.0f}},
             {"/patch/create", {"f", "biquad_filter", "cutoff", 900.0f}},
             {"/patch/connect", {"lead", "f"}},
             {"/patch/connect", {"f", "output"}},
             {"/patch/commit", {0.0f}},
             {"/mod/f/cutoff", {1234.0f}}}) {
        auto r = command(c, addr, args);
        EXPECT_TRUE(r && r->address == "/done") << addr;
    }
    EXPECT_TRUE(sync(c));
    std::this_thread::sleep_for(600ms); // kept within a few hundred ms
    auto d = dump(c);
    EXPECT_TRUE(d);
    return d ? *d : nlohmann::json();
}

} // namespace

TEST(LiveDurable, AKilledSupervisorComesBackWithTheLivePatchAndFreshStartsEmpty)
{
    CHRONUS_REQUIRE_JACKD();
    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
    const std::vector<std::string> state = {"--state-dir", (dir.path / "state").string()};
    Supervisor first;
    ASSERT_TRUE(first.start(dir.path, state)) << first.log();
    auto c1 = connect(first);
    ASSERT_TRUE(c1 && waitRedundant(*c1, 5s));
    const nlohmann::json before = playSomething(*c1);
    ASSERT_TRUE(before.contains("nodes"));
    ASSERT_EQ(::kill(first.pid(), SIGKILL), 0);
    int st = 0;
    ::waitpid(first.pid(), &st, 0);
    first.reaped();

    Supervisor second;
    ASSERT_TRUE(second.start(dir.path, state, first.instance())) << second.log();
    auto c2 = connect(second);
    ASSERT_TRUE(c2 && waitRedundant(*c2, 5s));
    EXPECT_TRUE(sync(*c2));
    const auto after = dump(*c2);
    ASSERT_TRUE(after);
    EXPECT_EQ(*after, before) << "restored:\n" << after->dump(2) << "\nkept:\n" << before.dump(2);
    EXPECT_NE(second.log().find("restoring the live patch"), std::string::npos) << second.log();
    EXPECT_EQ(second.stop(), 0) << second.log();

    std::vector<std::string> freshArgs = state;
    freshArgs.push_back("--fresh");
    Supervisor third;
    ASSERT_TRUE(third.start(dir.path, freshArgs, first.instance())) << third.log();
    auto c3 = connect(third);
    ASSERT_TRUE(c3 && waitRedundant(*c3, 5s));
    const auto empty = dump(*c3);
    ASSERT_TRUE(empty);
    EXPECT_TRUE((*empty)["nodes"].empty()) << empty->dump(2);
    EXPECT_EQ(third.stop(), 0) << third.log();
}

TEST(LiveDurable, AJackBufferSizeChangeEndsTheSupervisorCleanlyAndTheRestartRestoresThePatch)
{
    CHRONUS_REQUIRE_JACKD();
    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
    const std::vector<std::string> state = {"--state-dir", (dir.path / "state").string()};
    Supervisor first;
    ASSERT_TRUE(first.start(dir.path, state)) << first.log();
    auto c1 = connect(first);
    ASSERT_TRUE(c1 && waitRedundant(*c1, 5s));
    const nlohmann::json before = playSomething(*c1);
    ASSERT_EQ(std::system("jack_bufsize 512 >/dev/null 2>&1"), 0);
    int st = 0;
    for (int i = 0; i < 100 && ::waitpid(first.pid(), &st, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(WIFEXITED(st)) << "the supervisor did not exit after the buffer size changed:\n" << first.log();
    first.reaped();
    EXPECT_EQ(WEXITSTATUS(st), 1) << "exits 1 so its service restarts it";
    EXPECT_NE(first.log().find("buffer size"), std::string::npos) << first.log();

    Supervisor second; // as systemd would restart it, now at 512 frames
    ASSERT_TRUE(second.start(dir.path, state, first.instance())) << second.log();
    EXPECT_NE(second.log().find("512 frames"), std::string::npos) << second.log();
    auto c2 = connect(second);
    ASSERT_TRUE(c2 && waitRedundant(*c2, 5s));
    EXPECT_TRUE(sync(*c2));
    const auto after = dump(*c2);
    ASSERT_TRUE(after);
    EXPECT_EQ(*after, before);
    EXPECT_EQ(second.stop(), 0) << second.log();
}

// A JACK server that stops running cycles (stopped for 1.5 s here; a NetJACK2 slave whose
// master is gone does the same): the supervisor keeps answering, /status says the audio is
// stalled and for how long, and once JACK runs again it plays on without a restart.
TEST(LiveDurable, WhileJackRunsNoCyclesTheSupervisorAnswersSaysSoAndPlaysOnAfter)
{
    CHRONUS_REQUIRE_JACKD();
    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
    Supervisor sup;
    ASSERT_TRUE(sup.start(dir.path, {"--state-dir", (dir.path / "state").string()})) << sup.log();
    auto c = connect(sup);
    ASSERT_TRUE(c && waitRedundant(*c, 5s));
    playSomething(*c);
    auto st = status(*c);
    ASSERT_TRUE(st);
    EXPECT_EQ(str(*st, "audio"), "running");
    ASSERT_EQ(::kill(jack.pid(), SIGSTOP), 0);
    std::this_thread::sleep_for(1500ms);
    st = status(*c);
    ::kill(jack.pid(), SIGCONT);
    ASSERT_TRUE(st) << "no /status while JACK was stopped";
    EXPECT_EQ(str(*st, "audio"), "stalled");
    EXPECT_GT(num(*st, "ms_since_cycle"), 1000);
    const pid_t pid = sup.pid();
    const auto resumed = std::chrono::steady_clock::now();
    bool running = false;
    while (!running && std::chrono::steady_clock::now() < resumed + 10s) {
        st = status(*c);
        running = st && str(*st, "audio") == "running";
        if (!running)
            std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(running) << "still stalled 10 s after JACK was continued: " << sup.log();
    std::printf("audio running again %lld ms after SIGCONT\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - resumed).count()));
    EXPECT_TRUE(waitRedundant(*c, 10s)) << sup.log();
    st = status(*c);
    ASSERT_TRUE(st);
    EXPECT_EQ(::kill(pid, 0), 0) << "the supervisor is gone";
    const double before = num(*st, "failovers");
    std::this_thread::sleep_for(500ms);
    auto levels = command(*c, "/levels", {});
    ASSERT_TRUE(levels && levels->address == "/done");
    EXPECT_GT(levels->numberAt(1).value_or(-300), -40.0) << "silent after JACK came back: " << toString(*levels);
    st = status(*c);
    EXPECT_EQ(num(*st, "failovers"), before);
}
