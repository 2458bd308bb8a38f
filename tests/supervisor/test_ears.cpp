// The supervisor's ears on a live suite: /analyze describes what was just played (a 440 Hz
// sine is A4, silence is silence), /levels gives its peak, /meters pushes level messages at
// the asked rate until told to stop, and bad requests are refused with a reason.
#include "live_fixture.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace {

using namespace chronus::harness;
using namespace std::chrono_literals;
using chronus::osc::Arg;
using chronus::osc::Client;
using chronus::osc::Protocol;

class LiveEars : public LiveSuiteTest {
protected:
    nlohmann::json analyze(Client &c, float seconds)
    {
        auto r = command(c, "/analyze", {seconds}, 10000);
        if (!r || r->address != "/done" || !r->stringAt(1)) {
            ADD_FAILURE() << "/analyze: " << (r ? toString(*r) : "no reply");
            return {};
        }
        return nlohmann::json::parse(*r->stringAt(1));
    }

};

} // namespace

TEST_F(LiveEars, SilenceIsSilentAndA440HzSineIsA4AtItsLevel)
{
    std::this_thread::sleep_for(1200ms);
    const auto quiet = analyze(*client, 1.0f);
    EXPECT_EQ(quiet["silent"], true) << quiet.dump();
    EXPECT_TRUE(quiet["integrated_lufs"].is_null()) << quiet.dump();

    loadPatch(R"({"nodes":[{"id":"s","type":"sine","params":{"freq":440,"gain":0.3}}],
                  "connections":[{"from":"s","to":"output"}]})");
    std::this_thread::sleep_for(1500ms);
    const auto tone = analyze(*client, 1.0f);
    EXPECT_EQ(tone["silent"], false) << tone.dump();
    EXPECT_NEAR(tone["fundamental_hz"].get<double>(), 440.0, 1.0) << tone.dump();
    EXPECT_EQ(tone["note"].get<std::string>().substr(0, 2), "A4");
    EXPECT_NEAR(tone["sample_peak_dbfs"].get<double>(), 20 * std::log10(0.3), 0.1);
    // The same over TCP (answered on the connection).
    auto tcp = Client::open(Protocol::Tcp, "127.0.0.1", sup.port());
    ASSERT_TRUE(tcp);
    EXPECT_NEAR(analyze(**tcp, 0.5f)["fundamental_hz"].get<double>(), 440.0, 1.0);

    auto levels = command(*client, "/levels");
    ASSERT_TRUE(levels && levels->address == "/done") << (levels ? toString(*levels) : "no reply");
    EXPECT_NEAR(*levels->numberAt(1), 20 * std::log10(0.3), 0.1) << toString(*levels);
    EXPECT_NEAR(*levels->numberAt(3), 20 * std::log10(0.3 / std::sqrt(2.0)), 0.1) << toString(*levels);
    EXPECT_EQ(*levels->numberAt(5), 0) << "no clipped sample";
}

TEST_F(LiveEars, MetersArePushedAtTheAskedRateUntilStopped)
{
    loadPatch(R"({"nodes":[{"id":"s","type":"sine","params":{"freq":220,"gain":0.5}}],
                  "connections":[{"from":"s","to":"output"}]})");
    std::this_thread::sleep_for(300ms);
    auto on = command(*client, "/meters", {1, 20.0f});
    ASSERT_TRUE(on && on->address == "/done") << (on ? toString(*on) : "no reply");
    int meters = 0;
    double peak = -300;
    const auto until = std::chrono::steady_clock::now() + 1000ms;
    while (std::chrono::steady_clock::now() < until)
        if (auto m = client->receive(50); m && m->address == "/meter") {
            ++meters;
            peak = *m->numberAt(0);
        }
    EXPECT_GE(meters, 15) << "at 20 Hz for a second";
    EXPECT_LE(meters, 22);
    EXPECT_NEAR(peak, 20 * std::log10(0.5), 0.2);
    ASSERT_TRUE(command(*client, "/meters", {0}));
    std::this_thread::sleep_for(200ms);
    while (client->receive(20)) {
    }
    int after = 0;
    const auto quietUntil = std::chrono::steady_clock::now() + 500ms;
    while (std::chrono::steady_clock::now() < quietUntil)
        if (auto m = client->receive(50); m && m->address == "/meter")
            ++after;
    EXPECT_EQ(after, 0) << "meters after /meters 0";
}

TEST_F(LiveEars, AbsurdRequestsAreRefusedWithAReason)
{
    for (const auto &[address, args, fragment] : std::vector<std::tuple<std::string, std::vector<Arg>, std::string>>{
             {"/analyze", {1000.0f}, "from 0.1 to 40"},
             {"/analyze", {-1.0f}, "from 0.1 to 40"},
             {"/analyze", {std::string("loud")}, "from 0.1 to 40"},
             {"/levels", {0.0f}, "from 0.01 to 40"},
             {"/meters", {1, 100.0f}, "0.5 to 30 Hz"},
             {"/meters", {std::string("maybe")}, "takes 1 or 0"}}) {
        auto r = command(*client, address, args);
        ASSERT_TRUE(r) << address;
        EXPECT_EQ(r->address, "/fail") << toString(*r);
        EXPECT_NE(r->stringAt(1).value_or("").find(fragment), std::string::npos) << toString(*r);
    }
    EXPECT_TRUE(answers(*client, 1000));
}
