// How far ahead the workers render (--lookahead): fixed, or moved with the output's margin
// (--lookahead auto). The control thread owns it; the value lives in the segment's header,
// where the workers and the timeline read it (common/shm_layout.hpp, Header::lookahead).
//
// The margin is how many blocks the readiest publishing slot had ready from the one the
// output plays (OutputCounters::readyCycles). A worker on time has L - 1 or L of them. One
// or none (its worker a cycle or more behind) is a near miss or a gap: the lookahead grows
// by a period, at most once a second, up to the maximum. After a calm spell in which the
// margin never fell to within a period of a near miss at one period less, it shrinks back
// by a period, down to the minimum. Moving it costs nothing audible: the output plays the
// block of its own cycle either way; only commands take effect a period later or sooner.
// Audio input and MIDI keep the delay of the maximum, so they never shift.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace chronus::supervisor {

struct LookaheadConfig {
    bool adaptive = false;
    std::uint32_t min = 2;     // where auto starts and the least it shrinks to
    std::uint32_t max = 2;     // the most it grows to (the fixed value when not adaptive)
    double calmSeconds = 30;   // margin wide enough this long: one period less
    double raiseSpacingSeconds = 1; // at most one raise per this long: the workers catch up first
};

class AdaptiveLookahead {
public:
    using Clock = std::chrono::steady_clock;

    explicit AdaptiveLookahead(LookaheadConfig config);

    // The lookahead to render with now.
    std::uint32_t current() const noexcept { return current_; }
    const LookaheadConfig &config() const noexcept { return config_; }

    // Feeds the output's readyCycles totals (bucket k: cycles with k blocks ready) as of
    // `now`. Returns the new lookahead when it moves.
    std::optional<std::uint32_t> update(std::span<const std::uint64_t> readyTotals, Clock::time_point now);

    std::uint64_t raises() const noexcept { return raises_; }
    std::uint64_t lowers() const noexcept { return lowers_; }
    // Why it last moved, one sentence ("" before it has).
    const std::string &lastReason() const noexcept { return reason_; }

private:
    static constexpr std::size_t kBuckets = 10;
    LookaheadConfig config_;
    std::uint32_t current_;
    std::array<std::uint64_t, kBuckets> seen_{};
    bool primed_ = false;
    std::optional<Clock::time_point> lastRaise_;
    Clock::time_point calmSince_{};
    std::uint64_t raises_ = 0, lowers_ = 0;
    std::string reason_;
};

} // namespace chronus::supervisor
