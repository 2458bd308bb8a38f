// A circular delay line with a fractional (4-point Hermite) read, for delays and
// modulated taps. prepare() allocates; reset(), write() and read() are RT-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace chronus::dsp::fx {

class DelayLine {
public:
    // Allocates room for delays up to maxDelaySamples (plus the interpolator's margin).
    void prepare(std::uint32_t maxDelaySamples)
    {
        buffer_.assign(static_cast<std::size_t>(maxDelaySamples) + 4, 0.0f);
        write_ = 0;
    }
    void reset() noexcept
    {
        std::fill(buffer_.begin(), buffer_.end(), 0.0f);
        write_ = 0;
    }

    // Longest delay read() accepts.
    double maxDelay() const noexcept { return static_cast<double>(buffer_.size() - 4); }

    // Reads the signal written `delaySamples` writes ago, before this sample's write().
    // delaySamples is clamped to [2, maxDelay()]; an integer delay returns the stored
    // sample exactly.
    float read(double delaySamples) const noexcept
    {
        delaySamples = std::clamp(delaySamples, 2.0, maxDelay());
        const double whole = std::floor(delaySamples);
        const float t = static_cast<float>(delaySamples - whole);
        // Neighbours along the read: ym1 is one sample newer (delay whole-1), y1 and y2 older.
        const auto n = static_cast<std::int64_t>(buffer_.size());
        std::int64_t i0 = static_cast<std::int64_t>(write_) - static_cast<std::int64_t>(whole);
        if (i0 < 0)
            i0 += n;
        const float y0 = buffer_[static_cast<std::size_t>(i0)];
        if (t == 0.0f)
            return y0;
        const float ym1 = buffer_[static_cast<std::size_t>(i0 + 1 < n ? i0 + 1 : i0 + 1 - n)];
        std::int64_t im1 = i0 - 1 < 0 ? i0 - 1 + n : i0 - 1;
        std::int64_t im2 = im1 - 1 < 0 ? im1 - 1 + n : im1 - 1;
        const float y1 = buffer_[static_cast<std::size_t>(im1)];
        const float y2 = buffer_[static_cast<std::size_t>(im2)];
        // Hermite between y0 (delay `whole`) and y1 (delay `whole`+1).
        const float c1 = 0.5f * (y1 - ym1);
        const float c2 = ym1 - 2.5f * y0 + 2.0f * y1 - 0.5f * y2;
        const float c3 = 0.5f * (y2 - ym1) + 1.5f * (y0 - y1);
        return ((c3 * t + c2) * t + c1) * t + y0;
    }

    // Stores this sample and advances.
    void write(float x) noexcept
    {
        buffer_[write_] = x;
        if (++write_ == buffer_.size())
            write_ = 0;
    }

    template <typename Visitor>
    void visit(Visitor &v) noexcept
    {
        v(buffer_);
        v(write_);
    }

private:
    std::vector<float> buffer_;
    std::size_t write_ = 0;
};

} // namespace chronus::dsp::fx
