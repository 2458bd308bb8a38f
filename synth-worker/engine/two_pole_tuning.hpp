// What a two-pole filter (biquad_filter, svf: the parameters of
// model/modules/two_pole_filter.hpp) is tuned with: mode, cutoff and q, read at a control
// point (control_clock.hpp) and held until the next. Part of the node's state; the
// coefficients derived from it are a cache. All members RT-safe.
#pragma once

#include "model/modules/two_pole_filter.hpp"
#include "synth-worker/engine/module.hpp"

#include <cstdint>

namespace chronus::engine {

struct TwoPoleTuning {
    int mode = -1; // -1: none yet (after reset)
    float cutoff = 0.0f;
    float q = 0.0f;
    bool operator==(const TwoPoleTuning &) const = default;

    // The module's values as they stand (after the last sample read).
    static TwoPoleTuning current(const Module &m) noexcept
    {
        using enum model::two_pole_filter::Param;
        return {modeOf(m.param(Mode).current()), m.param(Cutoff).current(), m.param(Q).current()};
    }
    // The module's values at sample `i` of the block (a control point).
    static TwoPoleTuning next(Module &m, std::uint32_t i) noexcept
    {
        using enum model::two_pole_filter::Param;
        return {modeOf(m.param(Mode).next(i)), m.param(Cutoff).next(i), m.param(Q).next(i)};
    }
    // next() and skip() when mode and q are steady (their next() is their current value,
    // their skip() does nothing): only the cutoff is read.
    static TwoPoleTuning nextCutoff(Module &m, std::uint32_t i) noexcept
    {
        using enum model::two_pole_filter::Param;
        return {modeOf(m.param(Mode).current()), m.param(Cutoff).next(i), m.param(Q).current()};
    }
    // nextCutoff() while the cutoff is not ramping either (its skip() does nothing then).
    static TwoPoleTuning settledCutoff(const Module &m, std::uint32_t i) noexcept
    {
        using enum model::two_pole_filter::Param;
        return {modeOf(m.param(Mode).current()), m.param(Cutoff).valueAt(i), m.param(Q).current()};
    }
    static void skipCutoff(Module &m, std::uint32_t frames) noexcept
    {
        m.param(model::two_pole_filter::Param::Cutoff).skip(frames);
    }
    // Whether mode and q hold still in this block.
    static bool onlyCutoffMoves(const Module &m) noexcept
    {
        using enum model::two_pole_filter::Param;
        return m.param(Mode).steady() && m.param(Q).steady();
    }
    // Whether, besides, the cutoff is not ramping (only modulation moves it).
    static bool cutoffSettled(const Module &m) noexcept
    {
        return onlyCutoffMoves(m) && !m.param(model::two_pole_filter::Param::Cutoff).ramping();
    }
    // Whether none of the three moves in this block (no ramp, no modulation).
    static bool steady(const Module &m) noexcept
    {
        using enum model::two_pole_filter::Param;
        return m.param(Mode).steady() && m.param(Cutoff).steady() && m.param(Q).steady();
    }
    // Moves the three past `frames` samples not read.
    static void skip(Module &m, std::uint32_t frames) noexcept
    {
        using enum model::two_pole_filter::Param;
        m.param(Mode).skip(frames);
        m.param(Cutoff).skip(frames);
        m.param(Q).skip(frames);
    }

    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(mode);
        v(cutoff);
        v(q);
    }

private:
    static int modeOf(float value) noexcept { return static_cast<int>(value + 0.5f); }
};

} // namespace chronus::engine
