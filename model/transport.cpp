#include "model/transport.hpp"

#include <algorithm>
#include <cmath>

namespace chronus::model {

namespace {
// Frame positions are quotients that a sequencer's exact integer sums reach exactly; this
// absorbs the rounding of computing them in double.
constexpr double kSlack = 1e-7;
} // namespace

double Transport::beatsAt(std::uint64_t frame) const noexcept
{
    return (double(frame) - origin_) / framesPerBeat();
}

std::uint64_t Transport::beatFrame(double k) const noexcept
{
    const double at = std::ceil(origin_ + k * framesPerBeat() - kSlack);
    return at <= 0.0 ? 0 : static_cast<std::uint64_t>(at);
}

std::uint64_t Transport::nextBeat(std::uint64_t frame) const noexcept
{
    double k = std::floor(beatsAt(frame));
    while (beatFrame(k) < frame)
        k += 1.0;
    while (k > 0 && beatFrame(k - 1.0) >= frame)
        k -= 1.0;
    return beatFrame(k);
}

std::uint64_t Transport::nextBar(std::uint64_t frame) const noexcept
{
    double bar = std::floor(beatsAt(frame) / beats_);
    while (beatFrame(bar * beats_) < frame)
        bar += 1.0;
    return beatFrame(bar * beats_);
}

void Transport::setTempo(std::uint64_t frame, double bpm) noexcept
{
    const double beats = beatsAt(frame);
    bpm_ = std::clamp(bpm, 1.0, 999.0);
    origin_ = double(frame) - beats * framesPerBeat();
}

void Transport::setMeter(std::uint64_t frame, int beatsPerBar, int beatUnit) noexcept
{
    const double bar = std::floor(beatsAt(frame) / beats_) * beats_;
    const double barStart = std::ceil(origin_ + bar * framesPerBeat() - kSlack); // may lie before frame 0
    beats_ = std::clamp(beatsPerBar, 1, 64);
    unit_ = beatUnit;
    origin_ = barStart;
}

void Transport::locate(std::uint64_t frame, double bar, bool running) noexcept
{
    origin_ = double(frame) - (bar - 1.0) * beats_ * framesPerBeat();
    running_ = running;
}

} // namespace chronus::model
