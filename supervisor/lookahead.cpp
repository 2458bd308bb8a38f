#include "supervisor/lookahead.hpp"

#include "common/log.hpp"

#include <algorithm>

namespace chronus::supervisor {

AdaptiveLookahead::AdaptiveLookahead(LookaheadConfig config)
    : config_(config), current_(config.adaptive ? config.min : config.max)
{
}

std::optional<std::uint32_t> AdaptiveLookahead::update(std::span<const std::uint64_t> readyTotals,
                                                       Clock::time_point now)
{
    // This call's cycles by margin.
    std::array<std::uint64_t, kBuckets> delta{};
    const std::size_t n = std::min(readyTotals.size(), kBuckets);
    for (std::size_t k = 0; k < n; ++k) {
        delta[k] = primed_ ? readyTotals[k] - seen_[k] : 0;
        seen_[k] = readyTotals[k];
    }
    if (!primed_) {
        primed_ = true;
        calmSince_ = now;
        return std::nullopt;
    }
    const std::uint64_t gaps = delta[0], behind = delta[1];
    if (!config_.adaptive)
        return std::nullopt;

    // Cycles whose margin would have been thin one period lower: they keep it from shrinking.
    std::uint64_t wouldBeThin = 0;
    for (std::size_t k = 0; k <= 2 && k < kBuckets; ++k)
        wouldBeThin += delta[k];
    if (wouldBeThin > 0)
        calmSince_ = now;

    if (gaps + behind > 0 && current_ < config_.max &&
        (!lastRaise_ || now - *lastRaise_ >= std::chrono::duration<double>(config_.raiseSpacingSeconds))) {
        ++current_;
        ++raises_;
        lastRaise_ = now;
        calmSince_ = now;
        reason_ = log::cat("raised to ", current_, ": ", gaps, " cycles with no block ready and ", behind,
                           " with only the one played");
        return current_;
    }
    if (current_ > config_.min && now - calmSince_ >= std::chrono::duration<double>(config_.calmSeconds)) {
        --current_;
        ++lowers_;
        calmSince_ = now;
        reason_ = log::cat("lowered to ", current_, ": at least 3 blocks ready in every cycle for ",
                           config_.calmSeconds, " s");
        return current_;
    }
    return std::nullopt;
}

} // namespace chronus::supervisor
