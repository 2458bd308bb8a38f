// The fixture the live tests of playing, inputs and ears share: a private jackd, a
// supervisor with a journal, an OSC client, both slots verified before the test starts; and
// the moves those tests make on it (load a patch, kill the active worker, compare a capture
// with the journal's render).
#pragma once

#include "harness/gtest_support.hpp"
#include "harness/live_suite.hpp"
#include "harness/private_jackd.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace chronus::harness {

class LiveSuiteTest : public ::testing::Test {
protected:
    // Supervisor arguments besides --journal (overridable before SetUp runs).
    virtual std::vector<std::string> supervisorArgs() const { return {"--lookahead", "3"}; }

    void SetUp() override
    {
        CHRONUS_REQUIRE_JACKD();
        ASSERT_TRUE(jack.start(dir.path)) << jack.failure();
        journal = dir.path / "journal.txt";
        std::vector<std::string> args = {"--journal", journal.string()};
        for (const auto &a : supervisorArgs())
            args.push_back(a);
        ASSERT_TRUE(sup.start(dir.path, args)) << sup.log();
        auto c = osc::Client::open(osc::Protocol::Udp, "127.0.0.1", sup.port());
        ASSERT_TRUE(c);
        client = std::move(*c);
        ASSERT_TRUE(waitRedundant(*client)) << sup.log();
    }

    // Loads and commits a patch (JSON text) without a crossfade.
    void loadPatch(const std::string &json)
    {
        auto r = command(*client, "/patch/load", {json, 0.0f}, 6000);
        ASSERT_TRUE(r && r->address == "/done") << (r ? toString(*r) : "no reply");
    }

    // A sine and a saw summed, then a capture of the outputs started on them: no block of it
    // repeats, so one placed a cycle off differs from the journal's render.
    void playSineAndSaw(Capture &cap)
    {
        loadPatch(R"({"nodes":[{"id":"a","type":"sine","params":{"freq":220,"gain":0.4}},)"
                  R"({"id":"b","type":"osc","params":{"waveform":"saw","freq":97,"amp":0.2}}],)"
                  R"("connections":[{"from":"a","to":"output"},{"from":"b","to":"output"}]})");
        ASSERT_TRUE(cap.open("chronus", 30));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        cap.start();
    }

    // SIGKILLs the active worker and waits until a replacement is verified; the failovers
    // counted before the kill.
    double killActiveWorker()
    {
        const auto before = status(*client);
        if (!before) {
            ADD_FAILURE() << "no status";
            return 0;
        }
        const int active = int(num(*before, "active_slot"));
        ::kill(pid_t(num(*before, "slot" + std::to_string(active) + "_pid")), SIGKILL);
        EXPECT_TRUE(waitRedundant(*client, std::chrono::milliseconds(5000))) << sup.log();
        return num(*before, "failovers");
    }

    // The capture against the journal's render: every frame equal, except cycles JACK did
    // not run the supervisor for, which the journal declares. `minRms`: the take was heard.
    // Returns the render (timeline frames from 0; empty when it failed) for closer looks.
    Rendered expectLiveEqualsRender(const Capture &cap, double minRms = 0.01)
    {
        std::uint64_t origin = 0;
        auto rendered = renderCaptured(cap, journal, dir.path, origin);
        if (!rendered) {
            ADD_FAILURE() << rendered.error();
            return {};
        }
        const Comparison cmp = compareWithRender(cap, *rendered, origin, journalDeclarations(journal));
        EXPECT_EQ(cmp.mismatchFrames, 0u) << "first differing block at timeline frame " << cmp.firstMismatch;
        EXPECT_GT(cmp.rms, minRms) << "nothing was heard";
        if (cmp.declared + cmp.excused + cmp.captureGaps + cmp.relabelled > 0)
            std::printf("NOTE: JACK skipped cycles: %zu declared, %zu left over, %zu capture gaps, %zu placed by "
                        "chronus:clock\n",
                        cmp.declared, cmp.excused, cmp.captureGaps, cmp.relabelled);
        return std::move(*rendered);
    }

    TestScratchDir dir{"chronus-live"};
    PrivateJackd jack;
    Supervisor sup;
    std::filesystem::path journal;
    std::unique_ptr<osc::Client> client;
};

} // namespace chronus::harness
