// What the supervisor hears of its own output, for agents and people: /analyze [seconds]
// (a measured description, common/analysis.hpp), /levels [seconds] (peaks and RMS now) and
// /meters <1/0> [rate_hz] (level messages pushed to the sender). It reads the audio thread's
// tap of the output (OutputStage::tap()) and never holds the control loop up: an analysis
// runs on its own thread and is answered from tick() (over TCP, on the request's
// connection). Control thread only.
#pragma once

#include "common/osc.hpp"
#include "common/tap_ring.hpp"

#include <chrono>
#include <future>
#include <string>
#include <vector>

namespace chronus::supervisor {

class Ears {
public:
    Ears(const TapRing &tap, double sampleRate) : tap_(tap), rate_(sampleRate) {}
    ~Ears();

    void setServer(osc::Server *server) { server_ = server; }
    // True for the addresses this class answers: /analyze, /levels, /meters (and /meter
    // with one argument, its short form; /meter <beats> <unit> is the time signature).
    static bool answers(const osc::Message &msg);
    void handle(const osc::Message &msg);
    // Sends finished analyses and due meter messages.
    void tick();
    // The stems meter messages also measure (name and tap, in port order).
    void setStems(std::vector<std::pair<std::string, const TapRing *>> stems) { stems_ = std::move(stems); }

    // Most seconds /analyze looks back (the tap holds a little more).
    static constexpr double kMaxSeconds = 40.0;
    static constexpr std::size_t kMaxSubscribers = 16;

private:
    struct Pending {
        osc::Peer to;
        std::future<std::string> json;
    };
    struct Subscriber {
        std::string url;
        double rateHz = 10.0;
        std::uint64_t from = 0; // first frame its next message measures
        std::chrono::steady_clock::time_point next, expires;
        int failures = 0;
    };
    void analyze(const osc::Message &msg);
    void levelsNow(const osc::Message &msg);
    void subscribe(const osc::Message &msg);
    void sendMeters();
    // The last `seconds` of the output (as much as there is), or false.
    bool recent(double seconds, std::vector<float> &left, std::vector<float> &right) const;
    void fail(const osc::Message &msg, const std::string &reason);

    const TapRing &tap_;
    double rate_;
    osc::Server *server_ = nullptr;
    std::vector<Pending> pending_;
    std::vector<Subscriber> subscribers_;
    std::vector<std::pair<std::string, const TapRing *>> stems_;
};

} // namespace chronus::supervisor
