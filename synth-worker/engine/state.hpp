// One description of a module's DSP state serves three purposes: measuring it, saving
// it into a plain snapshot buffer and restoring it. Modules list their state once in
// visitState(); every visitor below is RT-safe (memcpy only, no allocation).
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

namespace chronus::engine {

class StateVisitor {
public:
    virtual ~StateVisitor() = default;
    // Visits `size` bytes at `data`; the layout must be the same on save and restore.
    virtual void bytes(void *data, std::size_t size) noexcept = 0;

    template <typename T>
        requires std::is_trivially_copyable_v<T>
    void operator()(T &value) noexcept
    {
        bytes(&value, sizeof(T));
    }
    // Vectors are sized in prepare() and never resized after, so only contents travel.
    template <typename T>
        requires std::is_trivially_copyable_v<T>
    void operator()(std::vector<T> &values) noexcept
    {
        bytes(values.data(), values.size() * sizeof(T));
    }
};

// Counts bytes.
class StateSizer final : public StateVisitor {
public:
    void bytes(void *, std::size_t size) noexcept override { size_ += size; }
    std::size_t size() const noexcept { return size_; }

private:
    std::size_t size_ = 0;
};

// Copies state out into a buffer; sets overflow() instead of writing past its end.
class StateWriter final : public StateVisitor {
public:
    explicit StateWriter(std::span<std::byte> out) noexcept : out_(out) {}
    void bytes(void *data, std::size_t size) noexcept override
    {
        if (overflow_ || size > out_.size() - used_) {
            overflow_ = true;
            return;
        }
        std::memcpy(out_.data() + used_, data, size);
        used_ += size;
    }
    std::size_t used() const noexcept { return used_; }
    bool overflow() const noexcept { return overflow_; }

private:
    std::span<std::byte> out_;
    std::size_t used_ = 0;
    bool overflow_ = false;
};

// Copies state in from a buffer; sets underflow() instead of reading past its end.
class StateReader final : public StateVisitor {
public:
    explicit StateReader(std::span<const std::byte> in) noexcept : in_(in) {}
    void bytes(void *data, std::size_t size) noexcept override
    {
        if (underflow_ || size > in_.size() - used_) {
            underflow_ = true;
            return;
        }
        std::memcpy(data, in_.data() + used_, size);
        used_ += size;
    }
    std::size_t used() const noexcept { return used_; }
    bool underflow() const noexcept { return underflow_; }

private:
    std::span<const std::byte> in_;
    std::size_t used_ = 0;
    bool underflow_ = false;
};

} // namespace chronus::engine
